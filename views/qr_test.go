package views

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
)

// drawn reads back the modules a QR's SVG path paints: the test decodes
// what the page shows, not the encoder's matrix.
func drawn(t *testing.T, q QR) [][]bool {
	t.Helper()
	g := make([][]bool, q.Size)
	for i := range g {
		g[i] = make([]bool, q.Size)
	}
	for _, run := range strings.Split(q.Path, "z") {
		if run == "" {
			continue
		}
		var x, y, w, w2 int
		if _, err := fmt.Sscanf(run, "M%d %dh%dv1h-%d", &x, &y, &w, &w2); err != nil || w != w2 || y >= q.Size || x+w > q.Size {
			t.Fatalf("bad run %q in the path (%v)", run, err)
		}
		for i := x; i < x+w; i++ {
			g[y][i] = true
		}
	}
	return g
}

// decodeQR decodes a grid with ZXing's Go port, an implementation
// independent of the encoder.
func decodeQR(t *testing.T, g [][]bool) string {
	t.Helper()
	const scale = 4
	img := image.NewGray(image.Rect(0, 0, len(g)*scale, len(g)*scale))
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			c := color.Gray{255}
			if g[y/scale][x/scale] {
				c = color.Gray{0}
			}
			img.SetGray(x, y, c)
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res.GetText()
}

func TestQRDecodesToText(t *testing.T) {
	for _, text := range []string{
		"http://127.0.0.1:8080/login/3q2-7x_Rk9aP0zYbW5uVtLsE4cJhGfD1",
		"https://hooks.example.com/login/" + strings.Repeat("Ab9_-", 12),
		"x",
	} {
		q, err := NewQR(text)
		if err != nil {
			t.Fatal(err)
		}
		g := drawn(t, q)
		// A 4-module quiet zone on every side.
		for i := range q.Size {
			for _, m := range []bool{g[0][i], g[3][i], g[i][0], g[i][3], g[q.Size-1][i], g[i][q.Size-4]} {
				if m {
					t.Fatalf("%q: a dark module in the quiet zone", text)
				}
			}
		}
		if got := decodeQR(t, g); got != text {
			t.Fatalf("QR of %q decodes to %q", text, got)
		}
	}
}

// TestQRCodeSVG: the markup is one escaped path in a fixed-size square, so
// the page's CSP (no inline style, no script) shows it.
func TestQRCodeSVG(t *testing.T) {
	q, err := NewQR(`http://x/login/a"b<c>`)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := QRCode(q, "QR code").Render(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{`<svg class="qr"`, fmt.Sprintf(`viewBox="0 0 %d %d"`, q.Size, q.Size), `<path d="M`} {
		if !strings.Contains(html, want) {
			t.Fatalf("missing %q in %s", want, html[:min(len(html), 300)])
		}
	}
	if strings.Contains(html, "style=") || strings.Contains(html, "<script") || strings.Contains(html, "login") {
		t.Fatalf("unexpected markup: %s", html[:min(len(html), 300)])
	}
}
