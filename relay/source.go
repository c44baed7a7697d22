package relay

import (
	"fmt"
	"net/url"
	"strings"
)

// source is where the relay reads from, derived from the URL the user gave.
type source struct {
	origin string // scheme://host plus any path prefix the app is mounted under
	bin    string
	token  string // from ?token= in the given URL, if any
}

// eventsURL is the bin's live stream. The token is not in it: it goes in the
// Authorization header, which keeps it out of access logs.
func (s source) eventsURL() string {
	return s.origin + "/api/bins/" + url.PathEscape(s.bin) + "/events"
}

// requestsURL lists the bin's newest request, to learn where "live" starts.
func (s source) requestsURL() string {
	return s.origin + "/api/bins/" + url.PathEscape(s.bin) + "/requests?limit=1"
}

// parseSource accepts a bin's inspect URL (…/bins/ID), capture URL
// (…/b/ID[/path]) or API URL (…/api/bins/ID[/…]).
func parseSource(raw string) (source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return source{}, fmt.Errorf("bin URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return source{}, fmt.Errorf("bin URL %q: want an http:// or https:// URL such as https://host/bins/ID", raw)
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		var id string
		prefix := segs[:i]
		switch {
		case segs[i] == "api" && segs[i+1] == "bins" && i+2 < len(segs):
			id = segs[i+2]
		case segs[i] == "bins" || segs[i] == "b":
			id = segs[i+1]
		default:
			continue
		}
		bin, err := url.PathUnescape(id)
		if err != nil || bin == "" {
			break
		}
		origin := u.Scheme + "://" + u.Host
		if len(prefix) > 0 {
			origin += "/" + strings.Join(prefix, "/")
		}
		return source{origin: origin, bin: bin, token: u.Query().Get("token")}, nil
	}
	return source{}, fmt.Errorf("bin URL %q: no bin in it; want https://host/bins/ID or https://host/b/ID", raw)
}
