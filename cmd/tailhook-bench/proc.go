package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// child is a server the tool started: tailhook or the baseline. Both run as
// child processes so that their CPU time and memory can be read from /proc
// without the load generator's own mixed in.
type child struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it listens on
	db   string // tailhook's database file, "" for the baseline
	logs *os.File
	done chan error
}

// procStats is what /proc says about a process.
type procStats struct {
	CPU     time.Duration // user + system
	RSS     int64         // bytes
	PeakRSS int64         // bytes (VmHWM)
}

// clockTick is USER_HZ, 100 on every Linux we run on.
const clockTick = 10 * time.Millisecond

// stats reads /proc/PID/stat and /proc/PID/status. Off Linux it returns
// zeros and the report says "n/a".
func (c *child) stats() procStats {
	var st procStats
	if c == nil || c.cmd == nil || c.cmd.Process == nil {
		return st
	}
	pid := strconv.Itoa(c.cmd.Process.Pid)
	if b, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil {
		// The command name (field 2) may hold spaces; fields after ')'.
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				u, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
				s, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
				st.CPU = time.Duration(u+s) * clockTick
			}
		}
	}
	if b, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			name, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			switch name {
			case "VmRSS":
				st.RSS = kb << 10
			case "VmHWM":
				st.PeakRSS = kb << 10
			}
		}
	}
	return st
}

// dbSize is the database file plus its WAL.
func (c *child) dbSize() int64 {
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(c.db + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// stop asks the server to shut down (SIGINT) and waits for it.
func (c *child) stop() error {
	if c == nil || c.cmd == nil {
		return nil
	}
	defer c.logs.Close()
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-c.done:
		return err
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within 30 s; killed", c.name)
	}
}

// startBaseline runs this program's own no-op server as a child.
func startBaseline(ctx context.Context, dir string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &child{name: "baseline"}
	c.cmd = exec.CommandContext(ctx, self, baselineCommand)
	return c, c.start(dir, func(line string) (string, bool) {
		addr, ok := strings.CutPrefix(line, "listening on ")
		return addr, ok
	})
}

// startTailhook runs tailhook serve as a child on a loopback port.
func startTailhook(ctx context.Context, bin, dir, db string, extra ...string) (*child, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json",
		"--rate-limit", "0"}, extra...)
	c := &child{name: "tailhook", db: db}
	c.cmd = exec.CommandContext(ctx, bin, args...)
	c.cmd.Env = cleanEnv()
	return c, c.start(dir, func(line string) (string, bool) {
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "tailhook listening" {
			return "", false
		}
		return l.Addr, l.Addr != ""
	})
}

// cleanEnv drops TAILHOOK_ variables, so that only the tool's flags decide
// how the server under test runs.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TAILHOOK_") && !strings.HasPrefix(kv, "PORT=") {
			env = append(env, kv)
		}
	}
	return env
}

// start runs the command and waits until a line of its output, read by
// ready, names the address it listens on. The rest of its output goes to a
// log file in dir.
func (c *child) start(dir string, ready func(string) (string, bool)) error {
	var err error
	if c.logs, err = os.Create(filepath.Join(dir, c.name+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".log")); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	c.cmd.Stdout, c.cmd.Stderr = pw, pw
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(os.Interrupt) }
	c.cmd.WaitDelay = 30 * time.Second
	if err := c.cmd.Start(); err != nil {
		c.logs.Close()
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	c.done = make(chan error, 1)
	go func() {
		err := c.cmd.Wait()
		pw.Close()
		c.done <- err
	}()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(c.logs, line)
			if !found {
				if a, ok := ready(line); ok {
					found = true
					addrc <- a
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case c.addr = <-addrc:
	case err := <-c.done:
		c.done <- err
		return fmt.Errorf("%s exited before listening (%v); see %s", c.name, err, c.logs.Name())
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		return fmt.Errorf("%s did not listen within 60 s; see %s", c.name, c.logs.Name())
	}
	return nil
}

// buildTailhook compiles cmd/tailhook of this module into dir.
func buildTailhook(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "tailhook")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/tailhook-dev/tailhook/cmd/tailhook")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build tailhook (run from the repository, or pass --tailhook): %v\n%s", err, b)
	}
	return out, nil
}

// baselineCommand is the hidden subcommand that runs the no-op server.
const baselineCommand = "__baseline"

// runBaseline is the no-op net/http server tailhook is compared with: it
// reads the body and answers what tailhook's default response looks like.
func runBaseline(ctx context.Context, stdout io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	answer := []byte(`{"ok":true,"id":"req_0"}` + "\n")
	hs := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(answer)
		}),
	}
	fmt.Fprintln(stdout, "listening on "+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
