package forward

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
)

// hopByHop are the headers that describe one connection, not the message
// (RFC 9110 §7.6.1), plus Host and Content-Length, which net/http sets from
// the target URL and the body, and Expect: the body is already here, and
// passing "100-continue" on makes the transport wait up to a second for an
// interim answer that many local servers never send.
var hopByHop = map[string]bool{
	"Expect":            true,
	"Connection":        true,
	"Keep-Alive":        true,
	"Te":                true,
	"Trailer":           true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
	"Host":              true,
	"Content-Length":    true,
}

// StripHopByHop returns a copy of h without hop-by-hop headers: Connection and
// every header it names, Keep-Alive, every Proxy-* header, TE, Trailer,
// Transfer-Encoding and Upgrade; also without Host and Content-Length, which
// are recomputed when sending, and Expect (see hopByHop). Repeated values keep their order. h is not
// modified; a nil h gives an empty header.
func StripHopByHop(h http.Header) http.Header {
	drop := map[string]bool{}
	for k, vs := range h {
		if textproto.CanonicalMIMEHeaderKey(k) != "Connection" {
			continue
		}
		for _, v := range vs {
			for name := range strings.SplitSeq(v, ",") {
				if name = strings.TrimSpace(name); name != "" {
					drop[textproto.CanonicalMIMEHeaderKey(name)] = true
				}
			}
		}
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if hopByHop[ck] || drop[ck] || strings.HasPrefix(ck, "Proxy-") {
			continue
		}
		out[ck] = append(out[ck], vs...)
	}
	return out
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v has no control characters but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// Join builds the URL a captured request is forwarded to: target, then the
// captured sub-path (empty or starting with '/', kept as sent, with no doubled
// '/' where the two meet), then the captured raw query appended after the
// target's own query with '&'. A fragment of target is dropped. Errors wrap
// ErrInvalidURL.
func Join(target, path, rawQuery string) (string, error) {
	if err := CheckURL(target); err != nil {
		return "", err
	}
	if path != "" && path[0] != '/' {
		return "", fmt.Errorf("%w: captured path %q does not start with '/'", ErrInvalidURL, path)
	}
	base, _, _ := strings.Cut(target, "#")
	base, query, _ := strings.Cut(base, "?")
	if strings.HasSuffix(base, "/") && path != "" {
		base = base[:len(base)-1]
	}
	// '?' cannot be in a path as received, but '#' could slip through; either
	// would change the URL's meaning when parsed again.
	path = strings.NewReplacer("?", "%3F", "#", "%23").Replace(path)
	rawQuery = strings.ReplaceAll(rawQuery, "#", "%23")
	switch {
	case query == "":
		query = rawQuery
	case rawQuery != "":
		query += "&" + rawQuery
	}
	out := base + path
	if query != "" {
		out += "?" + query
	}
	if err := CheckURL(out); err != nil {
		return "", err
	}
	return out, nil
}
