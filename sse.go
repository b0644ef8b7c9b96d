package octavus

import (
	"bytes"
	"errors"
	"net/http"
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
// The handler serves one response: it consumes the channel. Pass at most
// one SSEOptions; none means the defaults.
func ToSSEStream(events <-chan StreamEvent, opts ...SSEOptions) http.Handler {
	var o SSEOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return sseHandler{events: events, heartbeat: orDefault(o.Heartbeat, defaultHeartbeat), ticker: newTicker}
}

// SSEOptions configure ToSSEStream. The zero value works.
type SSEOptions struct {
	// Heartbeat is how long the stream may stay quiet before a comment
	// line is written to keep it open. Zero means 15 s; negative turns the
	// heartbeat off.
	Heartbeat time.Duration
}

const defaultHeartbeat = 15 * time.Second

type sseHandler struct {
	events    <-chan StreamEvent
	heartbeat time.Duration
	// ticker starts the heartbeat clock; tests replace it.
	ticker func(time.Duration) (<-chan time.Time, func())
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

func (h sseHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	if r.ProtoMajor < 2 {
		hdr.Set("Connection", "keep-alive")
	}
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	var buf bytes.Buffer
	failed := false
	write := func(b []byte) bool {
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
	quiet := true // nothing written since the last tick
	for {
		var ev StreamEvent
		var ok bool
		select {
		case ev, ok = <-h.events:
		case <-tick:
			if quiet && !failed && !write(ssePing) {
				drain(h.events)
				return
			}
			quiet = true
			continue
		case <-r.Context().Done():
			drain(h.events)
			return
		}
		if ok && r.Context().Err() != nil {
			// The client left while this event was ready: write nothing.
			drain(h.events)
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
			case ev, ok = <-h.events:
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
			drain(h.events)
			return
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
