package octavus

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"
)

// serveSSE runs req on the session in the calling goroutine and writes its
// events to w as ToSSEStream(s.Execute(ctx, req), o) would, byte for byte,
// without a goroutine and a channel between them: the passthrough
// Handler's path, where each open stream then holds one goroutine fewer
// (the handler's own runs the execution) and each batch of events no hop
// between goroutines.
//
// The execution encodes its events into a directSink whose writer is sw
// (see direct.go): the events of one platform read are written together,
// before the next read that would wait, so a burst goes out in one write
// and no event waits for one not yet received. The heartbeat is a timer
// (no goroutine while it waits). When a write fails or the browser goes
// away, the execution's context is cancelled and nothing more is written.
//
// With hj set (HandlerOptions.Hijack), an HTTP/1.x stream is served on the
// hijacked connection instead (see hijackedStreams.serve); one that cannot be
// hijacked is served as above.
func (s *AgentSession) serveSSE(w http.ResponseWriter, r *http.Request, req SessionRequest, o SSEOptions, hj *hijackedStreams) {
	if hj != nil && r.ProtoMajor == 1 && hj.serve(s, w, r, req, o) {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sw := newSSEWriter(w, r, cancel, o)
	ended := false
	defer func() {
		if !ended {
			// A panic left the execution: no [DONE] (net/http recovers
			// it and cuts the response, so the browser sees a cut
			// stream, not a finished one).
			sw.abort()
		}
		sw.close()
	}()
	x := &execution{s: s, ctx: ctx}
	x.direct.Store(&directSink{sync: sw})
	x.run(req)
	ended = true
}

// sseWriter is the event sink of serveSSE: the part of sseHandler.ServeHTTP
// that encodes and writes, called by the execution itself.
type sseWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	conn         net.Conn        // a hijacked connection, written instead of w
	done         <-chan struct{} // the browser's request context
	cancel       func()          // cancels the execution
	writeTimeout time.Duration
	heartbeat    time.Duration

	mu sync.Mutex
	// gone is set once a write failed or the browser left: nothing more
	// is written.
	gone bool
	// failed is set once a terminal error event (or an event that could
	// not be encoded) was written: no [DONE] follows.
	failed bool
	quiet  bool // nothing written since the last heartbeat tick
	closed bool // the handler returns: the heartbeat writes nothing
	timer  *time.Timer
	// deadlineSet is when the write deadline was last moved.
	deadlineSet time.Time
	// busyLooks counts the watcher's looks at a hijacked stream's
	// connection that found more sent than one look discards (only the
	// watcher's goroutine touches it; see hangupWatcher.check).
	busyLooks int
}

func newSSEWriter(w http.ResponseWriter, r *http.Request, cancel func(), o SSEOptions) *sseWriter {
	sw := baseSSEWriter(cancel, o)
	sw.w, sw.rc, sw.done = w, http.NewResponseController(w), r.Context().Done()
	setSSEHeaders(w.Header(), r)
	sw.deadline()
	w.WriteHeader(http.StatusOK)
	_ = sw.rc.Flush()
	sw.startHeartbeat()
	return sw
}

// baseSSEWriter is the part of an sseWriter both paths share, not yet writing
// anywhere: the caller sets w and rc, or conn.
func baseSSEWriter(cancel func(), o SSEOptions) *sseWriter {
	return &sseWriter{
		cancel:       cancel,
		writeTimeout: orDefault(o.WriteTimeout, defaultWriteTimeout),
		heartbeat:    orDefault(o.Heartbeat, defaultHeartbeat),
		quiet:        true,
	}
}

// startHeartbeat arms the heartbeat's first tick, once the head is out.
func (sw *sseWriter) startHeartbeat() {
	if sw.heartbeat <= 0 {
		return
	}
	// Under the lock: a first tick may come before the assignment.
	sw.mu.Lock()
	sw.timer = time.AfterFunc(sw.heartbeat, sw.tick)
	sw.mu.Unlock()
}

func (sw *sseWriter) deadline() {
	if sw.writeTimeout <= 0 {
		return
	}
	// Moving the deadline costs a poller timer update; a write that comes
	// soon after the last move keeps it: every write still has at least
	// 7/8 of WriteTimeout.
	now := time.Now()
	if now.Before(sw.deadlineSet.Add(sw.writeTimeout / 8)) {
		return
	}
	sw.deadlineSet = now
	sw.setWriteDeadline(now.Add(sw.writeTimeout))
}

// browserGone reports whether the browser's request is over.
func (sw *sseWriter) browserGone() bool {
	select {
	case <-sw.done:
		return true
	default:
		return false
	}
}

// write writes b, the SSE bytes of a batch of events, to the browser;
// terminal says the stream failed among them (no [DONE] then). It returns
// false when nothing more can be written (the browser left, a write
// failed): the execution then stops.
func (sw *sseWriter) write(b []byte, terminal bool) bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.gone {
		return false
	}
	if sw.browserGone() {
		// The client left while these events were ready: write nothing.
		sw.leave()
		return false
	}
	sw.failed = sw.failed || terminal
	if len(b) == 0 {
		return true
	}
	sw.quiet = false
	return sw.writeLocked(b)
}

// leave marks the stream as over for writing and cancels the execution.
func (sw *sseWriter) leave() {
	sw.gone = true
	sw.cancel()
}

func (sw *sseWriter) setWriteDeadline(t time.Time) {
	if sw.conn != nil {
		_ = sw.conn.SetWriteDeadline(t)
		return
	}
	_ = sw.rc.SetWriteDeadline(t)
}

func (sw *sseWriter) writeLocked(b []byte) bool {
	sw.deadline()
	if sw.conn != nil {
		if _, err := sw.conn.Write(b); err != nil {
			sw.leave()
			return false
		}
		return true
	}
	if _, err := sw.w.Write(b); err != nil {
		sw.leave()
		return false
	}
	if err := sw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		sw.leave()
		return false
	}
	return true
}

// tick is the heartbeat: a comment line after a quiet spell.
func (sw *sseWriter) tick() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.closed || sw.gone {
		return
	}
	if sw.conn != nil && peerClosed(sw.conn) {
		sw.leave()
		return
	}
	if sw.quiet && !sw.failed && !sw.writeLocked(ssePing) {
		return
	}
	sw.quiet = true
	sw.timer.Reset(sw.heartbeat)
}

// close ends the response once the execution is over: [DONE] unless the
// stream failed, then no more heartbeats; the write deadline is lifted so
// that it does not cut the next response on a kept-alive connection.
func (sw *sseWriter) close() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.timer != nil {
		sw.timer.Stop()
	}
	sw.closed = true
	if !sw.gone && !sw.failed && !sw.browserGone() {
		sw.writeLocked(sseDone)
	}
	if sw.writeTimeout > 0 && sw.conn == nil {
		_ = sw.rc.SetWriteDeadline(time.Time{})
	}
}

// hijackedStreams are the open hijacked streams of one Handler (see
// HandlerOptions.Hijack): net/http no longer tracks their connections, so
// the Handler does, for its Shutdown. On Linux their connections are
// watched for the browser's leaving (hangupWatcher).
type hijackedStreams struct {
	mu sync.Mutex
	// open maps each open stream to its registration in hangups (0:
	// none).
	open map[*sseWriter]uint64
	// starting counts the streams between their hijack and add: net/http
	// no longer sees their connections, and open not yet.
	starting int
	// cuts counts the Shutdowns whose context ended and that cut the
	// open streams: a stream that was starting then is cut as it would be
	// added.
	cuts uint64
	// drained, when set, is closed once open is empty and none is
	// starting (a Shutdown waits).
	drained chan struct{}
	hangups hangupWatcher
}

// serve takes the HTTP/1.x connection of w from net/http, writes the SSE
// response head on it and runs req on s in a goroutine of its own that
// writes the stream to the connection and closes it. The handler then
// returns, and net/http lets go of the connection's buffers and
// goroutines. It returns false, having written nothing, when w cannot be
// hijacked: the caller serves the stream as usual.
func (hj *hijackedStreams) serve(s *AgentSession, w http.ResponseWriter, r *http.Request, req SessionRequest, o SSEOptions) bool {
	if ce := w.Header().Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// A compressing middleware set it and will not see the body:
		// the usual path, through its writer.
		return false
	}
	since := hj.begin()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		hj.abandon()
		return false // http.ErrNotSupported: HTTP/2, a recorder, a wrapper
	}
	if r.Context().Err() != nil {
		// The browser left while the request was read (net/http's
		// background read saw it): nothing is sent to the platform.
		hj.abandon()
		_ = conn.Close()
		return true
	}
	// The execution keeps the request's values, not its cancellation:
	// net/http cancels the request's context when the handler returns.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	sw := baseSSEWriter(cancel, o)
	sw.conn = conn
	// net/http cleared the connection's deadlines (the server's
	// ReadTimeout and WriteTimeout): the write deadline is sw's.
	sw.deadline()
	if _, err := conn.Write(hijackedHead(w.Header(), r)); err != nil || !hj.add(sw, since) {
		// The browser is gone already, or Shutdown is cutting the
		// streams: nothing is sent to the platform.
		if err != nil {
			hj.abandon()
		}
		cancel()
		_ = conn.Close()
		return true
	}
	sw.startHeartbeat()
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	go hj.run(ctx, s, sw, req, srv, r.RemoteAddr)
	return true
}

// run is the goroutine of a hijacked stream. A panic that leaves the
// execution (the SDK recovers those of tool handlers, hooks and its own
// code; this is one it could not) is what net/http would have recovered
// from the handler: it is logged as net/http logs it and the connection is
// closed, with no [DONE].
func (hj *hijackedStreams) run(ctx context.Context, s *AgentSession, sw *sseWriter, req SessionRequest, srv *http.Server, remote string) {
	ended := false
	defer func() {
		if v := recover(); v != nil {
			logHandlerPanic(srv, remote, v)
		}
		if !ended {
			sw.abort() // a panic or a Goexit: no [DONE]
		}
		sw.close()
		sw.cancel()
		hj.unwatch(sw) // before the close: the fd number may be reused
		// Discard what the browser sent, so that the close is a FIN and
		// not a reset (see peerClosed).
		_ = peerClosed(sw.conn)
		_ = sw.conn.Close()
		hj.remove(sw)
	}()
	x := &execution{s: s, ctx: ctx}
	x.direct.Store(&directSink{sync: sw})
	x.run(req)
	ended = true
}

// hijackedHead is the response head of a hijacked stream: the status line
// of the request's protocol version, then the headers of the usual path
// (setSSEHeaders plus those set on w before, e.g. by middleware, and Date)
// but with Connection: close, as the body ends when the connection does.
func hijackedHead(hdr http.Header, r *http.Request) []byte {
	setSSEHeaders(hdr, r)
	hdr.Set("Connection", "close")
	hdr.Del("Content-Length")
	hdr.Del("Transfer-Encoding")
	if _, ok := hdr["Date"]; !ok {
		hdr.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	var head bytes.Buffer
	if r.ProtoAtLeast(1, 1) {
		head.WriteString("HTTP/1.1 200 OK\r\n")
	} else {
		head.WriteString("HTTP/1.0 200 OK\r\n")
	}
	_ = hdr.Write(&head)
	head.WriteString("\r\n")
	return head.Bytes()
}

// abort marks the stream as over without its [DONE]: the execution
// panicked.
func (sw *sseWriter) abort() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.gone = true
}

// cut ends a hijacked stream at once, as http.Server.Close ends a stream
// of the usual path: the connection is closed (which also ends a write
// that blocks) and the execution cancelled.
func (sw *sseWriter) cut() {
	if t, ok := sw.conn.(interface{ NetConn() net.Conn }); ok {
		// A *tls.Conn: closing the socket under it first spares the
		// close_notify alert, which its Close would try to send for up
		// to 5 s to a browser that may not read.
		_ = t.NetConn().Close()
	}
	_ = sw.conn.Close()
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.leave()
}

// begin counts a stream about to be hijacked and returns the count of
// cuts so far, for add.
func (hj *hijackedStreams) begin() uint64 {
	hj.mu.Lock()
	defer hj.mu.Unlock()
	hj.starting++
	return hj.cuts
}

// abandon uncounts a stream that begin counted and that will not run.
func (hj *hijackedStreams) abandon() {
	hj.mu.Lock()
	defer hj.mu.Unlock()
	hj.starting--
	hj.settleLocked()
}

// add makes the stream begin counted an open one; false when a Shutdown
// cut the streams since (it is then uncounted, and must not run).
func (hj *hijackedStreams) add(sw *sseWriter, since uint64) bool {
	hj.mu.Lock()
	defer hj.mu.Unlock()
	hj.starting--
	if hj.cuts != since {
		hj.settleLocked()
		return false
	}
	if hj.open == nil {
		hj.open = map[*sseWriter]uint64{}
	}
	hj.open[sw] = hj.hangups.watch(sw)
	return true
}

// settleLocked closes drained once no stream is open or starting.
func (hj *hijackedStreams) settleLocked() {
	if len(hj.open) == 0 && hj.starting == 0 && hj.drained != nil {
		close(hj.drained)
		hj.drained = nil
	}
}

// unwatch deregisters sw's connection from hangups; it is called before
// the connection is closed.
func (hj *hijackedStreams) unwatch(sw *sseWriter) {
	hj.mu.Lock()
	id, ok := hj.open[sw]
	if ok {
		hj.open[sw] = 0
	}
	hj.mu.Unlock()
	hj.hangups.forget(id)
}

func (hj *hijackedStreams) remove(sw *sseWriter) {
	hj.mu.Lock()
	defer hj.mu.Unlock()
	delete(hj.open, sw)
	hj.settleLocked()
}

// shutdown waits until no hijacked stream is open or ctx is done; then it
// cuts those still open and returns ctx.Err().
func (hj *hijackedStreams) shutdown(ctx context.Context) error {
	hj.mu.Lock()
	if len(hj.open) == 0 && hj.starting == 0 {
		hj.mu.Unlock()
		return nil
	}
	if hj.drained == nil {
		hj.drained = make(chan struct{})
	}
	drained := hj.drained
	hj.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
	}
	hj.mu.Lock()
	hj.cuts++
	open := make([]*sseWriter, 0, len(hj.open))
	for sw := range hj.open {
		open = append(open, sw)
	}
	hj.mu.Unlock()
	for _, sw := range open {
		hj.unwatch(sw) // before the cut closes the connection
		sw.cut()
	}
	return ctx.Err()
}

// Shutdown drains the streams that HandlerOptions.Hijack took from
// net/http, which http.Server.Shutdown neither waits for nor closes: it
// waits until they have ended or ctx is done, then closes the connections
// of those still open (cancelling their executions) and returns
// ctx.Err(). Without Hijack it returns nil at once. Call it after
// http.Server.Shutdown returned, when no handler can start another stream;
// a stream hijacked but not yet started when ctx ends is cut too.
func (h *PassthroughHandler) Shutdown(ctx context.Context) error {
	if h.hijacked == nil {
		return nil
	}
	return h.hijacked.shutdown(ctx)
}

// logHandlerPanic logs v, a panic of a hijacked stream, as net/http logs a
// handler's panic: to srv.ErrorLog (the log package's standard logger
// when it is nil), with the stack, and nothing for http.ErrAbortHandler.
func logHandlerPanic(srv *http.Server, remote string, v any) {
	if v == http.ErrAbortHandler {
		return
	}
	const size = 64 << 10
	buf := make([]byte, size)
	buf = buf[:runtime.Stack(buf, false)]
	if srv != nil && srv.ErrorLog != nil {
		srv.ErrorLog.Printf("http: panic serving %v: %v\n%s", remote, v, buf)
		return
	}
	log.Printf("http: panic serving %v: %v\n%s", remote, v, buf)
}
