package signature

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"testing"
	"time"
)

// TestGenericHMACModes: the generic scheme's decoded keys, MD5, plain-hash
// mode and t=…,v1=… headers, each checked against a signature computed here
// independently, and each failing with the wrong setting.
func TestGenericHMACModes(t *testing.T) {
	now := time.Unix(1764730000, 0)
	body := []byte(`{"event":"ping"}`)
	rawKey := []byte{0x01, 0x02, 0xfe, 0xff, 0x10}
	hm := func(key, msg []byte) []byte { m := hmac.New(sha256.New, key); m.Write(msg); return m.Sum(nil) }
	md := func(key, msg []byte) []byte { m := hmac.New(md5.New, key); m.Write(msg); return m.Sum(nil) }
	plain := func(secret string, msg []byte) []byte { d := sha1.Sum(append([]byte(secret), msg...)); return d[:] }
	ts := strconv.FormatInt(now.Unix(), 10)

	cases := []struct {
		name   string
		p      Params
		header string
		wrong  Params // a setting that must not verify
	}{
		{"hex key", Params{"secret": hex.EncodeToString(rawKey), "header": "X-Sig", "key_encoding": "hex"},
			hex.EncodeToString(hm(rawKey, body)), Params{"key_encoding": "raw"}},
		{"base64 key", Params{"secret": base64.StdEncoding.EncodeToString(rawKey), "header": "X-Sig", "key_encoding": "base64", "encoding": "base64"},
			base64.StdEncoding.EncodeToString(hm(rawKey, body)), Params{"key_encoding": "hex"}},
		{"md5", Params{"secret": "s3cr3t", "header": "X-Sig", "algorithm": "md5"},
			hex.EncodeToString(md([]byte("s3cr3t"), body)), Params{"algorithm": "sha256"}},
		{"plain hash", Params{"secret": "s3cr3t", "header": "X-Sig", "algorithm": "sha1", "mode": "hash"},
			hex.EncodeToString(plain("s3cr3t", body)), Params{"mode": "hmac"}},
		{"t=,v1= header", Params{"secret": "s3cr3t", "header": "X-Sig", "prefix": "v1=", "timestamp_key": "t", "template": "{timestamp}.{body}"},
			"t=" + ts + ",v1=" + hex.EncodeToString(hm([]byte("s3cr3t"), []byte(ts+"."+string(body)))), Params{"template": "{body}"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Method: "POST", Header: hdr("X-Sig", c.header), Body: body, Now: now.Add(time.Second)}
			v, err := Verify("hmac", c.p, in)
			if err != nil || !v.Valid {
				t.Fatalf("independent signature: %+v %v", v, err)
			}
			// Sign is the inverse of Verify.
			h, _, err := Sign("hmac", c.p, Input{Method: "POST", Body: body, Now: now})
			if err != nil || h.Get("X-Sig") != c.header {
				t.Errorf("Sign = %q, want %q (%v)", h.Get("X-Sig"), c.header, err)
			}
			w := clone(c.p)
			for k, val := range c.wrong {
				w[k] = val
			}
			if v, err := Verify("hmac", w, in); err == nil && v.Valid {
				t.Errorf("verified with %v too", c.wrong)
			}
		})
	}
	// t= outside the tolerance is reported as such.
	p := Params{"secret": "s3cr3t", "header": "X-Sig", "prefix": "v1=", "timestamp_key": "t", "template": "{timestamp}.{body}"}
	sig := "t=" + ts + ",v1=" + hex.EncodeToString(hm([]byte("s3cr3t"), []byte(ts+"."+string(body))))
	v, _ := Verify("hmac", p, Input{Method: "POST", Header: hdr("X-Sig", sig), Body: body, Now: now.Add(time.Hour)})
	if v.Valid || v.Details.Timestamp == nil {
		t.Errorf("stale t=: %+v", v)
	}
}
