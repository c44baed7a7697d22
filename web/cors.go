package web

import "net/http"

// corsAnswer adds the CORS headers of a bin whose response has CORS on, so
// that a sender running in a browser can read the answer. It answers a
// preflight (OPTIONS with Origin and Access-Control-Request-Method) itself
// with 204, allowing what was asked, and reports that it did. The preflight
// is still a capture: it was stored before this runs.
//
// The Origin is echoed (with Allow-Credentials) rather than "*", so that
// credentialed fetches work too: a capture URL's answer is whatever its
// owner configured, and holds nothing of tailhook's.
func corsAnswer(w http.ResponseWriter, r *http.Request) (answered bool) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if origin == "" {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if r.Method != http.MethodOptions || origin == "" || method == "" {
		h.Set("Access-Control-Expose-Headers", "*")
		return false
	}
	h.Set("Access-Control-Allow-Methods", method)
	if hs := r.Header.Get("Access-Control-Request-Headers"); hs != "" {
		h.Set("Access-Control-Allow-Headers", hs)
	}
	if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	h.Set("Access-Control-Max-Age", "600")
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}
