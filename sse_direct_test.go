package octavus

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingWriter is an http.ResponseWriter and Flusher that keeps what
// it is given and how many writes and flushes it took; failAfter > 0 makes
// the write after that many fail.
type recordingWriter struct {
	h         http.Header
	buf       bytes.Buffer
	writes    int
	flushes   int
	failAfter int
}

func newRecordingWriter() *recordingWriter { return &recordingWriter{h: http.Header{}} }

func (w *recordingWriter) Header() http.Header { return w.h }
func (w *recordingWriter) WriteHeader(int)     {}
func (w *recordingWriter) Flush()              { w.flushes++ }
func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.failAfter > 0 && w.writes >= w.failAfter {
		return 0, errors.New("browser gone")
	}
	w.writes++
	return w.buf.Write(p)
}

// The Handler writes, byte for byte, what ToSSEStream(Execute) writes for
// the same platform stream: text, a server tool round, a client tool
// request, a platform error, a stream cut short.
func TestHandlerWritesWhatToSSEStreamWrites(t *testing.T) {
	toolLeg := eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{"q":1}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`)
	textLeg := eventsLeg(`{"type":"text-start","id":"t"}`, `{"type":"text-delta","id":"t","delta":"hé\"llo"}`,
		`{"type":"text-delta","id":"t","delta":" world"}`, `{"type":"text-end","id":"t"}`, `{"type":"finish","finishReason":"stop"}`)
	scripts := map[string][]http.HandlerFunc{
		"text":        {textLeg},
		"server tool": {toolLeg, textLeg},
		"client tool": {eventsLeg(`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"browser-only","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`)},
		"platform error": {statusLeg(http.StatusTooManyRequests, `{"error":"busy","code":"SESSION_BUSY"}`)},
		"cut short":      {rawLeg("data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\ndata: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"x\"}\n\n")},
	}
	tools := ToolHandlers{"lookup": func(context.Context, map[string]any) (any, error) { return map[string]any{"ok": true}, nil }}
	for name, legs := range scripts {
		t.Run(name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.addLegs(legs...)
			c := f.client(t)
			direct := newRecordingWriter()
			c.AgentSessions.Handler(HandlerOptions{Tools: tools}).ServeHTTP(direct,
				postJSON(`{"sessionId":"s","type":"trigger","triggerName":"user-message"}`))

			f.addLegs(legs...)
			viaChannel := newRecordingWriter()
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			ToSSEStream(c.AgentSessions.Attach("s", AttachOptions{Tools: tools}).
				Execute(r.Context(), TriggerRequest{TriggerName: "user-message"})).ServeHTTP(viaChannel, r)

			require.NotEmpty(t, viaChannel.buf.String())
			assert.Equal(t, viaChannel.buf.String(), direct.buf.String())
			assert.Equal(t, viaChannel.h, direct.h)
		})
	}
}

// The events of one platform read go out in one write: a burst of 200
// deltas in one platform write is not 200 writes to the browser.
func TestHandlerWritesABurstAtOnce(t *testing.T) {
	var burst strings.Builder
	burst.WriteString("data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\n")
	for range 200 {
		burst.WriteString("data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"tok\"}\n\n")
	}
	burst.WriteString("data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n")
	f := newFakePlatform(t)
	f.addLegs(rawLeg(burst.String()))
	w := newRecordingWriter()
	f.client(t).AgentSessions.Handler(HandlerOptions{}).ServeHTTP(w, postJSON(`{"sessionId":"s","type":"trigger","triggerName":"t"}`))

	assert.Equal(t, 200, strings.Count(w.buf.String(), `"delta":"tok"`))
	assert.True(t, strings.HasSuffix(w.buf.String(), "data: [DONE]\n\n"))
	// The body may come in a few reads of the platform connection; each
	// read's events are one write.
	assert.Less(t, w.writes, 20, "writes to the browser")
}

// A write that fails ends the execution: the platform request is
// cancelled and nothing more is written.
func TestHandlerWriteFailureCancelsThePlatformRequest(t *testing.T) {
	f := newFakePlatform(t)
	platformDone := make(chan struct{})
	f.addLegs(func(w http.ResponseWriter, r *http.Request) {
		defer close(platformDone)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := 0; ; i++ {
			if _, err := io.WriteString(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"x\"}\n\n"); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			default:
			}
		}
	})
	w := newRecordingWriter()
	w.failAfter = 2 // the headers' flush writes nothing; two event writes pass
	f.client(t).AgentSessions.Handler(HandlerOptions{}).ServeHTTP(w, postJSON(`{"sessionId":"s","type":"trigger","triggerName":"t"}`))
	<-platformDone // the platform saw its request end
	assert.Equal(t, 2, w.writes)
	assert.NotContains(t, w.buf.String(), "[DONE]")
}

// While the platform is quiet the Handler writes the heartbeat comment;
// the stream then goes on and ends as usual.
func TestHandlerHeartbeatWhileThePlatformIsQuiet(t *testing.T) {
	f := newFakePlatform(t)
	resume := make(chan struct{})
	f.addLegs(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\n")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-resume:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n")
	})
	app := httptest.NewServer(f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: 5 * time.Millisecond}))
	defer app.Close()
	resp, err := http.Post(app.URL, "application/json", strings.NewReader(`{"sessionId":"s","type":"trigger","triggerName":"t"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var lines []string
	resumed := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		if line != ": heartbeat\n" && line != "\n" {
			lines = append(lines, strings.TrimRight(line, "\n"))
		} else if !resumed {
			close(resume) // the platform goes on once a heartbeat came
			resumed = true
		}
	}
	require.True(t, resumed, "no heartbeat while the platform was quiet")
	assert.Equal(t, `data: {"type":"start","executionId":"e1"}`, lines[0])
	assert.Equal(t, "data: [DONE]", lines[len(lines)-1])
}

// Every write of the Handler has a write deadline of at least 7/8 of
// WriteTimeout ahead (it is moved at most every WriteTimeout/8), and the
// deadline is lifted at the end.
func TestHandlerWriteDeadlines(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`, `{"type":"text-delta","id":"t","delta":"a"}`,
		`{"type":"finish","finishReason":"stop"}`))
	w := &deadlineWriter{ResponseRecorder: httptest.NewRecorder()}
	start := time.Now()
	f.client(t).AgentSessions.Handler(HandlerOptions{WriteTimeout: time.Minute}).ServeHTTP(w,
		postJSON(`{"sessionId":"s","type":"trigger","triggerName":"t"}`))
	end := time.Now()
	require.NotEmpty(t, w.writes)
	for i, d := range w.writes {
		assert.False(t, d.Before(start.Add(time.Minute*7/8)), "write %d: deadline %v", i, d)
		assert.False(t, d.After(end.Add(time.Minute)), "write %d: deadline %v", i, d)
	}
	assert.True(t, w.deadline.IsZero(), "the deadline is lifted at the end")
	assert.Contains(t, w.Body.String(), "data: [DONE]")
}

// A panic that leaves the execution on the usual path (here the logger's,
// as it logs the recovered panic of an OnToolResults hook) writes no
// [DONE]: net/http recovers it and cuts the response, so the browser sees
// a cut stream and not a finished one.
func TestHandlerPanicWritesNoDone(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"boom","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`))
	c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, APIKey: testKey, HTTPClient: f.srv.Client(), MaxRetries: -1, Logger: slog.New(panickyLogs{})})
	require.NoError(t, err)
	h := c.AgentSessions.Handler(HandlerOptions{
		Tools:         ToolHandlers{"boom": func(context.Context, map[string]any) (any, error) { return 1, nil }},
		OnToolResults: func(context.Context, []ToolResult) error { panic("hook broken") },
	})
	app := httptest.NewUnstartedServer(h)
	var errorLog testproc.SyncBuffer
	app.Config.ErrorLog = log.New(&errorLog, "", 0)
	app.Start()
	defer app.Close()
	resp, err := app.Client().Post(app.URL, "application/json", strings.NewReader(`{"sessionId":"s","type":"trigger","triggerName":"t"}`))
	require.NoError(t, err)
	body, readErr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Error(t, readErr, "the response is cut")
	assert.Contains(t, string(body), `"type":"start"`)
	assert.NotContains(t, string(body), "[DONE]")
	assert.Contains(t, errorLog.String(), "logger broken")
}
