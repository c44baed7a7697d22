package storage

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCreateBin(t *testing.T) {
	clock := newFakeClock()
	clock.Advance(123456 * time.Microsecond) // sub-millisecond part is not stored
	db := mustOpenDB(t, Options{Now: clock.Now})
	ctx := context.Background()

	b, token, err := db.CreateBin(ctx, "My bin", "browser-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.ID) < 20 || token == "" || bytes.Contains(b.TokenHash, []byte(token)) {
		t.Errorf("id %q, token %q: want long random id and a token that is only stored hashed", b.ID, token)
	}
	want := clock.Now().Truncate(time.Millisecond)
	if !b.CreatedAt.Equal(want) || !b.LastActiveAt.Equal(want) {
		t.Errorf("times %v %v, want %v", b.CreatedAt, b.LastActiveAt, want)
	}
	got, err := db.Bin(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("Bin()\n got %+v\nwant %+v", got, b)
	}
	if got.Response != nil || got.Signature != nil || got.Forwarding != (Forwarding{Mode: ForwardInOrder}) || got.Seq != 0 {
		t.Errorf("new bin has settings: %+v", got)
	}

	for _, tc := range []struct {
		token string
		want  bool
	}{{token, true}, {"", false}, {token + "x", false}, {token[:len(token)-1], false}} {
		if got.CheckToken(tc.token) != tc.want {
			t.Errorf("CheckToken(%q) = %v", tc.token, !tc.want)
		}
	}
	other, otherToken, _ := db.CreateBin(ctx, "", "")
	if other.ID == b.ID || otherToken == token || got.CheckToken(otherToken) {
		t.Error("two bins share an id or a token")
	}
	if _, err := db.Bin(ctx, "nosuchbin"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing bin: err = %v, want ErrNotFound", err)
	}
}

func TestBinsByOwner(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now})
	ctx := context.Background()
	var mine []string
	for i := range 4 {
		mine = append(mine, mustCreateBin(t, db, "", "me").ID)
		mustCreateBin(t, db, "", "someone else")
		mustCreateBin(t, db, "", "")
		if i%2 == 1 {
			clock.Advance(time.Second) // and some created in the same millisecond
		}
	}
	got, err := db.BinsByOwner(ctx, "me")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range got {
		ids = append(ids, b.ID)
	}
	slices.Reverse(mine)
	if !slices.Equal(ids, mine) {
		t.Errorf("BinsByOwner = %v, want newest first %v", ids, mine)
	}
	if got, err := db.BinsByOwner(ctx, ""); err != nil || len(got) != 0 {
		t.Errorf(`BinsByOwner("") = %d bins, %v: API-created bins belong to nobody`, len(got), err)
	}
	if got, err := db.BinsByOwner(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Errorf("unknown owner: %d bins, %v", len(got), err)
	}
}

func TestDeleteBin(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	keep := mustCreateBin(t, db, "", "")
	captureMany(t, db, bin.ID, deleteBatch+20)
	captureMany(t, db, keep.ID, 3)
	if _, err := db.Capture(ctx, Capture{Request: newRequest(bin.ID), DeliverTo: "http://x"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddForward(ctx, bin.ID, 1, Forward{URL: "http://x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SettingOrInit(ctx, "k", func() []byte { return []byte("v") }); err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteBin(ctx, bin.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Bin(ctx, bin.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted bin: err = %v, want ErrNotFound", err)
	}
	if _, err := db.Capture(ctx, Capture{Request: newRequest(bin.ID)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("capture to deleted bin: err = %v, want ErrNotFound", err)
	}
	if err := db.DeleteBin(ctx, bin.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
	// The only forward and delivery belonged to the deleted bin.
	for _, q := range []string{
		`SELECT count(*) FROM requests WHERE bin_id = '` + bin.ID + `'`,
		`SELECT count(*) FROM forwards`,
		`SELECT count(*) FROM deliveries`,
	} {
		var n int
		if err := db.r.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s = %d, %v; want 0", q, n, err)
		}
	}
	if list, _, _ := db.ListRequests(ctx, keep.ID, ListOptions{}); len(list) != 3 {
		t.Errorf("other bin has %d requests, want 3", len(list))
	}
	if v, err := db.Setting(ctx, "k"); err != nil || string(v) != "v" {
		t.Errorf("settings touched: %q, %v", v, err)
	}
}

func TestResponsePick(t *testing.T) {
	ptr := func(s string) *string { return &s }
	iptr := func(i int) *int { return &i }
	base := Response{Status: 201, Headers: map[string]string{"X-Base": "1"}, Body: "base", DelayMS: 10}
	seq := base
	seq.Sequence = []ResponseStep{
		{Status: 500, Times: 3},
		{Status: 0, Times: 1, Body: ptr("custom"), DelayMS: iptr(0)},
		{Status: 429, Times: 0},  // skipped
		{Status: 418, Times: -5}, // skipped, and does not push the rest back
		{Status: 503, Times: 2, Headers: map[string]string{"Retry-After": "1"}, Body: ptr("")},
	}
	inherit := func(status int) Answer {
		return Answer{Status: status, Headers: base.Headers, Body: "base", Delay: 10 * time.Millisecond}
	}
	for _, tc := range []struct {
		name string
		r    Response
		n    int64
		want Answer
	}{
		{"zero value is 200", Response{}, 1, Answer{Status: 200}},
		{"base only", base, 1, inherit(201)},
		{"base only, later", base, 1000, inherit(201)},
		{"step 1, first", seq, 1, inherit(500)},
		{"step 1, third", seq, 3, inherit(500)},
		{"step 2 inherits status, overrides body and delay", seq, 4,
			Answer{Status: 201, Headers: base.Headers, Body: "custom", Delay: 0}},
		{"step 5, after skipped steps", seq, 5,
			Answer{Status: 503, Headers: map[string]string{"Retry-After": "1"}, Body: "", Delay: 10 * time.Millisecond}},
		{"step 5, second", seq, 6,
			Answer{Status: 503, Headers: map[string]string{"Retry-After": "1"}, Body: "", Delay: 10 * time.Millisecond}},
		{"then the base for good", seq, 7, inherit(201)},
		{"then the base for good, later", seq, 70, inherit(201)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Pick(tc.n); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Pick(%d) = %+v, want %+v", tc.n, got, tc.want)
			}
		})
	}
}

func TestSetResponseRestartsSequence(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	for i := int64(1); i <= 3; i++ {
		if c := mustCapture(t, db, newRequest(bin.ID)); c.Served != i {
			t.Fatalf("capture %d: Served = %d", i, c.Served)
		}
	}
	body := "nope"
	r := &Response{Status: 202, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "ok", DelayMS: 5,
		Sequence: []ResponseStep{{Status: 500, Times: 2, Body: &body}}}
	clock.Advance(time.Minute)
	b, err := db.SetResponse(ctx, bin.ID, r)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Response, r) {
		t.Errorf("stored response\n got %+v\nwant %+v", b.Response, r)
	}
	if !b.LastActiveAt.Equal(clock.Now()) {
		t.Errorf("LastActiveAt = %v, want %v: a settings change is activity", b.LastActiveAt, clock.Now())
	}
	var statuses []int
	for i := int64(1); i <= 4; i++ {
		c := mustCapture(t, db, newRequest(bin.ID))
		if c.Served != i {
			t.Errorf("after SetResponse, capture %d: Served = %d", i, c.Served)
		}
		statuses = append(statuses, b.Response.Pick(c.Served).Status)
	}
	if !slices.Equal(statuses, []int{500, 500, 202, 202}) {
		t.Errorf("answers %v, want the sequence then the base", statuses)
	}
	if c := mustCapture(t, db, newRequest(bin.ID)); c.Request.Seq != 8 {
		t.Errorf("seq = %d, want 8: SetResponse restarts the sequence, not the seq", c.Request.Seq)
	}
	b, err = db.SetResponse(ctx, bin.ID, nil)
	if err != nil || b.Response != nil {
		t.Errorf("SetResponse(nil) = %+v, %v; want the default", b.Response, err)
	}
	if c := mustCapture(t, db, newRequest(bin.ID)); c.Served != 1 {
		t.Errorf("after reset: Served = %d, want 1", c.Served)
	}
	if _, err := db.SetResponse(ctx, "nosuchbin", r); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing bin: err = %v, want ErrNotFound", err)
	}
}

func TestBinSettings(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")

	sig := &SignatureConfig{Provider: "hmac", Params: map[string]string{"secret": "s3cr\u00e9t", "algorithm": "sha256"}}
	b, err := db.SetSignature(ctx, bin.ID, sig)
	if err != nil || !reflect.DeepEqual(b.Signature, sig) {
		t.Fatalf("SetSignature = %+v, %v", b.Signature, err)
	}
	if b, err = db.SetSignature(ctx, bin.ID, nil); err != nil || b.Signature != nil {
		t.Errorf("SetSignature(nil) = %+v, %v", b.Signature, err)
	}

	f := Forwarding{URL: "https://example.com/hooks?x=1", Enabled: true}
	if b, err = db.SetForwarding(ctx, bin.ID, f); err != nil || b.Forwarding != (Forwarding{URL: f.URL, Enabled: true, Mode: ForwardInOrder}) {
		t.Errorf("SetForwarding without a mode = %+v, %v; want mode in_order", b.Forwarding, err)
	}
	if _, err = db.SetForwarding(ctx, bin.ID, Forwarding{URL: f.URL, Mode: "sideways"}); err == nil {
		t.Errorf("SetForwarding with an unknown mode: no error")
	}
	f.Mode = ForwardIndependent
	if b, err = db.SetForwarding(ctx, bin.ID, f); err != nil || b.Forwarding != f {
		t.Errorf("SetForwarding = %+v, %v", b.Forwarding, err)
	}
	f.Enabled = false
	if b, err = db.SetForwarding(ctx, bin.ID, f); err != nil || b.Forwarding != f {
		t.Errorf("SetForwarding(disabled) = %+v, %v", b.Forwarding, err)
	}

	if err := db.SetReplayURL(ctx, bin.ID, "http://localhost:3000/x"); err != nil {
		t.Fatal(err)
	}
	if b, _ = db.Bin(ctx, bin.ID); b.ReplayURL != "http://localhost:3000/x" || b.Forwarding != f || b.Signature != nil {
		t.Errorf("bin after SetReplayURL: %+v", b)
	}

	if _, err := db.SetSignature(ctx, "nosuchbin", sig); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetSignature, missing bin: %v", err)
	}
	if _, err := db.SetForwarding(ctx, "nosuchbin", f); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetForwarding, missing bin: %v", err)
	}
	if err := db.SetReplayURL(ctx, "nosuchbin", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetReplayURL, missing bin: %v", err)
	}
}

func TestSettingOrInit(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	if _, err := db.Setting(ctx, "session_key"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unset: err = %v, want ErrNotFound", err)
	}

	var inits atomic.Int32
	const callers = 20
	values := make([][]byte, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			v, err := db.SettingOrInit(ctx, "session_key", func() []byte {
				inits.Add(1)
				return []byte{byte(i), 0, 0xff, byte(i)}
			})
			if err != nil {
				t.Error(err)
			}
			values[i] = v
		})
	}
	wg.Wait()
	if inits.Load() != 1 {
		t.Errorf("init ran %d times, want once", inits.Load())
	}
	for i, v := range values {
		if !bytes.Equal(v, values[0]) {
			t.Fatalf("caller %d got %x, caller 0 got %x", i, v, values[0])
		}
	}
	if v, err := db.Setting(ctx, "session_key"); err != nil || !bytes.Equal(v, values[0]) {
		t.Errorf("Setting = %x, %v; want %x", v, err, values[0])
	}

	// An empty value is a value: stored once, read back empty, not nil.
	v, err := db.SettingOrInit(ctx, "empty", func() []byte { return nil })
	if err != nil || v == nil || len(v) != 0 {
		t.Errorf("empty init: %q (nil %v), %v", v, v == nil, err)
	}
	if v, err := db.Setting(ctx, "empty"); err != nil || v == nil || len(v) != 0 {
		t.Errorf("empty setting: %q (nil %v), %v", v, v == nil, err)
	}
}

func FuzzHeaderEncoding(f *testing.F) {
	for _, s := range []string{"", "plain", "caf\xe9", "%", "%25", "\x00", "\x00%41", "\xff\xfe", "\U0001F600", "\xed\xa0\x80", "a%\xffb"} {
		f.Add(s, s+"!")
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		h := http.Header{name: {value, "", value}}
		j, err := encodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeHeader([]byte(j))
		if err != nil {
			t.Fatalf("decode %s: %v", j, err)
		}
		if !reflect.DeepEqual(got, h) {
			t.Fatalf("round trip of %q: %q", h, got)
		}
	})
}

func TestNewToken(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	b, first, err := db.CreateBin(ctx, "b", "browser-1")
	if err != nil {
		t.Fatal(err)
	}
	got, second, err := db.NewToken(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if second == "" || second == first || got.ID != b.ID || got.Owner != "browser-1" {
		t.Fatalf("new token %q (first %q), bin %+v", second, first, got)
	}
	stored, err := db.Bin(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.CheckToken(first) || !stored.CheckToken(second) {
		t.Fatal("the old token still works, or the new one does not")
	}
	if _, _, err := db.NewToken(ctx, "nosuchbin"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing bin: %v", err)
	}
}
