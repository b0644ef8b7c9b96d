package octavus

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const benchDelta = `{"type":"text-delta","id":"text_1","delta":"Hello there, this is a token"}`

// memTransport answers every request with body, without a network, so a
// benchmark measures the SDK rather than loopback TCP.
type memTransport struct{ body []byte }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    io.NopCloser(bytes.NewReader(m.body)),
		Request: r,
	}, nil
}

// discardWriter is an http.ResponseWriter and Flusher that drops bytes.
type discardWriter struct {
	h http.Header
	n int64
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

// BenchmarkForwardTextDelta is the whole path for one event: the platform's
// SSE parsed by Execute, forwarded through the channel and written by
// ToSSEStream. b.N events in one stream.
func BenchmarkForwardTextDelta(b *testing.B) {
	var sb strings.Builder
	for range b.N {
		sb.WriteString("data: " + benchDelta + "\n\n")
	}
	sb.WriteString("data: [DONE]\n\n")
	body := []byte(sb.String())
	c, err := NewClient(ClientOptions{BaseURL: "http://platform.invalid", HTTPClient: &http.Client{Transport: memTransport{body}}})
	if err != nil {
		b.Fatal(err)
	}
	s := c.AgentSessions.Attach("s", AttachOptions{})
	w := &discardWriter{h: http.Header{}}
	r := httptest.NewRequest("POST", "/", nil)
	b.SetBytes(int64(len("data: " + benchDelta + "\n\n")))
	b.ReportAllocs()
	b.ResetTimer()
	ToSSEStream(s.Execute(context.Background(), userMessage)).ServeHTTP(w, r)
	b.StopTimer()
	if w.n < int64(b.N)*int64(len(benchDelta)) {
		b.Fatalf("wrote %d bytes for %d events", w.n, b.N)
	}
}

// BenchmarkParseStreamEvent decodes one text-delta event.
func BenchmarkParseStreamEvent(b *testing.B) {
	data := []byte(benchDelta)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseStreamEvent(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeSSEEvent writes one text-delta event as an SSE block.
func BenchmarkEncodeSSEEvent(b *testing.B) {
	ev := &TextDeltaEvent{ID: "text_1", Delta: "Hello there, this is a token"}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := appendSSEEvent(&buf, ev); err != nil {
			b.Fatal(err)
		}
	}
}
