package octavus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of issue 13 (hardening, round two) on the platform and tool side:
// what a hostile platform or a misbehaving tool still broke.

// guard is how long a test waits for something that, before its fix, never
// happened (a hang): a bound that fails the test instead of the test
// binary's timeout, not a timing assertion.
const guard = 20 * time.Second

// within returns what f returns, failing the test when f has not returned
// after guard.
func within[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("%s: still waiting after %v", what, guard)
		panic("unreachable")
	}
}

// endlessRounds answers every request with one more round of the server
// tool "srv": the platform that never finishes.
func endlessRounds() http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		eventsLeg(`{"type":"start","executionId":"e1"}`,
			fmt.Sprintf(`{"type":"tool-request","toolCalls":[{"toolCallId":"c%d","toolName":"srv","args":{}}]}`, i),
			`{"type":"finish","finishReason":"tool-calls"}`)(w, r)
	}
}

// lastError is the last event of events as an *ErrorEvent, failing when it
// is not one.
func lastError(t *testing.T, events []StreamEvent) *ErrorEvent {
	t.Helper()
	require.NotEmpty(t, events)
	ev, ok := events[len(events)-1].(*ErrorEvent)
	require.True(t, ok, "last event %T", events[len(events)-1])
	return ev
}

// Item 3: a platform that always asks for one more round.
func TestToolRoundsAreBounded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rounds int
		want   int
	}{
		{"default 100", 0, 100},
		{"configured 3", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			h := endlessRounds()
			for range tc.want + 5 {
				f.addLegs(h)
			}
			var runs atomic.Int32
			srv := func(context.Context, map[string]any) (any, error) { runs.Add(1); return "ok", nil }
			c, _ := clientWith(t, f, ClientOptions{})
			got := run(c, AttachOptions{Tools: ToolHandlers{"srv": srv}, MaxToolRounds: tc.rounds}, userMessage)
			assert.Equal(t, int32(tc.want), runs.Load(), "tool runs")
			assert.Equal(t, tc.want+1, len(f.triggerBodies()), "POSTs: the first and one per round")
			ev := lastError(t, got)
			assert.Equal(t, ErrorTypeInternal, ev.ErrorType)
			assert.False(t, ev.Retryable)
			assert.Contains(t, ev.Message, fmt.Sprintf("more than %d rounds", tc.want))
		})
	}
	t.Run("negative is no limit", func(t *testing.T) {
		f := newFakePlatform(t)
		h := endlessRounds()
		for range 120 {
			f.addLegs(h)
		}
		f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
		c, _ := clientWith(t, f, ClientOptions{})
		got := run(c, AttachOptions{Tools: ToolHandlers{"srv": constTool(1)}, MaxToolRounds: -1}, userMessage)
		assert.Equal(t, `{"type":"finish","finishReason":"stop"}`, wireJSON(t, got[len(got)-1:])[0])
	})
	t.Run("workers", func(t *testing.T) {
		f := newFakePlatform(t)
		f.handle("POST /api/agents/w/execute", endlessRounds())
		var runs atomic.Int32
		srv := func(context.Context, map[string]any) (any, error) { runs.Add(1); return "ok", nil }
		c, _ := clientWith(t, f, ClientOptions{})
		got := collect(c.Workers.Execute(context.Background(), "w", nil, WorkerOptions{Tools: ToolHandlers{"srv": srv}, MaxToolRounds: 2}))
		assert.Equal(t, int32(2), runs.Load())
		assert.Contains(t, lastError(t, got).Message, "more than 2 rounds")
	})
}

// Item 4: a hung OnUpdate does not keep the execution (and Handler) alive.
func TestHungResourceUpdateDoesNotHoldTheExecution(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(
		`{"type":"resource-update","name":"R","value":1}`,
		`{"type":"resource-update","name":"R","value":2}`,
		`{"type":"finish","finishReason":"stop"}`,
	))
	release := make(chan struct{})
	cause := make(chan error, 2)
	res := ResourceFunc("R", func(ctx context.Context, _ any) error {
		<-release // ignores ctx
		cause <- context.Cause(ctx)
		return nil
	})
	c, _ := clientWith(t, f, ClientOptions{})
	s := c.AgentSessions.Attach("s", AttachOptions{Resources: []Resource{res}, ResourceUpdateTimeout: 20 * time.Millisecond})
	got := within(t, "Execute's channel closed", func() []StreamEvent {
		return collect(s.Execute(context.Background(), userMessage))
	})
	assert.Len(t, got, 3)
	close(release)
	assert.ErrorIs(t, <-cause, errUpdateDeadline, "the hung OnUpdate's ctx was cancelled at the deadline")
	select {
	case err := <-cause:
		t.Fatalf("the update waiting behind the hung one ran after the deadline (%v)", err)
	default:
	}
}

// Item 4: the queue behind a slow OnUpdate is bounded.
func TestResourceUpdateQueueIsBounded(t *testing.T) {
	const updates = 1000
	value := strings.Repeat("x", 50<<10)
	events := []string{`{"type":"resource-update","name":"S","value":"s"}`}
	for i := range updates {
		events = append(events, fmt.Sprintf(`{"type":"resource-update","name":"R","value":[%d,%q]}`, i, value))
	}
	events = append(events, `{"type":"finish","finishReason":"stop"}`)
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(events...))

	release := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var rCalls int
	var last float64
	var sGot []any
	block := func() { once.Do(func() { <-release }) }
	r := ResourceFunc("R", func(_ context.Context, v any) error {
		block()
		mu.Lock()
		defer mu.Unlock()
		rCalls++
		last = v.([]any)[0].(float64)
		return nil
	})
	sRes := ResourceFunc("S", func(_ context.Context, v any) error {
		block()
		mu.Lock()
		defer mu.Unlock()
		sGot = append(sGot, v)
		return nil
	})
	c, _ := clientWith(t, f, ClientOptions{})
	ch := c.AgentSessions.Attach("s", AttachOptions{Resources: []Resource{r, sRes}, ResourceUpdateTimeout: -1}).Execute(context.Background(), userMessage)
	n := 0
	for ev := range ch {
		n++
		if _, ok := ev.(*FinishEvent); ok {
			// Every update was queued before finish was forwarded.
			close(release)
		}
	}
	assert.Equal(t, updates+2, n, "every event is forwarded")
	mu.Lock()
	defer mu.Unlock()
	assert.LessOrEqual(t, rCalls, maxQueuedUpdates+1, "updates run: the one blocked and at most a full queue")
	assert.Equal(t, float64(updates-1), last, "the latest value is saved")
	assert.Equal(t, []any{"s"}, sGot, "an update no later one supersedes is kept")
}

// Item 5: REST calls have a deadline, streams do not.
func TestRESTCallsHaveADeadline(t *testing.T) {
	f := newFakePlatform(t)
	silent := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	f.handle("GET /api/agent-sessions/s1", silent)
	f.handle("POST /api/agent-sessions", silent)
	c, _ := clientWith(t, f, ClientOptions{RequestTimeout: 30 * time.Millisecond, MaxRetries: -1})
	err := within(t, "Get", func() error { _, err := c.AgentSessions.Get(context.Background(), "s1"); return err })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "RequestTimeout")
	err = within(t, "Create", func() error { _, err := c.AgentSessions.Create(context.Background(), "a", nil); return err })
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	d, err := NewClient(ClientOptions{BaseURL: f.srv.URL})
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, d.reqTimeout, "the default")
	d, err = NewClient(ClientOptions{BaseURL: f.srv.URL, RequestTimeout: -1})
	require.NoError(t, err)
	assert.Zero(t, d.reqTimeout, "negative: none")
}

// Item 5: the REST deadline never cuts a stream.
func TestRequestTimeoutDoesNotCutStreams(t *testing.T) {
	f := newFakePlatform(t)
	proceed := make(chan struct{})
	f.addLegs(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {\"type\":\"start\",\"executionId\":\"e\"}\n\n"))
		w.(http.Flusher).Flush()
		<-proceed // the test holds the stream open past RequestTimeout
		_, _ = w.Write([]byte("data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n"))
	})
	c, _ := clientWith(t, f, ClientOptions{RequestTimeout: time.Nanosecond})
	ch := c.AgentSessions.Attach("s", AttachOptions{}).Execute(context.Background(), userMessage)
	first := <-ch
	// Over RequestTimeout has passed once the first event is here: had the
	// stream inherited it, it would be cut now.
	close(proceed)
	got := append([]StreamEvent{first}, collect(ch)...)
	requireJSONList(t, []string{`{"type":"start","executionId":"e"}`, `{"type":"finish","finishReason":"stop"}`}, wireJSON(t, got))
}

// Item 13: REST answers are read up to a bound.
func TestRESTAnswerSizeIsBounded(t *testing.T) {
	big := `{"id":"` + strings.Repeat("x", 4096) + `"}`
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sized", jsonRoute(big))
	f.handle("GET /api/agent-sessions/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i < len(big); i += 512 {
			_, _ = w.Write([]byte(big[i:min(i+512, len(big))]))
			w.(http.Flusher).Flush() // no Content-Length
		}
	})
	c, _ := clientWith(t, f, ClientOptions{MaxResponseSize: 1024})
	for _, id := range []string{"sized", "chunked"} {
		_, err := c.AgentSessions.Get(context.Background(), id)
		assert.ErrorIs(t, err, ErrResponseTooLarge, id)
	}
	d, err := NewClient(ClientOptions{BaseURL: f.srv.URL})
	require.NoError(t, err)
	assert.Equal(t, int64(32<<20), d.maxResponse, "the default")
}

// Item 6: MaxConcurrentTools bounds goroutines, not only running handlers.
func TestMaxConcurrentToolsBoundsGoroutines(t *testing.T) {
	const calls, limit = 2000, 4
	var b strings.Builder
	b.WriteByte('[')
	for i := range calls {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"toolCallId":"c%d","toolName":"t","args":{}}`, i)
	}
	b.WriteByte(']')
	f := newFakePlatform(t)
	toolRound(f, b.String())
	started := make(chan struct{}, calls)
	release := make(chan struct{})
	tools := ToolHandlers{"t": func(context.Context, map[string]any) (any, error) {
		started <- struct{}{}
		<-release
		return "ok", nil
	}}
	c, _ := clientWith(t, f, ClientOptions{})
	before := runtime.NumGoroutine()
	ch := c.AgentSessions.Attach("s", AttachOptions{Tools: tools, MaxConcurrentTools: limit}).Execute(context.Background(), userMessage)
	for range limit {
		<-started
	}
	grown := runtime.NumGoroutine() - before
	close(release)
	got := collect(ch)
	assert.Len(t, got, calls+2)
	assert.Less(t, grown, 50, "goroutines while %d calls wait for %d slots", calls, limit)
}

// Item 6: a handler that timed out keeps its slot until it returns, across
// rounds too.
func TestTimedOutHandlerKeepsItsSlot(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"stuck","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		eventsLeg(`{"type":"tool-request","toolCalls":[{"toolCallId":"c2","toolName":"probe","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`),
	)
	var running atomic.Int32
	release := make(chan struct{})
	overlap := make(chan int32, 1)
	tools := ToolHandlers{
		"stuck": func(ctx context.Context, _ map[string]any) (any, error) {
			running.Add(1)
			defer running.Add(-1)
			<-ctx.Done()
			<-release // ignores its deadline
			return nil, nil
		},
		"probe": func(context.Context, map[string]any) (any, error) {
			overlap <- running.Load()
			return "ok", nil
		},
	}
	// The stuck handler returns once the next call waits for its slot: a
	// call that did not wait would find it still running.
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	testHookSlotWait = unblock
	t.Cleanup(func() { testHookSlotWait = nil; unblock() })
	c, _ := clientWith(t, f, ClientOptions{})
	got := collect(c.AgentSessions.Attach("s", AttachOptions{Tools: tools, MaxConcurrentTools: 1, ToolTimeout: 10 * time.Millisecond}).Execute(context.Background(), userMessage))
	assert.Len(t, got, 4)
	assert.Equal(t, int32(0), <-overlap, "the next call starts once the timed-out handler returned")
}

// Item 7: an API key the platform echoes is hidden.
func TestEchoedAPIKeyIsRedacted(t *testing.T) {
	echo := `{"error":"invalid credentials: Authorization: Bearer ` + testKey + ` (key ` + testKey + `)","code":"BAD_KEY"}`
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/s1", statusLeg(http.StatusUnauthorized, echo))
	f.addLegs(statusLeg(http.StatusUnauthorized, echo))
	f.addLegs(eventsLeg(`{"type":"error","errorType":"authentication_error","message":"key ` + testKey + ` revoked","source":"platform","retryable":false}`))
	c, _ := clientWith(t, f, ClientOptions{})

	_, err := c.AgentSessions.Get(context.Background(), "s1")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.NotContains(t, err.Error(), testKey)
	assert.Contains(t, err.Error(), "Bearer [REDACTED]")
	assert.Equal(t, "BAD_KEY", apiErr.Code)

	for i := range 2 {
		got := run(c, AttachOptions{}, userMessage)
		ev := lastError(t, got)
		assert.NotContains(t, ev.Message, testKey, "execution %d", i)
		assert.Contains(t, ev.Message, redacted, "execution %d", i)
		b, err := json.Marshal(got)
		require.NoError(t, err)
		assert.NotContains(t, string(b), testKey)
	}
}

// Item 10: one call id runs its handler once.
func TestRepeatedToolCallIDRunsOnce(t *testing.T) {
	f := newFakePlatform(t)
	toolRound(f, `[{"toolCallId":"c1","toolName":"t","args":{"n":1}},{"toolCallId":"c1","toolName":"t","args":{"n":2}},{"toolCallId":"c2","toolName":"t","args":{"n":3}}]`)
	var mu sync.Mutex
	var seen []float64
	tools := ToolHandlers{"t": func(_ context.Context, args map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, args["n"].(float64))
		return args["n"], nil
	}}
	c, _ := clientWith(t, f, ClientOptions{})
	got := run(c, AttachOptions{Tools: tools}, userMessage)
	assert.ElementsMatch(t, []float64{1, 3}, seen, "the first call of an id wins")
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":1}`,
		`{"type":"tool-output-available","toolCallId":"c2","output":3}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}, wireJSON(t, got))
	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	var cont struct{ ToolResults []ToolResult }
	require.NoError(t, json.Unmarshal([]byte(bodies[1]), &cont))
	assert.Len(t, cont.ToolResults, 2, "one result per call id reaches the platform")
}

// Item 11: runtime.Goexit in a handler (t.FailNow, require) is a tool
// error, not a hang.
func TestGoexitInAHandlerIsAToolError(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint("ToolTimeout ", timeout), func(t *testing.T) {
			f := newFakePlatform(t)
			toolRound(f, `[{"toolCallId":"c1","toolName":"exits","args":{}},{"toolCallId":"c2","toolName":"ok","args":{}}]`)
			tools := ToolHandlers{
				"exits": func(context.Context, map[string]any) (any, error) { runtime.Goexit(); return nil, nil },
				"ok":    constTool("fine"),
			}
			c, _ := clientWith(t, f, ClientOptions{})
			got := within(t, "the execution", func() []StreamEvent {
				return run(c, AttachOptions{Tools: tools, ToolTimeout: timeout, MaxConcurrentTools: 1}, userMessage)
			})
			requireJSONList(t, []string{
				`{"type":"start","executionId":"e1"}`,
				`{"type":"tool-output-error","toolCallId":"c1","error":"Tool execution failed"}`,
				`{"type":"tool-output-available","toolCallId":"c2","output":"fine"}`,
				`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
			}, wireJSON(t, got))
		})
	}
}
