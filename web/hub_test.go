package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// nextCapture reads the subscription's next event and checks it is the
// capture seq.
func nextCapture(t *testing.T, sub *Subscription, seq int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := sub.Next(ctx)
	if err != nil || ev.Kind != Captured || ev.Seq != seq || ev.Request == nil || ev.Request.Seq != seq {
		t.Fatalf("Next = %+v, %v; want capture %d", ev, err, seq)
	}
}

// TestSubscriptionFallsBehindAndResumes: a subscriber that does not read
// while far more captures arrive than its queue holds is cut off from live
// events, and Next still yields every capture once, in order, reading the
// missed ones from the database; the capture path never waited for it.
func TestSubscriptionFallsBehindAndResumes(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	a.capture(b.ID, "", "{}")
	sub := a.hub.Subscribe(context.Background(), b.ID, 0, storage.Filter{})
	defer sub.Close()
	const n = subQueue + 40
	for range n {
		a.capture(b.ID, "", "{}")
	}
	if a.hub.cutoffs.Load() == 0 {
		t.Fatal("the subscriber was never cut off: the test does not test")
	}
	for seq := int64(1); seq <= n+1; seq++ {
		nextCapture(t, sub, seq)
	}
	// Live again: the next capture comes from the hub.
	a.capture(b.ID, "", "{}")
	nextCapture(t, sub, n+2)
	if ev, ok, err := sub.TryNext(context.Background()); ok || err != nil {
		t.Fatalf("more than every capture once: %+v, %v", ev, err)
	}
}

// TestSubscriptionReadsContentOnGap: a second event source (another
// instance sharing the database) says only "bin X has seq N"; the
// subscription reads the content from the database, and a capture it
// already has is not yielded twice, nor one published out of order.
func TestSubscriptionReadsContentOnGap(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	sub := a.hub.Subscribe(context.Background(), b.ID, 0, storage.Filter{Query: "wanted"})
	defer sub.Close()
	for _, path := range []string{"/other", "/wanted/2", "/other", "/wanted/4"} {
		// Stored without this process's hub hearing of it.
		if _, err := a.db.Capture(context.Background(), storage.Capture{Request: &storage.Request{BinID: b.ID, Method: "POST", Path: path}}); err != nil {
			t.Fatal(err)
		}
	}
	a.hub.Publish(Event{Kind: Captured, Bin: b.ID, Seq: 4}) // ids only
	a.hub.Publish(Event{Kind: Captured, Bin: b.ID, Seq: 2}) // late and repeated
	nextCapture(t, sub, 2)
	nextCapture(t, sub, 4)
	if got := sub.Last(); got != 4 {
		t.Fatalf("Last = %d, want 4", got)
	}
	a.hub.Publish(Event{Kind: Removed, Bin: b.ID, Seq: 2})
	ev, err := sub.Next(context.Background())
	if err != nil || ev.Kind != Removed || ev.Seq != 2 {
		t.Fatalf("Next = %+v, %v; want the removal of 2", ev, err)
	}
}

// TestStreamsEndWhenCredentialStops: an API stream ends when its bin's
// token is replaced, and when its bin is deleted, after an "deleted" event;
// a wait on a deleted bin ends too.
func TestStreamsEndWhenCredentialStops(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	byToken := openStream(t, nil, eventsURL(a, b), nil)
	byHeader := openStream(t, nil, a.ts.URL+"/api/bins/"+b.ID+"/events", http.Header{"Authorization": {"Bearer " + b.Token}})
	if res := a.do("POST", "/api/bins/"+b.ID+"/token", b.Token, nil, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("new token: %d %s", res.StatusCode, res.body)
	}
	for _, s := range []*sseStream{byToken, byHeader} {
		select {
		case err := <-s.done:
			_ = err
		case <-time.After(2 * time.Second):
			t.Fatal("a stream opened with the old token goes on")
		}
	}

	b = a.newBin()
	s := openStream(t, nil, eventsURL(a, b), nil)
	waitDone := make(chan waitResult, 1)
	go func() {
		res := a.do("GET", "/api/bins/"+b.ID+"/requests/wait?timeout=30s", b.Token, nil, "")
		waitDone <- waitResult{status: res.StatusCode, body: string(res.body)}
	}()
	eventually(t, 5*time.Second, "the waiter to subscribe", func() bool { return a.hub.subscribers(b.ID) == 2 })
	if res := a.do("DELETE", "/api/bins/"+b.ID, b.Token, nil, ""); res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete bin: %d", res.StatusCode)
	}
	ev := s.next(2 * time.Second)
	var data struct{ Bin string }
	if ev.Event != "deleted" || json.Unmarshal([]byte(ev.Data), &data) != nil || data.Bin != b.ID {
		t.Fatalf("want a deleted event, got %+v", ev)
	}
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream of a deleted bin goes on")
	}
	select {
	case w := <-waitDone:
		if w.status != http.StatusNotFound || !strings.Contains(string(w.body), "deleted") {
			t.Fatalf("wait on a deleted bin: %d %s", w.status, w.body)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the wait on a deleted bin goes on")
	}
}

// TestWaitAnswers503OnShutdown: closing the server answers pending waits.
func TestWaitAnswers503OnShutdown(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	done := make(chan int, 1)
	go func() {
		done <- a.do("GET", "/api/bins/"+b.ID+"/requests/wait?timeout=30s", b.Token, nil, "").StatusCode
	}()
	eventually(t, 5*time.Second, "the waiter to subscribe", func() bool { return a.hub.subscribers(b.ID) == 1 })
	a.srv.Close()
	select {
	case code := <-done:
		if code != http.StatusServiceUnavailable {
			t.Fatalf("wait during shutdown: %d, want 503", code)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the wait goes on during shutdown")
	}
}
