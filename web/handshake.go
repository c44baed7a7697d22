package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tailhook-dev/tailhook/signature"
	"github.com/tailhook-dev/tailhook/storage"
)

// handshake answers a provider's endpoint check when the bin has handshakes
// on (the default) and req is one; it marks req as answered by it.
func (s *Server) handshake(bin *storage.Bin, req *storage.Request) *signature.HandshakeAnswer {
	if req.Truncated || !bin.Signature.HandshakesOn() {
		return nil
	}
	var provider string
	var params signature.Params
	if sig := bin.Signature; sig != nil {
		provider, params = sig.Provider, sig.Params
	}
	in := signature.Input{Method: req.Method, Header: req.Header, Body: req.Body, Now: req.ReceivedAt}
	a := signature.Handshake(in, req.Query, provider, params)
	if a != nil {
		req.Answered = storage.Answered{Status: a.Status, Handshake: a.Provider}
	}
	return a
}

// answerOwn writes tailhook's own answer to a stored capture: a handshake's,
// or 401 for an invalid signature when the bin rejects those. It reports
// false when the bin's configured response is the answer.
func (s *Server) answerOwn(w http.ResponseWriter, r *http.Request, bin *storage.Bin, req *storage.Request, hs *signature.HandshakeAnswer) bool {
	switch {
	case hs != nil:
		if hs.LearnedSecret != "" {
			s.learnSecret(r.Context(), bin, hs)
		}
		h := w.Header()
		for k, vs := range hs.Header {
			h[k] = vs
		}
		h.Set("Content-Length", strconv.Itoa(len(hs.Body)))
		w.WriteHeader(hs.Status)
		if r.Method != http.MethodHead {
			w.Write(hs.Body)
		}
		return true
	case req.Answered.Status == http.StatusUnauthorized:
		reason := "invalid signature"
		if req.Verdict != nil {
			reason += ": " + req.Verdict.Reason
		}
		writeError(w, http.StatusUnauthorized, reason)
		return true
	}
	return false
}

// learnSecret keeps the secret a handshake handed over (Asana's
// X-Hook-Secret) as the bin's secret for that provider, unless the bin
// already has a provider or a secret: a user's choice is never overwritten.
func (s *Server) learnSecret(ctx context.Context, bin *storage.Bin, hs *signature.HandshakeAnswer) {
	cur := bin.Signature
	if cur != nil && cur.Provider != "" && (cur.Provider != hs.Provider || cur.Params["secret"] != "") {
		return
	}
	next := &storage.SignatureConfig{Provider: hs.Provider, Params: map[string]string{"secret": hs.LearnedSecret}}
	if cur != nil {
		next.Handshakes, next.RejectInvalid = cur.Handshakes, cur.RejectInvalid
		for k, v := range cur.Params {
			if k != "secret" {
				next.Params[k] = v
			}
		}
	}
	// The answer must not wait on a failure here: the capture is stored and
	// the user can still paste the secret by hand.
	if _, err := s.db.SetSignature(context.WithoutCancel(ctx), bin.ID, next); err != nil {
		s.log.Warn("could not keep the handshake's secret", "bin", bin.ID, "provider", hs.Provider, "error", err)
		return
	}
	s.log.Info("kept the secret of a handshake", "bin", bin.ID, "provider", hs.Provider) // never the secret
}
