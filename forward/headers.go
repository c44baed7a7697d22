package forward

import (
	"fmt"
	"strings"
)

// hopByHop are the headers that describe one connection, not the message
// (RFC 9110 §7.6.1), plus Host and Content-Length, which are the target's and
// the body's, and Expect: the body is already here, and passing
// "100-continue" on would make the target wait for us, or us for an interim
// answer that many local servers never send. Connection also names more of
// them, and every Proxy-* header is one (see head in wire.go).
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
