package octavus

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
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
func (s *AgentSession) serveSSE(w http.ResponseWriter, r *http.Request, req SessionRequest, o SSEOptions, hijack bool) {
	if hijack && r.ProtoMajor == 1 {
		if conn := hijackSSE(w, r); conn != nil {
			// The stream is the connection's now: the handler returns
			// and net/http lets go of its buffers and goroutines.
			ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
			sw := newConnSSEWriter(conn, cancel, o)
			go func() {
				defer conn.Close()
				defer cancel()
				defer sw.close()
				x := &execution{s: s, ctx: ctx}
				x.direct.Store(&directSink{sync: sw})
				x.run(req)
			}()
			return
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sw := newSSEWriter(w, r, cancel, o)
	defer sw.close()
	x := &execution{s: s, ctx: ctx}
	x.direct.Store(&directSink{sync: sw})
	x.run(req)
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
}

func newSSEWriter(w http.ResponseWriter, r *http.Request, cancel func(), o SSEOptions) *sseWriter {
	sw := &sseWriter{
		w: w, rc: http.NewResponseController(w), done: r.Context().Done(), cancel: cancel,
		writeTimeout: orDefault(o.WriteTimeout, defaultWriteTimeout),
		heartbeat:    orDefault(o.Heartbeat, defaultHeartbeat),
		quiet:        true,
	}
	setSSEHeaders(w.Header(), r)
	sw.deadline()
	w.WriteHeader(http.StatusOK)
	_ = sw.rc.Flush()
	if sw.heartbeat > 0 {
		// Under the lock: a first tick may come before the assignment.
		sw.mu.Lock()
		sw.timer = time.AfterFunc(sw.heartbeat, sw.tick)
		sw.mu.Unlock()
	}
	return sw
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

// hijackSSE takes the HTTP/1.x connection of w from net/http and writes
// the SSE response head on it, or returns nil (nothing written) when w
// cannot be hijacked.
func hijackSSE(w http.ResponseWriter, r *http.Request) net.Conn {
	hdr := w.Header()
	setSSEHeaders(hdr, r)
	hdr.Set("Connection", "close") // the body ends when the connection does
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		hdr.Set("Connection", "keep-alive")
		return nil
	}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	_ = hdr.Write(&head)
	head.WriteString("\r\n")
	_ = conn.SetWriteDeadline(time.Now().Add(defaultWriteTimeout))
	if _, err := conn.Write(head.Bytes()); err != nil {
		_ = conn.Close()
		return nil
	}
	return conn
}

func newConnSSEWriter(conn net.Conn, cancel func(), o SSEOptions) *sseWriter {
	sw := &sseWriter{
		conn: conn, cancel: cancel,
		writeTimeout: orDefault(o.WriteTimeout, defaultWriteTimeout),
		heartbeat:    orDefault(o.Heartbeat, defaultHeartbeat),
		quiet:        true,
	}
	sw.deadline()
	if sw.heartbeat > 0 {
		sw.mu.Lock()
		sw.timer = time.AfterFunc(sw.heartbeat, sw.tick)
		sw.mu.Unlock()
	}
	return sw
}
