package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestAutoForwardBurstAcrossSIGKILL captures a burst of 2 000 requests with
// auto-forward on, SIGKILLs the real binary when half are acknowledged,
// restarts it and captures the rest. Every acknowledged capture must reach
// the target at least once; within each life of the server, deliveries come
// in capture order and none twice: a capture is delivered twice only when
// the second life sent it again.
func TestAutoForwardBurstAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const n = 2000
	type delivery struct {
		life int
		body string
	}
	var (
		life     atomic.Int32 // which server's connections the target sees
		mu       sync.Mutex
		got      []delivery
		connLife = map[string]int{} // remote address → life it was accepted in
	)
	life.Store(1)
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{connLife[r.RemoteAddr], string(b)})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	target.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			connLife[c.RemoteAddr().String()] = int(life.Load())
			mu.Unlock()
		}
	}
	target.Start()
	defer target.Close()
	received := func() []delivery {
		mu.Lock()
		defer mu.Unlock()
		return append([]delivery(nil), got...)
	}

	dbPath := t.TempDir() + "/burst.db"
	cmd, base := startBinary(t, "", "--db", dbPath, "--rate-limit", "0")
	bin := createBin(t, base)
	req, _ := http.NewRequest("PUT", base+"/api/bins/"+bin.ID+"/forwarding", strings.NewReader(`{"url":"`+target.URL+`/in"}`))
	req.Header.Set("Authorization", "Bearer "+bin.Token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT forwarding: %v %v", err, res)
	}

	var (
		amu   sync.Mutex
		acked = map[string]int64{} // body → seq, for captures answered 200
		next  atomic.Int64
		count atomic.Int64 // len(acked)
	)
	// post captures the next numbers until n, or until the server fails.
	post := func(base string) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				c := &http.Client{Timeout: 10 * time.Second}
				for {
					i := next.Add(1)
					if i > n {
						return
					}
					body := strconv.FormatInt(i, 10)
					res, err := c.Post(base+"/b/"+bin.ID+"/e", "text/plain", strings.NewReader(body))
					if err != nil {
						return // killed: this one may or may not be stored
					}
					var out struct{ ID string }
					err = json.NewDecoder(res.Body).Decode(&out)
					res.Body.Close()
					if err != nil || res.StatusCode != 200 {
						return
					}
					seq, _ := strconv.ParseInt(strings.TrimPrefix(out.ID, "req_"), 10, 64)
					amu.Lock()
					acked[body] = seq
					amu.Unlock()
					count.Add(1)
				}
			})
		}
		wg.Wait()
	}
	// First life: kill it once half the burst is acknowledged, while
	// captures and deliveries are both under way.
	done := make(chan struct{})
	go func() {
		defer close(done)
		post(base)
	}()
	for count.Load() < n/2 {
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	<-done
	life.Store(2)
	first := len(received())
	t.Logf("killed after %d acknowledged captures, %d deliveries", len(ackedCopy(&amu, acked)), first)

	// Second life: the rest of the burst.
	_, base2 := startBinary(t, "", "--db", dbPath, "--rate-limit", "0")
	post2 := func() {
		// As many more as were not acknowledged, numbered above n.
		var wg sync.WaitGroup
		rest := make(chan int, n)
		for i := count.Load(); i < n; i++ {
			rest <- n + int(i)
		}
		close(rest)
		for range 8 {
			wg.Go(func() {
				for i := range rest {
					body := strconv.Itoa(i)
					res, err := http.Post(base2+"/b/"+bin.ID+"/e", "text/plain", strings.NewReader(body))
					if err != nil {
						continue
					}
					var out struct{ ID string }
					err = json.NewDecoder(res.Body).Decode(&out)
					res.Body.Close()
					if err == nil && res.StatusCode == 200 {
						seq, _ := strconv.ParseInt(strings.TrimPrefix(out.ID, "req_"), 10, 64)
						amu.Lock()
						acked[body] = seq
						amu.Unlock()
					}
				}
			})
		}
		wg.Wait()
	}
	post2()
	final := ackedCopy(&amu, acked)
	if len(final) < n-50 {
		t.Fatalf("only %d of %d captures acknowledged", len(final), n)
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		seen := map[string]bool{}
		for _, d := range received() {
			seen[d.body] = true
		}
		missing := 0
		for body := range final {
			if !seen[body] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged captures never delivered", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a duplicate would come right after
	all := received()
	// Within a life: capture order, and nothing twice.
	again := 0
	for l := 1; l <= 2; l++ {
		var last int64
		seen := map[string]bool{}
		for i, d := range all {
			if d.life != l {
				continue
			}
			if seen[d.body] {
				t.Errorf("life %d: capture %s delivered twice", l, d.body)
			}
			seen[d.body] = true
			seq, ok := final[d.body]
			if !ok {
				continue // its answer was lost in the crash: no seq known
			}
			if seq <= last {
				t.Errorf("life %d: delivery %d is req_%d after req_%d: out of capture order", l, i, seq, last)
			}
			last = seq
		}
		if l == 2 {
			for _, d := range all {
				if d.life == 1 && seen[d.body] {
					again++
				}
			}
		}
	}
	t.Logf("%d deliveries for %d acknowledged captures; %d sent again after the crash", len(all), len(final), again)
	if len(all) > len(final)+again+50 {
		t.Errorf("%d deliveries for %d captures, %d of them sent again: more than the crash explains", len(all), len(final), again)
	}
}

func ackedCopy(mu *sync.Mutex, m map[string]int64) map[string]int64 {
	mu.Lock()
	defer mu.Unlock()
	c := make(map[string]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
