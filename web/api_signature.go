package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tailhook-dev/tailhook/signature"
	"github.com/tailhook-dev/tailhook/storage"
)

// verify checks a capture with a provider's scheme. It never fails: unusable
// settings become an invalid verdict that says why.
func (s *Server) verify(ctx context.Context, provider string, params map[string]string, req *storage.Request, base string) *storage.Verdict {
	in := signatureInput(req, base)
	params, err := s.withKey(ctx, provider, params, in)
	if err != nil {
		return &storage.Verdict{Provider: provider, Valid: false, Reason: "Could not check: " + err.Error()}
	}
	v, err := signature.Verify(provider, params, in)
	if err != nil {
		return &storage.Verdict{Provider: provider, Valid: false, Reason: "Could not check: " + err.Error()}
	}
	details, err := json.Marshal(v.Details)
	if err != nil {
		details = nil
	}
	return &storage.Verdict{Provider: v.Provider, Valid: v.Valid, Reason: v.Reason, Details: details}
}

// signatureInput is what a verdict depends on. "Now" is the capture's
// receive time, so that re-verifying an old capture gives the same answer.
func signatureInput(req *storage.Request, base string) signature.Input {
	u := base + "/b/" + req.BinID + req.Path
	if req.Query != "" {
		u += "?" + req.Query
	}
	return signature.Input{Method: req.Method, URL: u, Header: req.Header, Body: req.Body, Now: req.ReceivedAt}
}

func (s *Server) handleProviders(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, signature.Providers())
	return nil
}

// decodeProviderParams reads a flat {"provider": "…", "secret": "…", …}
// object: every key but provider is a parameter of the scheme.
func decodeProviderParams(w http.ResponseWriter, r *http.Request) (string, map[string]string, error) {
	var raw map[string]any
	if err := decodeJSON(w, r, &raw); err != nil {
		return "", nil, err
	}
	provider, _ := raw["provider"].(string)
	params := map[string]string{}
	for k, v := range raw {
		if k == "provider" {
			continue
		}
		switch v := v.(type) {
		case string:
			params[k] = v
		case float64:
			params[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			params[k] = strconv.FormatBool(v)
		case nil:
		default:
			return "", nil, badRequest(fmt.Sprintf("parameter %q must be a string or a number", k))
		}
	}
	return provider, params, nil
}

// checkProvider validates a provider id and its required parameters.
func checkProvider(provider string, params map[string]string) error {
	if provider == "" {
		return badRequest(`"provider" is required; GET /api/providers lists them`)
	}
	p, ok := signature.Lookup(provider)
	if !ok {
		return badRequest(fmt.Sprintf("unknown provider %q; GET /api/providers lists them", provider))
	}
	known := map[string]bool{}
	for _, prm := range p.Params {
		known[prm.Name] = true
		if prm.Required && params[prm.Name] == "" {
			return badRequest(fmt.Sprintf("provider %s needs %q: %s", provider, prm.Name, prm.Description))
		}
	}
	for k := range params {
		if !known[k] {
			return badRequest(fmt.Sprintf("provider %s takes no parameter %q", provider, k))
		}
	}
	// Let the scheme itself reject unusable values (a bad algorithm, a key
	// that does not parse) now rather than on every capture.
	_, err := signature.Verify(provider, params, signature.Input{Method: "POST", URL: "https://example.invalid/", Header: http.Header{}, Now: time.Now()})
	if errors.Is(err, signature.ErrInvalidParams) {
		return badRequest(err.Error())
	}
	return nil
}

// signatureConfig splits the bin-level switches (handshakes, reject_invalid)
// from the provider's parameters. A body with only the switches (no
// provider) sets them alone: handshakes work without a provider.
func signatureConfig(provider string, params map[string]string) (*storage.SignatureConfig, error) {
	cfg := &storage.SignatureConfig{Provider: provider}
	for _, k := range []string{"handshakes", "reject_invalid"} {
		v, ok := params[k]
		if !ok {
			continue
		}
		delete(params, k)
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("%q must be true or false", k))
		}
		if k == "handshakes" {
			cfg.Handshakes = &b
		} else {
			cfg.RejectInvalid = &b
		}
	}
	if provider == "" && len(params) == 0 && (cfg.Handshakes != nil || cfg.RejectInvalid != nil) {
		if cfg.RejectInvalid != nil && *cfg.RejectInvalid {
			return nil, badRequest(`"reject_invalid" needs a "provider": without one there is no verdict`)
		}
		return cfg, nil
	}
	if err := checkProvider(provider, params); err != nil {
		return nil, err
	}
	cfg.Params = params
	return cfg, nil
}

func (s *Server) handleSignaturePut(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	provider, params, err := decodeProviderParams(w, r)
	var cfg *storage.SignatureConfig
	if err == nil {
		keepSavedSecrets(bin, provider, params) // signature_keep.go
		cfg, err = signatureConfig(provider, params)
	}
	if err != nil {
		return err
	}
	bin, err = s.db.SetSignature(r.Context(), bin.ID, cfg)
	if err != nil {
		return err
	}
	s.log.Info("signature check set", "bin", bin.ID, "provider", provider) // never the secret
	writeJSON(w, http.StatusOK, s.toBinJSON(r, &bin))
	return nil
}

func (s *Server) handleSignatureDelete(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	bin, err = s.db.SetSignature(r.Context(), bin.ID, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toBinJSON(r, &bin))
	return nil
}

// handleVerify checks a stored request with any provider and secret, or with
// the bin's own when the body names none.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) error {
	bin, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	provider, params, err := decodeProviderParams(w, r)
	if err != nil {
		return err
	}
	if provider == "" {
		if bin.Signature == nil || bin.Signature.Provider == "" {
			return badRequest(`no "provider" given and the bin has no signature check set`)
		}
		provider = bin.Signature.Provider
		if len(params) == 0 {
			params = bin.Signature.Params
		}
	} else {
		// The bin's own provider with its secrets left out uses the saved
		// ones, as in the settings: the page never has them to send.
		keepSavedSecrets(bin, provider, params) // signature_keep.go
	}
	if err := checkProvider(provider, params); err != nil {
		return err
	}
	if req.Truncated {
		return &apiError{http.StatusUnprocessableEntity, "this capture's body was over the size limit and was not kept, so its signature cannot be checked"}
	}
	in := signatureInput(req, s.captureBase(r))
	if params, err = s.withKey(r.Context(), provider, params, in); err != nil {
		return &apiError{http.StatusUnprocessableEntity, err.Error()}
	}
	v, err := signature.Verify(provider, params, in)
	if err != nil {
		return badRequest(err.Error())
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// handleSample sends a realistic, signed event of a provider through the
// bin's own capture path, so users see a valid verdict before wiring up the
// real provider.
func (s *Server) handleSample(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	provider, params, err := decodeProviderParams(w, r)
	if err != nil {
		return err
	}
	if provider == "" && bin.Signature != nil {
		provider = bin.Signature.Provider
	}
	if provider == "" {
		return badRequest(`"provider" is required`)
	}
	if _, ok := signature.Lookup(provider); !ok {
		return badRequest(fmt.Sprintf("unknown provider %q; GET /api/providers lists them", provider))
	}
	// Sign with the bin's settings for this provider unless told otherwise.
	if bin.Signature != nil && bin.Signature.Provider == provider {
		for k, v := range bin.Signature.Params {
			if _, set := params[k]; !set {
				params[k] = v
			}
		}
	}
	if params["secret"] == "" && params["private_key"] == "" {
		return badRequest(`no "secret" given and the bin has no secret set for ` + provider)
	}
	base := s.captureBase(r)
	if params["url"] == "" {
		params["url"] = base + "/b/" + bin.ID + "/" + provider
	}
	now := time.Now().UTC()
	ev, err := signature.Sample(provider, params, now)
	if err != nil {
		return &apiError{http.StatusUnprocessableEntity, "cannot make a sample: " + err.Error()}
	}
	header := ev.Header.Clone()
	header.Set("Host", hostOf(base))
	header.Set("Content-Length", strconv.Itoa(len(ev.Body)))
	req := &storage.Request{
		BinID: bin.ID, Method: ev.Method, Path: ev.Path, Header: header, Body: ev.Body, Size: int64(len(ev.Body)),
		RemoteAddr: "tailhook-sample", Proto: "HTTP/1.1", TLS: false, ReceivedAt: now,
	}
	if ok, retry := s.limits.allow(bin.ID); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		return &apiError{http.StatusTooManyRequests, "rate limit exceeded for this bin; retry later"}
	}
	c, err := s.store(r.Context(), &bin, req, base)
	if err != nil {
		return err
	}
	full, err := s.db.Request(r.Context(), bin.ID, c.Request.Seq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toRequestJSON(full, true))
	return nil
}

func hostOf(base string) string {
	for _, p := range []string{"https://", "http://"} {
		if len(base) > len(p) && base[:len(p)] == p {
			return base[len(p):]
		}
	}
	return base
}
