//go:build unix

package octavus

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitReadable blocks until conn has data or its end waiting, without
// reading it.
func waitReadable(t *testing.T, conn *net.TCPConn) {
	t.Helper()
	raw, err := conn.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err == nil && n >= 0 || err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
	}))
}

// peerClosed on real TCP: an open idle connection and one with data
// waiting are not closed (the data is discarded); one whose peer closed,
// with or without data before its end, is; so is one closed here.
func TestPeerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	pair := func() (client net.Conn, server *net.TCPConn) {
		client, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		s, err := ln.Accept()
		require.NoError(t, err)
		return client, s.(*net.TCPConn)
	}

	client, server := pair()
	assert.False(t, peerClosed(server), "open, idle")
	_, err = client.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	require.NoError(t, err)
	waitReadable(t, server)
	assert.False(t, peerClosed(server), "data waiting")
	assert.False(t, peerClosed(server), "the data was discarded: idle again")
	require.NoError(t, client.Close())
	waitReadable(t, server)
	assert.True(t, peerClosed(server), "peer closed")
	require.NoError(t, server.Close())
	assert.True(t, peerClosed(server), "closed here")

	// Data then the end (a TLS client's close_notify, then its FIN).
	client, server = pair()
	defer server.Close()
	_, err = client.Write([]byte("\x15\x03\x03\x00\x02\x01\x00"))
	require.NoError(t, err)
	require.NoError(t, client.Close())
	waitReadable(t, server)
	closed := peerClosed(server)
	if !closed {
		// The end came after the data was read: it is waiting now.
		waitReadable(t, server)
		closed = peerClosed(server)
	}
	assert.True(t, closed, "data, then the peer closed")
}
