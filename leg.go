package octavus

import (
	"bufio"
	"errors"
	"io"
	"strings"

	sse "github.com/tmaxmax/go-sse"
)

// defaultMaxEventSize is ClientOptions.MaxEventSize's default.
const defaultMaxEventSize = 8 << 20

// errEventTooLarge is readLeg's error for an event line longer than
// ClientOptions.MaxEventSize.
var errEventTooLarge = errors.New("event larger than the size limit")

// leg is what one platform stream left for the continuation loop.
type leg struct {
	// calls are the tool calls of the stream's last tool-request.
	calls []PendingToolCall
	// finished is set when a finish event was forwarded: the loop ends
	// after this leg's tools.
	finished bool
	// cancelled is set when ctx was cancelled while forwarding.
	cancelled bool
	// stopped is set when the platform answered an error, already
	// forwarded: the execution is over.
	stopped bool
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
	for ev, err := range sse.Read(body, &sse.ReadConfig{MaxEventSize: x.s.c.maxEvent}) {
		if err != nil {
			if isPartialFinalLine(err) {
				// The stream ended inside a line. The reference drops
				// such an unterminated last line and ends normally.
				return l, nil
			}
			if errors.Is(err, bufio.ErrTooLong) {
				return l, errEventTooLarge
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
