package storage

import (
	"context"
	"encoding/json"
	"testing"
)

// TestAnsweredIsStored: the answer a sender got is kept with every capture,
// next to the verdict (or without one), a handshake's provider included, and
// a capture stored before answers were recorded reads back with none.
func TestAnsweredIsStored(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, Options{})
	bin := mustCreateBin(t, db, "a", "")
	cases := []*Request{
		{BinID: bin.ID, Method: "POST"},
		{BinID: bin.ID, Method: "POST", Answered: Answered{Status: 200, Handshake: "slack"}},
		{BinID: bin.ID, Method: "POST", Answered: Answered{Status: 401},
			Verdict: &Verdict{Provider: "discord", Reason: "bad", Details: json.RawMessage(`{"header":"X"}`)}},
		{BinID: bin.ID, Method: "POST", Verdict: &Verdict{Provider: "stripe", Valid: true, Reason: "ok"}},
	}
	want := []Answered{{Status: 200}, {Status: 200, Handshake: "slack"}, {Status: 401}, {Status: 200}}
	for i, r := range cases {
		c, err := db.Capture(ctx, Capture{Request: r})
		if err != nil {
			t.Fatal(err)
		}
		if c.Request.Answered != want[i] {
			t.Errorf("%d: live copy answered %+v, want %+v", i, c.Request.Answered, want[i])
		}
		got, err := db.Request(ctx, bin.ID, c.Request.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if got.Answered != want[i] {
			t.Errorf("%d: stored answered %+v, want %+v", i, got.Answered, want[i])
		}
		if (got.Verdict == nil) != (r.Verdict == nil) || (got.Verdict != nil && (got.Verdict.Provider != r.Verdict.Provider || got.Verdict.Reason != r.Verdict.Reason || string(got.Verdict.Details) != string(r.Verdict.Details))) {
			t.Errorf("%d: verdict %+v, want %+v", i, got.Verdict, r.Verdict)
		}
	}
	// A row written before this change has an empty or verdict-only column.
	if _, err := db.w.ExecContext(ctx, `UPDATE requests SET verdict = '' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE requests SET verdict = '{"provider":"stripe","valid":true,"reason":"ok"}' WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	old, _ := db.Request(ctx, bin.ID, 1)
	old4, _ := db.Request(ctx, bin.ID, 4)
	if old.Answered != (Answered{}) || old.Verdict != nil || old4.Answered != (Answered{}) || old4.Verdict == nil || !old4.Verdict.Valid {
		t.Errorf("legacy rows: %+v %+v / %+v %+v", old.Answered, old.Verdict, old4.Answered, old4.Verdict)
	}
}

// TestHandshakeSettingsPersist: handshakes and reject_invalid survive a
// restart; nil means the defaults.
func TestHandshakeSettingsPersist(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/t.db"
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bin := mustCreateBin(t, db, "a", "")
	off, on := false, true
	if _, err := db.SetSignature(ctx, bin.ID, &SignatureConfig{Provider: "stripe", Params: map[string]string{"secret": "s"}, Handshakes: &off, RejectInvalid: &on}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpenPath(t, path, Options{})
	b, err := db.Bin(ctx, bin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Signature.HandshakesOn() || !b.Signature.RejectsInvalid() {
		t.Errorf("after restart: %+v", b.Signature)
	}
	var none *SignatureConfig
	if !none.HandshakesOn() || none.RejectsInvalid() {
		t.Error("no settings: handshakes must be on, reject_invalid off")
	}
	for p, want := range map[string]bool{"discord": true, "xero": true, "stripe": false} {
		if got := (&SignatureConfig{Provider: p}).RejectsInvalid(); got != want {
			t.Errorf("%s default reject_invalid = %v", p, got)
		}
	}
}
