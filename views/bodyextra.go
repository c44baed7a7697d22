package views

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
)

// MaxDecoded bounds how much of a Content-Encoding'd body is inflated for
// the page: a few KiB of gzip can inflate to gigabytes.
const MaxDecoded = 8 << 20

// DecodeContent undoes a Content-Encoding (gzip, x-gzip, deflate, br, or a list
// of them, applied in order) and returns at most limit bytes. name is the
// encoding it undid, "" when there was none to undo. The stored body is
// never changed: this is for showing it.
func DecodeContent(encoding string, body []byte, limit int) (out []byte, name string, clipped bool, err error) {
	var codings []string
	for _, c := range strings.Split(encoding, ",") {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
			codings = append(codings, c)
		}
	}
	if len(codings) == 0 {
		return body, "", false, nil
	}
	out = body
	// The last coding listed was applied last: undo it first.
	for i := len(codings) - 1; i >= 0; i-- {
		var r io.Reader
		switch codings[i] {
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(bytes.NewReader(out))
			if err != nil {
				return nil, "", false, fmt.Errorf("gzip: %w", err)
			}
			r = zr
		case "deflate":
			// RFC 9110's deflate is zlib-wrapped; some senders send raw
			// DEFLATE anyway.
			if zr, err := zlib.NewReader(bytes.NewReader(out)); err == nil {
				r = zr
			} else {
				r = flate.NewReader(bytes.NewReader(out))
			}
		case "br":
			// The standard library has no brotli decoder; andybalholm/brotli
			// is a pure-Go port of Google's. It is bounded below like the
			// others: a few bytes of br can also inflate to gigabytes.
			r = brotli.NewReader(bytes.NewReader(out))
		default:
			return nil, "", false, fmt.Errorf("unknown content coding %q", codings[i])
		}
		var buf bytes.Buffer
		n, err := buf.ReadFrom(io.LimitReader(r, int64(limit)+1))
		if err != nil {
			return nil, "", false, fmt.Errorf("%s: %w", codings[i], err)
		}
		if n > int64(limit) {
			clipped = true
			buf.Truncate(limit)
		}
		out = buf.Bytes()
		if clipped && i > 0 {
			return nil, "", false, fmt.Errorf("%s: over %s decoded", codings[i], Size(int64(limit)))
		}
	}
	return out, strings.Join(codings, ", "), clipped, nil
}

// ImageType tells a raster image the page may preview by its first bytes,
// never by what the sender declared: "" for anything else (SVG included,
// which can carry script).
func ImageType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// declaredImage reports whether a part's declared type is one ImageType
// knows; the image route checks the bytes themselves.
func declaredImage(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

func isJSONType(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

// JSONError says where a body that claims to be JSON stops being JSON:
// "line 3, column 14: invalid character '}' …", or "" when it parses.
func JSONError(body []byte) string {
	var raw json.RawMessage
	err := json.Unmarshal(body, &raw)
	if err == nil {
		return ""
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err.Error()
	}
	// Offset counts the bytes read, the bad one included.
	end := strings.Contains(se.Error(), "unexpected end")
	at := int(min(max(se.Offset-1, 0), int64(len(body))))
	if end {
		at = len(body)
	}
	line := 1 + bytes.Count(body[:at], []byte("\n"))
	col := at - bytes.LastIndexByte(body[:at], '\n')
	if end {
		return fmt.Sprintf("line %d, column %d: %s (the body ends too soon)", line, col, se.Error())
	}
	return fmt.Sprintf("line %d, column %d (byte %d): %s", line, col, at+1, se.Error())
}

// bodyExtras adds what the details pane shows beyond FormatBody: the body
// decoded from its Content-Encoding (the wire bytes stay a view away),
// where invalid JSON broke, and image previews.
func (d *Detail) bodyExtras(h http.Header) {
	if d.Req.Truncated || len(d.Req.Body) == 0 {
		return
	}
	body := d.Req.Body
	ct := h.Get("Content-Type")
	if enc := strings.Join(h.Values("Content-Encoding"), ","); enc != "" {
		out, name, clipped, err := DecodeContent(enc, body, MaxDecoded)
		switch {
		case err != nil:
			d.EncodingNote = "Not decoded: " + err.Error() + ". Shown as received."
		case name != "":
			wire := d.Body
			d.Wire = &wire
			d.Body = FormatBody(ct, out)
			d.Body.Clipped = d.Body.Clipped || clipped
			d.Encoding = name
			d.EncodingNote = "Decoded from " + name + ": " + Size(int64(len(body))) + " on the wire."
			if clipped {
				d.EncodingNote += " Only the first " + Size(MaxDecoded) + " decoded are shown."
			}
			body = out
		}
	}
	if isJSONType(ct) && d.Body.Kind != KindJSON && !d.Body.Clipped {
		d.JSONError = JSONError(body)
	}
	d.JSONTree = d.Encoding == "" && (d.Body.Kind == KindJSON || isJSONType(ct) && d.Body.Clipped)
	if ImageType(body) != "" {
		d.ImageURL = d.Scope.DetailPath(d.Req.ID) + "/image"
	}
	for _, p := range d.Body.Parts {
		if declaredImage(p.ContentType) && p.Size > 0 {
			if d.PartImages == nil {
				d.PartImages = map[int]string{}
			}
			d.PartImages[p.Index] = d.Scope.PartPath(d.Req.ID, p.Index) + "/image"
		}
	}
}

// wireHeaders shows recorded header lines in wire order and spelling
// instead of the canonical, sorted map.
func (d *Detail) wireHeaders() {
	if d.Req.HeaderList == nil {
		return
	}
	n := min(len(d.Req.HeaderList), MaxFields)
	d.Headers = make([]Field, n)
	for i, l := range d.Req.HeaderList[:n] {
		d.Headers[i] = Field{Clip(l.Name), Clip(l.Value)}
	}
	d.MoreHeaders = len(d.Req.HeaderList) - n
}
