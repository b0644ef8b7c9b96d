package octavus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientWith returns a Client for f with opts (BaseURL, APIKey and
// HTTPClient filled in) whose retry waits are recorded, not slept.
func clientWith(t *testing.T, f *fakePlatform, opts ClientOptions) (*Client, *[]time.Duration) {
	t.Helper()
	opts.BaseURL, opts.APIKey, opts.HTTPClient = f.srv.URL, testKey, f.srv.Client()
	c, err := NewClient(opts)
	require.NoError(t, err)
	var mu sync.Mutex
	waits := new([]time.Duration)
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return c, waits
}

func run(c *Client, opts AttachOptions, req SessionRequest) []StreamEvent {
	return collect(c.AgentSessions.Attach("sess_1", opts).Execute(context.Background(), req))
}

func withRetryAfter(v string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", v)
		h(w, r)
	}
}

func TestRetryStatusesThenSuccess(t *testing.T) {
	for _, status := range []int{408, 429, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFakePlatform(t)
			f.addLegs(statusLeg(status, `{"error":"busy"}`), statusLeg(status, `{"error":"busy"}`),
				eventsLeg(`{"type":"finish","finishReason":"stop"}`))
			c, waits := clientWith(t, f, ClientOptions{})
			got := wireJSON(t, run(c, AttachOptions{}, userMessage))
			requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
			bodies := f.triggerBodies()
			require.Len(t, bodies, 3)
			assert.Equal(t, bodies[0], bodies[2], "a retry sends the same body")
			require.Len(t, *waits, 2)
			assert.True(t, (*waits)[0] >= 750*time.Millisecond && (*waits)[0] <= 1250*time.Millisecond, "first wait %v", (*waits)[0])
			assert.True(t, (*waits)[1] >= 1500*time.Millisecond && (*waits)[1] <= 2500*time.Millisecond, "second wait %v", (*waits)[1])
		})
	}
}

func TestRetryGivesUpWithTheLastAnswer(t *testing.T) {
	f := newFakePlatform(t)
	for range 3 {
		f.addLegs(statusLeg(503, `{"error":"overloaded"}`))
	}
	c, waits := clientWith(t, f, ClientOptions{})
	got := wireJSON(t, run(c, AttachOptions{}, userMessage))
	requireJSONList(t, []string{`{"type":"error","errorType":"provider_overloaded","message":"overloaded","source":"platform","retryable":true}`}, got)
	assert.Len(t, f.triggerBodies(), 3, "one try and two retries")
	assert.Len(t, *waits, 2)
}

func TestRetryNotForOtherStatuses(t *testing.T) {
	for _, status := range []int{400, 401, 404, 500, 501} {
		f := newFakePlatform(t)
		f.addLegs(statusLeg(status, `{"error":"no"}`))
		c, waits := clientWith(t, f, ClientOptions{})
		run(c, AttachOptions{}, userMessage)
		assert.Len(t, f.triggerBodies(), 1, "status %d", status)
		assert.Empty(t, *waits)
	}
}

func TestRetryOff(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(statusLeg(503, `{"error":"overloaded"}`))
	c, waits := clientWith(t, f, ClientOptions{MaxRetries: -1})
	run(c, AttachOptions{}, userMessage)
	assert.Len(t, f.triggerBodies(), 1)
	assert.Empty(t, *waits)
}

func TestRetryAfterIsHonouredAndClamped(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		withRetryAfter("3", statusLeg(429, `{}`)),
		withRetryAfter("120", statusLeg(429, `{}`)),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
	)
	c, waits := clientWith(t, f, ClientOptions{MaxRetries: 5})
	run(c, AttachOptions{}, userMessage)
	assert.Equal(t, []time.Duration{3 * time.Second, 8 * time.Second}, *waits)

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0":    0,
		"7":    7 * time.Second,
		"9":    9 * time.Second, // clamped by send
		"1.5":  1500 * time.Millisecond,
		"0.25": 250 * time.Millisecond,
		" 2 ":  2 * time.Second,
		"-1":   0,
		"-0.5": 0,
		"1e1":  10 * time.Second,
		"1e9":  time.Hour,
		now.Add(5 * time.Second).Format(http.TimeFormat):  5 * time.Second,
		now.Add(-5 * time.Second).Format(http.TimeFormat): 0,
		now.Add(time.Hour).Format(http.TimeFormat):        time.Hour, // clamped by send
	} {
		got, ok := retryAfter(v, now)
		assert.True(t, ok, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"", "soon", "Infinity", "NaN", "1.5s"} {
		_, ok := retryAfter(v, now)
		assert.False(t, ok, v)
	}
}

func TestRetryAfterFractionalAndNegativeOverHTTP(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		withRetryAfter("0.5", statusLeg(503, `{}`)),
		withRetryAfter("-3", statusLeg(502, `{}`)),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
	)
	c, waits := clientWith(t, f, ClientOptions{})
	run(c, AttachOptions{}, userMessage)
	assert.Equal(t, []time.Duration{500 * time.Millisecond, 0}, *waits)
}

func TestBackoffJitterIsPlusMinus25Percent(t *testing.T) {
	c, err := NewClient(ClientOptions{BaseURL: "http://x.invalid"})
	require.NoError(t, err)
	bases := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	cases := []struct {
		jitter float64
		factor float64 // of the base
	}{{0, 0.75}, {0.25, 0.875}, {0.5, 1}, {0.75, 1.125}}
	for _, tc := range cases {
		c.jitter = func() float64 { return tc.jitter }
		for attempt, base := range bases {
			assert.Equal(t, time.Duration(float64(base)*tc.factor), c.backoff(attempt), "attempt %d, jitter %v", attempt, tc.jitter)
		}
	}
	c.jitter = func() float64 { return 0.999999 }
	assert.LessOrEqual(t, c.backoff(0), 1250*time.Millisecond)
	assert.Greater(t, c.backoff(0), 1249*time.Millisecond)
}

func TestRetryWaitEndsWhenCancelled(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(withRetryAfter("8", statusLeg(503, `{}`)))
	c, _ := clientWith(t, f, ClientOptions{})
	waiting := make(chan struct{})
	c.sleep = func(ctx context.Context, d time.Duration) error {
		close(waiting)
		return sleepCtx(ctx, d) // the real wait: only ctx can end it in time
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := c.AgentSessions.Attach("s", AttachOptions{}).Execute(ctx, userMessage)
	<-waiting
	cancel()
	requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, wireJSON(t, collect(ch)))
	assert.Len(t, f.triggerBodies(), 1)
}

func TestNoRetryOnceEventsWereRead(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(cutLeg(`{"type":"start","executionId":"e1"}`), eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	c, waits := clientWith(t, f, ClientOptions{})
	got := wireJSON(t, run(c, AttachOptions{}, userMessage))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"error","errorType":"internal_error","message":"Platform connection dropped","source":"platform","retryable":true}`,
	}, got)
	assert.Len(t, f.triggerBodies(), 1, "the stream had started: no retry")
	assert.Empty(t, *waits)
}

func TestRESTCallsAreRetried(t *testing.T) {
	f := newFakePlatform(t)
	var n atomic.Int32
	f.handle("GET /api/agent-sessions/s1", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		jsonRoute(`{"sessionId":"s1","agentId":"a","status":"expired","createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}`)(w, r)
	})
	c, waits := clientWith(t, f, ClientOptions{})
	_, err := c.AgentSessions.Get(context.Background(), "s1")
	require.NoError(t, err)
	assert.Equal(t, int32(2), n.Load())
	assert.Len(t, *waits, 1)
}

// cutLeg writes events, then breaks the connection mid-stream.
func cutLeg(events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			_, _ = w.Write([]byte("data: " + e + "\n\n"))
		}
		_, _ = w.Write([]byte(`data: {"type":"text-de`))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
}

func TestConnectionDropMidStreamIsOneRetryableError(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"t","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		cutLeg(`{"type":"text-delta","id":"t","delta":"a"}`),
	)
	c, _ := clientWith(t, f, ClientOptions{})
	rec := httptest.NewRecorder()
	ToSSEStream(c.AgentSessions.Attach("s", AttachOptions{Tools: ToolHandlers{"t": constTool("ok")}}).Execute(context.Background(), userMessage)).
		ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	payloads, done := ssePayloads(t, rec.Body.String())
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":"ok"}`,
		`{"type":"text-delta","id":"t","delta":"a"}`,
		`{"type":"error","errorType":"internal_error","message":"Platform connection dropped","source":"platform","retryable":true}`,
	}, payloads)
	assert.False(t, done, "a failed stream ends without [DONE]")
}

func TestIdleWatchdog(t *testing.T) {
	t.Run("mid-stream", func(t *testing.T) {
		f := newFakePlatform(t)
		aborted := make(chan struct{})
		f.addLegs(stallLeg(nil, aborted, `{"type":"start","executionId":"e1"}`))
		c, _ := clientWith(t, f, ClientOptions{StreamIdleTimeout: 20 * time.Millisecond})
		got := wireJSON(t, run(c, AttachOptions{}, userMessage))
		requireJSONList(t, []string{
			`{"type":"start","executionId":"e1"}`,
			`{"type":"error","errorType":"internal_error","message":"Platform connection dropped: no data for 20ms","source":"platform","retryable":true}`,
		}, got)
		<-aborted // the watchdog closed the platform request
	})
	stuck := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	t.Run("waiting for headers", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(stuck, stuck, stuck)
		c, waits := clientWith(t, f, ClientOptions{StreamIdleTimeout: 20 * time.Millisecond})
		got := wireJSON(t, run(c, AttachOptions{}, userMessage))
		requireJSONList(t, []string{
			`{"type":"error","errorType":"internal_error","message":"Platform connection dropped: no answer for 20ms","source":"platform","retryable":true}`,
		}, got)
		assert.Len(t, f.triggerBodies(), 3, "a connect timeout is retried, as in the reference")
		assert.Len(t, *waits, 2)
	})
	t.Run("a retried connect timeout recovers", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(stuck, eventsLeg(`{"type":"finish","finishReason":"stop"}`))
		c, _ := clientWith(t, f, ClientOptions{StreamIdleTimeout: 20 * time.Millisecond})
		got := wireJSON(t, run(c, AttachOptions{}, userMessage))
		requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
	})
	t.Run("the watchdog does not cut a retry wait", func(t *testing.T) {
		// The wait is real and three times the idle timeout: a watchdog
		// still running during it would end the leg.
		f := newFakePlatform(t)
		f.addLegs(statusLeg(503, `{}`), eventsLeg(`{"type":"finish","finishReason":"stop"}`))
		c, _ := clientWith(t, f, ClientOptions{StreamIdleTimeout: 20 * time.Millisecond})
		c.sleep = func(ctx context.Context, _ time.Duration) error { return sleepCtx(ctx, 60*time.Millisecond) }
		got := wireJSON(t, run(c, AttachOptions{}, userMessage))
		requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
		assert.Len(t, f.triggerBodies(), 2)
	})
}

func TestEventLineLimit(t *testing.T) {
	f := newFakePlatform(t)
	big := `{"type":"text-delta","id":"t","delta":"` + strings.Repeat("x", 4096) + `"}`
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`, big, `{"type":"finish","finishReason":"stop"}`))
	c, _ := clientWith(t, f, ClientOptions{MaxEventSize: 1024})
	got := wireJSON(t, run(c, AttachOptions{}, userMessage))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"error","errorType":"internal_error","message":"Platform sent an event larger than 1024 bytes","source":"platform","retryable":true}`,
	}, got)

	// The default (8 MiB) takes it.
	f.addLegs(eventsLeg(big))
	c, _ = clientWith(t, f, ClientOptions{})
	got = wireJSON(t, run(c, AttachOptions{}, userMessage))
	requireJSONList(t, []string{big}, got)
}

// toolRound is a platform leg asking for the calls, then one that finishes.
func toolRound(f *fakePlatform, calls string) {
	f.addLegs(
		eventsLeg(`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":`+calls+`}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`),
	)
}

func TestToolTimeout(t *testing.T) {
	f := newFakePlatform(t)
	toolRound(f, `[{"toolCallId":"c1","toolName":"slow","args":{}},{"toolCallId":"c2","toolName":"stuck","args":{}},{"toolCallId":"c3","toolName":"fast","args":{}}]`)
	release := make(chan struct{})
	returned := make(chan struct{})
	var sawCancel atomic.Bool
	tools := ToolHandlers{
		"slow": func(ctx context.Context, _ map[string]any) (any, error) {
			<-ctx.Done()
			sawCancel.Store(errors.Is(ctx.Err(), context.DeadlineExceeded))
			return nil, ctx.Err()
		},
		"stuck": func(context.Context, map[string]any) (any, error) {
			defer close(returned)
			<-release // ignores ctx
			return "late", nil
		},
		"fast": constTool("ok"),
	}
	c, _ := clientWith(t, f, ClientOptions{})
	got := wireJSON(t, run(c, AttachOptions{Tools: tools, ToolTimeout: 20 * time.Millisecond}, userMessage))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-error","toolCallId":"c1","error":"Tool slow timed out after 20ms"}`,
		`{"type":"tool-output-error","toolCallId":"c2","error":"Tool stuck timed out after 20ms"}`,
		`{"type":"tool-output-available","toolCallId":"c3","output":"ok"}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}, got)
	assert.True(t, sawCancel.Load(), "the handler's ctx ends at the deadline")
	close(release)
	<-returned // the stuck handler's goroutine ends once it returns (goleak checks the rest)
}

func TestMaxConcurrentTools(t *testing.T) {
	f := newFakePlatform(t)
	toolRound(f, `[{"toolCallId":"c1","toolName":"t","args":{}},{"toolCallId":"c2","toolName":"t","args":{}},{"toolCallId":"c3","toolName":"t","args":{}},{"toolCallId":"c4","toolName":"t","args":{}},{"toolCallId":"c5","toolName":"t","args":{}}]`)
	var active, peak atomic.Int32
	started := make(chan struct{}, 5)
	release := make(chan struct{})
	tools := ToolHandlers{"t": func(context.Context, map[string]any) (any, error) {
		n := active.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		started <- struct{}{}
		<-release
		active.Add(-1)
		return "ok", nil
	}}
	c, _ := clientWith(t, f, ClientOptions{})
	ch := c.AgentSessions.Attach("s", AttachOptions{Tools: tools, MaxConcurrentTools: 2}).Execute(context.Background(), userMessage)
	for range 5 {
		<-started
		release <- struct{}{}
	}
	got := collect(ch)
	assert.Len(t, got, 7)
	assert.LessOrEqual(t, peak.Load(), int32(2))
	assert.Equal(t, int32(0), active.Load())
}

func TestContinuationBodyCutOff(t *testing.T) {
	f := newFakePlatform(t)
	toolRound(f, `[{"toolCallId":"c1","toolName":"big","args":{}}]`)
	huge := strings.Repeat("x", 5<<20)
	c, _ := clientWith(t, f, ClientOptions{MaxContinuationBody: -1})
	run(c, AttachOptions{Tools: ToolHandlers{"big": constTool(huge)}}, userMessage)
	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	assert.Contains(t, bodies[1], huge)
}

func TestRejectClientTools(t *testing.T) {
	f := newFakePlatform(t)
	toolRound(f, `[{"toolCallId":"c1","toolName":"confirm","args":{}},{"toolCallId":"c2","toolName":"lookup","args":{}}]`)
	c, _ := clientWith(t, f, ClientOptions{})
	got := wireJSON(t, run(c, AttachOptions{Tools: ToolHandlers{"lookup": constTool(1)}, RejectClientTools: true}, userMessage))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c2","output":1}`,
		`{"type":"tool-output-error","toolCallId":"c1","error":"Tool \"confirm\" is not available. No handler is registered for this tool."}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}, got)
	// As the reference: the server results first, then the rejected calls.
	assert.Equal(t, `{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"executionId":"e1","toolResults":[{"toolCallId":"c2","toolName":"lookup","result":1},{"toolCallId":"c1","toolName":"confirm","error":"Tool \"confirm\" is not available. No handler is registered for this tool."}]}`, f.triggerBodies()[1])
}

func TestLogsNeverHoldTheKey(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(statusLeg(503, `{"error":"x"}`), cutLeg())
	var logs bytes.Buffer
	c, _ := clientWith(t, f, ClientOptions{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	run(c, AttachOptions{}, userMessage)
	assert.Contains(t, logs.String(), "retrying platform request")
	assert.Contains(t, logs.String(), "Platform connection dropped")
	assert.NotContains(t, logs.String(), testKey)
}
