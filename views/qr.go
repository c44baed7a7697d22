package views

import (
	"fmt"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QR is a QR code drawn as one SVG path, so the page shows it inline: no
// image URL (the login link's secret stays out of any URL and log) and no
// script, under the page's strict CSP.
type QR struct {
	Size int    // modules on a side, the quiet zone included
	Path string // the dark modules, a run of each row as one rectangle
}

// NewQR encodes text (byte mode, error correction level M) with a 4-module
// quiet zone. The path is O(modules): one "M x y h w v1 h-w z" per run.
func NewQR(text string) (QR, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return QR{}, fmt.Errorf("qr code: %w", err)
	}
	bm := q.Bitmap() // quiet zone included
	var b strings.Builder
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			w := strconv.Itoa(x - start)
			b.WriteString("M" + strconv.Itoa(start) + " " + strconv.Itoa(y) + "h" + w + "v1h-" + w + "z")
		}
	}
	return QR{Size: len(bm), Path: b.String()}, nil
}
