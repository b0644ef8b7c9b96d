package octavus

import (
	"bytes"
	"sync"
)

// The direct path: when ToSSEStream is handed the very channel an Execute
// returned, nothing else reads that channel, so the execution need not send
// it one event at a time. ToSSEStream claims the execution (claimDirect);
// from then on the execution encodes each event itself into SSE bytes and
// hands the bytes over in batches through a directSink, and the channel
// carries only the events sent before the claim, then its close. One
// goroutine hop per batch instead of one channel operation per event, and
// an unchanged flat event of the platform in canonical form is copied as
// it came (flatVerbatim), without being decoded.
//
// Events are handed over as soon as the execution would otherwise wait:
// before each read from the platform that finds no complete line buffered,
// after each event outside a platform stream, and whenever a batch reaches
// sseBatch bytes. So a stream that brings one event at a time is written
// one event at a time, as on the channel path.

// directMax bounds the bytes an execution hands over that the writer has
// not taken yet: past it, the execution waits (or stops when its context
// ends), as it would on a full channel.
const directMax = 2 * sseBatch

// directSink is what an execution hands to the ToSSEStream that claimed it.
type directSink struct {
	mu sync.Mutex
	// pending are SSE bytes handed over, not yet taken by the writer.
	pending []byte
	// terminal is set once an event that ends a failed stream was handed
	// over (see ErrorEvent.terminal, and an event that failed to encode):
	// the writer then writes no [DONE].
	terminal bool
	// gone is set when the writer left: what is handed over is dropped.
	gone bool
	// ready has a value when pending became non-empty.
	ready chan struct{}
	// space has a value when the writer took pending.
	space chan struct{}

	// sync, when set, is the writer itself: publish writes the batch to
	// the browser from the execution's goroutine (the passthrough
	// Handler, see serveSSE), and the fields above are unused.
	sync *sseWriter

	// The execution's side, not shared.
	local         []byte // encoded, not handed over yet
	localTerminal bool
	failed        bool // an event failed to encode: the rest is dropped
}

// claimDirect makes d the way x hands its events over, unless x was
// claimed before. It returns nil then.
func (x *execution) claimDirect() *directSink {
	d := &directSink{ready: make(chan struct{}, 1), space: make(chan struct{}, 1)}
	if !x.direct.CompareAndSwap(nil, d) {
		return nil
	}
	return d
}

// add encodes ev into the execution's batch, as ToSSEStream would.
func (d *directSink) add(ev StreamEvent) {
	if d.failed {
		return
	}
	buf := bytes.NewBuffer(d.local)
	mark := buf.Len()
	if err := appendSSEEvent(buf, ev); err != nil {
		buf.Truncate(mark)
		_ = appendSSEEvent(buf, NewInternalErrorEvent("Failed to encode a stream event: "+err.Error()))
		d.failed, d.localTerminal = true, true
	}
	if ee, isErr := ev.(*ErrorEvent); isErr && ee.terminal {
		d.failed, d.localTerminal = true, true
	}
	d.local = buf.Bytes()
}

// addVerbatim adds the data line of a platform event that flatVerbatim
// accepted, as it came.
func (d *directSink) addVerbatim(data []byte) {
	if d.failed {
		return
	}
	d.local = append(append(append(d.local, ssePrefix...), data...), sseEnd...)
}

// publish hands the execution's batch over to the writer. It waits while
// the writer has directMax bytes not taken; it returns false when x's
// context ended during that wait.
func (x *execution) publish(d *directSink) bool {
	if d.sync != nil {
		ok := d.sync.write(d.local, d.localTerminal)
		d.local = d.local[:0]
		return ok
	}
	if len(d.local) == 0 && !d.localTerminal {
		return true
	}
	for {
		d.mu.Lock()
		if d.gone {
			d.mu.Unlock()
			d.local = d.local[:0]
			return true
		}
		if len(d.pending) < directMax {
			if len(d.pending) == 0 {
				d.pending, d.local = d.local, d.pending[:0]
			} else {
				d.pending = append(d.pending, d.local...)
				d.local = d.local[:0]
			}
			d.terminal = d.terminal || d.localTerminal
			d.mu.Unlock()
			select {
			case d.ready <- struct{}{}:
			default:
			}
			return true
		}
		d.mu.Unlock()
		select {
		case <-d.space:
		case <-x.ctx.Done():
			return false
		}
	}
}

// discard drops what the execution handed over and the writer has not
// taken: a cancelled execution's stop takes its events back this way.
func (d *directSink) discard() {
	d.local = d.local[:0]
	d.mu.Lock()
	d.pending = d.pending[:0]
	d.mu.Unlock()
	select {
	case d.space <- struct{}{}:
	default:
	}
}

// take appends what was handed over to dst (the writer's side). terminal
// reports whether a terminal event is among all handed over so far.
func (d *directSink) take(dst []byte) (out []byte, terminal bool) {
	d.mu.Lock()
	if len(dst) == 0 {
		// Swap the buffers: the execution refills the writer's old one.
		out, d.pending = d.pending, dst[:0]
	} else {
		out = append(dst, d.pending...)
		d.pending = d.pending[:0]
	}
	terminal = d.terminal
	d.mu.Unlock()
	select {
	case d.space <- struct{}{}:
	default:
	}
	return out, terminal
}

// leave tells the execution that the writer is gone: it drops what it hands
// over from then on, and never waits.
func (d *directSink) leave() {
	d.mu.Lock()
	d.gone = true
	d.pending = nil
	d.mu.Unlock()
	select {
	case d.space <- struct{}{}:
	default:
	}
}
