package storage

import (
	"net/http"
	"strings"
)

// HeaderLine is one header line as the sender wrote it: the name spelled
// as on the wire, the value without surrounding white space.
type HeaderLine struct {
	Name, Value string
}

// listKey is where the header lines are kept inside the stored headers
// object: no HTTP header can have an empty name. Keeping them in the same
// column (rather than a new one after body, or a new table) costs captures
// no extra statement and list reads no overflow pages; the column's escaping
// keeps values that are not UTF-8 exact.
const listKey = ""

// withList adds r's header lines to h under listKey, as "name:value"
// strings, and returns a function that takes them out again.
func withList(h http.Header, lines []HeaderLine) (undo func()) {
	if len(lines) == 0 {
		return func() {}
	}
	vs := make([]string, len(lines))
	for i, l := range lines {
		vs[i] = l.Name + ":" + l.Value
	}
	h[listKey] = vs
	return func() { delete(h, listKey) }
}

// takeList removes the header lines from a decoded header, nil when the
// request was stored without them (captured before they were recorded, or
// over a connection that did not record them).
func takeList(h http.Header) []HeaderLine {
	vs, ok := h[listKey]
	if !ok {
		return nil
	}
	delete(h, listKey)
	out := make([]HeaderLine, len(vs))
	for i, v := range vs {
		name, value, _ := strings.Cut(v, ":") // a header name has no ':'
		out[i] = HeaderLine{name, value}
	}
	return out
}
