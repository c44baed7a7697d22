package web

import (
	"context"
	"net/http"

	"github.com/tailhook-dev/tailhook/forward"
	"github.com/tailhook-dev/tailhook/signature"
)

// handleSNSConfirm follows the SubscribeURL of a captured SNS
// SubscriptionConfirmation, on the user's click only (never on capture: a
// forged confirmation must not subscribe anyone), and only to an https SNS
// endpoint asking ConfirmSubscription.
func (s *Server) handleSNSConfirm(w http.ResponseWriter, r *http.Request) error {
	_, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	u, err := signature.SNSSubscribeURL(req.Body)
	if err != nil {
		return &apiError{http.StatusUnprocessableEntity, err.Error()}
	}
	if u == "" {
		return &apiError{http.StatusUnprocessableEntity, "this capture is not an SNS SubscriptionConfirmation"}
	}
	status, body, err := s.snsConfirm(r.Context(), u)
	out := map[string]any{"url": u, "status": status, "body": string(body)}
	if err != nil {
		out["error"] = err.Error()
	}
	s.log.Info("SNS subscription confirmed by the user", "request", req.ID, "status", status)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// newSNSConfirm returns the default confirmer: a GET through a forwarding
// client that never reaches private addresses.
func newSNSConfirm() func(ctx context.Context, url string) (int, []byte, error) {
	c := forward.New(forward.Options{ConnectTimeout: keyFetchTimeout, Timeout: 10 * keyFetchTimeout / 5, MaxResponseBody: 64 << 10})
	return func(ctx context.Context, url string) (int, []byte, error) {
		res := c.Do(ctx, forward.Request{Method: http.MethodGet, URL: url, Header: http.Header{"User-Agent": {"tailhook"}}})
		return res.Status, res.Body, res.Err
	}
}
