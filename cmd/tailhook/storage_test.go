package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestParseMaxStorage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want int64
		err  string
	}{
		{want: 0}, // the default: what leaves 10 % of the file system free
		{args: []string{"--max-storage", "512MiB"}, want: 512 << 20},
		{env: map[string]string{"TAILHOOK_MAX_STORAGE": "2GiB"}, want: 2 << 30},
		{args: []string{"--max-storage", "1048576"}, env: map[string]string{"TAILHOOK_MAX_STORAGE": "2GiB"}, want: 1 << 20},
		{args: []string{"--max-storage", "0"}, err: "--max-storage (or TAILHOOK_MAX_STORAGE)"},
		{env: map[string]string{"TAILHOOK_MAX_STORAGE": "lots"}, err: "--max-storage (or TAILHOOK_MAX_STORAGE)"},
	} {
		c, err := parseServe(tt.args, envOf(tt.env), io.Discard)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%v %v: err = %v, want %q", tt.args, tt.env, err, tt.err)
		case tt.err == "" && (err != nil || c.MaxStorage != tt.want):
			t.Errorf("%v %v: MaxStorage = %d, %v; want %d", tt.args, tt.env, c.MaxStorage, err, tt.want)
		}
	}
}

// At --max-storage captures get 507 with a JSON error and are not stored;
// every acknowledged capture is kept; once room is freed (here the bin is
// cleared) captures are taken again. Real server, real HTTP, a real file.
func TestMaxStorage507(t *testing.T) {
	base, logs, stop := startRun(t, "--db", filepath.Join(t.TempDir(), "t.db"), "--max-storage", "2MiB", "--rate-limit", "0")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	bin := createBin(t, base)
	body := bytes.Repeat([]byte("x"), 8000)
	capture := func() (int, map[string]any) {
		t.Helper()
		res, err := http.Post(base+"/b/"+bin.ID+"/x", "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("capture answered %d, not JSON: %v", res.StatusCode, err)
		}
		return res.StatusCode, out
	}
	var acked []string
	for len(acked) < 2000 {
		status, out := capture()
		if status == http.StatusInsufficientStorage {
			if msg, _ := out["error"].(string); msg == "" {
				t.Errorf("507 body %v has no error", out)
			}
			break
		}
		if status != http.StatusOK {
			t.Fatalf("capture: %d %v", status, out)
		}
		acked = append(acked, out["id"].(string))
	}
	if len(acked) == 2000 {
		t.Fatal("2000 captures of 8 000 bytes fit in 2 MiB")
	}
	// While full, a capture is refused before its body is read: a sender
	// that declares 10 MiB and sends none still gets its 507 at once.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /b/%s/big HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n", bin.ID)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if early, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || early.StatusCode != http.StatusInsufficientStorage {
		t.Errorf("full, a body not sent yet: %v %v, want 507 before the body", early, err)
	}
	conn.Close()
	if !strings.Contains(logs.String(), "storage budget reached") {
		t.Errorf("no log line for the budget:\n%s", logs.String())
	}
	api := func(method, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+"/api/bins/"+bin.ID+path, nil)
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, id := range acked {
		res := api("GET", "/requests/"+id)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("acknowledged %s: %d", id, res.StatusCode)
		}
	}
	// The refused capture was not stored: the bin's last seq is the last
	// acknowledged one.
	res := api("GET", "/requests?limit=1")
	var list struct {
		Requests []struct{ ID string } `json:"requests"`
	}
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list.Requests) != 1 || list.Requests[0].ID != acked[len(acked)-1] {
		t.Errorf("newest stored %+v, want %s", list.Requests, acked[len(acked)-1])
	}

	if res := api("DELETE", "/requests"); res.StatusCode != http.StatusNoContent {
		t.Fatalf("clear: %d", res.StatusCode)
	}
	// Waiting for the server to measure again, not ageing data.
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, out := capture()
		if status == http.StatusOK {
			break
		}
		if status != http.StatusInsufficientStorage || time.Now().After(deadline) {
			t.Fatalf("capture after freeing room: %d %v", status, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCapAcrossSIGKILL kills the real binary with SIGKILL while captures
// pour into a capped bin, so that deletes over the cap are in flight in
// every batch. After a restart on the same file: the file is sound, the bin
// keeps at most its cap, the newest by seq, and every acknowledged capture
// in that window is there with its body.
func TestCapAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const limit = 50
	dbPath := filepath.Join(t.TempDir(), "capped.db")
	cmd, base := startBinary(t, "", "--db", dbPath, "--rate-limit", "0", "--max-requests", strconv.Itoa(limit))
	bin := createBin(t, base)
	var (
		mu    sync.Mutex
		acked = map[int64]string{} // seq → body
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				res, err := client.Post(base+"/b/"+bin.ID+"/load", "application/json", strings.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				var ack struct{ ID string }
				err = json.NewDecoder(res.Body).Decode(&ack)
				res.Body.Close()
				if res.StatusCode == 200 && err == nil {
					seq, _ := strconv.ParseInt(strings.TrimPrefix(ack.ID, "req_"), 10, 64)
					mu.Lock()
					acked[seq] = body
					mu.Unlock()
				}
			}
		})
	}
	for {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 20*limit {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()

	raw, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check after SIGKILL: %q, %v", check, err)
	}
	raw.Close()

	_, base2 := startBinary(t, "", "--db", dbPath, "--max-requests", strconv.Itoa(limit))
	get := func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", base2+"/api/bins/"+bin.ID+path, nil)
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return b
	}
	var page struct {
		Requests []struct {
			Seq int64 `json:"seq"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(get("/requests?limit=500"), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Requests) == 0 || len(page.Requests) > limit {
		t.Fatalf("bin keeps %d requests after SIGKILL, cap %d", len(page.Requests), limit)
	}
	newest := page.Requests[0].Seq
	kept := map[int64]bool{}
	for _, r := range page.Requests {
		if r.Seq <= newest-limit {
			t.Errorf("seq %d kept, older than the cap allows (newest %d)", r.Seq, newest)
		}
		kept[r.Seq] = true
	}
	checked := 0
	for seq, body := range acked {
		if seq <= newest-limit {
			continue // pushed out by the cap
		}
		if !kept[seq] {
			t.Errorf("acknowledged capture req_%d (%s) is missing after SIGKILL", seq, body)
			continue
		}
		if checked < 10 {
			checked++
			if got := string(get("/requests/req_" + strconv.FormatInt(seq, 10) + "/body")); got != body {
				t.Errorf("req_%d body = %q, want %q", seq, got, body)
			}
		}
	}
	t.Logf("%d acknowledged, newest stored seq %d, %d kept", len(acked), newest, len(page.Requests))
}
