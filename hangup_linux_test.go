package octavus

import (
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On Linux the browser's leaving a hijacked stream is noticed at once by
// the Handler's hangupWatcher (an epoll set and one goroutine), not at a
// heartbeat tick: these tests run with Heartbeat: -1, no tick at all.

// stepLeg writes a start event; at each value from steps it writes a text
// delta; it returns (closing done) when its request ends.
func stepLeg(steps <-chan struct{}, done chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		_, _ = io.WriteString(w, "data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\n")
		_ = rc.Flush()
		for {
			select {
			case <-steps:
				_, _ = io.WriteString(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"step\"}\n\n")
				_ = rc.Flush()
			case <-r.Context().Done():
				return
			}
		}
	}
}

// watched returns how many streams hj's watcher has registered.
func watched(hj *hijackedStreams) int {
	hj.hangups.mu.Lock()
	defer hj.hangups.mu.Unlock()
	return len(hj.hangups.streams)
}

// dialApp opens a connection to app, over TLS when app serves TLS.
func dialApp(t *testing.T, app *httptest.Server) net.Conn {
	t.Helper()
	if app.TLS != nil {
		conn, err := tls.Dial("tcp", app.Listener.Addr().String(), app.Client().Transport.(*http.Transport).TLSClientConfig)
		require.NoError(t, err)
		return conn
	}
	conn, err := net.Dial("tcp", app.Listener.Addr().String())
	require.NoError(t, err)
	return conn
}

// A browser that closes an idle hijacked stream (over TLS: close_notify,
// then its FIN) cancels the platform request with no heartbeat to notice
// it; so does one that sent much more than a look discards before it
// closed.
func TestWatchIdleHangup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tls    bool
		before int // bytes the browser sends before it closes
	}{{"TCP", false, 0}, {"TLS", true, 0}, {"TCP after 256 KiB", false, 256 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			f := newFakePlatform(t)
			resume, done := make(chan struct{}), make(chan struct{})
			defer close(resume)
			f.addLegs(idleLeg(resume, done))
			h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: -1, Hijack: true})
			var app *httptest.Server
			if tc.tls {
				app = startApp(t, h, func(s *httptest.Server) { s.TLS = &tls.Config{} })
			} else {
				app = startApp(t, h)
			}
			conn := dialApp(t, app)
			br, head := rawStream(t, conn, "x")
			assert.Contains(t, head, "Connection: close\r\n")
			readUntil(t, br, `"type":"start"`)
			if tc.before > 0 {
				_, err := conn.Write([]byte(strings.Repeat("x", tc.before)))
				require.NoError(t, err)
			}
			require.NoError(t, conn.Close())
			waitDone(t, done, "the platform request's end")
		})
	}
}

// Bytes the browser sends on an open stream (a pipelined request) are
// looked at and discarded, and the stream goes on; the browser's close
// after them is noticed.
func TestWatchDataKeepsTheStream(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "TCP", true: "TLS"}[useTLS], func(t *testing.T) {
			noLeaks(t)
			f := newFakePlatform(t)
			steps, done := make(chan struct{}), make(chan struct{})
			f.addLegs(stepLeg(steps, done))
			h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: -1, Hijack: true})
			checked := make(chan bool, 16)
			h.hijacked.hangups.checked = func(closed bool) { checked <- closed }
			var app *httptest.Server
			if useTLS {
				app = startApp(t, h, func(s *httptest.Server) { s.TLS = &tls.Config{} })
			} else {
				app = startApp(t, h)
			}
			conn := dialApp(t, app)
			br, _ := rawStream(t, conn, "x")
			readUntil(t, br, `"type":"start"`)
			for i := range 3 {
				_, err := io.WriteString(conn, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
				require.NoError(t, err)
				require.False(t, <-checked, "bytes %d: not a close", i)
				steps <- struct{}{}
				readUntil(t, br, `"delta":"step"`)
			}
			require.NoError(t, conn.Close())
			for closed := range checked {
				if closed {
					break
				}
			}
			waitDone(t, done, "the platform request's end")
			assert.Zero(t, watched(h.hijacked), "deregistered once noticed")
		})
	}
}

// Many streams open on one Handler, closed by their browsers in a random
// order: each close cancels its own platform request and no other's, and
// the watcher's goroutine is gone after the last (noLeaks).
func TestWatchManyStreams(t *testing.T) {
	noLeaks(t)
	const n = 50
	f := newFakePlatform(t)
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: -1, Hijack: true})
	app := startApp(t, h)
	conns := make([]net.Conn, n)
	dones := make([]chan struct{}, n)
	for i := range n {
		// Opened one after the other: the platform's legs are handed out
		// in order, so leg i is stream i's.
		resume := make(chan struct{})
		defer close(resume)
		dones[i] = make(chan struct{})
		f.addLegs(idleLeg(resume, dones[i]))
		conns[i] = dialApp(t, app)
		br, _ := rawStream(t, conns[i], "x")
		readUntil(t, br, `"type":"start"`)
	}
	assert.Equal(t, n, watched(h.hijacked))
	closed := make([]bool, n)
	for k, i := range rand.Perm(n) {
		require.NoError(t, conns[i].Close())
		closed[i] = true
		waitDone(t, dones[i], "stream "+strconv.Itoa(i)+"'s platform request's end")
		for j := range n {
			if closed[j] {
				continue
			}
			select {
			case <-dones[j]:
				t.Fatalf("close %d (stream %d) ended stream %d too", k, i, j)
			default:
			}
		}
	}
	require.NoError(t, h.Shutdown(t.Context()))
	assert.Zero(t, watched(h.hijacked))
}

// The watcher starts with the first stream and ends with the last, each
// time: a Handler whose streams come and go holds no goroutine between
// them (noLeaks checks the last), and a stream that ends normally is
// deregistered too.
func TestWatchStartsAndEnds(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: -1, Hijack: true})
	app := startApp(t, h)
	for i := range 3 {
		f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`, fmt.Sprintf(`{"type":"text-delta","id":"t","delta":"%d"}`, i), `{"type":"finish","finishReason":"stop"}`))
		conn := dialApp(t, app)
		br, _ := rawStream(t, conn, "x")
		rest, err := io.ReadAll(br)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(string(rest), "data: [DONE]\n\n"), string(rest))
		require.NoError(t, conn.Close())
		require.NoError(t, h.Shutdown(t.Context()))
		assert.Zero(t, watched(h.hijacked))
	}
}

// Without the watcher (as where there is no epoll) the heartbeat tick's
// look at the socket notices the browser's close, over TLS too.
func TestWatchOffTheTickNotices(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "TCP", true: "TLS"}[useTLS], func(t *testing.T) {
			noLeaks(t)
			f := newFakePlatform(t)
			resume, done := make(chan struct{}), make(chan struct{})
			defer close(resume)
			f.addLegs(idleLeg(resume, done))
			h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: 5 * time.Millisecond, Hijack: true})
			h.hijacked.hangups.off = true
			var app *httptest.Server
			if useTLS {
				app = startApp(t, h, func(s *httptest.Server) { s.TLS = &tls.Config{} })
			} else {
				app = startApp(t, h)
			}
			conn := dialApp(t, app)
			br, _ := rawStream(t, conn, "x")
			readUntil(t, br, `"type":"start"`)
			assert.Zero(t, watched(h.hijacked), "not watched")
			require.NoError(t, conn.Close())
			waitDone(t, done, "the platform request's end")
		})
	}
}
