package octavus

import (
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
			app := startAppOver(t, h, tc.tls)
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
			app := startAppOver(t, h, useTLS)
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
			for closed := false; !closed; {
				select {
				case closed = <-checked:
				case <-time.After(10 * time.Second):
					t.Fatal("the close was never looked at")
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
			app := startAppOver(t, h, useTLS)
			conn := dialApp(t, app)
			br, _ := rawStream(t, conn, "x")
			readUntil(t, br, `"type":"start"`)
			assert.Zero(t, watched(h.hijacked), "not watched")
			require.NoError(t, conn.Close())
			waitDone(t, done, "the platform request's end")
		})
	}
}

// stuckConn is a server connection whose writes, once block is set, wait
// until a write deadline in the past is set, as a write to a browser that
// stopped reading waits until its deadline: entered is told when one
// waits. It is still a *net.TCPConn underneath (SyscallConn), so the
// watcher watches it.
type stuckConn struct {
	*net.TCPConn
	block   atomic.Bool
	entered chan struct{}
	freed   chan struct{}
	once    sync.Once
}

func (c *stuckConn) Write(b []byte) (int, error) {
	if c.block.Load() {
		c.entered <- struct{}{}
		<-c.freed
		return 0, os.ErrDeadlineExceeded
	}
	return c.TCPConn.Write(b)
}

func (c *stuckConn) SetWriteDeadline(d time.Time) error {
	if !d.IsZero() && d.Before(time.Now()) && c.block.Load() {
		c.once.Do(func() { close(c.freed) })
	}
	return c.TCPConn.SetWriteDeadline(d)
}

func (c *stuckConn) Close() error {
	c.once.Do(func() { close(c.freed) })
	return c.TCPConn.Close()
}

// stuckListener hands its connections to conns as it accepts them.
type stuckListener struct {
	net.Listener
	conns chan *stuckConn
}

func (l stuckListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc := &stuckConn{TCPConn: c.(*net.TCPConn), entered: make(chan struct{}, 1), freed: make(chan struct{})}
	l.conns <- sc
	return sc, nil
}

// A stream whose write blocks (its browser stopped reading, then left)
// does not hold the watcher, which watches every stream of the Handler:
// the stuck stream is ended (its write given a passed deadline) and
// another browser's leaving is still noticed, even with no write deadline
// at all.
func TestWatchAStuckStreamHoldsNoOther(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	stepsA, doneA := make(chan struct{}), make(chan struct{})
	resumeB, doneB := make(chan struct{}), make(chan struct{})
	defer close(resumeB)
	f.addLegs(stepLeg(stepsA, doneA), idleLeg(resumeB, doneB))
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: -1, WriteTimeout: -1, Hijack: true})
	conns := make(chan *stuckConn, 2)
	app := startApp(t, h, func(s *httptest.Server) { s.Listener = stuckListener{s.Listener, conns} })
	connA := dialApp(t, app)
	defer connA.Close()
	brA, _ := rawStream(t, connA, "a")
	readUntil(t, brA, `"type":"start"`)
	serverA := <-conns
	connB := dialApp(t, app)
	defer connB.Close()
	brB, _ := rawStream(t, connB, "b")
	readUntil(t, brB, `"type":"start"`)

	serverA.block.Store(true)
	stepsA <- struct{}{} // A's next event: its write waits
	waitDone(t, serverA.entered, "A's write")
	require.NoError(t, connA.Close())
	waitDone(t, doneA, "A's platform request's end")
	require.NoError(t, connB.Close())
	waitDone(t, doneB, "B's platform request's end")
}

// A browser that keeps sending on its stream is served no more once the
// watcher has discarded a few looks' worth (it would keep the watcher
// busy and lose TCP's backpressure); a close_notify or a pipelined
// request is far below that (TestWatchDataKeepsTheStream).
func TestWatchAnUploadingBrowserIsEnded(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	resume, done := make(chan struct{}), make(chan struct{})
	defer close(resume)
	f.addLegs(idleLeg(resume, done))
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: -1, Hijack: true})
	app := startApp(t, h)
	conn := dialApp(t, app)
	defer conn.Close()
	br, _ := rawStream(t, conn, "x")
	readUntil(t, br, `"type":"start"`)
	sent := make(chan error, 1)
	go func() {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range 64 { // 4 MiB, more than maxBusyLooks looks discard
			if _, err := conn.Write(chunk); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	waitDone(t, done, "the platform request's end")
	_ = conn.Close()
	<-sent // nil, or the write the closed stream refused
}
