package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// rssOf is a process's resident memory, from /proc.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("parse %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// slowBodies opens n connections that each declare a 10 MiB body and send
// one byte of it, then returns the server's RSS once it has read them. It
// gives up as soon as RSS passes stop, so that a server that reserves the
// declared length does not take the machine's memory with it.
func slowBodies(t *testing.T, pid int, addr, binID string, n int, stop int64) int64 {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	head := fmt.Sprintf("POST /b/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\nx", binID, addr, 10<<20)
	peak := int64(0)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i%50 == 49 {
			if peak = max(peak, rssOf(t, pid)); peak > stop {
				t.Fatalf("RSS %d MiB after %d slow bodies", peak>>20, i+1)
			}
		}
	}
	// Let the server read what was sent, watching its memory meanwhile.
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		if peak = max(peak, rssOf(t, pid)); peak > stop {
			t.Fatalf("RSS %d MiB with %d slow bodies", peak>>20, n)
		}
	}
	return peak
}

// TestSlowBodiesKeepMemoryBounded is issue 11's attack: connections that
// declare a large body and trickle it. Memory must follow the bytes that
// arrived, not the declared length: 1 000 of them stay under 200 MiB.
func TestSlowBodiesKeepMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary and opens 1 000 connections")
	}
	cmd, base := startBinary(t, "", "--db", filepath.Join(t.TempDir(), "rss.db"), "--rate-limit", "0")
	addr := strings.TrimPrefix(base, "http://")
	bin := createBin(t, base)
	idle := rssOf(t, cmd.Process.Pid)
	at100 := slowBodies(t, cmd.Process.Pid, addr, bin.ID, 100, 200<<20)
	at1000 := slowBodies(t, cmd.Process.Pid, addr, bin.ID, 900, 200<<20)
	t.Logf("server RSS: idle %d MiB, 100 slow bodies %d MiB, 1 000 slow bodies %d MiB", idle>>20, at100>>20, at1000>>20)

	// A normal capture still goes through meanwhile.
	res, err := http.Post(base+"/b/"+bin.ID+"/ok", "text/plain", strings.NewReader("fine"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("capture beside the slow bodies: %d", res.StatusCode)
	}
}

// TestShutdownAnswersWaiting: on SIGTERM, a pending wait answers 503 (not
// an empty 200 that a CI script would read as "the webhook arrived"), and
// a capture waiting out its configured delay gets 503 too, before the
// program exits.
func TestShutdownAnswersWaiting(t *testing.T) {
	base, _, stop := startRun(t, "--db", filepath.Join(t.TempDir(), "w.db"))
	bin := createBin(t, base)
	req, _ := http.NewRequest("PUT", base+"/api/bins/"+bin.ID+"/response", strings.NewReader(`{"status":201,"body":"late","delay_ms":20000}`))
	req.Header.Set("Authorization", "Bearer "+bin.Token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("set response: %v", err)
	}

	type answer struct {
		status int
		body   string
	}
	get := func(r *http.Request) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			res, err := (&http.Client{Transport: &http.Transport{}}).Do(r)
			if err != nil {
				ch <- answer{-1, err.Error()}
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			ch <- answer{res.StatusCode, string(b)}
		}()
		return ch
	}
	wr, _ := http.NewRequest("GET", base+"/api/bins/"+bin.ID+"/requests/wait?timeout=60s&path=/never", nil)
	wr.Header.Set("Authorization", "Bearer "+bin.Token)
	wait := get(wr)
	cr, _ := http.NewRequest("POST", base+"/b/"+bin.ID+"/delayed", strings.NewReader("x"))
	delayed := get(cr)
	time.Sleep(500 * time.Millisecond) // both are in their handlers
	done := make(chan error, 1)
	go func() { done <- stop() }()
	for name, ch := range map[string]<-chan answer{"wait": wait, "delayed capture": delayed} {
		select {
		case a := <-ch:
			if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "shutting down") {
				t.Errorf("%s during shutdown: %d %q, want 503", name, a.status, a.body)
			}
		case <-time.After(8 * time.Second):
			t.Errorf("%s: no answer during shutdown", name)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return")
	}
}

// TestReadOnlyDatabase: a database file or folder that cannot be written
// ends the program at once with one line that says so.
func TestReadOnlyDatabase(t *testing.T) {
	dir := t.TempDir()
	roDir := filepath.Join(dir, "ro")
	rwDir := filepath.Join(dir, "rw")
	for _, d := range []string{roDir, rwDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A database made writable first, then made read-only.
	db, err := storage.Open(context.Background(), filepath.Join(rwDir, "t.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, f := range []string{"t.db", "t.db-wal", "t.db-shm"} {
		os.Chmod(filepath.Join(rwDir, f), 0o444)
	}
	os.Chmod(roDir, 0o555)
	os.Chmod(rwDir, 0o777)
	// Root writes whatever the modes say: run the binary as nobody then.
	asRoot := os.Geteuid() == 0
	if asRoot {
		if testing.Short() {
			t.Skip("builds the real binary to run it as another user")
		}
		for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			os.Chmod(d, 0o755) // let nobody reach the folders
		}
	}
	for _, tc := range []struct{ db, want string }{
		{filepath.Join(roDir, "t.db"), "database folder " + roDir + " cannot be written"},
		{filepath.Join(rwDir, "t.db"), "database file " + filepath.Join(rwDir, "t.db") + " cannot be written"},
	} {
		var stderr string
		if asRoot {
			bin, err := buildOnce()
			if err != nil {
				t.Fatal(err)
			}
			os.Chmod(filepath.Dir(bin), 0o755)
			cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", tc.db)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("%s: exit 0", tc.db)
			}
			stderr = string(out)
		} else {
			err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", tc.db}, noEnv, io.Discard, io.Discard)
			if err == nil {
				t.Fatalf("%s: no error", tc.db)
			}
			stderr = "tailhook: " + err.Error() + "\n"
		}
		lines := 0
		for sc := bufio.NewScanner(strings.NewReader(stderr)); sc.Scan(); {
			lines++
		}
		if lines != 1 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "permission denied") {
			t.Errorf("%s: output %q, want one line with %q", tc.db, stderr, tc.want)
		}
	}
}
