package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tailhook-dev/tailhook/storage"
)

// handleCurl answers a POSIX sh command that sends the request again, byte
// for byte: to the bin's capture URL, or with ?base=URL to URL + the
// captured path and query (e.g. a local dev server).
func (s *Server) handleCurl(w http.ResponseWriter, r *http.Request) error {
	bin, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	target := s.captureBase(r) + "/b/" + bin.ID
	keepHost := true
	if b := r.URL.Query().Get("base"); b != "" {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return badRequest("base must be an http(s) URL without a query")
		}
		target = strings.TrimSuffix(b, "/")
		// Another server: let curl name it in Host.
		keepHost = false
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(curlCommand(target, req, keepHost)))
	return nil
}

// curlCommand builds the command. Every argument is single-quoted, so
// nothing in a captured request is ever expanded by the shell; the body
// goes through printf with octal escapes, so any byte (NUL included)
// survives, and curl reads it from stdin with --data-binary @-, which sends
// it unchanged. curl's own defaults (User-Agent, Accept, Content-Type,
// Expect) are switched off unless the request had them, and
// --path-as-is and --globoff keep the path and query as captured.
func curlCommand(target string, req *storage.Request, keepHost bool) string {
	var b strings.Builder
	if req.Truncated {
		b.WriteString("# The body (" + strconv.FormatInt(req.Size, 10) + " bytes) was over the size limit and was not stored;\n# this command sends none.\n")
	}
	names := make([]string, 0, len(req.Header))
	for name := range req.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	var dropped []string
	hasBody := len(req.Body) > 0
	// An empty body that was declared (Content-Length: 0) is sent as one.
	sendBody := hasBody || req.Header.Get("Content-Length") != ""
	var args []string
	for _, name := range names {
		switch http.CanonicalHeaderKey(name) {
		case "Content-Length", "Transfer-Encoding":
			continue // curl frames the body itself
		case "Host":
			if !keepHost {
				continue
			}
		}
		for _, v := range req.Header[name] {
			if strings.ContainsAny(name+v, "\x00\r\n") {
				dropped = append(dropped, name)
				continue
			}
			if v == "" {
				args = append(args, "-H", name+";") // curl's syntax for an empty value
			} else {
				args = append(args, "-H", name+": "+v)
			}
		}
	}
	suppress := []string{"User-Agent", "Accept"}
	if keepHost {
		suppress = append(suppress, "Host")
	}
	if sendBody {
		suppress = append(suppress, "Content-Type", "Expect")
	}
	for _, name := range suppress {
		if _, ok := req.Header[name]; !ok {
			args = append(args, "-H", name+":") // "Name:" removes curl's default
		}
	}
	for _, name := range dropped {
		b.WriteString("# A value of header " + shellComment(name) + " cannot be passed on a command line and is left out.\n")
	}

	if sendBody {
		b.WriteString("printf '")
		b.WriteString(printfEscape(req.Body))
		b.WriteString("' |\n")
	}
	b.WriteString("curl --path-as-is --globoff")
	switch {
	case req.Method == http.MethodHead && !sendBody:
		b.WriteString(" --head")
	case req.Method == http.MethodGet && !sendBody, req.Method == http.MethodPost && sendBody:
		// curl's default for these; -X would only add a warning.
	default:
		b.WriteString(" -X " + shellQuote(req.Method))
	}
	for i := 0; i < len(args); i += 2 {
		b.WriteString(" \\\n  " + args[i] + " " + shellQuote(args[i+1]))
	}
	if sendBody {
		b.WriteString(" \\\n  --data-binary @-")
	}
	u := target + req.Path
	if req.Query != "" {
		u += "?" + req.Query
	}
	b.WriteString(" \\\n  " + shellQuote(u) + "\n")
	return b.String()
}

// shellQuote quotes s for any POSIX shell: inside single quotes nothing is
// special, and a single quote itself is closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellComment makes s safe on a comment line.
func shellComment(s string) string {
	return strconv.QuoteToASCII(s)
}

// printfEscape encodes bytes as a printf format for use inside single
// quotes: printable ASCII stays as it is (with %, \ and ' escaped), newlines
// become \n and every other byte a three-digit octal escape, which POSIX
// printf turns back into that exact byte. A digit right after an octal
// escape is escaped too (bash reads up to four digits after \0), and so is a
// leading '-', which printf would take for an option.
func printfEscape(body []byte) string {
	var b strings.Builder
	b.Grow(len(body) + len(body)/8)
	octal := false
	for i, c := range body {
		esc := octal && c >= '0' && c <= '9' || i == 0 && c == '-'
		octal = false
		switch {
		case esc:
		case c == '%':
			b.WriteString("%%")
			continue
		case c == '\\':
			b.WriteString(`\\`)
			continue
		case c == '\'':
			b.WriteString(`'\''`)
			continue
		case c == '\n':
			b.WriteString(`\n`)
			continue
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
			continue
		}
		b.WriteByte('\\')
		b.WriteByte('0' + c>>6)
		b.WriteByte('0' + (c>>3)&7)
		b.WriteByte('0' + c&7)
		octal = true
	}
	return b.String()
}
