//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package forward

import "net"

// alive cannot peek here: a closed connection shows when it is used.
func alive(net.Conn) bool { return true }
