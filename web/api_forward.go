package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tailhook-dev/tailhook/forward"
	"github.com/tailhook-dev/tailhook/signature"
	"github.com/tailhook-dev/tailhook/storage"
)

// deliveryURL is where auto-forward sends a capture: the target joined with
// the captured sub-path and query. "" when they cannot be joined.
func (s *Server) deliveryURL(target, path, query string) string {
	u, err := forward.Join(target, path, query)
	if err != nil {
		s.log.Warn("auto-forward target unusable", "target", target, "error", err)
		return ""
	}
	return u
}

// forwardResultJSON is the answer to a manual forward.
type forwardResultJSON struct {
	URL           string      `json:"url"`
	Status        int         `json:"status"`
	Headers       http.Header `json:"headers"`
	Body          *string     `json:"body"` // null when the body is not UTF-8
	BodyBase64    string      `json:"body_base64"`
	BodyTruncated bool        `json:"body_truncated"`
	DurationMS    int64       `json:"duration_ms"`
	Error         string      `json:"error"`
}

// handleForward replays a captured request to any URL, optionally edited and
// re-signed, and records the attempt in the request's history.
func (s *Server) handleForward(w http.ResponseWriter, r *http.Request) error {
	bin, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	var in struct {
		URL     string         `json:"url"`
		Method  string         `json:"method"`
		Headers map[string]any `json:"headers"`
		Body    *string        `json:"body"`
		Resign  bool           `json:"resign"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := forward.CheckURL(in.URL); err != nil {
		return &apiError{http.StatusUnprocessableEntity, err.Error()}
	}
	if req.Truncated && in.Body == nil {
		return &apiError{http.StatusUnprocessableEntity, "this capture's body was over the size limit and was not kept; pass a \"body\" to forward it anyway"}
	}
	// The header lines as they came in (headerLines: sorted for captures
	// from before they were recorded), edits and a new signature in place.
	out := forward.Request{Method: req.Method, URL: in.URL, Fields: fieldsOf(headerLines(req)), Body: req.Body}
	if in.Method != "" {
		if !validHeaderName(in.Method) {
			return badRequest("invalid method " + quote(in.Method))
		}
		out.Method = in.Method
	}
	if in.Body != nil {
		out.Body = []byte(*in.Body)
	}
	if out.Fields, err = applyHeaderEdits(out.Fields, in.Headers); err != nil {
		return err
	}
	if in.Resign {
		if bin.Signature == nil || bin.Signature.Provider == "" {
			return badRequest("resign needs a signature provider and secret set on the bin")
		}
		signed, body, err := signature.Sign(bin.Signature.Provider, bin.Signature.Params, signature.Input{
			Method: out.Method, URL: in.URL, Header: out.Fields.Header(), Body: out.Body, Now: time.Now(),
		})
		if err != nil {
			return &apiError{http.StatusUnprocessableEntity, "cannot re-sign: " + err.Error()}
		}
		for _, k := range slices.Sorted(maps.Keys(signed)) {
			name := k // the captured spelling, when it had the header
			for _, f := range out.Fields {
				if strings.EqualFold(f.Name, k) {
					name = f.Name
					break
				}
			}
			out.Fields = out.Fields.Set(name, signed[k]...)
		}
		if body != nil {
			out.Body = body
		}
	}
	res := s.forwarder.Do(r.Context(), out)
	if errors.Is(res.Err, forward.ErrRefused) || errors.Is(res.Err, forward.ErrInvalidURL) {
		return &apiError{http.StatusUnprocessableEntity, res.Err.Error() + refusedHint(res.Err)}
	}
	s.metrics.forwarded(false, res.Status, res.Err)
	attempt := 1
	for _, f := range req.Forwards {
		if !f.Auto {
			attempt++
		}
	}
	rec := storage.Forward{URL: in.URL, Status: res.Status, Attempt: attempt, Error: errText(res.Err), DurationMS: res.Duration.Milliseconds()}
	if err := s.db.AddForward(r.Context(), bin.ID, req.Seq, rec); err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.log.Error("record forward", "bin", bin.ID, "request", req.ID, "error", err)
	}
	if in.URL != bin.ReplayURL {
		if err := s.db.SetReplayURL(r.Context(), bin.ID, in.URL); err != nil {
			s.log.Warn("remember replay url", "bin", bin.ID, "error", err)
		}
	}
	s.forwardChanged(r.Context(), bin.ID, req.Seq)
	writeJSON(w, http.StatusOK, toForwardResult(in.URL, res))
	return nil
}

func refusedHint(err error) string {
	if errors.Is(err, forward.ErrRefused) {
		return " (start tailhook with --allow-private-forwarding to allow it, or use `tailhook relay` to reach your laptop)"
	}
	return ""
}

func toForwardResult(url string, res forward.Result) forwardResultJSON {
	j := forwardResultJSON{URL: url, Status: res.Status, Headers: res.Header, BodyBase64: base64.StdEncoding.EncodeToString(res.Body),
		BodyTruncated: res.BodyTruncated, DurationMS: res.Duration.Milliseconds(), Error: errText(res.Err)}
	if j.Headers == nil {
		j.Headers = http.Header{}
	}
	if utf8.Valid(res.Body) {
		b := string(res.Body)
		j.Body = &b
	}
	return j
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// applyHeaderEdits changes f by edits: a string sets one value, an array of
// strings sets all values, null removes the header. A set header takes the
// place of the first line of that name (any case), spelled as in edits, or
// goes last; edits apply in name order, so the result does not depend on
// the JSON object's order.
func applyHeaderEdits(f forward.Fields, edits map[string]any) (forward.Fields, error) {
	for _, name := range slices.Sorted(maps.Keys(edits)) {
		if !validHeaderName(name) {
			return nil, badRequest("invalid header name " + quote(name))
		}
		var values []string
		switch v := edits[name].(type) {
		case nil:
		case string:
			values = []string{v}
		case []any:
			for _, x := range v {
				sv, ok := x.(string)
				if !ok {
					return nil, badRequest(fmt.Sprintf("header %s: values must be strings", name))
				}
				values = append(values, sv)
			}
		default:
			return nil, badRequest(fmt.Sprintf("header %s: want a string, an array of strings or null", name))
		}
		for _, sv := range values {
			if strings.ContainsAny(sv, "\r\n\x00") {
				return nil, badRequest("invalid value for header " + quote(name))
			}
		}
		f = f.Set(name, values...)
	}
	return f, nil
}

func (s *Server) handleForwardingPut(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	var in struct {
		URL     string `json:"url"`
		Enabled *bool  `json:"enabled"`
		Mode    string `json:"mode"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	enabled := in.Enabled == nil || *in.Enabled
	switch in.Mode {
	case "":
		in.Mode = storage.ForwardInOrder
	case storage.ForwardInOrder, storage.ForwardIndependent:
	default:
		return badRequest(`"mode" must be "in_order" or "independent", not ` + quote(in.Mode))
	}
	if in.URL == "" && enabled {
		return badRequest(`"url" is required to turn auto-forward on`)
	}
	if in.URL != "" {
		if err := forward.CheckURL(in.URL); err != nil {
			return &apiError{http.StatusUnprocessableEntity, err.Error()}
		}
		if err := s.checkTarget(r.Context(), in.URL); err != nil {
			return &apiError{http.StatusUnprocessableEntity, err.Error() + refusedHint(err)}
		}
	}
	bin, err = s.db.SetForwarding(r.Context(), bin.ID, storage.Forwarding{URL: in.URL, Enabled: enabled, Mode: in.Mode})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toBinJSON(r, &bin))
	return nil
}

func (s *Server) handleForwardingDelete(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	bin, err = s.db.SetForwarding(r.Context(), bin.ID, storage.Forwarding{URL: bin.Forwarding.URL, Enabled: false, Mode: bin.Forwarding.Mode})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toBinJSON(r, &bin))
	return nil
}

func (s *Server) handleDeliveryRetry(w http.ResponseWriter, r *http.Request) error {
	return s.setDelivery(w, r, storage.DeliveryPending)
}

func (s *Server) handleDeliveryCancel(w http.ResponseWriter, r *http.Request) error {
	return s.setDelivery(w, r, storage.DeliveryCancelled)
}

// setDelivery retries a request's auto-forward job now, or cancels it.
func (s *Server) setDelivery(w http.ResponseWriter, r *http.Request, state string) error {
	bin, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	if req.Delivery == nil {
		return notFound("this request has no auto-forward delivery")
	}
	if state == storage.DeliveryCancelled && req.Delivery.State != storage.DeliveryPending {
		return &apiError{http.StatusConflict, "only a pending delivery can be cancelled; this one is " + req.Delivery.State}
	}
	if state == storage.DeliveryPending && req.Truncated {
		return &apiError{http.StatusUnprocessableEntity, "this capture's body was not kept, so it cannot be delivered"}
	}
	d, err := s.db.SetDeliveryState(r.Context(), bin.ID, req.Seq, state, time.Now())
	if err != nil {
		return err
	}
	s.deliverer.kick(bin.ID)
	s.forwardChanged(r.Context(), bin.ID, req.Seq)
	req.Delivery = &d
	writeJSON(w, http.StatusOK, toRequestJSON(req, false).Delivery)
	return nil
}
