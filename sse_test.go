package octavus

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func feed(events ...StreamEvent) <-chan StreamEvent {
	ch := make(chan StreamEvent, len(events))
	for _, e := range events {
		ch <- e
	}
	close(ch)
	return ch
}

func TestToSSEStreamWritesEventsThenDone(t *testing.T) {
	rec := httptest.NewRecorder()
	ToSSEStream(feed(
		&StartEvent{MessageID: "m1"},
		&TextDeltaEvent{ID: "t", Delta: "<b>&\u2028"},
		&FinishEvent{FinishReason: FinishStop},
	)).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/event-stream", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "keep-alive", rec.Header().Get("Connection"))
	assert.Equal(t, "no", rec.Header().Get("X-Accel-Buffering"))
	assert.Equal(t, "data: {\"type\":\"start\",\"messageId\":\"m1\"}\n\n"+
		"data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"<b>&\u2028\"}\n\n"+
		"data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n"+
		"data: [DONE]\n\n", rec.Body.String())
	assert.True(t, rec.Flushed)
}

func TestToSSEStreamEmptyAndNilChannels(t *testing.T) {
	rec := httptest.NewRecorder()
	ToSSEStream(feed()).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	assert.Equal(t, "data: [DONE]\n\n", rec.Body.String())
}

func TestToSSEStreamTerminalErrorReplacesDone(t *testing.T) {
	failed := NewInternalErrorEvent("Platform connection dropped")
	failed.terminal = true
	rec := httptest.NewRecorder()
	ToSSEStream(feed(&StartEvent{}, failed)).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	assert.Equal(t, "data: {\"type\":\"start\"}\n\n"+
		"data: {\"type\":\"error\",\"errorType\":\"internal_error\",\"message\":\"Platform connection dropped\",\"retryable\":false,\"source\":\"platform\"}\n\n", rec.Body.String())
}

func TestToSSEStreamForwardedErrorKeepsDone(t *testing.T) {
	// An error event from the platform is an ordinary event.
	rec := httptest.NewRecorder()
	ToSSEStream(feed(NewAPIErrorEvent(503, "overloaded"))).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	assert.True(t, strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n"))
}

func TestToSSEStreamUnencodableEvent(t *testing.T) {
	rec := httptest.NewRecorder()
	events := feed(
		&StartEvent{},
		&ToolOutputAvailableEvent{ToolCallID: "c", Output: json.RawMessage("{not json")},
		&TextDeltaEvent{ID: "t", Delta: "never written"},
	)
	ToSSEStream(events).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	payloads, done := ssePayloads(t, rec.Body.String())
	require.Len(t, payloads, 2)
	assert.Contains(t, payloads[1], `"errorType":"internal_error"`)
	assert.Contains(t, payloads[1], "Failed to encode a stream event")
	assert.False(t, done)
	_, open := <-events
	assert.False(t, open, "the rest of the channel was drained")
}

func TestToSSEStreamNilEvent(t *testing.T) {
	rec := httptest.NewRecorder()
	ToSSEStream(feed(nil)).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	payloads, done := ssePayloads(t, rec.Body.String())
	require.Len(t, payloads, 1)
	assert.Contains(t, payloads[0], "nil event")
	assert.False(t, done)
}

// TestToSSEStreamClientGoneDrains: the browser reads one event and hangs
// up; the producer must not be left blocked, and the execution must stop.
func TestToSSEStreamClientGoneDrains(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newFakePlatform(t)
	aborted := make(chan struct{})
	f.addLegs(stallLeg(nil, aborted, `{"type":"start","executionId":"e"}`))
	c := f.client(t)
	handlerDone := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		ToSSEStream(c.AgentSessions.Attach("s", AttachOptions{}).Execute(r.Context(), userMessage)).ServeHTTP(w, r)
	}))
	defer app.Close()
	defer f.srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", app.URL, nil)
	resp, err := app.Client().Do(req)
	require.NoError(t, err)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "data: {\"type\":\"start\",\"executionId\":\"e\"}\n", line)
	cancel() // the browser goes away
	resp.Body.Close()
	<-aborted     // the platform request was cancelled
	<-handlerDone // and the handler returned
	c.hc.CloseIdleConnections()
	app.Client().CloseIdleConnections()
}

// TestToSSEStreamFlushesEachEvent: an event reaches the browser before the
// next one exists.
func TestToSSEStreamFlushesEachEvent(t *testing.T) {
	events := make(chan StreamEvent)
	app := httptest.NewServer(ToSSEStream(events))
	defer app.Close()
	resp, err := app.Client().Post(app.URL, "application/json", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for i, delta := range []string{"a", "b", "c"} {
		events <- &TextDeltaEvent{ID: "t", Delta: delta}
		// The read returns only if the event was flushed: the next one has
		// not been sent yet.
		line, err := rd.ReadString('\n')
		require.NoError(t, err, "event %d", i)
		assert.Equal(t, `data: {"type":"text-delta","id":"t","delta":"`+delta+"\"}\n", line)
		_, _ = rd.ReadString('\n')
	}
	close(events)
	rest, _ := rd.ReadString(0)
	assert.Equal(t, "data: [DONE]\n\n", rest)
}
