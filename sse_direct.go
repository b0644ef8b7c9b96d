package octavus

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// serveSSE runs req on the session in the calling goroutine and writes its
// events to w as ToSSEStream(s.Execute(ctx, req), o) would, byte for byte,
// without the goroutine and the channel between them: the passthrough
// Handler's path, where each open stream then holds one goroutine of its
// own fewer (the handler's) and each event one channel hop less.
//
// The events of one platform read are written together, before the next
// read (see sseWriter.batch), so a burst still goes out in one write and
// no event waits for one not yet received. The heartbeat is a timer (no
// goroutine while it waits). When a write fails or the browser goes away,
// the execution's context is cancelled and nothing more is written.
func (s *AgentSession) serveSSE(w http.ResponseWriter, r *http.Request, req SessionRequest, o SSEOptions) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sw := newSSEWriter(w, r, cancel, o)
	defer sw.close()
	x := &execution{s: s, ctx: ctx, sink: sw}
	x.run(req)
}

// sseWriter is the event sink of serveSSE: the part of sseHandler.ServeHTTP
// that encodes and writes, called by the execution itself.
type sseWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	done         <-chan struct{} // the browser's request context
	cancel       func()          // cancels the execution
	writeTimeout time.Duration
	heartbeat    time.Duration

	mu  sync.Mutex
	buf bytes.Buffer // encoded, not yet written
	// batch is set while a platform stream is read: events wait in buf
	// until the next read (flushReader) or until sseBatch bytes are
	// pending.
	batch bool
	// gone is set once a write failed or the browser left: nothing more
	// is written.
	gone bool
	// failed is set after a terminal error event (or an event that could
	// not be encoded): later events are dropped and no [DONE] is written.
	failed bool
	quiet  bool // nothing written since the last heartbeat tick
	closed bool // the handler returns: the heartbeat writes nothing
	timer  *time.Timer
}

func newSSEWriter(w http.ResponseWriter, r *http.Request, cancel func(), o SSEOptions) *sseWriter {
	sw := &sseWriter{
		w: w, rc: http.NewResponseController(w), done: r.Context().Done(), cancel: cancel,
		writeTimeout: orDefault(o.WriteTimeout, defaultWriteTimeout),
		heartbeat:    orDefault(o.Heartbeat, defaultHeartbeat),
		quiet:        true,
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	if r.ProtoMajor < 2 {
		hdr.Set("Connection", "keep-alive")
	}
	hdr.Set("X-Accel-Buffering", "no")
	sw.deadline()
	w.WriteHeader(http.StatusOK)
	_ = sw.rc.Flush()
	if sw.heartbeat > 0 {
		sw.timer = time.AfterFunc(sw.heartbeat, sw.tick)
	}
	return sw
}

func (sw *sseWriter) deadline() {
	if sw.writeTimeout > 0 {
		_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.writeTimeout))
	}
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

// send encodes ev for the browser. It returns false when nothing more can
// be written (the browser left, a write failed): the execution stops.
func (sw *sseWriter) send(ev StreamEvent) bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.gone {
		return false
	}
	if sw.browserGone() {
		// The client left while this event was ready: write nothing.
		sw.leave()
		return false
	}
	if !sw.failed {
		mark := sw.buf.Len()
		if err := appendSSEEvent(&sw.buf, ev); err != nil {
			sw.buf.Truncate(mark)
			_ = appendSSEEvent(&sw.buf, NewInternalErrorEvent("Failed to encode a stream event: "+err.Error()))
			sw.failed = true
		}
		if ee, isErr := ev.(*ErrorEvent); isErr && ee.terminal {
			sw.failed = true
		}
	}
	sw.quiet = false
	if !sw.batch || sw.buf.Len() >= sseBatch {
		return sw.flushLocked()
	}
	return true
}

// leave marks the stream as over for writing and cancels the execution.
func (sw *sseWriter) leave() {
	sw.gone = true
	sw.buf.Reset()
	sw.cancel()
}

// flushLocked writes what buf holds. sw.mu is held.
func (sw *sseWriter) flushLocked() bool {
	if sw.gone {
		return false
	}
	if sw.buf.Len() == 0 {
		return true
	}
	ok := sw.writeLocked(sw.buf.Bytes())
	sw.buf.Reset()
	return ok
}

func (sw *sseWriter) writeLocked(b []byte) bool {
	sw.deadline()
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

// setBatch turns batching on (a platform stream is being read) or off
// (writing what waits).
func (sw *sseWriter) setBatch(on bool) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.batch = on
	if !on {
		sw.flushLocked()
	}
}

// flush writes what waits, before the execution blocks on a read.
func (sw *sseWriter) flush() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.flushLocked()
}

// tick is the heartbeat: a comment line after a quiet spell.
func (sw *sseWriter) tick() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.closed || sw.gone {
		return
	}
	switch {
	case sw.buf.Len() > 0:
		sw.flushLocked()
	case sw.quiet && !sw.failed:
		if !sw.writeLocked(ssePing) {
			return
		}
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
	if !sw.gone && !sw.browserGone() {
		if !sw.failed {
			sw.buf.Write(sseDone)
		}
		sw.flushLocked()
	}
	if sw.writeTimeout > 0 {
		_ = sw.rc.SetWriteDeadline(time.Time{})
	}
}

// flushReader writes the events waiting in sw before each read of the
// platform stream, that is before the execution may block.
type flushReader struct {
	r  io.Reader
	sw *sseWriter
}

func (f flushReader) Read(p []byte) (int, error) {
	f.sw.flush()
	return f.r.Read(p)
}
