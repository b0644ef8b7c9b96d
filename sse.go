package octavus

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// ToSSEStream returns a handler that writes events to the browser as
// Server-Sent Events that @octavus/client-sdk reads: each event as
// "data: <JSON>\n\n", flushed at once, then "data: [DONE]\n\n" when the
// channel is closed. If the stream failed (the last event is the
// internal_error ErrorEvent Execute sends when the platform connection
// fails) that event is written instead of [DONE], as the reference does.
//
// It sets Content-Type: text/event-stream, Cache-Control: no-cache,
// Connection: keep-alive (HTTP/1) and X-Accel-Buffering: no (so nginx does
// not buffer). When the client goes away it stops writing and drains the
// channel, so the producer never blocks; pass the request's context to
// Execute so the execution itself stops early.
//
// While no event arrives for SSEOptions.Heartbeat (default 15 s) it writes
// the SSE comment line ": heartbeat" (the reference's text), which every
// SSE reader ignores, so that proxies and load balancers do not cut a
// stream that waits on a slow model or tool. Unlike the reference, which
// writes it every 15 s even while events flow, it writes it only after a
// quiet spell.
//
// Each write is given its own write deadline (SSEOptions.WriteTimeout,
// through http.ResponseController), so a server's http.Server.WriteTimeout
// does not cut a long stream after its first minutes, and a browser that
// stops reading does not hold a write forever.
//
// When a write fails, the execution is cancelled (a channel of Execute;
// any other channel is drained) even while the request's context lives
// on, so a failed writer never keeps a platform stream and its tools
// running for nothing. A nil channel is an empty stream: [DONE] alone.
//
// The handler serves one response: it consumes the channel. Once it
// serves a channel of Execute, it takes the events from the execution
// directly, and any other reader of the channel gets nothing until it is
// closed: to observe the events (a log, a copy kept elsewhere), relay
// them through your own channel and pass that one (a channel not of
// Execute is read as it is). Pass at most one SSEOptions; none means the
// defaults.
func ToSSEStream(events <-chan StreamEvent, opts ...SSEOptions) http.Handler {
	var o SSEOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return newSSEHandler(events, o)
}

func newSSEHandler(events <-chan StreamEvent, o SSEOptions) sseHandler {
	return sseHandler{events: events, heartbeat: orDefault(o.Heartbeat, defaultHeartbeat), writeTimeout: orDefault(o.WriteTimeout, defaultWriteTimeout), ticker: newTicker}
}

// SSEOptions configure ToSSEStream. The zero value works.
type SSEOptions struct {
	// Heartbeat is how long the stream may stay quiet before a comment
	// line is written to keep it open. Zero means 15 s; negative turns the
	// heartbeat off.
	Heartbeat time.Duration
	// WriteTimeout bounds each write of the stream: before it, the
	// connection's write deadline is moved to now plus WriteTimeout
	// (http.ResponseController.SetWriteDeadline; a writer that does not
	// support it is written without). It replaces, for this response, the
	// http.Server.WriteTimeout that would otherwise cut the stream. Zero
	// means 30 s; negative leaves the deadline alone.
	WriteTimeout time.Duration
}

const (
	defaultHeartbeat    = 15 * time.Second
	defaultWriteTimeout = 30 * time.Second
)

type sseHandler struct {
	events       <-chan StreamEvent
	heartbeat    time.Duration
	writeTimeout time.Duration
	// cancel, when set, cancels the execution behind events; else the
	// one Execute registered for events is (see cancelExecution).
	cancel func()
	// ticker starts the heartbeat clock; tests replace it.
	ticker func(time.Duration) (<-chan time.Time, func())
}

// executionCancels maps the channel of each running Execute to the
// execution and the cancel func of its context, for ToSSEStream to stop an
// execution whose writer failed, and to claim it (see direct.go).
var executionCancels sync.Map // <-chan StreamEvent -> trackedExecution

type trackedExecution struct {
	x      *execution
	cancel context.CancelFunc
}

// trackExecution registers cancel as the way to stop x; the func it
// returns unregisters it and cancels.
func trackExecution(x *execution, cancel context.CancelFunc) func() {
	key := (<-chan StreamEvent)(x.out)
	executionCancels.Store(key, trackedExecution{x: x, cancel: cancel})
	return func() {
		executionCancels.Delete(key)
		cancel()
	}
}

// claim returns the directSink of the execution behind events, when
// events is the channel of an Execute not claimed before; else nil.
func claim(events <-chan StreamEvent) *directSink {
	t, ok := executionCancels.Load(events)
	if !ok {
		return nil
	}
	return t.(trackedExecution).x.claimDirect()
}

// stop cancels the execution behind events, if it is known, and drains
// the channel.
func (h sseHandler) stop(events <-chan StreamEvent) {
	if h.cancel != nil {
		h.cancel()
	} else if t, ok := executionCancels.Load(events); ok {
		t.(trackedExecution).cancel()
	}
	drain(events)
}

func newTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

var (
	ssePing   = []byte(": heartbeat\n\n")
	sseDone   = []byte("data: [DONE]\n\n")
	ssePrefix = []byte("data: ")
	sseEnd    = []byte("\n\n")
)

// startSSE begins an event stream: it sets the headers (setSSEHeaders),
// writes and flushes the 200 under a write deadline, and returns the
// response's controller, the deadline's mover (called before each write)
// and lift, for the caller to defer: the deadline stays on a kept-alive
// connection, so it is lifted, or it would cut the next response on it.
func startSSE(w http.ResponseWriter, r *http.Request, writeTimeout time.Duration) (rc *http.ResponseController, deadline, lift func()) {
	setSSEHeaders(w.Header(), r)
	rc = http.NewResponseController(w)
	deadline, lift = func() {}, func() {}
	if writeTimeout > 0 {
		deadline = func() { _ = rc.SetWriteDeadline(time.Now().Add(writeTimeout)) }
		lift = func() { _ = rc.SetWriteDeadline(time.Time{}) }
	}
	deadline()
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	return rc, deadline, lift
}

// setSSEHeaders sets the headers of an event stream (see ToSSEStream):
// its content type, no caching, keep-alive on HTTP/1 and no buffering by
// a proxy such as nginx.
func setSSEHeaders(hdr http.Header, r *http.Request) {
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	if r.ProtoMajor < 2 {
		hdr.Set("Connection", "keep-alive")
	}
	hdr.Set("X-Accel-Buffering", "no")
}

func (h sseHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	events := h.events
	if events == nil {
		closed := make(chan StreamEvent)
		close(closed)
		events = closed
	}
	rc, deadline, lift := startSSE(w, r, h.writeTimeout)
	defer lift()

	var buf bytes.Buffer
	failed := false
	write := func(b []byte) bool {
		deadline()
		if _, err := w.Write(b); err != nil {
			return false
		}
		err := rc.Flush()
		return err == nil || errors.Is(err, http.ErrNotSupported)
	}
	var tick <-chan time.Time
	if h.heartbeat > 0 {
		c, stop := h.ticker(h.heartbeat)
		defer stop()
		tick = c
	}
	if d := claim(events); d != nil {
		h.serveDirect(r, events, d, tick, write)
		return
	}
	quiet := true // nothing written since the last tick
	for {
		var ev StreamEvent
		var ok bool
		select {
		case ev, ok = <-events:
		case <-tick:
			if quiet && !failed && !write(ssePing) {
				h.stop(events)
				return
			}
			quiet = true
			continue
		case <-r.Context().Done():
			h.stop(events)
			return
		}
		if ok && r.Context().Err() != nil {
			// The client left while this event was ready: write nothing.
			h.stop(events)
			return
		}
		quiet = false
		// Encode this event and every one already waiting (up to
		// sseBatch bytes), then write them at once: one write and one
		// flush for a burst, and no event waits for one not yet sent.
		buf.Reset()
		closed := !ok
		for !closed {
			if !failed {
				mark := buf.Len()
				if err := appendSSEEvent(&buf, ev); err != nil {
					buf.Truncate(mark)
					_ = appendSSEEvent(&buf, NewInternalErrorEvent("Failed to encode a stream event: "+err.Error()))
					failed = true
				}
				if ee, isErr := ev.(*ErrorEvent); isErr && ee.terminal {
					failed = true
				}
			}
			if buf.Len() >= sseBatch {
				break
			}
			select {
			case ev, ok = <-events:
				closed = !ok
				continue
			default:
			}
			break
		}
		if closed && !failed {
			buf.Write(sseDone)
		}
		if buf.Len() > 0 && !write(buf.Bytes()) {
			h.stop(events)
			return
		}
		if closed {
			return
		}
	}
}

// serveDirect is ServeHTTP's loop for an execution it claimed (see
// direct.go): the events sent on the channel before the claim come first,
// then the bytes the execution hands over, each batch in one write.
func (h sseHandler) serveDirect(r *http.Request, events <-chan StreamEvent, d *directSink, tick <-chan time.Time, write func([]byte) bool) {
	leave := func() {
		d.leave()
		h.stop(events)
	}
	var buf []byte
	failed := false // an event sent on the channel ended the stream
	quiet := true
	for {
		var ev StreamEvent
		var ok, got bool
		select {
		case ev, ok = <-events:
			got = true
		case <-d.ready:
		case <-tick:
			if quiet && !failed && !write(ssePing) {
				leave()
				return
			}
			quiet = true
			continue
		case <-r.Context().Done():
			leave()
			return
		}
		if r.Context().Err() != nil {
			// The client left while events were ready: write nothing.
			leave()
			return
		}
		b := bytes.NewBuffer(buf[:0])
		closed := false
		for {
			if got {
				if !ok {
					closed = true
					break
				}
				if !failed {
					mark := b.Len()
					if err := appendSSEEvent(b, ev); err != nil {
						b.Truncate(mark)
						_ = appendSSEEvent(b, NewInternalErrorEvent("Failed to encode a stream event: "+err.Error()))
						failed = true
					}
					if ee, isErr := ev.(*ErrorEvent); isErr && ee.terminal {
						failed = true
					}
				}
			}
			select {
			case ev, ok = <-events:
				got = true
				continue
			default:
			}
			break
		}
		// The channel is closed after the execution's last hand-over, and
		// its events all came before the first one: take what is pending.
		var terminal bool
		if failed {
			// The stream ended on the channel: what was handed over
			// after it is dropped.
			_, terminal = d.take(nil)
			buf = b.Bytes()
		} else {
			buf, terminal = d.take(b.Bytes())
		}
		if closed && !failed && !terminal {
			buf = append(buf, sseDone...)
		}
		if len(buf) > 0 {
			quiet = false
			if !write(buf) {
				leave()
				return
			}
		}
		if closed {
			return
		}
	}
}

// sseBatch bounds the bytes of ready events written in one write.
const sseBatch = 32 << 10

// appendSSEEvent writes ev as one "data: <JSON>\n\n" block. The flat
// events (the deltas above all) are written straight into buf's free space
// by the fast path, without an allocation once buf has grown.
func appendSSEEvent(buf *bytes.Buffer, ev StreamEvent) error {
	if ev == nil {
		return errNilEvent
	}
	if b, ok := appendFlat(append(buf.AvailableBuffer(), ssePrefix...), ev); ok {
		buf.Write(append(b, sseEnd...))
		return nil
	}
	b, err := marshalJSON(ev)
	if err != nil {
		return err
	}
	buf.Write(ssePrefix)
	buf.Write(b)
	buf.Write(sseEnd)
	return nil
}

var errNilEvent = errors.New("nil event")

// drain receives until events is closed.
func drain(events <-chan StreamEvent) {
	for range events {
	}
}
