package views

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxCurlBody is the largest body put inline in a cURL command; a bigger one
// is read from the downloaded body file.
const maxCurlBody = 64 << 10

// Curl returns a POSIX sh command that sends the request again to target
// (the capture URL with the captured path and query).
func Curl(method, target string, h http.Header, body []byte) string {
	var sb strings.Builder
	inline := len(body) <= maxCurlBody
	binary := !utf8.Valid(body) || strings.ContainsRune(string(body), 0)
	if len(body) > 0 && inline && binary {
		sb.WriteString("printf '")
		for _, c := range body {
			switch {
			case c == '%':
				sb.WriteString("%%")
			case c == '\\':
				sb.WriteString(`\\`)
			case c == '\'':
				sb.WriteString(`\047`)
			case c >= 0x20 && c < 0x7f:
				sb.WriteByte(c)
			default:
				fmt.Fprintf(&sb, `\%03o`, c)
			}
		}
		sb.WriteString("' | ")
	}
	sb.WriteString("curl")
	switch {
	case method == "HEAD":
		sb.WriteString(" --head")
	case method != "GET" || len(body) > 0:
		sb.WriteString(" -X " + shQuote(method))
	}
	sb.WriteString(" " + shQuote(target))
	for _, f := range HeaderFields(h) {
		switch http.CanonicalHeaderKey(f.Name) {
		case "Host", "Content-Length", "Connection", "Transfer-Encoding", "Accept-Encoding":
			continue
		}
		sb.WriteString(" \\\n  -H " + shQuote(f.Name+": "+f.Value))
	}
	switch {
	case len(body) == 0:
	case !inline:
		sb.WriteString(" \\\n  --data-binary @body.bin  # the downloaded body")
	case binary:
		sb.WriteString(" \\\n  --data-binary @-")
	default:
		sb.WriteString(" \\\n  --data-binary " + shQuote(string(body)))
	}
	return sb.String()
}

// shQuote quotes s for sh: inside single quotes only the quote itself is
// special.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
