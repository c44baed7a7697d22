// Package views renders tailhook's pages with templ. Components take storage
// types or the small view-models below and never query anything themselves.
//
// Everything a sender controls (method, path, headers, body) reaches the page
// only through templ's escaping: nothing here uses templ.Raw.
package views

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tailhook-dev/tailhook/signature"
	"github.com/tailhook-dev/tailhook/storage"
)

// Limits that keep a page quick whatever was captured.
const (
	// MaxHighlight is the largest JSON body shown with syntax colours; the
	// span per token would make a bigger one slow to lay out.
	MaxHighlight = 256 << 10
	// MaxText is the largest body shown as text; the rest is a download.
	MaxText = 1 << 20
	// MaxHex is how much of a binary body the hex view shows.
	MaxHex = 64 << 10
	// maxParts bounds how many multipart parts are listed.
	maxParts = 100
	// MaxFields bounds the headers, query fields and form fields listed;
	// the rest are a download. A capture may carry 1 MiB of headers.
	MaxFields = 200
	// maxPartHeaders bounds the headers listed for one part.
	maxPartHeaders = 20
	// maxPartsText bounds the text shown inline across all parts.
	maxPartsText = 1 << 20
	// MaxShown bounds a path, query or URL shown in one line: the list
	// shows 50 rows, each of which may carry 1 MiB of them.
	MaxShown = 2 << 10
)

// Body kinds, as FormatBody decides them.
const (
	KindEmpty     = "empty"
	KindJSON      = "json"
	KindXML       = "xml"
	KindForm      = "form"
	KindMultipart = "multipart"
	KindText      = "text"
	KindBinary    = "binary"
)

// Body is a captured body prepared for display.
type Body struct {
	Kind   string
	Label  string  // what the page calls it: "JSON", "Form", …
	Tokens []Token // KindJSON with highlighting
	Text   string  // KindJSON without highlighting, KindXML, KindText
	Fields []Field // KindForm
	Parts  []Part  // KindMultipart
	// MoreFields and MoreParts count what is not listed: fields past
	// MaxFields; parts past maxParts (1 means "at least one more").
	MoreFields int
	MoreParts  int
	Hex        []string
	Raw        string // the body as text for the raw view, when it is UTF-8
	RawIsText  bool
	Clipped    bool // what is shown is only the start of the body
	Size       int
}

// Token is a piece of highlighted JSON; Class is "" for punctuation and
// white space.
type Token struct {
	Class string
	Text  string
}

// Field is one name=value pair, in the order sent.
type Field struct {
	Name, Value string
}

// Part is one part of a multipart body.
type Part struct {
	Index       int
	Name        string
	FileName    string
	ContentType string
	Header      []Field
	MoreHeader  int // headers not listed
	Size        int
	Text        string // the content, when it is short UTF-8 text
	IsText      bool
}

// FormatBody decides how to show body, from its Content-Type and its bytes.
func FormatBody(contentType string, body []byte) Body {
	b := Body{Size: len(body)}
	if len(body) == 0 {
		b.Kind, b.Label = KindEmpty, "Empty"
		return b
	}
	raw := body
	if len(raw) > MaxText {
		raw = raw[:MaxText]
		b.Clipped = true
	}
	if utf8.Valid(raw) || (b.Clipped && utf8.Valid(trimPartialRune(raw))) {
		b.Raw, b.RawIsText = string(trimPartialRune(raw)), true
	}
	mt, params, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		if parts, more, ok := parseMultipart(body, params["boundary"]); ok {
			b.Kind, b.Label, b.Parts, b.MoreParts = KindMultipart, "Multipart", parts, more
			return b
		}
	case mt == "application/x-www-form-urlencoded":
		if fields, more, ok := parseForm(body, MaxFields); ok {
			b.Kind, b.Label, b.Fields, b.MoreFields = KindForm, "Form", fields, more
			return b
		}
	}
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
	if !isJSON && mt == "" || mt == "text/plain" || mt == "application/octet-stream" {
		// Senders often leave the type out or get it wrong: look.
		t := bytes.TrimSpace(body)
		isJSON = len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
	}
	if isJSON && !b.Clipped && json.Valid(body) {
		var out bytes.Buffer
		if err := json.Indent(&out, body, "", "  "); err == nil {
			b.Kind, b.Label = KindJSON, "JSON"
			if out.Len() <= MaxHighlight {
				b.Tokens = highlightJSON(out.String())
			} else {
				b.Text = clip(out.String(), MaxText)
				b.Clipped = out.Len() > MaxText
			}
			return b
		}
	}
	isXML := mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml")
	if isXML && !b.Clipped && b.RawIsText {
		if s, ok := indentXML(body); ok {
			b.Kind, b.Label, b.Text = KindXML, "XML", clip(s, MaxText)
			return b
		}
	}
	if b.RawIsText {
		b.Kind, b.Label, b.Text = KindText, "Text", b.Raw
		return b
	}
	b.Kind, b.Label = KindBinary, "Binary"
	n := min(len(body), MaxHex)
	b.Hex = HexDump(body[:n])
	b.Clipped = len(body) > MaxHex
	return b
}

// trimPartialRune drops a rune cut in half at the end of a clipped body.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return string(trimPartialRune([]byte(s[:n])))
}

// highlightJSON splits indented JSON into tokens. Strings followed by a
// colon are keys.
func highlightJSON(s string) []Token {
	var toks []Token
	plain := func(t string) {
		if n := len(toks); n > 0 && toks[n-1].Class == "" {
			toks[n-1].Text += t
			return
		}
		toks = append(toks, Token{Text: t})
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			class := "j-str"
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\n') {
				k++
			}
			if k < len(s) && s[k] == ':' {
				class = "j-key"
			}
			toks = append(toks, Token{Class: class, Text: s[i:j]})
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.eE+-", s[j]) >= 0 {
				j++
			}
			toks = append(toks, Token{Class: "j-num", Text: s[i:j]})
			i = j
		case c == 't' || c == 'f' || c == 'n':
			j := i
			for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
				j++
			}
			class := "j-bool"
			if s[i:j] == "null" {
				class = "j-null"
			}
			toks = append(toks, Token{Class: class, Text: s[i:j]})
			i = j
		default:
			j := i + 1
			for j < len(s) && strings.IndexByte("\"-0123456789tfn", s[j]) < 0 {
				j++
			}
			plain(s[i:j])
			i = j
		}
	}
	return toks
}

// indentXML re-indents an XML document token by token. Anything it cannot
// parse is shown as text instead.
func indentXML(body []byte) (string, bool) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = false
	var out bytes.Buffer
	enc := xml.NewEncoder(&out)
	enc.Indent("", "  ")
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", false
		}
		if cd, ok := tok.(xml.CharData); ok {
			if len(bytes.TrimSpace(cd)) == 0 {
				continue
			}
			tok = xml.CharData(bytes.TrimSpace(cd))
		}
		if err := enc.EncodeToken(xml.CopyToken(tok)); err != nil {
			return "", false
		}
	}
	if err := enc.Flush(); err != nil {
		return "", false
	}
	return out.String(), true
}

// parseForm decodes an urlencoded body, keeping order and repeated names:
// the first max fields, and how many more there are. A body whose listed
// fields do not decode is not shown as a form.
func parseForm(body []byte, max int) (fields []Field, more int, ok bool) {
	if !utf8.Valid(body) {
		return nil, 0, false
	}
	for kv := range strings.SplitSeq(string(body), "&") {
		if kv == "" {
			continue
		}
		if len(fields) == max {
			more++ // counted, not decoded: the page does not list it
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, 0, false
		}
		fields = append(fields, Field{dk, dv})
	}
	return fields, more, len(fields) > 0
}

// QueryFields splits a raw query string, keeping order, repeated names and,
// where a value is not valid escaping, the raw text: the first max fields,
// and how many more there are.
func QueryFields(raw string, max int) (fields []Field, more int) {
	for kv := range strings.SplitSeq(raw, "&") {
		if kv == "" {
			continue
		}
		if len(fields) == max {
			more++
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		fields = append(fields, Field{k, v})
	}
	return fields, more
}

// parseMultipart lists the first maxParts parts, each with its first
// maxPartHeaders headers in the order sent; more is 1 when there are
// further parts. It is one linear scan: a 10 MiB body of parts with
// thousands of headers each must not make the page slow.
func parseMultipart(body []byte, boundary string) (parts []Part, more int, ok bool) {
	text := 0
	err := scanMultipart(body, boundary, func(i int, rp rawPart) bool {
		if i == maxParts {
			more = 1 // not worth scanning further to count them
			return false
		}
		part := Part{Index: i, Name: rp.name(), FileName: rp.fileName(), ContentType: rp.contentType,
			Header: rp.header, MoreHeader: rp.moreHeader, Size: len(rp.data)}
		if len(rp.data) <= 64<<10 && text+len(rp.data) <= maxPartsText && utf8.Valid(rp.data) && part.FileName == "" {
			part.Text, part.IsText = string(rp.data), true
			text += len(rp.data)
		}
		parts = append(parts, part)
		return true
	})
	_ = err // a broken body still shows the parts before the break
	return parts, more, len(parts) > 0
}

// rawPart is one part of a multipart body as sent: no transfer decoding.
type rawPart struct {
	header      []Field // the first maxPartHeaders, canonical names
	moreHeader  int
	disposition string // Content-Disposition, wherever it was
	contentType string
	data        []byte
}

// name is the form field name, as mime/multipart's FormName gives it.
func (p rawPart) name() string {
	d, params, err := mime.ParseMediaType(p.disposition)
	if err != nil || d != "form-data" {
		return ""
	}
	return params["name"]
}

// fileName is the file name sent, as mime/multipart's FileName gives it.
func (p rawPart) fileName() string {
	_, params, err := mime.ParseMediaType(p.disposition)
	if err != nil || params["filename"] == "" {
		return ""
	}
	return filepath.Base(params["filename"])
}

var errMultipart = errors.New("malformed multipart body")

// scanMultipart calls fn for each part of body in order until fn returns
// false. It follows RFC 2046 as mime/multipart reads it (a delimiter line
// is "--boundary", optionally padded, ending the preamble or a part; a
// part's headers end at an empty line), in one pass with no per-header
// map.
func scanMultipart(body []byte, boundary string, fn func(i int, p rawPart) bool) error {
	dash := []byte("--" + boundary)
	nlDash := append([]byte("\n"), dash...)
	// delimiterAt reports whether b starts with a delimiter line: dash,
	// then "--" (the last), or padding and a line end.
	delimiterAt := func(b []byte) bool {
		if !bytes.HasPrefix(b, dash) {
			return false
		}
		rest := b[len(dash):]
		if bytes.HasPrefix(rest, []byte("--")) {
			return true
		}
		rest = bytes.TrimLeft(rest, " \t")
		return bytes.HasPrefix(rest, []byte("\n")) || bytes.HasPrefix(rest, []byte("\r\n"))
	}
	// The first delimiter starts the body or a line.
	pos := -1
	for at := 0; at < len(body); {
		if (at == 0 || body[at-1] == '\n') && delimiterAt(body[at:]) {
			pos = at
			break
		}
		i := bytes.IndexByte(body[at:], '\n')
		if i < 0 {
			break
		}
		at += i + 1
	}
	if pos < 0 {
		return errMultipart
	}
	for i := 0; ; i++ {
		// body[pos:] is a delimiter line.
		rest := body[pos+len(dash):]
		if bytes.HasPrefix(rest, []byte("--")) {
			return nil // the closing delimiter
		}
		eol := bytes.IndexByte(rest, '\n')
		if i == 0 && eol > 0 && rest[eol-1] == '\r' {
			// Like mime/multipart: a body whose first delimiter line ends
			// in CRLF has delimiters only after a CRLF.
			nlDash = append([]byte("\r\n"), dash...)
		}
		start := pos + len(dash) + eol + 1
		p, n, err := splitHeader(body[start:])
		if err != nil {
			return err
		}
		content := start + n
		// The content ends at the next delimiter: right away (an empty
		// part), or after a line end.
		end, next := content, content
		if !delimiterAt(body[content:]) {
			for from := content; ; {
				j := bytes.Index(body[from:], nlDash)
				if j < 0 {
					return errMultipart // no closing delimiter
				}
				end = from + j
				next = end + len(nlDash) - len(dash)
				if delimiterAt(body[next:]) {
					break
				}
				from = end + 1
			}
		}
		p.data = body[content:end]
		if !fn(i, p) {
			return nil
		}
		pos = next
	}
}

// splitHeader reads a part's header block, up to and with its empty line,
// and says how many bytes it took.
func splitHeader(b []byte) (rawPart, int, error) {
	var p rawPart
	n := 0
	for {
		eol := bytes.IndexByte(b[n:], '\n')
		if eol < 0 {
			return p, 0, errMultipart
		}
		line := bytes.TrimSuffix(b[n:n+eol], []byte("\r"))
		n += eol + 1
		if len(line) == 0 {
			return p, n, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // a folded line: part of the header before it
		}
		k, v, found := bytes.Cut(line, []byte(":"))
		if !found {
			return p, 0, errMultipart
		}
		k, v = bytes.TrimSpace(k), bytes.TrimSpace(v)
		switch {
		case p.disposition == "" && bytes.EqualFold(k, []byte("Content-Disposition")):
			p.disposition = string(v)
		case p.contentType == "" && bytes.EqualFold(k, []byte("Content-Type")):
			p.contentType = string(v)
		}
		if len(p.header) < maxPartHeaders {
			p.header = append(p.header, Field{textproto.CanonicalMIMEHeaderKey(string(k)), string(v)})
		} else {
			p.moreHeader++ // counted without a copy: a part may have thousands
		}
	}
}

// CapFields keeps the first n fields and says how many it left out.
func CapFields(fields []Field, n int) ([]Field, int) {
	if len(fields) <= n {
		return fields, 0
	}
	return fields[:n:n], len(fields) - n
}

// Clip shortens s to at most MaxShown bytes, marking the cut with "…".
func Clip(s string) string {
	if len(s) <= MaxShown {
		return s
	}
	return clip(s, MaxShown) + "…"
}

// MultipartPart returns the content of part n of a multipart body, for its
// download link; parts are counted as the page lists them.
func MultipartPart(contentType string, body []byte, n int) (data []byte, filename, partType string, ok bool) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, "", "", false
	}
	scanMultipart(body, params["boundary"], func(i int, p rawPart) bool {
		if i < n {
			return true
		}
		data, filename, partType, ok = p.data, p.fileName(), p.contentType, true
		return false
	})
	return data, filename, partType, ok
}

// HexDump formats b as lines of 16 bytes: offset, bytes, printable ASCII.
func HexDump(b []byte) []string {
	lines := make([]string, 0, (len(b)+15)/16)
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		sb.Reset()
		fmt.Fprintf(&sb, "%08x  ", off)
		row := b[off:min(off+16, len(b))]
		for i := 0; i < 16; i++ {
			if i < len(row) {
				fmt.Fprintf(&sb, "%02x ", row[i])
			} else {
				sb.WriteString("   ")
			}
			if i == 7 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(" |")
		for _, c := range row {
			if c >= 0x20 && c < 0x7f {
				sb.WriteByte(c)
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteByte('|')
		lines = append(lines, sb.String())
	}
	return lines
}

// HeaderFields lists headers sorted by name, values in the order received.
func HeaderFields(h http.Header) []Field {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	fields := make([]Field, 0, n)
	for _, k := range sortedKeys(h) {
		for _, v := range h[k] {
			fields = append(fields, Field{k, v})
		}
	}
	return fields
}

// sortedKeys is O(n log n): a capture may carry tens of thousands of
// distinct header names.
func sortedKeys[M ~map[string][]string](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Size formats a byte count the way people read it.
func Size(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// Ago says how long before now t was, briefly. The page's script keeps it
// current.
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 10*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// Clock is the time of day shown in the request list.
func Clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// Stamp is the absolute time shown in the details.
func Stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000000 UTC") }

// ISO is the machine-readable time for <time datetime>.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// MethodClass picks the colour of a method badge. Only known methods get
// their own; the sender's text never becomes a class name.
func MethodClass(m string) string {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return "method m-" + strings.ToLower(m)
	}
	return "method m-other"
}

func itoa(n int) string { return fmt.Sprint(n) }

// HandshakeLabel says which provider handshake tailhook answered:
// "answered Slack's URL verification".
func HandshakeLabel(a storage.Answered) string {
	return signature.HandshakeLabel(a.Handshake, a.Status)
}
