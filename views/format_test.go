package views

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// TestCurlReproducesBody runs the printf half of a generated command in sh:
// the bytes it pipes into curl must be the captured body, byte for byte.
func TestCurlReproducesBody(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	body := []byte("a'b\\c%d\x00\xff\n\"$(x)`y`")
	cmd := Curl("POST", "http://h/b/x/p?q='1'", http.Header{"X-A": {"it's"}}, body)
	printf, _, ok := strings.Cut(cmd, " | curl")
	if !ok {
		t.Fatalf("binary body not piped: %s", cmd)
	}
	out, err := exec.Command("sh", "-c", printf).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(body) {
		t.Errorf("printf gives %q, want %q", out, body)
	}
	for _, want := range []string{`-X 'POST' 'http://h/b/x/p?q='\''1'\'''`, `-H 'X-A: it'\''s'`, "--data-binary @-"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command lacks %s:\n%s", want, cmd)
		}
	}
	if c := Curl("GET", "http://h/b/x", http.Header{"Host": {"h"}}, nil); c != "curl 'http://h/b/x'" {
		t.Errorf("plain GET: %s", c)
	}
}

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
