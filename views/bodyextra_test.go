package views

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// Brotli streams made by Google's C encoder (node's zlib.brotliCompressSync),
// not by the Go port that decodes them.
const (
	brHello = "0b068068656c6c6f2c2062726f746c6903"                     // "hello, brotli"
	brPing  = "8b0a807b226576656e74223a2270696e67222c226e223a317d03"   // {"event":"ping","n":1}
	brBomb  = "cbffff3ff82560e2b14020f7fe2ffffffff04b00c4611180eefd1f" // 16 MiB of "0": 27 bytes
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeContent(t *testing.T) {
	plain := []byte(`{"hello":"world"}`)
	bomb := gz(bytes.Repeat([]byte("0"), 1<<20))
	for _, tc := range []struct {
		name, enc string
		body      []byte
		limit     int
		want      string
		wantName  string
		clipped   bool
		err       string
	}{
		{"none", "", plain, 100, string(plain), "", false, ""},
		{"identity", "identity", plain, 100, string(plain), "", false, ""},
		{"gzip", "gzip", gz(plain), 100, string(plain), "gzip", false, ""},
		{"x-gzip upper case", " X-GZIP ", gz(plain), 100, string(plain), "x-gzip", false, ""},
		{"deflate (zlib)", "deflate", zl(plain), 100, string(plain), "deflate", false, ""},
		{"deflate (raw)", "deflate", rawDeflate(plain), 100, string(plain), "deflate", false, ""},
		{"two codings undone last first", "deflate, gzip", gz(zl(plain)), 100, string(plain), "deflate, gzip", false, ""},
		{"a bomb stops at the limit", "gzip", bomb, 1000, strings.Repeat("0", 1000), "gzip", true, ""},
		{"not gzip", "gzip", plain, 100, "", "", false, "gzip:"},
		{"cut short", "gzip", gz(plain)[:12], 100, "", "", false, "gzip:"},
		{"br", "br", unhex(brHello), 100, "hello, brotli", "br", false, ""},
		{"br upper case", "BR", unhex(brPing), 100, `{"event":"ping","n":1}`, "br", false, ""},
		{"br under gzip", "br, gzip", gz(unhex(brPing)), 100, `{"event":"ping","n":1}`, "br, gzip", false, ""},
		{"a br bomb stops at the limit", "br", unhex(brBomb), 1000, strings.Repeat("0", 1000), "br", true, ""},
		{"a gzipped br bomb stops at the limit", "br, gzip", gz(unhex(brBomb)), 1000, strings.Repeat("0", 1000), "br, gzip", true, ""},
		{"not br", "br", plain, 100, "", "", false, "br:"},
		{"br cut short", "br", unhex(brPing)[:10], 100, "", "", false, "br:"},
		{"unknown", "compress", plain, 100, "", "", false, "unknown content coding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, name, clipped, err := DecodeContent(tc.enc, tc.body, tc.limit)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(out) != tc.want || name != tc.wantName || clipped != tc.clipped {
				t.Fatalf("= %.40q, %q, %v, %v; want %.40q, %q, %v", out, name, clipped, err, tc.want, tc.wantName, tc.clipped)
			}
		})
	}
}

func TestJSONError(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"a":1}`, ""},
		{"{\n  \"a\": 1,\n  \"b\": }\n", "line 3, column 8 (byte 20): invalid character '}' looking for beginning of value"},
		{`{"a":`, "line 1, column 6: unexpected end of JSON input (the body ends too soon)"},
		{`[1,2]x`, "line 1, column 6 (byte 6): invalid character 'x' after top-level value"},
	} {
		if got := JSONError([]byte(tc.body)); got != tc.want {
			t.Errorf("JSONError(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestImageType(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"\x89PNG\r\n\x1a\nrest", "image/png"},
		{"\xff\xd8\xff\xe0", "image/jpeg"},
		{"GIF89a...", "image/gif"},
		{"GIF87a...", "image/gif"},
		{"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"},
		{"RIFF\x00\x00\x00\x00WAVE", ""},
		{`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, ""},
		{"<html>", ""},
		{"", ""},
	} {
		if got := ImageType([]byte(tc.body)); got != tc.want {
			t.Errorf("ImageType(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// TestDetailDecodesBody: a gzip JSON body is shown pretty, with the bytes as
// received a view away; the stored body is untouched.
func TestDetailDecodesBody(t *testing.T) {
	wire := gz([]byte(`{"event":"ping"}`))
	req := &storage.Request{ID: "req_1", Seq: 1, Path: "/", Body: wire, Size: int64(len(wire)),
		Header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}}
	d := NewDetail(Scope{BinID: "b"}, req, "http://x/b/b", time.Now())
	if d.Body.Kind != KindJSON || d.Encoding != "gzip" || d.Wire == nil || d.Wire.Kind != KindBinary || d.JSONError != "" {
		t.Fatalf("kind %s, encoding %q, wire %v, json error %q", d.Body.Kind, d.Encoding, d.Wire, d.JSONError)
	}
	if !bytes.Equal(req.Body, wire) {
		t.Fatal("the stored body changed")
	}
	req.Header.Set("Content-Encoding", "br")
	req.Body = unhex(brPing)
	d = NewDetail(Scope{BinID: "b"}, req, "http://x/b/b", time.Now())
	if d.Encoding != "br" || d.Body.Kind != KindJSON || d.Wire == nil || !strings.Contains(d.EncodingNote, "Decoded from br") {
		t.Fatalf("br: %q %q %s", d.Encoding, d.EncodingNote, d.Body.Kind)
	}
	if !bytes.Equal(req.Body, unhex(brPing)) {
		t.Fatal("the stored br body changed")
	}
	req.Body = unhex(brBomb)
	req.Header.Set("Content-Type", "text/plain")
	d = NewDetail(Scope{BinID: "b"}, req, "http://x/b/b", time.Now())
	if d.Encoding != "br" || !strings.Contains(d.EncodingNote, "Only the first") {
		t.Fatalf("br bomb: %q %q", d.Encoding, d.EncodingNote)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "br")
	req.Body = []byte("not brotli at all")
	d = NewDetail(Scope{BinID: "b"}, req, "http://x/b/b", time.Now())
	if d.Encoding != "" || !strings.Contains(d.EncodingNote, "Not decoded: br:") {
		t.Fatalf("bad br: %q %q", d.Encoding, d.EncodingNote)
	}
	req.Header.Del("Content-Encoding")
	req.Body = []byte("{\"a\": tru}")
	d = NewDetail(Scope{BinID: "b"}, req, "http://x/b/b", time.Now())
	if !strings.HasPrefix(d.JSONError, "line 1, column 10") {
		t.Fatalf("JSON error %q", d.JSONError)
	}
}
