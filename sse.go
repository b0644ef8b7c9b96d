package octavus

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	sse "github.com/tmaxmax/go-sse"
)

// maxEventSize bounds one SSE event read from the platform.
const maxEventSize = 8 << 20

// leg is what one platform stream left for the continuation loop.
type leg struct {
	// calls are the tool calls of the stream's last tool-request.
	calls []PendingToolCall
	// finished is set when a finish event was forwarded: the loop ends
	// after this leg's tools.
	finished bool
	// cancelled is set when ctx was cancelled while forwarding.
	cancelled bool
}

// readLeg reads one platform stream, forwarding its events by the rules of
// the continuation loop. executionID is updated from start events. The error
// is the stream's read error (io.EOF is a clean end, not an error).
//
// The stream is parsed as standard SSE (github.com/tmaxmax/go-sse). Each
// data line of an event is decoded on its own, as the reference does with
// each "data: " line; "[DONE]" is skipped; a line that is not a valid event
// is dropped and logged at debug level.
func (x *execution) readLeg(body io.Reader, executionID *string) (leg, error) {
	var l leg
	havePending := false
	for ev, err := range sse.Read(body, &sse.ReadConfig{MaxEventSize: maxEventSize}) {
		if err != nil {
			if isPartialFinalLine(err) {
				// The stream ended inside a line. The reference drops
				// such an unterminated last line and ends normally.
				return l, nil
			}
			return l, err
		}
		data := ev.Data
		for data != "" {
			var line string
			line, data, _ = strings.Cut(data, "\n")
			if line == "[DONE]" || line == "" {
				continue
			}
			e, perr := ParseStreamEvent([]byte(line))
			if perr != nil {
				x.s.c.log.Debug("octavus: dropped platform event", "session", x.s.id, "error", perr)
				continue
			}
			switch e := e.(type) {
			case *StartEvent:
				if e.ExecutionID != "" {
					*executionID = e.ExecutionID
				}
			case *ToolRequestEvent:
				l.calls, havePending = e.ToolCalls, true
				continue
			case *FinishEvent:
				if e.FinishReason == FinishToolCalls && havePending {
					continue
				}
				l.finished = true
			case *ResourceUpdateEvent:
				x.resourceUpdate(e)
			}
			if !x.emit(e) {
				l.cancelled = true
				return l, nil
			}
		}
	}
	return l, nil
}

// isPartialFinalLine reports go-sse's error for input that ends in the
// middle of a line. go-sse keeps that sentinel in an internal package, so it
// is matched by its text.
func isPartialFinalLine(err error) bool {
	return err.Error() == "go-sse: unexpected end of input"
}

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
// The handler serves one response: it consumes the channel.
func ToSSEStream(events <-chan StreamEvent) http.Handler {
	return sseHandler{events}
}

type sseHandler struct{ events <-chan StreamEvent }

var (
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
	for {
		var ev StreamEvent
		var ok bool
		select {
		case ev, ok = <-h.events:
		case <-r.Context().Done():
			drain(h.events)
			return
		}
		if !ok {
			if !failed {
				write(sseDone)
			}
			return
		}
		if failed {
			continue
		}
		buf.Reset()
		if err := appendSSEEvent(&buf, ev); err != nil {
			buf.Reset()
			_ = appendSSEEvent(&buf, NewInternalErrorEvent("Failed to encode a stream event: "+err.Error()))
			failed = true
		}
		if ee, isErr := ev.(*ErrorEvent); isErr && ee.terminal {
			failed = true
		}
		if !write(buf.Bytes()) {
			drain(h.events)
			return
		}
	}
}

// appendSSEEvent writes ev as one "data: <JSON>\n\n" block.
func appendSSEEvent(buf *bytes.Buffer, ev StreamEvent) error {
	if ev == nil {
		return errNilEvent
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
