package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage/pgtest"
)

// TestMain stops the throwaway PostgreSQL of the tests that use one.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestClusterSIGKILLKeepsAcknowledged runs two real binaries on one
// PostgreSQL database, loads one of them from several goroutines, kills it
// with SIGKILL mid-load, and reads the bin through the other: every
// capture that was answered 2xx is there, with its body, and the survivor
// goes on numbering after it.
func TestClusterSIGKILLKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dsn := pgtest.DSN(t) // first: its schema is dropped after both binaries are gone
	victim, baseA := startBinary(t, "", "--db", dsn, "--rate-limit", "0")
	_, baseB := startBinary(t, "", "--db", dsn, "--rate-limit", "0")
	bin := createBin(t, baseA)

	var (
		mu    sync.Mutex
		acked = map[string]string{} // id → body
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for g := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				res, err := client.Post(baseA+"/b/"+bin.ID+"/load", "application/json", strings.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				var ack struct {
					ID string `json:"id"`
				}
				err = json.NewDecoder(res.Body).Decode(&ack)
				res.Body.Close()
				if res.StatusCode == 200 && err == nil {
					mu.Lock()
					acked[ack.ID] = body
					mu.Unlock()
				}
			}
		})
	}
	eventually(t, 30*time.Second, "200 acknowledged captures", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 200
	})
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.Wait()
	close(stop)
	wg.Wait()

	get := func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", baseB+path, nil)
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s on the survivor: %d %s", path, res.StatusCode, b)
		}
		return b
	}
	stored := map[string]bool{}
	var newest int64
	before := ""
	for {
		var page struct {
			Requests []struct {
				ID  string `json:"id"`
				Seq int64  `json:"seq"`
			} `json:"requests"`
			Next *string `json:"next"`
		}
		if err := json.Unmarshal(get("/api/bins/"+bin.ID+"/requests?limit=500&before="+before), &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Requests {
			stored[r.ID] = true
			newest = max(newest, r.Seq)
		}
		if page.Next == nil {
			break
		}
		before = *page.Next
	}
	for id, body := range acked {
		if !stored[id] {
			t.Errorf("acknowledged capture %s (%s) is missing after SIGKILL", id, body)
		}
	}
	checked := 0
	for id, body := range acked {
		if checked == 20 {
			break
		}
		checked++
		if got := get("/api/bins/" + bin.ID + "/requests/" + id + "/body"); string(got) != body {
			t.Errorf("%s body = %q, want %q", id, got, body)
		}
	}
	t.Logf("%d acknowledged by the killed instance, %d stored", len(acked), len(stored))

	// The survivor takes the next seq after everything committed.
	res, err := http.Post(baseB+"/b/"+bin.ID+"/after", "text/plain", strings.NewReader("after"))
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		ID string `json:"id"`
	}
	json.NewDecoder(res.Body).Decode(&ack)
	res.Body.Close()
	if want := fmt.Sprintf("req_%d", newest+1); res.StatusCode != 200 || ack.ID != want {
		t.Errorf("capture on the survivor: %d %s, want 200 %s", res.StatusCode, ack.ID, want)
	}
}

// TestClusterForwardingSurvivesSIGKILL: the instance delivering a bin's
// auto-forward jobs (it holds the bin's lease) is killed mid-way; the other
// instance takes the bin over once the lease expires and delivers the rest:
// every capture at least once, first deliveries in capture order.
func TestClusterForwardingSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	var (
		mu    sync.Mutex
		order []string // bodies of the successful deliveries, as they came
	)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		time.Sleep(20 * time.Millisecond) // deliveries trail the captures
		mu.Lock()
		order = append(order, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(target.Close)
	delivered := func() (firsts []string) {
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]bool{}
		for _, b := range order {
			if !seen[b] {
				seen[b] = true
				firsts = append(firsts, b)
			}
		}
		return firsts
	}

	dsn := pgtest.DSN(t)
	victim, baseA := startBinary(t, "", "--db", dsn, "--rate-limit", "0")
	_, baseB := startBinary(t, "", "--db", dsn, "--rate-limit", "0")
	bin := createBin(t, baseA)
	req, _ := http.NewRequest("PUT", baseA+"/api/bins/"+bin.ID+"/forwarding", strings.NewReader(`{"url":"`+target.URL+`/in","enabled":true}`))
	req.Header.Set("Authorization", "Bearer "+bin.Token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("forwarding: %v %v", res, err)
	}
	const total = 120
	for i := 1; i <= total; i++ {
		res, err := http.Post(baseA+"/b/"+bin.ID+"/p", "text/plain", strings.NewReader(fmt.Sprintf("%03d", i)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("capture %d: %d", i, res.StatusCode)
		}
	}
	eventually(t, 20*time.Second, "some deliveries by A", func() bool { return len(delivered()) >= 20 })
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.Wait()
	killedAt := len(delivered())
	if killedAt == total {
		t.Fatal("A delivered everything before it was killed: nothing to take over")
	}
	// B takes the bin over once A's lease (10 s) has expired.
	eventually(t, 30*time.Second, "every capture delivered", func() bool { return len(delivered()) == total })
	firsts := delivered()
	for i, b := range firsts {
		if want := fmt.Sprintf("%03d", i+1); b != want {
			t.Fatalf("delivery %d was capture %s, want %s: not in capture order", i+1, b, want)
		}
	}
	mu.Lock()
	t.Logf("%d delivered before the kill, %d deliveries in all for %d captures (B: %s)", killedAt, len(order), total, baseB)
	mu.Unlock()
}
