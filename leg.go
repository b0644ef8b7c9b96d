package octavus

import (
	"bytes"
	"errors"
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
func (x *execution) readLeg(body io.Reader, executionID *string) (leg, error) {
	var l leg
	havePending := false
	lr := newLineReader(body, x.s.c.maxEvent)
	var alloc flatAlloc
	for {
		line, err := lr.next()
		if err != nil {
			if err == io.EOF {
				return l, nil
			}
			return l, err
		}
		data, ok := dataField(line)
		if !ok || len(data) == 0 || string(data) == "[DONE]" {
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
		switch e := e.(type) {
		case *StartEvent:
			if e.ExecutionID != "" {
				*executionID = e.ExecutionID
			}
			if x.s.start != nil && e.SessionID != "" {
				x.s.start.latch(e.SessionID)
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
	err   error
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
		lr.fill()
	}
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
