package octavus

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// stallLeg writes events, flushes, reports that on written (when not nil),
// then holds the response open until the request is cancelled, which it
// reports on aborted.
func stallLeg(written, aborted chan<- struct{}, events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			_, _ = io.WriteString(w, "data: "+e+"\n\n")
		}
		w.(http.Flusher).Flush()
		if written != nil {
			close(written)
		}
		<-r.Context().Done()
		close(aborted)
	}
}

func TestExecuteCancelMidStream(t *testing.T) {
	f := newFakePlatform(t)
	aborted := make(chan struct{})
	f.addLegs(stallLeg(nil, aborted, `{"type":"start","executionId":"e1"}`))
	ctx, cancel := context.WithCancel(context.Background())
	ch := f.client(t).AgentSessions.Attach("s", AttachOptions{}).Execute(ctx, userMessage)
	first := <-ch
	assert.Equal(t, &StartEvent{ExecutionID: "e1"}, first)
	cancel()
	rest := wireJSON(t, collect(ch))
	requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, rest)
	<-aborted // the platform request was cancelled (the test deadline fails it otherwise)
}

func TestExecuteCancelledBeforeStart(t *testing.T) {
	f := newFakePlatform(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := wireJSON(t, collect(f.client(t).AgentSessions.Attach("s", AttachOptions{}).Execute(ctx, userMessage)))
	requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
	assert.Empty(t, f.reqs(), "a cancelled execution sends nothing")
}

func TestExecuteAbandonedConsumerLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newFakePlatform(t)
	defer f.srv.Close()
	aborted := make(chan struct{})
	var many []string
	for range eventBuffer * 4 {
		many = append(many, `{"type":"text-delta","id":"t","delta":"x"}`)
	}
	written := make(chan struct{})
	f.addLegs(stallLeg(written, aborted, many...))
	ctx, cancel := context.WithCancel(context.Background())
	c := f.client(t)
	_ = c.AgentSessions.Attach("s", AttachOptions{}).Execute(ctx, userMessage)
	// Never read the channel: the producer fills the buffer and blocks
	// until the cancel releases it.
	<-written
	cancel()
	<-aborted
	c.hc.CloseIdleConnections()
}

func TestExecuteCancelDuringToolsDoesNotWaitForHandlers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newFakePlatform(t)
	defer f.srv.Close()
	f.addLegs(eventsLeg(
		`{"type":"start","executionId":"e"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"slow","args":{}},{"toolCallId":"d","toolName":"watch","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	))
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	handlerCtxDone := make(chan struct{})
	tools := ToolHandlers{
		// slow ignores its ctx: Execute must not wait for it.
		"slow": func(context.Context, map[string]any) (any, error) {
			started <- struct{}{}
			<-release
			return "late", nil
		},
		// watch sees its ctx cancelled with the execution.
		"watch": func(ctx context.Context, _ map[string]any) (any, error) {
			started <- struct{}{}
			<-ctx.Done()
			close(handlerCtxDone)
			return nil, ctx.Err()
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := f.client(t)
	ch := c.AgentSessions.Attach("s", AttachOptions{Tools: tools}).Execute(ctx, userMessage)
	<-started
	<-started
	cancel()
	got := wireJSON(t, collect(ch)) // returns while "slow" is still blocked
	require.NotEmpty(t, got)
	assert.JSONEq(t, `{"type":"finish","finishReason":"stop"}`, got[len(got)-1])
	<-handlerCtxDone
	close(release)
	assert.Len(t, f.triggerBodies(), 1, "no continuation after cancel")
	c.hc.CloseIdleConnections()
}

func TestExecuteConnectionDropsMidStream(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		// A chunked response that is cut after one event.
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		ev := "data: {\"type\":\"start\",\"executionId\":\"e\"}\n\n"
		_, _ = fmt.Fprintf(buf, "%x\r\n%s\r\n", len(ev), ev)
		_ = buf.Flush()
	})
	s := f.client(t).AgentSessions.Attach("s", AttachOptions{})
	rec := httptest.NewRecorder()
	ToSSEStream(s.Execute(context.Background(), userMessage)).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	payloads, done := ssePayloads(t, rec.Body.String())
	require.Len(t, payloads, 2)
	assert.JSONEq(t, `{"type":"start","executionId":"e"}`, payloads[0])
	assert.Contains(t, payloads[1], `"errorType":"internal_error"`)
	assert.Contains(t, payloads[1], `Platform connection dropped`)
	assert.False(t, done, "a failed stream ends without [DONE]")
}

func TestExecuteConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	c, err := NewClient(ClientOptions{BaseURL: "http://" + addr, APIKey: "sk-secret-key"})
	require.NoError(t, err)
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	rec := httptest.NewRecorder()
	ToSSEStream(c.AgentSessions.Attach("s", AttachOptions{}).Execute(context.Background(), userMessage)).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	payloads, done := ssePayloads(t, rec.Body.String())
	requireJSONList(t, []string{`{"type":"error","errorType":"internal_error","message":"Failed to reach the Octavus platform","source":"platform","retryable":true}`}, payloads)
	assert.False(t, done)
	assert.NotContains(t, rec.Body.String(), "sk-secret-key")
	assert.Len(t, waits, 2, "a refused connection is retried twice")
}

// ssePayloads splits an SSE body into its data payloads and reports
// whether it ended with [DONE].
func ssePayloads(t *testing.T, body string) (payloads []string, done bool) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "data: "); ok {
			if p == "[DONE]" {
				done = true
				continue
			}
			require.False(t, done, "payload after [DONE]")
			payloads = append(payloads, p)
		}
	}
	return payloads, done
}
