package web

import (
	"encoding/base64"
	"net/http"
	"sort"
	"unicode/utf8"

	"github.com/tailhook-dev/tailhook/forward"
	"github.com/tailhook-dev/tailhook/rawhead"
	"github.com/tailhook-dev/tailhook/storage"
)

// recordedHeaders is the capture's header lines as the sender wrote them
// (HTTP/1.x, through rawhead's listener), or nil: HTTP/2, or a listener
// that does not record. http.Request.RequestURI is the request-target as
// sent, which is what rawhead matches on.
func recordedHeaders(r *http.Request) []storage.HeaderLine {
	fields := rawhead.Take(r.Context(), r.Method, r.RequestURI)
	if fields == nil {
		return nil
	}
	out := make([]storage.HeaderLine, len(fields))
	for i, f := range fields {
		out[i] = storage.HeaderLine{Name: f.Name, Value: f.Value}
	}
	return out
}

// headerLines is a request's header lines in the order to show and replay
// them: as received when recorded, else (older captures, HTTP/2) Host
// first, then the canonical names sorted, each name's values in order.
func headerLines(r *storage.Request) []storage.HeaderLine {
	if r.HeaderList != nil {
		return r.HeaderList
	}
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if k != "Host" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if _, ok := r.Header["Host"]; ok {
		names = append([]string{"Host"}, names...)
	}
	var out []storage.HeaderLine
	for _, k := range names {
		for _, v := range r.Header[k] {
			out = append(out, storage.HeaderLine{Name: k, Value: v})
		}
	}
	return out
}

// headerListJSON is header_list: [name, value], plus the value's bytes in
// base64 as a third element when they are not valid UTF-8 (JSON would
// turn them into U+FFFD).
func headerListJSON(r *storage.Request) [][]string {
	lines := headerLines(r)
	out := make([][]string, len(lines))
	for i, l := range lines {
		if utf8.ValidString(l.Value) {
			out[i] = []string{l.Name, l.Value}
		} else {
			out[i] = []string{l.Name, l.Value, base64.StdEncoding.EncodeToString([]byte(l.Value))}
		}
	}
	return out
}

// rawBase64 is s in base64 when it is not valid UTF-8, else "" (omitted).
func rawBase64(s string) string {
	if utf8.ValidString(s) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// fieldsOf is a capture's header lines for forwarding, nil when they were
// not recorded (the forwarder then sends the header map, sorted).
func fieldsOf(lines []storage.HeaderLine) forward.Fields {
	if lines == nil {
		return nil
	}
	out := make(forward.Fields, len(lines))
	for i, l := range lines {
		out[i] = forward.Field{Name: l.Name, Value: l.Value}
	}
	return out
}
