package web

import (
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tailhook-dev/tailhook/storage"
)

// binFrom loads the bin named in the path and checks that the caller may use
// it: with its token, or as the browser that created it. Anything else is
// "not found", so that a bin's existence is not revealed.
func (s *Server) binFrom(r *http.Request, allowQueryToken bool) (storage.Bin, error) {
	id := r.PathValue("bin")
	hidden := notFound("no bin with id " + id)
	bin, err := s.db.Bin(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Bin{}, hidden
	}
	if err != nil {
		return storage.Bin{}, err
	}
	ok, err := s.opens(r.Context(), s.credentialOf(r, allowQueryToken), &bin) // loginlink.go
	if err != nil {
		return storage.Bin{}, err
	}
	if !ok {
		return storage.Bin{}, hidden
	}
	return bin, nil
}

// credential is what a request presents for a bin: a token, or the browser
// whose session cookie it carries. Streams keep it, to check again when the
// bin's token is replaced or the bin is deleted.
type credential struct {
	token   string
	browser string
	bad     bool // an Authorization that is not a Bearer token
}

// credentialOf reads r's credential. When Authorization is present, only it
// counts: the session cookie is ignored (crossOrigin has removed it too).
func (s *Server) credentialOf(r *http.Request, allowQueryToken bool) credential {
	if auth, ok := r.Header["Authorization"]; ok {
		token, isBearer := strings.CutPrefix(strings.Join(auth, ","), "Bearer ")
		if !isBearer {
			return credential{bad: true}
		}
		return credential{token: strings.TrimSpace(token)}
	}
	if allowQueryToken {
		if token := r.URL.Query().Get("token"); token != "" {
			return credential{token: token}
		}
	}
	return credential{browser: s.session.browserID(r)}
}

// allows reports whether the credential opens bin.
func (c credential) allows(bin *storage.Bin) bool {
	switch {
	case c.bad:
		return false
	case c.token != "":
		return bin.CheckToken(c.token)
	}
	return bin.Owner != "" && c.browser == bin.Owner
}

// allowBinCreate takes one bin from the client address's allowance (the
// --bin-limit per minute); when there is none it says in how many seconds,
// for Retry-After. Bins are free, so without this one client could fill
// the database with them.
func (s *Server) allowBinCreate(r *http.Request) (bool, string) {
	ok, retry := s.binRate.allow(clientKey(s.clientAddr(r)))
	return ok, strconv.Itoa(int(math.Ceil(retry.Seconds())))
}

// clientKey is whose allowance a client address draws on: one IPv4
// address, whatever its source port, or one IPv6 /64 — the smallest
// network a single subscriber is usually given, so that hopping between its
// 2^64 addresses buys nothing.
func clientKey(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// maxNameLen bounds a bin's name, in bytes.
const maxNameLen = 200

// binName reads {"name": …} and checks it.
func binName(w http.ResponseWriter, r *http.Request) (string, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return "", err
	}
	if len(in.Name) > maxNameLen {
		return "", badRequest("name is longer than 200 characters")
	}
	return strings.TrimSpace(in.Name), nil
}

func (s *Server) handleBinCreate(w http.ResponseWriter, r *http.Request) error {
	if ok, retry := s.allowBinCreate(r); !ok {
		w.Header().Set("Retry-After", retry)
		return &apiError{http.StatusTooManyRequests, "too many new bins from this address (--bin-limit); retry in " + retry + " s"}
	}
	name, err := binName(w, r)
	if err != nil {
		return err
	}
	// A browser creating a bin through the API owns it like one using the
	// form; API clients without a cookie get an unowned, token-only bin.
	var owner string
	if r.Header.Get("Authorization") == "" {
		if _, err := r.Cookie(sessionCookie); err == nil {
			owner = s.session.browserID(r)
		}
	}
	bin, token, err := s.db.CreateBin(r.Context(), name, owner)
	if err != nil {
		return err
	}
	j := s.toBinJSON(r, &bin)
	j.Token = token
	writeJSON(w, http.StatusCreated, j)
	return nil
}

// handleTokenCreate gives the bin a new API token, shown this once; the old
// one stops working. It is how a bin made in the browser gets a token for
// scripts and tailhook relay, and how a leaked token is replaced.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	bin, token, err := s.db.NewToken(r.Context(), bin.ID)
	if err != nil {
		return err
	}
	// Streams opened with the old token end.
	s.publish(Event{Kind: CredentialChanged, Bin: bin.ID})
	j := s.toBinJSON(r, &bin)
	j.Token = token
	writeJSON(w, http.StatusOK, j)
	return nil
}

// handleBinRename sets the bin's name ("" for none).
func (s *Server) handleBinRename(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	name, err := binName(w, r)
	if err != nil {
		return err
	}
	if bin, err = s.db.SetName(r.Context(), bin.ID, name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toBinJSON(r, &bin))
	return nil
}

func (s *Server) handleBinGet(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toBinJSON(r, &bin))
	return nil
}

func (s *Server) handleBinDelete(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	if err := s.db.DeleteBin(r.Context(), bin.ID); err != nil {
		return err
	}
	s.publish(Event{Kind: BinDeleted, Bin: bin.ID})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleResponsePut(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	var resp storage.Response
	if err := decodeJSON(w, r, &resp); err != nil {
		return err
	}
	if err := validateResponse(&resp); err != nil {
		return err
	}
	bin, err = s.db.SetResponse(r.Context(), bin.ID, &resp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toBinJSON(r, &bin))
	return nil
}

func (s *Server) handleResponseDelete(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	bin, err = s.db.SetResponse(r.Context(), bin.ID, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toBinJSON(r, &bin))
	return nil
}

// validateResponse checks a configured response and fills in defaults.
func validateResponse(r *storage.Response) error {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	if err := validateAnswer("status", r.Status, r.Headers, r.DelayMS); err != nil {
		return err
	}
	if len(r.Body) > 1<<20 {
		return badRequest("body is over 1 MiB")
	}
	if len(r.Sequence) > 100 {
		return badRequest("sequence has more than 100 steps")
	}
	for i, st := range r.Sequence {
		if st.Times < 1 {
			return badRequest("sequence[" + itoa(i) + "].times must be at least 1")
		}
		if st.Status == 0 {
			r.Sequence[i].Status = r.Status
		}
		delay := 0
		if st.DelayMS != nil {
			delay = *st.DelayMS
		}
		if err := validateAnswer("sequence["+itoa(i)+"].status", r.Sequence[i].Status, st.Headers, delay); err != nil {
			return err
		}
	}
	return nil
}

// refusedHeader names the response headers a bin may not configure.
func refusedHeader(k string) bool {
	return strings.EqualFold(k, "Set-Cookie") || strings.EqualFold(k, "Clear-Site-Data") || strings.EqualFold(k, "Set-Cookie2")
}

func validateAnswer(field string, status int, headers map[string]string, delayMS int) error {
	if status < 200 || status > 599 {
		return badRequest(field + " must be between 200 and 599")
	}
	if delayMS < 0 || delayMS > int(maxResponseDelay.Milliseconds()) {
		return badRequest("delay_ms must be between 0 and 30000")
	}
	for k, v := range headers {
		if !validHeaderName(k) {
			return badRequest("invalid header name " + quote(k))
		}
		if refusedHeader(k) {
			// Capture answers may share tailhook's origin (without
			// --capture-host): they must not touch a browser's state there.
			return &apiError{http.StatusUnprocessableEntity, "the " + http.CanonicalHeaderKey(k) +
				" header is not allowed in a configured response: it could change a browser's state for tailhook itself"}
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return badRequest("invalid value for header " + quote(k))
		}
	}
	return nil
}
