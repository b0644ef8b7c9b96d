package octavus

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
	// stream is set once a data line decoded to an event or was
	// [DONE]: the answer is an event stream (see notStream).
	stream bool
}

// readLeg reads one platform stream, forwarding its events by the rules of
// the continuation loop. executionID is updated from start events. The error
// is the stream's read error (io.EOF is a clean end, not an error), or
// errEventTooLarge for a line longer than ClientOptions.MaxEventSize.
//
// The stream is read line by line as standard SSE (CR, LF and CRLF end a
// line; a leading byte order mark is skipped). Each data line is decoded on
// its own and forwarded as soon as it is complete, as the reference does
// with each "data: " line; "[DONE]" and empty data are skipped; a line that
// is not a valid event is dropped and logged at debug level; comments and
// other fields are ignored. A stream that ends inside a line ends cleanly
// without that line, as in the reference.
//
// Once a ToSSEStream claimed the execution (see direct.go), the events are
// handed to it in batches: before each read that would wait for the
// platform, when a batch reaches sseBatch bytes, and when the leg ends.
func (x *execution) readLeg(body io.Reader, executionID *string) (leg, error) {
	lr := newLineReader(body, x.s.c.maxEvent)
	lr.wait = func() bool {
		if d := x.direct.Load(); d != nil {
			d.local = lr.takeSpan(d.local)
			return x.publish(d)
		}
		return true
	}
	l, err := x.readLines(lr, executionID)
	if d := x.direct.Load(); d != nil {
		d.local = lr.takeSpan(d.local)
		if !x.publish(d) {
			l.cancelled = true
		}
	}
	return l, err
}

// errWaitCancelled is lineReader.next's error when its wait hook refused:
// the execution's context ended.
var errWaitCancelled = errors.New("cancelled")

func (x *execution) readLines(lr *lineReader, executionID *string) (leg, error) {
	var l leg
	havePending := false
	var alloc flatAlloc
	for {
		d := x.direct.Load()
		if d != nil {
			if data, whole := lr.nextVerbatim(); data != nil {
				// A flat event as the encoder writes it: nothing in it to
				// act on, and its bytes are what ToSSEStream would write.
				// When they came as the SSE block ToSSEStream writes, a
				// run of such blocks is copied at once (lineReader.span).
				l.stream = true
				if d.failed {
					continue // nothing more is written (see directSink.add)
				}
				if !whole || !lr.extendSpan(len(ssePrefix)+len(data)+len(sseEnd)) {
					d.local = lr.takeSpan(d.local)
					d.addVerbatim(data)
				}
				if len(d.local)+lr.spanLen() >= sseBatch {
					d.local = lr.takeSpan(d.local)
				}
				if len(d.local) >= sseBatch && !x.publish(d) {
					l.cancelled = true
					return l, nil
				}
				continue
			}
		}
		line, err := lr.next()
		if d != nil {
			d.local = lr.takeSpan(d.local)
		}
		if err != nil {
			switch err {
			case io.EOF:
				return l, nil
			case errWaitCancelled:
				l.cancelled = true
				return l, nil
			}
			return l, err
		}
		data, ok := dataField(line)
		if !ok || len(data) == 0 {
			continue
		}
		if string(data) == "[DONE]" {
			l.stream = true
			continue
		}
		if d != nil && flatVerbatim(data) {
			// A flat event as the encoder writes it: nothing in it to act
			// on, and its bytes are what ToSSEStream would write.
			l.stream = true
			d.addVerbatim(data)
			if len(d.local) >= sseBatch && !x.publish(d) {
				l.cancelled = true
				return l, nil
			}
			continue
		}
		e := decodeFlat(data, &alloc)
		var perr error
		if e == nil {
			e, perr = parseGeneral(data)
		}
		if perr != nil {
			x.s.c.log.Debug("octavus: dropped platform event", "session", x.s.SessionID(), "error", perr)
			continue
		}
		l.stream = true
		switch e := e.(type) {
		case *StartEvent:
			if e.ExecutionID != "" {
				*executionID = e.ExecutionID
			}
			if x.s.start != nil && e.SessionID != "" {
				x.s.start.latch(e.SessionID)
			}
		case *ToolRequestEvent:
			if l.finished {
				// The agent already finished: nothing would read the
				// results, so the tools are not run.
				x.s.c.log.Warn("octavus: dropped a tool-request after finish", "session", x.s.SessionID(), "calls", len(e.ToolCalls))
				continue
			}
			l.calls, havePending = x.uniqueCalls(e.ToolCalls), true
			continue
		case *FinishEvent:
			if e.FinishReason == FinishToolCalls && havePending {
				continue
			}
			l.finished = true
		case *ResourceUpdateEvent:
			x.resourceUpdate(e)
		case *ErrorEvent:
			e.Message = redactKey(e.Message, x.secret)
		}
		if d != nil {
			// Batched: handed over before the next wait (see readLeg).
			d.add(e)
			if len(d.local) >= sseBatch && !x.publish(d) {
				l.cancelled = true
				return l, nil
			}
			continue
		}
		if !x.emit(e) {
			l.cancelled = true
			return l, nil
		}
	}
}

// notStreamPrefix is how many of an answer's first bytes notStream quotes.
const notStreamPrefix = 60

// headReader keeps the first max bytes read through it.
type headReader struct {
	r    io.Reader
	max  int
	head []byte
}

func (h *headReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := h.max - len(h.head); room > 0 && n > 0 {
		h.head = append(h.head, p[:min(n, room)]...)
	}
	return n, err
}

// notStream is the message for a 2xx answer that yielded no event: what
// came back, for the developer who set a wrong BaseURL. head is the
// answer's first bytes; the API key is taken out of it, then it is cut to
// notStreamPrefix bytes of printable ASCII (runs of white space become one
// space, other bytes a dot).
func notStream(status int, contentType string, head []byte, key string) string {
	ct := "no Content-Type"
	if contentType != "" {
		ct = fmt.Sprintf("Content-Type %q", printable([]byte(contentType), notStreamPrefix))
	}
	h := printable([]byte(redactKey(string(head), key)), notStreamPrefix)
	what := "empty body"
	if h != "" {
		what = fmt.Sprintf("first bytes: %q", h)
	}
	return fmt.Sprintf("Platform answered %d without an event stream (%s; %s)", status, ct, what)
}

// printable returns b as printable ASCII, white space runs collapsed to one
// space, trimmed, at most limit bytes and "..." when cut.
func printable(b []byte, limit int) string {
	var out []byte
	space := false
	for _, c := range b {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = true
			continue
		case c < 0x20 || c >= 0x7f:
			c = '.'
		}
		if space && len(out) > 0 {
			out = append(out, ' ')
		}
		space = false
		out = append(out, c)
	}
	if len(out) > limit {
		return string(out[:limit]) + "..."
	}
	return string(out)
}

// dataField returns the value of an SSE "data" field line ("data:" and an
// optional space taken off); ok is false for every other line.
func dataField(line []byte) (value []byte, ok bool) {
	if len(line) < 4 || string(line[:4]) != "data" {
		return nil, false
	}
	switch {
	case len(line) == 4:
		return nil, true // "data" alone: an empty value
	case line[4] != ':':
		return nil, false // another field name, such as "datum"
	}
	value = line[5:]
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	return value, true
}

// Line reader buffer sizes: a stream starts with a small buffer, so an
// idle stream costs little, and the buffer doubles while reads fill it, up
// to lineBufMax, so a fast stream is read in large pieces. A longer line
// grows it further, up to the size limit.
const (
	lineBufMin = 1 << 10
	lineBufMax = 64 << 10
)

// lineReader splits an SSE stream into lines. Its buffer never grows past
// max+1 bytes (lineBufMin when max is smaller): a line is refused as soon
// as more than max bytes of it are buffered.
type lineReader struct {
	r   io.Reader
	max int
	buf []byte
	// buf[start:end] is read but not yet returned.
	start, end int
	// skipLF is set after a line ended by CR: an LF right after it
	// belongs to that line end.
	skipLF bool
	// cr is set while buf[start:end] may hold a CR; while it is not,
	// lines end at LF only and are split with one scan.
	cr bool
	// first is set until the first line was returned (for the BOM).
	first bool
	// wait, when set, is called before each read that may wait for the
	// stream; when it returns false, next returns errWaitCancelled.
	wait func() bool
	// buf[spanLo:spanHi] are SSE blocks taken by nextVerbatim that go
	// out as they are (see extendSpan).
	spanLo, spanHi int
	err            error
}

func newLineReader(r io.Reader, max int) *lineReader {
	switch {
	case max <= 0:
		max = defaultMaxEventSize
	case max > 1<<30:
		max = 1 << 30 // no line that long fits in memory anyway
	}
	return &lineReader{r: r, max: max, first: true}
}

// next returns the next complete line, without its line end; it stays valid
// until the next call. At the end of the stream the error is io.EOF (an
// unterminated last line is dropped) or the read error;
// errEventTooLarge is returned for a line longer than max.
func (lr *lineReader) next() ([]byte, error) {
	for {
		if lr.skipLF && lr.start < lr.end {
			if lr.buf[lr.start] == '\n' {
				lr.start++
			}
			lr.skipLF = false
		}
		b := lr.buf[lr.start:lr.end]
		if !lr.cr {
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				lr.start += i + 1
				return lr.line(b[:i])
			}
		} else if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line := b[:i]
			if j := bytes.IndexByte(line, '\r'); j >= 0 {
				// A CR ends the line first (CR alone, or CRLF).
				line = b[:j]
				lr.start += j + 1
				lr.skipLF = true
			} else {
				lr.start += i + 1
			}
			return lr.line(line)
		}
		if lr.cr {
			if j := bytes.IndexByte(b, '\r'); j >= 0 {
				lr.start += j + 1
				lr.skipLF = true
				return lr.line(b[:j])
			}
			lr.cr = false // none left in b
		}
		// No complete line is buffered.
		if len(b) > lr.max {
			return nil, errEventTooLarge
		}
		if lr.err != nil {
			return nil, lr.err
		}
		if lr.wait != nil && !lr.wait() {
			return nil, errWaitCancelled
		}
		lr.fill()
	}
}

// nextVerbatim returns the value of the next line when it is a data line
// ("data: " and a value) that flatVerbatim accepts, ended by LF, finding
// its end as it checks it rather than with a scan of its own; nil when it
// is not (or may not be: a CR in the buffer, the first line), and next
// returns that line. An empty line right after it (the end of the event)
// is skipped with it: readLeg skips empty lines.
//
// whole is set when the bytes taken were exactly "data: <value>\n\n".
func (lr *lineReader) nextVerbatim() (data []byte, whole bool) {
	if lr.cr || lr.skipLF || lr.first {
		return nil, false
	}
	b := lr.buf[lr.start:lr.end]
	if len(b) < len(ssePrefix)+2 || string(b[:len(ssePrefix)]) != string(ssePrefix) {
		return nil, false
	}
	end, ok := verbatimTextDelta(b[len(ssePrefix):])
	if !ok {
		end, ok = flatVerbatimObject(b[len(ssePrefix):])
	}
	n := len(ssePrefix) + end + 1 // the line's length
	if !ok || n >= len(b) || b[n] != '\n' || n > lr.max {
		return nil, false
	}
	lr.start += n + 1
	if n+1 < len(b) && b[n+1] == '\n' {
		lr.start++ // the empty line that ends the event: nothing to return
		whole = true
	}
	return b[len(ssePrefix):n], whole
}

// extendSpan adds the n bytes just taken (buf[start-n:start]) to the span
// of bytes to be copied as they are, when they follow it or it is empty;
// false leaves the span as it is. The span is valid until the next read
// (the wait hook takes it first).
func (lr *lineReader) extendSpan(n int) bool {
	switch lo := lr.start - n; {
	case lr.spanHi == lr.spanLo:
		lr.spanLo, lr.spanHi = lo, lr.start
	case lr.spanHi == lo:
		lr.spanHi = lr.start
	default:
		return false
	}
	return true
}

func (lr *lineReader) spanLen() int { return lr.spanHi - lr.spanLo }

// takeSpan appends the span to dst and empties it.
func (lr *lineReader) takeSpan(dst []byte) []byte {
	if lr.spanHi > lr.spanLo {
		dst = append(dst, lr.buf[lr.spanLo:lr.spanHi]...)
	}
	lr.spanLo, lr.spanHi = 0, 0
	return dst
}

// line checks a complete line's length and takes a leading BOM off the
// stream's first line.
func (lr *lineReader) line(line []byte) ([]byte, error) {
	if len(line) > lr.max {
		return nil, errEventTooLarge
	}
	if lr.first {
		lr.first = false
		line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
	}
	return line, nil
}

// fill reads more of the stream, making room first. It records the read
// error; the data that came with it is kept.
func (lr *lineReader) fill() {
	if lr.start > 0 {
		// Keep the partial line, at the front.
		lr.end = copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.start = 0
	}
	if lr.end == len(lr.buf) {
		lr.grow()
	}
	for tries := 0; tries < 100; tries++ {
		n, err := lr.r.Read(lr.buf[lr.end:])
		if n < 0 || n > len(lr.buf)-lr.end {
			lr.err = errors.New("octavus: invalid read from the platform stream")
			return
		}
		full := lr.end+n == len(lr.buf)
		if !lr.cr && bytes.IndexByte(lr.buf[lr.end:lr.end+n], '\r') >= 0 {
			lr.cr = true
		}
		lr.end += n
		if err != nil {
			lr.err = err
			return
		}
		if n > 0 {
			if full && len(lr.buf) < lineBufMax {
				// The stream brings more than the buffer takes:
				// read it in larger pieces.
				lr.grow()
			}
			return
		}
	}
	lr.err = io.ErrNoProgress
}

// grow doubles the buffer, to at least lineBufMin and at most what a
// partial line of max+1 bytes needs (a longer one is an error anyway).
func (lr *lineReader) grow() {
	size := max(2*len(lr.buf), lineBufMin)
	if limit := max(lr.max+1, lineBufMin); size > limit {
		size = limit
	}
	if size <= len(lr.buf) {
		return
	}
	nb := make([]byte, size)
	lr.end = copy(nb, lr.buf[lr.start:lr.end])
	lr.start = 0
	lr.buf = nb
}

// uniqueCalls returns calls without the repeats of a tool call id: the
// first call with an id runs, a later one with the same id is dropped
// (logged), so one call id never runs its handler twice nor sends two
// results.
func (x *execution) uniqueCalls(calls []PendingToolCall) []PendingToolCall {
	if len(calls) < 2 {
		return calls
	}
	seen := make(map[string]struct{}, len(calls))
	out := calls[:0:0]
	for _, tc := range calls {
		if _, dup := seen[tc.ToolCallID]; dup {
			x.s.c.log.Warn("octavus: dropped a repeated tool call id", "session", x.s.SessionID(), "tool", tc.ToolName, "toolCallId", tc.ToolCallID)
			continue
		}
		seen[tc.ToolCallID] = struct{}{}
		out = append(out, tc)
	}
	return out
}
