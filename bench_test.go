package octavus

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The benchmarks of the hot path: one event per op. `go run ./bench` has the
// side-by-side comparison with the Node SDK and a raw copy over loopback.
//
//	go test -run '^$' -bench . -benchmem .

const benchDelta = `{"type":"text-delta","id":"text_1","delta":"Hello there, this is a token"}`

// benchDeltaEscaped is a text-delta whose JSON has escapes and non-ASCII
// text, as model output often has.
const benchDeltaEscaped = `{"type":"text-delta","id":"text_1","delta":"line one\n\"quoted\" caf\u00e9 – ok"}`

// benchWorkerDelta is a text-delta of a worker execution: the same delta
// with the workerId the platform adds to every event of a worker.
const benchWorkerDelta = `{"type":"text-delta","id":"text_1","delta":"Hello there, this is a token","workerId":"worker_1"}`

// streamBody is an SSE body of n copies of one event line and a final
// [DONE], produced as it is read (in constant memory), so a benchmark of a
// long stream measures the SDK, not building the input.
type streamBody struct {
	block []byte // whole event blocks, about 32 KiB
	per   int    // events in block
	event int    // bytes of one event block
	left  int    // events still to produce
	pos   int    // read position in the current block
	tail  []byte // what comes after the events
}

func newStreamBody(eventJSON string, n int) *streamBody {
	one := "data: " + eventJSON + "\n\n"
	per := max(1, (32<<10)/len(one))
	return &streamBody{
		block: bytes.Repeat([]byte(one), per),
		per:   per,
		event: len(one),
		left:  n,
		tail:  []byte("data: [DONE]\n\n"),
	}
}

func (s *streamBody) Read(p []byte) (int, error) {
	if s.left == 0 {
		if len(s.tail) == 0 {
			return 0, io.EOF
		}
		n := copy(p, s.tail)
		s.tail = s.tail[n:]
		return n, nil
	}
	avail := s.block[s.pos : min(s.per, s.left)*s.event]
	n := copy(p, avail)
	s.pos += n
	if s.pos == min(s.per, s.left)*s.event {
		s.left -= min(s.per, s.left)
		s.pos = 0
	}
	return n, nil
}

// memTransport answers every trigger with the body body() returns, without
// a network, so a benchmark measures the SDK rather than loopback TCP.
type memTransport struct{ body func() io.Reader }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    io.NopCloser(m.body()),
		Request: r,
	}, nil
}

// discardWriter is an http.ResponseWriter and Flusher that drops bytes.
type discardWriter struct {
	h       http.Header
	n       int64
	flushes int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      { d.flushes++ }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

// forward runs b.N copies of eventJSON through Execute and ToSSEStream.
func forward(b *testing.B, eventJSON string) {
	c, err := NewClient(ClientOptions{BaseURL: "http://platform.invalid", HTTPClient: &http.Client{
		Transport: memTransport{func() io.Reader { return newStreamBody(eventJSON, b.N) }},
	}})
	if err != nil {
		b.Fatal(err)
	}
	s := c.AgentSessions.Attach("s", AttachOptions{})
	w := &discardWriter{h: http.Header{}}
	r := httptest.NewRequest("POST", "/", nil)
	b.SetBytes(int64(len("data: " + eventJSON + "\n\n")))
	b.ReportAllocs()
	b.ResetTimer()
	ToSSEStream(s.Execute(context.Background(), userMessage)).ServeHTTP(w, r)
	b.StopTimer()
	if w.n < int64(b.N)*int64(len(eventJSON)) {
		b.Fatalf("wrote %d bytes for %d events", w.n, b.N)
	}
}

// BenchmarkForwardTextDelta is the whole path for one event: the platform's
// SSE read and parsed by Execute, forwarded through the channel and written
// by ToSSEStream. b.N events in one stream.
func BenchmarkForwardTextDelta(b *testing.B) { forward(b, benchDelta) }

// BenchmarkForwardTextDeltaEscaped is the whole path for a delta with
// escapes and non-ASCII text.
func BenchmarkForwardTextDeltaEscaped(b *testing.B) { forward(b, benchDeltaEscaped) }

// BenchmarkForwardWorkerTextDelta is the whole path for a worker's delta
// (one with a workerId).
func BenchmarkForwardWorkerTextDelta(b *testing.B) { forward(b, benchWorkerDelta) }

// BenchmarkForwardGeneral is the whole path for an event the fast path
// does not take (encoding/json both ways).
func BenchmarkForwardGeneral(b *testing.B) {
	forward(b, `{"type":"text-start","id":"text_1","responseType":"markdown"}`)
}

// BenchmarkCopy is the floor: the same bytes as BenchmarkForwardTextDelta
// copied unparsed (io.Copy) into a sink.
func BenchmarkCopy(b *testing.B) {
	b.SetBytes(int64(len("data: " + benchDelta + "\n\n")))
	b.ReportAllocs()
	w := &discardWriter{h: http.Header{}}
	if _, err := io.Copy(w, newStreamBody(benchDelta, b.N)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkParseStreamEvent decodes one event: the fast path (deltas) and
// the general path (everything else).
func BenchmarkParseStreamEvent(b *testing.B) {
	for _, c := range []struct{ name, json string }{
		{"text-delta", benchDelta},
		{"text-delta-escaped", benchDeltaEscaped},
		{"text-delta-worker", benchWorkerDelta},
		{"start", `{"type":"start","messageId":"msg_1","executionId":"exec_1"}`},
		{"tool-request", `{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{"q":"x"}}]}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			data := []byte(c.json)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseStreamEvent(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeSSEEvent writes one event as an SSE block.
func BenchmarkEncodeSSEEvent(b *testing.B) {
	for _, c := range []struct {
		name string
		ev   StreamEvent
	}{
		{"text-delta", &TextDeltaEvent{ID: "text_1", Delta: "Hello there, this is a token"}},
		{"text-delta-escaped", &TextDeltaEvent{ID: "text_1", Delta: "line one\n\"quoted\" café – ok"}},
		{"text-delta-worker", &TextDeltaEvent{ID: "text_1", Delta: "Hello there, this is a token", WorkerID: "worker_1"}},
		{"start", &StartEvent{MessageID: "msg_1", ExecutionID: "exec_1"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := appendSSEEvent(&buf, c.ev); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}

// BenchmarkReadLines splits the platform's SSE into lines (the reader of
// readLeg, without parsing).
func BenchmarkReadLines(b *testing.B) {
	b.SetBytes(int64(len("data: " + benchDelta + "\n\n")))
	b.ReportAllocs()
	lr := newLineReader(newStreamBody(benchDelta, b.N), defaultMaxEventSize)
	n := 0
	for {
		line, err := lr.next()
		if err != nil {
			break
		}
		if _, ok := dataField(line); ok {
			n++
		}
	}
	if n != b.N+1 {
		b.Fatalf("read %d data lines, want %d", n, b.N+1)
	}
}
