package forward

import (
	"net/http"
	"net/textproto"
	"sort"
	"strings"
)

// Field is one header line: the name as it is to be spelled on the wire,
// and its value.
type Field struct {
	Name, Value string
}

// Fields are a request's header lines in the order they go out. net/http
// writes a request's headers sorted by name and cannot be told otherwise;
// Client writes Fields as they are, so a forwarded capture keeps the order
// and spelling it arrived with.
type Fields []Field

// FieldsOf is h as header lines: Host first, then the names sorted (what
// net/http writes), each name's values in order, names spelled as they are
// in h.
func FieldsOf(h http.Header) Fields {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		hi, hj := strings.EqualFold(names[i], "Host"), strings.EqualFold(names[j], "Host")
		if hi != hj {
			return hi
		}
		return names[i] < names[j]
	})
	var out Fields
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, Field{k, v})
		}
	}
	return out
}

// Header is f as an http.Header, names canonical, each name's values in
// order.
func (f Fields) Header() http.Header {
	h := make(http.Header, len(f))
	for _, l := range f {
		k := textproto.CanonicalMIMEHeaderKey(l.Name)
		h[k] = append(h[k], l.Value)
	}
	return h
}

// Set replaces the lines named name (in any case) with one line per value,
// spelled name, where the first of them was; at the end when there was none.
// No values removes the lines. f is not modified.
func (f Fields) Set(name string, values ...string) Fields {
	out := make(Fields, 0, len(f)+len(values))
	placed := false
	for _, l := range f {
		if !strings.EqualFold(l.Name, name) {
			out = append(out, l)
			continue
		}
		if !placed {
			for _, v := range values {
				out = append(out, Field{name, v})
			}
			placed = true
		}
	}
	if !placed {
		for _, v := range values {
			out = append(out, Field{name, v})
		}
	}
	return out
}
