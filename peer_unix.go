//go:build unix

package octavus

import (
	"net"
	"syscall"
)

// peerClosed reports whether the browser closed conn, its end of a
// hijacked stream, without blocking: a non-blocking read of the socket
// that finds the end of the stream or an error other than "nothing yet".
// What the browser sent is read and discarded (the request was read
// before the hijack, and nothing more of it is served on a
// close-delimited stream): data waiting, such as the close_notify alert a
// TLS client sends before it closes, would otherwise hide the end of the
// stream behind it, and would make the final close a reset that can cost
// the browser the end of the response. A *tls.Conn is looked under
// (NetConn).
func peerClosed(conn net.Conn) bool {
	closed, _ := peerLook(conn)
	return closed
}

// peerLook is peerClosed that also reports whether more may be waiting:
// the bounded discard stopped before the socket had nothing more to read.
func peerLook(conn net.Conn) (closed, more bool) {
	raw, err := rawConn(conn)
	if err != nil {
		return true, false // closed
	}
	if raw == nil {
		return false, false
	}
	more = true
	err = raw.Read(func(fd uintptr) bool {
		var buf [512]byte
		// A bounded discard: a browser sends nothing after its request,
		// so more than this is left for the next look.
		for range 64 {
			n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_DONTWAIT)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
				more = false
				return true
			case err != nil || n == 0:
				closed, more = true, false
				return true
			}
		}
		return true
	})
	if err != nil {
		return true, false
	}
	return closed, more
}

// rawConn returns the socket under conn, a *tls.Conn's included (NetConn);
// nil and no error when conn is not a syscall.Conn, and the error of
// SyscallConn (a closed connection) otherwise.
func rawConn(conn net.Conn) (syscall.RawConn, error) {
	if t, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = t.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, nil
	}
	return sc.SyscallConn()
}
