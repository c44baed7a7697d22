package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// burst captures n requests to bin from conns goroutines at once, each
// with its number as the body, and returns the seq each one got.
func (a *testApp) burst(binID string, n, conns int) map[int]int64 {
	a.t.Helper()
	var (
		mu    sync.Mutex
		seqs  = map[int]int64{}
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		errs  []error
	)
	for range conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				seq, err := capture(a.ts.Client(), a.ts.URL, binID, "/f", strconv.Itoa(i))
				if err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
					return
				}
				mu.Lock()
				seqs[i] = seq
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		a.t.Fatalf("capture: %v", errs[0])
	}
	return seqs
}

// capture posts body to bin's path and returns the seq of the capture.
func capture(c *http.Client, base, binID, path, body string) (int64, error) {
	res, err := c.Post(base+"/b/"+binID+path, "text/plain", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		return 0, fmt.Errorf("capture: status %d, %v", res.StatusCode, err)
	}
	return strconv.ParseInt(strings.TrimPrefix(out.ID, "req_"), 10, 64)
}

// countingTarget records the body of each delivery, in arrival order, and
// the most deliveries it held at once. While gate is open (not nil and not
// closed) it holds each delivery until the gate closes.
type countingTarget struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   []string
	inFlight int
	maxIn    int
	gate     chan struct{}
}

func newCountingTarget(t *testing.T, gate chan struct{}) *countingTarget {
	ct := &countingTarget{gate: gate}
	ct.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ct.mu.Lock()
		ct.inFlight++
		ct.maxIn = max(ct.maxIn, ct.inFlight)
		ct.mu.Unlock()
		if ct.gate != nil {
			select {
			case <-ct.gate:
			case <-r.Context().Done():
			}
		}
		ct.mu.Lock()
		ct.inFlight--
		ct.bodies = append(ct.bodies, string(b))
		ct.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(ct.Close)
	return ct
}

func (ct *countingTarget) got() (bodies []string, inFlight, maxIn int) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return append([]string(nil), ct.bodies...), ct.inFlight, ct.maxIn
}

// waitWithin polls cond until it holds or within has passed.
func waitWithin(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (a *testApp) setForwarding(bin createdBin, url, mode string) {
	a.t.Helper()
	body := `{"url":"` + url + `","enabled":true`
	if mode != "" {
		body += `,"mode":"` + mode + `"`
	}
	res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, body+"}")
	if res.StatusCode != http.StatusOK {
		a.t.Fatalf("PUT forwarding: %d %s", res.StatusCode, res.body)
	}
}

// TestAutoForwardBurstInOrder captures 2 000 requests from 8 senders at once
// and checks that the target gets each exactly once, in capture order.
func TestAutoForwardBurstInOrder(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	tg := newCountingTarget(t, nil)
	a.setForwarding(bin, tg.URL, "")
	const n = 2000
	seqs := a.burst(bin.ID, n, 8)
	waitWithin(t, 60*time.Second, "2000 deliveries", func() bool {
		got, _, _ := tg.got()
		return len(got) >= n
	})
	time.Sleep(100 * time.Millisecond) // a duplicate would come right after
	got, _, _ := tg.got()
	if len(got) != n {
		t.Fatalf("target got %d deliveries for %d captures", len(got), n)
	}
	var last int64
	seen := map[string]bool{}
	for i, body := range got {
		k, _ := strconv.Atoi(body)
		seq, ok := seqs[k]
		if !ok || seen[body] {
			t.Fatalf("delivery %d: body %q unknown or repeated", i, body)
		}
		seen[body] = true
		if seq <= last {
			t.Fatalf("delivery %d is req_%d after req_%d: out of capture order", i, seq, last)
		}
		last = seq
	}
	// Every attempt is recorded, as delivered.
	for _, seq := range []int64{1, n / 2, n} {
		var req struct {
			Forwards []struct{ Status int } `json:"forwards"`
			Delivery struct{ State string } `json:"delivery"`
		}
		waitWithin(t, 10*time.Second, "the attempts to be recorded", func() bool {
			a.getJSON("/api/bins/"+bin.ID+"/requests/req_"+strconv.FormatInt(seq, 10), bin.Token, &req)
			return req.Delivery.State == "delivered"
		})
		if len(req.Forwards) != 1 || req.Forwards[0].Status != http.StatusNoContent {
			t.Errorf("req_%d history: %+v", seq, req.Forwards)
		}
	}
}

// TestAutoForwardIndependentSlowTarget gives one bin a target that holds
// every delivery and another a target that answers at once: the fast bin's
// deliveries all arrive while the slow bin's are stuck, the slow bin has no
// more than independentSlots in flight, and once let go every capture
// arrives exactly once.
func TestAutoForwardIndependentSlowTarget(t *testing.T) {
	a := newTestApp(t)
	slowBin, fastBin := a.newBin(), a.newBin()
	gate := make(chan struct{})
	slow := newCountingTarget(t, gate)
	fast := newCountingTarget(t, nil)
	a.setForwarding(slowBin, slow.URL, "independent")
	a.setForwarding(fastBin, fast.URL, "independent")
	var bin struct {
		Forwarding struct{ Mode string } `json:"forwarding"`
	}
	a.getJSON("/api/bins/"+slowBin.ID, slowBin.Token, &bin)
	if bin.Forwarding.Mode != "independent" {
		t.Fatalf("mode after PUT: %q", bin.Forwarding.Mode)
	}

	const nSlow, nFast = 30, 300
	a.burst(slowBin.ID, nSlow, 4)
	waitWithin(t, 10*time.Second, "the slow bin's slots to fill", func() bool {
		_, in, _ := slow.got()
		return in == independentSlots
	})
	a.burst(fastBin.ID, nFast, 4)
	waitWithin(t, 30*time.Second, "the fast bin's deliveries", func() bool {
		got, _, _ := fast.got()
		return len(got) >= nFast
	})
	if got, in, maxIn := slow.got(); len(got) != 0 || in != independentSlots || maxIn != independentSlots {
		t.Fatalf("slow target: %d done, %d in flight, at most %d at once; want 0, %d, %d", len(got), in, maxIn, independentSlots, independentSlots)
	}
	close(gate)
	waitWithin(t, 30*time.Second, "the slow bin's deliveries", func() bool {
		got, _, _ := slow.got()
		return len(got) >= nSlow
	})
	time.Sleep(100 * time.Millisecond)
	for name, tg := range map[string]*countingTarget{"slow": slow, "fast": fast} {
		got, _, maxIn := tg.got()
		seen := map[string]bool{}
		for _, b := range got {
			if seen[b] {
				t.Errorf("%s target got %s twice", name, b)
			}
			seen[b] = true
		}
		if want := map[string]int{"slow": nSlow, "fast": nFast}[name]; len(seen) != want {
			t.Errorf("%s target got %d distinct deliveries, want %d", name, len(seen), want)
		}
		if maxIn > independentSlots {
			t.Errorf("%s target had %d deliveries at once, more than %d", name, maxIn, independentSlots)
		}
	}
}

// TestAutoForwardInOrderSlowTargetOtherBin: an in-order bin whose target
// hangs holds one slot, its own; another bin's deliveries go on.
func TestAutoForwardInOrderSlowTargetOtherBin(t *testing.T) {
	a := newTestApp(t)
	slowBin, fastBin := a.newBin(), a.newBin()
	gate := make(chan struct{})
	slow := newCountingTarget(t, gate)
	fast := newCountingTarget(t, nil)
	a.setForwarding(slowBin, slow.URL, "in_order")
	a.setForwarding(fastBin, fast.URL, "")
	a.burst(slowBin.ID, 5, 1)
	waitWithin(t, 10*time.Second, "the slow bin's first delivery", func() bool {
		_, in, _ := slow.got()
		return in == 1
	})
	a.burst(fastBin.ID, 100, 4)
	waitWithin(t, 30*time.Second, "the fast bin's deliveries", func() bool {
		got, _, _ := fast.got()
		return len(got) >= 100
	})
	if got, in, maxIn := slow.got(); len(got) != 0 || in != 1 || maxIn != 1 {
		t.Fatalf("slow in-order target: %d done, %d in flight, %d at most; want 0, 1, 1", len(got), in, maxIn)
	}
	close(gate)
	waitWithin(t, 10*time.Second, "the slow bin's deliveries", func() bool {
		got, _, _ := slow.got()
		return len(got) >= 5
	})
	if got, _, _ := slow.got(); strings.Join(got, ",") != "1,2,3,4,5" {
		t.Errorf("slow in-order bin delivered %v", got)
	}
}

func TestForwardingModeValidation(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"http://127.0.0.1:9/x","mode":"sideways"}`)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(res.body), "mode") {
		t.Errorf("unknown mode: %d %s", res.StatusCode, res.body)
	}
	res = a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"http://127.0.0.1:9/x","mode":"independent"}`)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.body), `"mode":"independent"`) {
		t.Fatalf("independent: %d %s", res.StatusCode, res.body)
	}
	// Turning it off keeps the mode; a PUT without one is in order.
	res = a.do("DELETE", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, "")
	if !strings.Contains(string(res.body), `"mode":"independent"`) || !strings.Contains(string(res.body), `"enabled":false`) {
		t.Errorf("DELETE: %d %s", res.StatusCode, res.body)
	}
	res = a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"http://127.0.0.1:9/x"}`)
	if !strings.Contains(string(res.body), `"mode":"in_order"`) {
		t.Errorf("PUT without a mode: %d %s", res.StatusCode, res.body)
	}
}
