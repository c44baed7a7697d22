package views

import (
	"testing"
)

func TestFormatBodyKinds(t *testing.T) {
	for _, tc := range []struct{ ctype, body, kind string }{
		{"", "", KindEmpty},
		{"", `{"a":1}`, KindJSON},
		{"text/plain", `[1,2]`, KindJSON},
		{"application/vnd.api+json", `{"a":1}`, KindJSON},
		{"application/json", `{broken`, KindText},
		{"application/x-www-form-urlencoded", "a=1", KindForm},
		{"text/xml", "<a/>", KindXML},
		{"image/png", "\x89PNG\x00", KindBinary},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n", KindMultipart},
	} {
		if got := FormatBody(tc.ctype, []byte(tc.body)).Kind; got != tc.kind {
			t.Errorf("%q %q: kind %s, want %s", tc.ctype, tc.body, got, tc.kind)
		}
	}
}
