//go:build linux || darwin || freebsd || netbsd || openbsd

package forward

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open: a peek that
// does not wait finds nothing to read. End of stream means the target closed
// it; bytes on an idle connection (a TLS close_notify, a stray answer) mean
// it cannot be trusted either.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		// 0 bytes and no error: closed; any bytes: unexpected. Only
		// "nothing yet" is alive.
		_, _, perr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for readiness
	})
	if err != nil {
		return false
	}
	return errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK)
}
