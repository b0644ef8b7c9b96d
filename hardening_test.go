package octavus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/octavus-go/octavus/internal/testtool"
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

// pacedLeg writes n text deltas, gap apart, then runs then (unless the
// request ended first).
func pacedLeg(n int, gap time.Duration, then http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		tick := time.NewTicker(gap)
		defer tick.Stop()
		for i := range n {
			fmt.Fprintf(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"%d\"}\n\n", i)
			_ = rc.Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
		}
		then(w, r)
	}
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
		// Generous: the second attempt must answer within it, even on a
		// loaded machine.
		c, _ := clientWith(t, f, ClientOptions{StreamIdleTimeout: 300 * time.Millisecond})
		got := wireJSON(t, run(c, AttachOptions{}, userMessage))
		requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
	})
	t.Run("a stream that keeps sending outlives it", func(t *testing.T) {
		// 20 events 40 ms apart: 800 ms of stream, more than twice the
		// timeout, each gap far below it. The watchdog notes each read
		// and sleeps again for the rest (watchdog.check).
		f := newFakePlatform(t)
		f.addLegs(pacedLeg(20, 40*time.Millisecond, func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n")
		}))
		c, _ := clientWith(t, f, ClientOptions{StreamIdleTimeout: 300 * time.Millisecond})
		got := wireJSON(t, run(c, AttachOptions{}, userMessage))
		require.Len(t, got, 21, "every delta and the finish, no idle error")
		assert.JSONEq(t, `{"type":"finish","finishReason":"stop"}`, got[20])
	})
	t.Run("a stream that sent for longer than it, then stalls, is cut", func(t *testing.T) {
		// 10 events 40 ms apart (400 ms, more than the timeout), then
		// nothing: the watchdog, re-armed by every read, still fires.
		f := newFakePlatform(t)
		aborted := make(chan struct{})
		leg := pacedLeg(10, 40*time.Millisecond, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		f.addLegs(func(w http.ResponseWriter, r *http.Request) {
			defer close(aborted)
			leg(w, r)
		})
		c, _ := clientWith(t, f, ClientOptions{StreamIdleTimeout: 300 * time.Millisecond})
		got := wireJSON(t, run(c, AttachOptions{}, userMessage))
		require.Len(t, got, 11, "the deltas, then the idle error")
		assert.JSONEq(t, `{"type":"error","errorType":"internal_error","message":"Platform connection dropped: no data for 300ms","source":"platform","retryable":true}`, got[10])
		<-aborted
	})
	t.Run("the watchdog does not cut a retry wait", func(t *testing.T) {
		// The wait is real and three times the idle timeout: a watchdog
		// still running during it would end the leg. The timeout is
		// generous so the attempts themselves beat it on a loaded machine.
		f := newFakePlatform(t)
		f.addLegs(statusLeg(503, `{}`), eventsLeg(`{"type":"finish","finishReason":"stop"}`))
		c, _ := clientWith(t, f, ClientOptions{StreamIdleTimeout: 200 * time.Millisecond})
		c.sleep = func(ctx context.Context, _ time.Duration) error { return sleepCtx(ctx, 600*time.Millisecond) }
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
	// The execution does not wait for a timed-out handler to return, so the
	// handler reports what its ctx said through a channel read afterwards.
	sawCancel := make(chan bool, 1)
	tools := ToolHandlers{
		"slow": func(ctx context.Context, _ map[string]any) (any, error) {
			<-ctx.Done()
			sawCancel <- errors.Is(ctx.Err(), context.DeadlineExceeded)
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
	assert.True(t, <-sawCancel, "the handler's ctx ends at the deadline")
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

// expandGolden expands the {"$text":[n,seed]} and {"$concat":[...]} of
// testdata/truncate/golden.json's inputs as gen.mjs does.
func expandGolden(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = expandGolden(x)
		}
		return out
	case map[string]any:
		if spec, ok := v["$text"].([]any); ok {
			n, seed := int(spec[0].(float64)), utf16.Encode([]rune(spec[1].(string)))
			units := make([]uint16, 0, n+len(seed))
			for len(units) < n {
				units = append(units, seed...)
			}
			return string(utf16.Decode(units[:n]))
		}
		if parts, ok := v["$concat"].([]any); ok {
			var b strings.Builder
			for _, p := range parts {
				b.WriteString(expandGolden(p).(string))
			}
			return b.String()
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = expandGolden(x)
		}
		return out
	}
	return v
}

// TestFitResultsGolden replays the outputs of the official 6.4.0
// enforceToolResultsSize, recorded by testdata/truncate/gen.mjs.
func TestFitResultsGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/truncate/golden.json")
	require.NoError(t, err)
	var cases []struct {
		Name        string          `json:"name"`
		MaxBytes    int             `json:"maxBytes"`
		Input       any             `json:"input"`
		Results     json.RawMessage `json:"results"`
		Truncations []struct {
			ToolCallID      string `json:"toolCallId"`
			ToolName        string `json:"toolName"`
			OriginalBytes   int    `json:"originalBytes"`
			KeptBytes       int    `json:"keptBytes"`
			VariableCapture bool   `json:"variableCapture"`
		} `json:"truncations"`
		Overflow bool `json:"overflow"`
	}
	require.NoError(t, json.Unmarshal(data, &cases))
	require.NotEmpty(t, cases)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			in, err := marshalJSON(expandGolden(tc.Input))
			require.NoError(t, err)
			var results []ToolResult
			require.NoError(t, json.Unmarshal(in, &results))
			before, err := marshalJSON(results)
			require.NoError(t, err)

			out, truncations, overflow := fitResults(results, tc.MaxBytes)
			got, err := marshalJSON(out)
			require.NoError(t, err)
			if !assert.Equal(t, len(tc.Results) > 0, len(got) > 0) || !jsonEqual(t, tc.Results, got) {
				t.Fatalf("results differ from the oracle's")
			}
			assert.Equal(t, tc.Overflow, overflow)
			require.Len(t, truncations, len(tc.Truncations))
			for i, w := range tc.Truncations {
				assert.Equal(t, TruncatedResult{ToolCallID: w.ToolCallID, ToolName: w.ToolName, OriginalBytes: w.OriginalBytes, KeptBytes: w.KeptBytes, VariableCapture: w.VariableCapture}, truncations[i])
			}
			after, err := marshalJSON(results)
			require.NoError(t, err)
			assert.Equal(t, string(before), string(after), "the input is not modified")
		})
	}
}

func TestTruncateHelpers(t *testing.T) {
	for n, want := range map[int]string{
		0: "0 B", 1023: "1023 B", 1024: "1 KB", 1535: "1 KB", 1536: "2 KB", 17920: "18 KB",
		1<<20 - 1: "1024 KB", 1 << 20: "1.0 MB", 1310720: "1.3 MB", 1258291: "1.2 MB", 4 << 20: "4.0 MB", 1572864: "1.5 MB",
	} {
		assert.Equal(t, want, formatBytes(n), "%d", n)
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", 100000: "100,000"} {
		assert.Equal(t, want, groupThousands(n))
	}
	for max, want := range map[int]int{4 << 20: 4<<20 - 256<<10, 256 << 10: 128 << 10, 8 << 10: 4 << 10, 1: 1, 600 << 10: 344 << 10} {
		assert.Equal(t, want, toolResultsBudget(max), "%d", max)
	}
	// The head is ceil(0.6*keep) units, the tail the rest.
	assert.Equal(t, "abcde\n\n...[Octavus trimmed 3 characters]...\n\nij", headTailPreview("abcdefghij", 7))
	// ceil(1.2) = 2 units of head, no tail.
	assert.Equal(t, "ab\n\n...[Octavus trimmed 8 characters]...\n\n", headTailPreview("abcdefghij", 2))
	// Characters are UTF-16 units: an emoji counts two.
	assert.Equal(t, "é😀\n\n...[Octavus trimmed 2 characters]...\n\nü", headTailPreview("é😀xyü", 4))
	assert.Equal(t, "abcdefghij", headTailPreview("abcdefghij", 10))
}

// jsonEqual reports whether a and b are the same JSON value, without
// printing them (they are large).
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	require.NoError(t, json.Unmarshal(a, &va))
	require.NoError(t, json.Unmarshal(b, &vb))
	return reflect.DeepEqual(va, vb)
}

// hangUp answers by closing the connection without a response: a
// transport error after the request was sent.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// failFirstDials returns a client for f whose first n dials fail as a
// refused connection would, so the request never leaves.
func failFirstDials(t *testing.T, f *fakePlatform, n int32) (*Client, *[]time.Duration, *atomic.Int32) {
	t.Helper()
	var dials atomic.Int32
	base := f.srv.Client().Transport.(*http.Transport).Clone()
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= n {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c, waits := clientWith(t, f, ClientOptions{})
	c.hc.Transport = base
	return c, waits, &dials
}

const createdSession = `{"sessionId":"s_new"}`

// TestCreateIsNotRetriedBlindly: a retried create would make a second
// session, so Create (a POST) is retried only when the platform certainly
// did not process it.
func TestCreateIsNotRetriedBlindly(t *testing.T) {
	cases := []struct {
		name   string
		first  http.HandlerFunc
		posts  int  // how many POSTs reach the platform
		wantOK bool // Create succeeds (after a retry)
	}{
		{"502", statusLeg(502, `{"error":"bad gateway"}`), 1, false},
		{"503", statusLeg(503, `{"error":"overloaded"}`), 1, false},
		{"504", statusLeg(504, `{"error":"slow"}`), 1, false},
		{"408", statusLeg(408, `{"error":"timeout"}`), 1, false},
		{"connection closed after the request was sent", hangUp, 1, false},
		{"429: not processed, retried", withRetryAfter("0.25", statusLeg(429, `{"error":"slow down"}`)), 2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			var n atomic.Int32
			f.handle("POST /api/agent-sessions", func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					tc.first(w, r)
					return
				}
				jsonRoute(createdSession)(w, r)
			})
			c, waits := clientWith(t, f, ClientOptions{})
			id, err := c.AgentSessions.Create(context.Background(), "agent_1", nil)
			assert.Equal(t, int32(tc.posts), n.Load())
			if !tc.wantOK {
				require.Error(t, err)
				assert.Empty(t, *waits)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "s_new", id)
			assert.Equal(t, []time.Duration{250 * time.Millisecond}, *waits)
		})
	}
}

func TestCreateAndRestoreRetryAFailedDial(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST /api/agent-sessions", jsonRoute(createdSession))
	f.handle("POST /api/agent-sessions/s1/restore", jsonRoute(`{"sessionId":"s1","restored":true}`))
	c, waits, dials := failFirstDials(t, f, 1)
	id, err := c.AgentSessions.Create(context.Background(), "agent_1", nil)
	require.NoError(t, err)
	assert.Equal(t, "s_new", id)
	assert.Len(t, *waits, 1)
	assert.Equal(t, int32(2), dials.Load())

	c, _, _ = failFirstDials(t, f, 2)
	res, err := c.AgentSessions.Restore(context.Background(), "s1", nil, nil)
	require.NoError(t, err)
	assert.True(t, res.Restored)
	assert.Len(t, f.reqs(), 2, "one create, one restore: no duplicate")
}

func TestRestoreIsNotRetriedAfterA503(t *testing.T) {
	f := newFakePlatform(t)
	var n atomic.Int32
	f.handle("POST /api/agent-sessions/s1/restore", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		statusLeg(503, `{"error":"overloaded"}`)(w, r)
	})
	c, _ := clientWith(t, f, ClientOptions{})
	_, err := c.AgentSessions.Restore(context.Background(), "s1", nil, nil)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.Status)
	assert.Equal(t, int32(1), n.Load())
}

func TestGETIsRetriedAfterATransportError(t *testing.T) {
	f := newFakePlatform(t)
	var n atomic.Int32
	f.handle("GET /api/agent-sessions/s1", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			hangUp(w, r)
			return
		}
		jsonRoute(`{"sessionId":"s1","agentId":"a","status":"expired","createdAt":"2024-01-01T00:00:00Z"}`)(w, r)
	})
	c, waits := clientWith(t, f, ClientOptions{})
	_, err := c.AgentSessions.Get(context.Background(), "s1")
	require.NoError(t, err)
	assert.Equal(t, int32(2), n.Load())
	assert.Len(t, *waits, 1)
}

// TestStreamRetriesATransportErrorBeforeHeaders: as the reference, any
// transport error before the answer's headers is retried on a stream.
func TestStreamRetriesATransportErrorBeforeHeaders(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(hangUp, eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	c, waits := clientWith(t, f, ClientOptions{})
	got := wireJSON(t, run(c, AttachOptions{}, userMessage))
	requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	assert.Equal(t, bodies[0], bodies[1])
	assert.Len(t, *waits, 1)

	// And a refused connection.
	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	c, _, dials := failFirstDials(t, f, 2)
	got = wireJSON(t, run(c, AttachOptions{}, userMessage))
	requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
	assert.Equal(t, int32(3), dials.Load())
}

func TestStreamTransportErrorsExhausted(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(hangUp, hangUp, hangUp)
	c, waits := clientWith(t, f, ClientOptions{})
	got := wireJSON(t, run(c, AttachOptions{}, userMessage))
	requireJSONList(t, []string{`{"type":"error","errorType":"internal_error","message":"Failed to reach the Octavus platform","source":"platform","retryable":true}`}, got)
	assert.Len(t, f.triggerBodies(), 3)
	assert.Len(t, *waits, 2)
}

const sessionBusy = `{"error":"The session is busy with another run. Please try again in a moment.","code":"SESSION_BUSY"}`

func TestSessionBusy(t *testing.T) {
	t.Run("retried, then runs", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(withRetryAfter("2", statusLeg(429, sessionBusy)), eventsLeg(`{"type":"finish","finishReason":"stop"}`))
		c, waits := clientWith(t, f, ClientOptions{})
		got := wireJSON(t, run(c, AttachOptions{}, userMessage))
		requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
		assert.Equal(t, []time.Duration{2 * time.Second}, *waits)
	})
	t.Run("persists: the browser's event keeps the code", func(t *testing.T) {
		f := newFakePlatform(t)
		for range 3 {
			f.addLegs(withRetryAfter("30", statusLeg(429, sessionBusy)))
		}
		c, waits := clientWith(t, f, ClientOptions{})
		rec := httptest.NewRecorder()
		ToSSEStream(c.AgentSessions.Attach("s", AttachOptions{}).Execute(context.Background(), userMessage)).
			ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
		payloads, done := ssePayloads(t, rec.Body.String())
		requireJSONList(t, []string{`{"type":"error","errorType":"rate_limit_error","message":"The session is busy with another run. Please try again in a moment.","source":"platform","retryable":true,"code":"SESSION_BUSY"}`}, payloads)
		assert.True(t, done, "an error answer is an event of a stream that ends normally")
		assert.Equal(t, []time.Duration{8 * time.Second, 8 * time.Second}, *waits, "Retry-After clamped to 8 s")
		assert.Len(t, f.triggerBodies(), 3)
	})
}

// TestContinuationSizeRuleOverHTTP: a server tool's result over the budget
// is cut to the 6.4.0 preview before it is posted; the browser still gets
// all of it.
func TestContinuationSizeRuleOverHTTP(t *testing.T) {
	f := newFakePlatform(t)
	toolRound(f, `[{"toolCallId":"c1","toolName":"big","args":{}},{"toolCallId":"c2","toolName":"small","args":{}}]`)
	huge := "HEAD" + strings.Repeat("é", 30000) + "TAIL"
	var cuts []TruncatedResult
	c, _ := clientWith(t, f, ClientOptions{MaxContinuationBody: 80 << 10, OnTruncate: func(tr TruncatedResult) { cuts = append(cuts, tr) }})
	got := wireJSON(t, run(c, AttachOptions{Tools: ToolHandlers{"big": constTool(huge), "small": constTool("tiny")}}, userMessage))
	require.Len(t, got, 4)
	assert.Contains(t, got[1], huge, "the browser still gets the whole result")
	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	var sent struct {
		ToolResults []struct {
			ToolCallID string `json:"toolCallId"`
			Result     string `json:"result"`
		} `json:"toolResults"`
	}
	require.NoError(t, json.Unmarshal([]byte(bodies[1]), &sent))
	require.Len(t, sent.ToolResults, 2)
	// 30008 characters, 60008 bytes: head 9831 and tail 6553 of 16384.
	want := "[Octavus: this tool result was too large to send (59 KB), so only the start and end are shown below. To use the full data, reduce the output - add filters or a limit, request fewer fields, paginate, or write it to a file and return a reference instead of inline data.]\n\n" +
		"HEAD" + strings.Repeat("é", 9827) + "\n\n...[Octavus trimmed 13,624 characters]...\n\n" + strings.Repeat("é", 6549) + "TAIL"
	assert.Equal(t, want, sent.ToolResults[0].Result)
	assert.Equal(t, "tiny", sent.ToolResults[1].Result, "small results are left alone")
	assert.Equal(t, []TruncatedResult{{SessionID: "sess_1", ToolCallID: "c1", ToolName: "big", OriginalBytes: len(huge), KeptBytes: len(want)}}, cuts)
}

func TestContinuationSizeRuleOnTheBrowsersResults(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	c, _ := clientWith(t, f, ClientOptions{MaxContinuationBody: 40 << 10})
	big, _ := marshalJSON(strings.Repeat("x", 50<<10))
	req, err := DecodeSessionRequest([]byte(`{"type":"continue","executionId":"e1","toolResults":[{"toolCallId":"b1","toolName":"fetch","result":` + string(big) + `,"outputVariable":"PAGE"}]}`))
	require.NoError(t, err)
	run(c, AttachOptions{}, req)
	bodies := f.triggerBodies()
	require.Len(t, bodies, 1)
	assert.JSONEq(t, `{"executionId":"e1","toolResults":[{"toolCallId":"b1","toolName":"fetch","error":"Result omitted: it was 50 KB, too large to capture into variable \"PAGE\" and send back. Reduce the output - add filters or a limit, request fewer fields, paginate, or write it to a file and return a reference instead of inline data.","outputVariable":"PAGE"}]}`, bodies[0])
}

// TestTooLargeToSendIsALocal413: when the results cannot be reduced enough
// nothing is posted and the execution ends with the reference's error.
func TestTooLargeToSendIsALocal413(t *testing.T) {
	const tooLarge = `{"type":"error","errorType":"unknown_error","message":"Failed to trigger: the results are too large to send (over 40 KB) and could not be reduced enough. Return less data - filter, limit, or paginate the results, or write them to a file and return a reference.","source":"platform","retryable":false}`
	t.Run("server results", func(t *testing.T) {
		f := newFakePlatform(t)
		calls := make([]string, 3)
		for i := range calls {
			calls[i] = fmt.Sprintf(`{"toolCallId":"c%d","toolName":"mid","args":{}}`, i)
		}
		f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`, `{"type":"tool-request","toolCalls":[`+strings.Join(calls, ",")+`]}`, `{"type":"finish","finishReason":"tool-calls"}`))
		c, _ := clientWith(t, f, ClientOptions{MaxContinuationBody: 40 << 10})
		// Three results of 15 KiB each: none may be cut, together over the budget.
		got := wireJSON(t, run(c, AttachOptions{Tools: ToolHandlers{"mid": constTool(strings.Repeat("m", 15<<10))}}, userMessage))
		require.Len(t, got, 5)
		assert.JSONEq(t, tooLarge, got[4])
		assert.Len(t, f.triggerBodies(), 1, "no POST of the results")
	})
	t.Run("the browser's results", func(t *testing.T) {
		f := newFakePlatform(t)
		c, _ := clientWith(t, f, ClientOptions{MaxContinuationBody: 40 << 10})
		results := make([]ToolResult, 3)
		for i := range results {
			results[i] = ToolResult{ToolCallID: fmt.Sprint("b", i), Result: strings.Repeat("m", 15<<10)}
		}
		got := wireJSON(t, run(c, AttachOptions{}, ContinueRequest{ExecutionID: "e1", ToolResults: results}))
		requireJSONList(t, []string{tooLarge}, got)
		assert.Empty(t, f.reqs())
	})
	t.Run("the whole body", func(t *testing.T) {
		f := newFakePlatform(t)
		c, _ := clientWith(t, f, ClientOptions{MaxContinuationBody: 40 << 10})
		got := wireJSON(t, run(c, AttachOptions{}, TriggerRequest{TriggerName: "t", Input: map[string]any{"X": strings.Repeat("x", 41<<10)}}))
		requireJSONList(t, []string{tooLarge}, got)
		assert.Empty(t, f.reqs())
	})
}

// TestFitResultsGoldenIsCurrent regenerates testdata/truncate/golden.json
// with the official 6.4.0 SDK, when it is here, and fails when the
// recording is stale. The oracle is $OCTAVUS_ORACLE_DIR/server-sdk-6.4.0.mjs,
// else ../shared/oracle/server-sdk-6.4.0.mjs.
func TestFitResultsGoldenIsCurrent(t *testing.T) {
	oracle := filepath.Join(requireOracle(t, "TestFitResultsGolden checks against the recording only"), "server-sdk-6.4.0.mjs")
	node := testtool.Require(t, "node", "the 6.4.0 oracle runs on Node.js")
	out, err := exec.Command(node, "testdata/truncate/gen.mjs", oracle).Output()
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/truncate/golden.json")
	require.NoError(t, err)
	if !bytes.Equal(out, want) {
		t.Fatalf("testdata/truncate/golden.json is stale: run node testdata/truncate/gen.mjs %s > testdata/truncate/golden.json", oracle)
	}
}

// A failing APIKeyFunc is the app's own fault, not the platform's: the
// browser gets one internal_error that is not retryable and does not carry
// the app's error text (which goes to the log), and nothing is posted.
func TestExecuteAPIKeyFuncFails(t *testing.T) {
	f := newFakePlatform(t)
	c, _ := clientWith(t, f, ClientOptions{APIKeyFunc: func(context.Context) (string, error) {
		return "", errors.New("vault sealed: token=s3cr3t")
	}})
	got := wireJSON(t, run(c, AttachOptions{}, userMessage))
	requireJSONList(t, []string{
		`{"type":"error","errorType":"internal_error","message":"Internal error: the API key could not be obtained","retryable":false,"source":"platform"}`,
	}, got)
	require.Empty(t, f.reqs(), "nothing reaches the platform")
}
