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
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
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
	Kind      string
	Label     string  // what the page calls it: "JSON", "Form", …
	Tokens    []Token // KindJSON with highlighting
	Text      string  // KindJSON without highlighting, KindXML, KindText
	Fields    []Field // KindForm
	Parts     []Part  // KindMultipart
	Hex       []string
	Raw       string // the body as text for the raw view, when it is UTF-8
	RawIsText bool
	Clipped   bool // what is shown is only the start of the body
	Size      int
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
		if parts, ok := parseMultipart(body, params["boundary"]); ok {
			b.Kind, b.Label, b.Parts = KindMultipart, "Multipart", parts
			return b
		}
	case mt == "application/x-www-form-urlencoded":
		if fields, ok := parseForm(body); ok {
			b.Kind, b.Label, b.Fields = KindForm, "Form", fields
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

// parseForm decodes an urlencoded body, keeping order and repeated names.
func parseForm(body []byte) ([]Field, bool) {
	if !utf8.Valid(body) {
		return nil, false
	}
	var fields []Field
	for _, kv := range strings.Split(string(body), "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		fields = append(fields, Field{dk, dv})
	}
	return fields, len(fields) > 0
}

// QueryFields splits a raw query string, keeping order, repeated names and,
// where a value is not valid escaping, the raw text.
func QueryFields(raw string) []Field {
	var fields []Field
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
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
	return fields
}

func parseMultipart(body []byte, boundary string) ([]Part, bool) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var parts []Part
	for i := 0; i < maxParts; i++ {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return parts, len(parts) > 0
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return parts, len(parts) > 0
		}
		part := Part{Index: i, Name: p.FormName(), FileName: p.FileName(),
			ContentType: p.Header.Get("Content-Type"), Size: len(data)}
		for _, k := range sortedKeys(p.Header) {
			for _, v := range p.Header[k] {
				part.Header = append(part.Header, Field{k, v})
			}
		}
		if len(data) <= 64<<10 && utf8.Valid(data) && part.FileName == "" {
			part.Text, part.IsText = string(data), true
		}
		parts = append(parts, part)
	}
	return parts, len(parts) > 0
}

// MultipartPart returns the content of part n of a multipart body, for its
// download link.
func MultipartPart(contentType string, body []byte, n int) (data []byte, filename, partType string, ok bool) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, "", "", false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i := 0; i <= n; i++ {
		p, err := mr.NextRawPart()
		if err != nil {
			return nil, "", "", false
		}
		if i < n {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, "", "", false
		}
		return data, p.FileName(), p.Header.Get("Content-Type"), true
	}
	return nil, "", "", false
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
	var fields []Field
	for _, k := range sortedKeys(h) {
		for _, v := range h[k] {
			fields = append(fields, Field{k, v})
		}
	}
	return fields
}

func sortedKeys[M ~map[string][]string](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Insertion sort: header maps are small.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
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
