//go:build linux

package forward

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fullListener returns the port of a loopback socket whose accept queue is
// full, so the kernel drops further SYNs and a connect hangs until the
// client gives up. Nothing ever leaves the machine.
func fullListener(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skipf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skipf("bind: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skipf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Skipf("getsockname: %v", err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return port // the queue is full now
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill the accept queue on this kernel")
	return 0
}

func TestDoConnectTimeout(t *testing.T) {
	port := fullListener(t)
	c := New(Options{AllowPrivate: true, ConnectTimeout: 100 * time.Millisecond, Timeout: 5 * time.Second})
	defer c.CloseIdleConnections()
	start := time.Now()
	res := c.Do(context.Background(), Request{URL: "http://127.0.0.1:" + strconv.Itoa(port) + "/"})
	el := time.Since(start)
	var ne net.Error
	if res.Status != 0 || !errors.As(res.Err, &ne) || !ne.Timeout() {
		t.Fatalf("Do = %d, %v; want a connect timeout", res.Status, res.Err)
	}
	if el > 2*time.Second {
		t.Errorf("connect timeout took %v", el)
	}
	if !Retryable(res) {
		t.Error("a connect timeout should be retryable")
	}
}
