//go:build !unix

package octavus

import "net"

// peerClosed cannot look at the socket here: a hijacked stream learns that
// the browser left from a failed write (a heartbeat's or an event's).
func peerClosed(net.Conn) bool { return false }

// peerLook is peerClosed with nothing more waiting.
func peerLook(net.Conn) (closed, more bool) { return false, false }
