package octavus

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seqRoute answers each request with the next of hs (500 once they are
// used up).
func seqRoute(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		var h http.HandlerFunc
		if len(hs) > 0 {
			h, hs = hs[0], hs[1:]
		} else {
			h = statusLeg(500, `{"error":"unexpected request"}`)
		}
		mu.Unlock()
		h(w, r)
	}
}

// withHeader sets the answer header k: v before h answers.
func withHeader(k, v string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(k, v)
		h(w, r)
	}
}

// bodiesOf returns the bodies of the POSTs to path, in order.
func (f *fakePlatform) bodiesOf(path string) []string {
	var out []string
	for _, r := range f.reqs() {
		if r.Method == http.MethodPost && r.Path == path {
			out = append(out, string(r.Body))
		}
	}
	return out
}

// paths returns the paths of every POST, in order.
func (f *fakePlatform) postPaths() []string {
	var out []string
	for _, r := range f.reqs() {
		if r.Method == http.MethodPost {
			out = append(out, r.Path)
		}
	}
	return out
}

const startPath = "/api/agent-sessions/start"

func TestStartFirstLegPostsNestedBodyAndLatchesHeader(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+startPath, withHeader("X-Octavus-Session-Id", "sess_new", eventsLeg(
		`{"type":"start","messageId":"m1","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{"q":"x"}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	)))
	f.addLegs(
		eventsLeg(`{"type":"text-delta","id":"t1","delta":"ok"}`, `{"type":"finish","finishReason":"stop","executionId":"e1"}`),
		eventsLeg(`{"type":"start","executionId":"e2"}`, `{"type":"finish","finishReason":"stop","executionId":"e2"}`),
	)
	var created []string
	var idAtCallback string
	var s *AgentSession
	s = f.client(t).AgentSessions.Start(StartOptions{
		AttachOptions:    AttachOptions{Tools: ToolHandlers{"lookup": constTool(map[string]any{"v": 1})}, Sender: &MessageSender{ID: "u1"}},
		AgentID:          "agent_1",
		Input:            map[string]any{"COMPANY": "Acme"},
		IdempotencyKey:   "key-1",
		OnSessionCreated: func(id string) { created = append(created, id); idAtCallback = s.SessionID() },
	})
	require.Equal(t, "", s.SessionID(), "no id before the first trigger")
	s.SetDynamicTools(DynamicTools(DynamicTool{Schema: ToolSchema{Name: "dyn", Description: "d", InputSchema: []byte(`{"type":"object"}`)}, Handler: constTool(1)}))

	got := wireJSON(t, collect(s.Execute(context.Background(), userMessage)))
	requireJSONList(t, []string{
		`{"type":"start","messageId":"m1","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":{"v":1}}`,
		`{"type":"text-delta","id":"t1","delta":"ok"}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}, got)
	// The nested body, keys in the reference's order (S/session.ts:432-443):
	// no rollbackAfterMessageId, the trigger's sender and schemas inside.
	require.Equal(t, []string{`{"agentId":"agent_1","trigger":{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"sender":{"id":"u1"},"dynamicToolSchemas":[{"name":"dyn","description":"d","inputSchema":{"type":"object"}}]},"input":{"COMPANY":"Acme"},"idempotencyKey":"key-1"}`}, f.bodiesOf(startPath))
	require.Equal(t, []string{"sess_new"}, created)
	require.Equal(t, "sess_new", idAtCallback, "SessionID is set when OnSessionCreated runs")
	require.Equal(t, "sess_new", s.SessionID())

	// A later trigger is an ordinary one.
	collect(s.Execute(context.Background(), TriggerRequest{TriggerName: "user-message", Rollback: RollbackAfter("m0")}))
	require.Equal(t, []string{startPath, "/api/agent-sessions/sess_new/trigger", "/api/agent-sessions/sess_new/trigger"}, f.postPaths())
	bodies := f.triggerBodies()
	require.Equal(t, `{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"sender":{"id":"u1"},"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"lookup","result":{"v":1}}],"dynamicToolSchemas":[{"name":"dyn","description":"d","inputSchema":{"type":"object"}}]}`, bodies[0])
	require.Equal(t, `{"triggerName":"user-message","rollbackAfterMessageId":"m0","sender":{"id":"u1"},"dynamicToolSchemas":[{"name":"dyn","description":"d","inputSchema":{"type":"object"}}]}`, bodies[1])
	require.Equal(t, []string{"sess_new"}, created, "OnSessionCreated fires once")
}

func TestStartLatchesStartEventWhenNoHeader(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+startPath, eventsLeg(
		`{"type":"start","executionId":"e1","sessionId":"sess_ev"}`,
		`{"type":"start","executionId":"e1","sessionId":"sess_other"}`,
		`{"type":"finish","finishReason":"stop"}`,
	))
	var created []string
	s := f.client(t).AgentSessions.Start(StartOptions{AgentID: "a", OnSessionCreated: func(id string) { created = append(created, id) }})
	collect(s.Execute(context.Background(), TriggerRequest{TriggerName: "go"}))
	require.Equal(t, []string{"sess_ev"}, created, "the first id wins")
	require.Equal(t, "sess_ev", s.SessionID())
	body := f.bodiesOf(startPath)[0]
	require.Regexp(t, `^\{"agentId":"a","trigger":\{"triggerName":"go"\},"idempotencyKey":"[0-9a-f-]{36}"\}$`, body, "no input keys when none is set")
}

func TestStartHeaderWinsOverStartEvent(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+startPath, withHeader("X-Octavus-Session-Id", "sess_hdr", eventsLeg(
		`{"type":"start","executionId":"e1","sessionId":"sess_ev"}`,
		`{"type":"finish","finishReason":"stop"}`,
	)))
	var created []string
	s := f.client(t).AgentSessions.Start(StartOptions{AgentID: "a", OnSessionCreated: func(id string) { created = append(created, id) }})
	got := wireJSON(t, collect(s.Execute(context.Background(), TriggerRequest{TriggerName: "go"})))
	require.Equal(t, []string{"sess_hdr"}, created)
	require.JSONEq(t, `{"type":"start","executionId":"e1","sessionId":"sess_ev"}`, got[0], "the event is forwarded as it came")
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestStartRetriesWithTheSameKey(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+startPath, seqRoute(
		statusLeg(503, `{"error":"busy"}`),
		withHeader("X-Octavus-Session-Id", "sess_r", eventsLeg(`{"type":"finish","finishReason":"stop"}`)),
	))
	c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, HTTPClient: f.srv.Client(), MaxRetries: 2})
	require.NoError(t, err)
	c.sleep = func(context.Context, time.Duration) error { return nil }
	s := c.AgentSessions.Start(StartOptions{AgentID: "a"})
	collect(s.Execute(context.Background(), TriggerRequest{TriggerName: "go"}))
	bodies := f.bodiesOf(startPath)
	require.Len(t, bodies, 2)
	require.Equal(t, bodies[0], bodies[1], "the retry posts the same body, key included")
	key := regexp.MustCompile(`"idempotencyKey":"([^"]+)"`).FindStringSubmatch(bodies[0])[1]
	require.Regexp(t, uuidV4, key, "the default key is a UUID v4")
	require.Equal(t, "sess_r", s.SessionID())
}

func TestStartFailedFirstTriggerKeepsKeyForTheNext(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+startPath, seqRoute(
		statusLeg(400, `{"error":"bad input","code":"INVALID"}`),
		withHeader("X-Octavus-Session-Id", "sess_2", eventsLeg(`{"type":"finish","finishReason":"stop"}`)),
	))
	s := f.client(t).AgentSessions.Start(StartOptions{AgentID: "a"})
	got := wireJSON(t, collect(s.Execute(context.Background(), TriggerRequest{TriggerName: "go"})))
	require.Len(t, got, 1)
	require.Contains(t, got[0], `"message":"bad input"`)
	require.Equal(t, "", s.SessionID())
	collect(s.Execute(context.Background(), TriggerRequest{TriggerName: "go"}))
	bodies := f.bodiesOf(startPath)
	require.Len(t, bodies, 2)
	require.Equal(t, bodies[0], bodies[1], "one key per handle")
	require.Equal(t, "sess_2", s.SessionID())
}

func TestStartContinueBeforeSessionExists(t *testing.T) {
	f := newFakePlatform(t)
	s := f.client(t).AgentSessions.Start(StartOptions{AgentID: "a"})
	evs := collect(s.Execute(context.Background(), ContinueRequest{ExecutionID: "e1", ToolResults: []ToolResult{}}))
	require.Len(t, evs, 1)
	ev, ok := evs[0].(*ErrorEvent)
	require.True(t, ok)
	require.Equal(t, "Cannot continue a session before it exists. Run a trigger first to create the session.", ev.Message)
	require.Equal(t, ErrorTypeInternal, ev.ErrorType)
	require.Empty(t, f.reqs(), "nothing reaches the platform")

	// Through ToSSEStream it ends the stream as a throw does in 6.4.0: no [DONE].
	rec := httptest.NewRecorder()
	ToSSEStream(s.Execute(context.Background(), ContinueRequest{ExecutionID: "e1"}), SSEOptions{}).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	require.NotContains(t, rec.Body.String(), "[DONE]")
	require.Contains(t, rec.Body.String(), "Cannot continue a session before it exists.")
}

func TestStartConcurrentTriggersCreateOneSession(t *testing.T) {
	f := newFakePlatform(t)
	arrived := make(chan struct{})
	release := make(chan struct{})
	f.handle("POST "+startPath, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		w.Header().Set("X-Octavus-Session-Id", "sess_c")
		eventsLeg(`{"type":"finish","finishReason":"stop"}`)(w, r)
	})
	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	s := f.client(t).AgentSessions.Start(StartOptions{AgentID: "a"})
	first := s.Execute(context.Background(), TriggerRequest{TriggerName: "one"})
	waitSignal(t, arrived, "the start request")
	second := s.Execute(context.Background(), TriggerRequest{TriggerName: "two"})
	close(release)
	collect(first)
	collect(second)
	require.Equal(t, []string{startPath, "/api/agent-sessions/sess_c/trigger"}, f.postPaths())
	require.Equal(t, []string{`{"triggerName":"two"}`}, f.triggerBodies())
}

func TestStartWaitingTriggerStopsWithItsContext(t *testing.T) {
	f := newFakePlatform(t)
	arrived := make(chan struct{})
	release := make(chan struct{})
	f.handle("POST "+startPath, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		eventsLeg(`{"type":"finish","finishReason":"stop"}`)(w, r)
	})
	s := f.client(t).AgentSessions.Start(StartOptions{AgentID: "a"})
	first := s.Execute(context.Background(), TriggerRequest{TriggerName: "one"})
	waitSignal(t, arrived, "the start request")
	ctx, cancel := context.WithCancel(context.Background())
	second := s.Execute(ctx, TriggerRequest{TriggerName: "two"})
	cancel()
	got := wireJSON(t, collect(second))
	requireJSONList(t, []string{`{"type":"finish","finishReason":"stop"}`}, got)
	close(release)
	collect(first)
	require.Equal(t, []string{startPath}, f.postPaths())
}

func TestHandlerServesDeferredStart(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+startPath, withHeader("X-Octavus-Session-Id", "sess_h", eventsLeg(
		`{"type":"start","executionId":"e1","sessionId":"sess_h"}`,
		`{"type":"finish","finishReason":"stop"}`,
	)))
	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	var created []string
	var authorized []string
	h := f.client(t).AgentSessions.Handler(HandlerOptions{
		Authorize: func(r *http.Request, id string) error { authorized = append(authorized, id); return nil },
		Sender:    func(r *http.Request, id string) (*MessageSender, error) { return &MessageSender{ID: "u" + id}, nil },
		Start: func(r *http.Request) (StartOptions, error) {
			if r.Header.Get("X-User") == "" {
				return StartOptions{}, &RequestError{Status: http.StatusUnauthorized, Message: "sign in"}
			}
			return StartOptions{AgentID: "agent_h", IdempotencyKey: "k", OnSessionCreated: func(id string) { created = append(created, id) }}, nil
		},
	})
	post := func(body string, user bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/trigger", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if user {
			r.Header.Set("X-User", "u1")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := post(`{"type":"trigger","triggerName":"user-message","input":{"M":"hi"}}`, false)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.JSONEq(t, `{"error":"sign in"}`, w.Body.String())

	w = post(`{"type":"trigger","triggerName":"user-message","input":{"M":"hi"}}`, true)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `"sessionId":"sess_h"`)
	require.Equal(t, []string{`{"agentId":"agent_h","trigger":{"triggerName":"user-message","input":{"M":"hi"},"sender":{"id":"u"}},"idempotencyKey":"k"}`}, f.bodiesOf(startPath))
	require.Equal(t, []string{"sess_h"}, created)
	require.Empty(t, authorized, "Authorize is not called for a start")

	// A continue without sessionId is still refused.
	w = post(`{"type":"continue","executionId":"e1","toolResults":[]}`, true)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), `\"sessionId\" is required`)

	// The browser's next request names the session: an ordinary attach.
	w = post(`{"sessionId":"sess_h","type":"trigger","triggerName":"user-message"}`, true)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, []string{"sess_h"}, authorized)
	require.Equal(t, []string{`{"triggerName":"user-message","sender":{"id":"usess_h"}}`}, f.triggerBodies())
}

func TestHandlerWithoutStartStillRequiresSessionID(t *testing.T) {
	f := newFakePlatform(t)
	h := f.client(t).AgentSessions.Handler(HandlerOptions{})
	r := httptest.NewRequest(http.MethodPost, "/api/trigger", strings.NewReader(`{"type":"trigger","triggerName":"x"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Empty(t, f.reqs())
}

func TestSocketServesDeferredSessionAndOnFinish(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+startPath, withHeader("X-Octavus-Session-Id", "sess_s", eventsLeg(
		`{"type":"start","executionId":"e1"}`,
		`{"type":"finish","finishReason":"stop"}`,
	)))
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e2"}`, `{"type":"finish","finishReason":"stop"}`))
	c := f.client(t)
	conn := newMemConn(t)
	finished := make(chan string, 4)
	var calls []string
	done := serveInBackground(func() error {
		return ServeSocketWith(context.Background(), conn, SocketOptions{
			Session: func(ctx context.Context, sessionID string) (*AgentSession, error) {
				calls = append(calls, sessionID)
				return c.AgentSessions.Start(StartOptions{AgentID: "agent_s"}), nil
			},
			OnFinish: func(ctx context.Context, s *AgentSession) error {
				finished <- s.SessionID()
				return nil
			},
		})
	})
	conn.send(`{"type":"continue","executionId":"e0","toolResults":[]}`)
	msg := conn.next()
	assert.Contains(t, msg, `"errorType":"validation_error"`, "a continue before any session")
	conn.send(`{"type":"trigger","triggerName":"user-message"}`)
	requireJSONList(t, []string{`{"type":"start","executionId":"e1"}`, `{"type":"finish","finishReason":"stop"}`}, conn.nextN(2))
	require.Equal(t, "sess_s", <-finished)
	conn.send(`{"type":"trigger","triggerName":"user-message"}`)
	requireJSONList(t, []string{`{"type":"start","executionId":"e2"}`, `{"type":"finish","finishReason":"stop"}`}, conn.nextN(2))
	require.Equal(t, "sess_s", <-finished)
	close(conn.in)
	require.NoError(t, waitServed(t, done))
	require.Equal(t, []string{""}, calls, "the session func is called once")
	require.Equal(t, []string{startPath, "/api/agent-sessions/sess_s/trigger"}, f.postPaths())
}

func TestSocketOnFinishNotCalledForStoppedExecution(t *testing.T) {
	f := newFakePlatform(t)
	release := make(chan struct{})
	aborted := make(chan struct{}, 1)
	f.addLegs(socketReleaseLeg(release, aborted, []string{`{"type":"start","executionId":"e1"}`}, []string{`{"type":"finish","finishReason":"stop"}`}))
	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	s := f.client(t).AgentSessions.Attach("sess_1", AttachOptions{})
	conn := newMemConn(t)
	var mu sync.Mutex
	var finished int
	errs := make(chan struct{}, 4)
	done := serveInBackground(func() error {
		return s.ServeSocketWith(context.Background(), conn, SocketOptions{OnFinish: func(ctx context.Context, s *AgentSession) error {
			mu.Lock()
			finished++
			mu.Unlock()
			errs <- struct{}{}
			return assert.AnError // logged, nothing sent
		}})
	})
	conn.send(`{"type":"trigger","triggerName":"user-message"}`)
	require.JSONEq(t, `{"type":"start","executionId":"e1"}`, conn.next())
	conn.send(`{"type":"stop"}`)
	waitSignal(t, aborted, "the cancelled leg")
	conn.send(`{"type":"trigger","triggerName":"user-message"}`)
	require.JSONEq(t, `{"type":"finish","finishReason":"stop"}`, conn.next())
	waitSignal(t, errs, "OnFinish")
	close(conn.in)
	require.NoError(t, waitServed(t, done))
	close(release)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, finished, "only the execution that was not stopped")
}

func TestDeferredStartTurns(t *testing.T) {
	var created []string
	d := &deferredStart{onCreated: func(id string) { created = append(created, id) }}
	ctx := context.Background()
	id, creator, ok := d.acquire(ctx)
	require.True(t, ok)
	require.True(t, creator, "the first caller posts the start request")
	require.Equal(t, "", id)

	// While it does, another caller waits; its ctx ends the wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, ok = d.acquire(cctx)
	require.False(t, ok)

	// The first request ended without an id: the next caller takes over.
	d.release()
	_, creator, ok = d.acquire(ctx)
	require.True(t, ok)
	require.True(t, creator)

	// A waiter blocked on the turn wakes with the id once it is latched.
	got := make(chan string, 1)
	go func() {
		id, creator, _ := d.acquire(ctx)
		if creator {
			id = "creator"
		}
		got <- id
	}()
	d.latch("")
	d.latch("sess_1")
	d.latch("sess_2")
	d.release() // after the latch: a no-op
	select {
	case id := <-got:
		require.Equal(t, "sess_1", id)
	case <-time.After(socketFailsafe):
		t.Fatal("the waiter did not wake")
	}
	require.Equal(t, []string{"sess_1"}, created)
	require.Equal(t, "sess_1", d.sessionID())
}

func TestSocketOnFinishAfterErrorAndBeforeNextRun(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(statusLeg(http.StatusBadRequest, `{"error":"bad trigger"}`), eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	s := f.client(t).AgentSessions.Attach("sess_1", AttachOptions{})
	conn := newMemConn(t)
	in := make(chan struct{}, 2)
	release := make(chan struct{})
	done := serveInBackground(func() error {
		return s.ServeSocketWith(context.Background(), conn, SocketOptions{OnFinish: func(ctx context.Context, _ *AgentSession) error {
			in <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}})
	})
	conn.send(socketTrigger)
	require.Contains(t, conn.next(), `"message":"bad trigger"`)
	waitSignal(t, in, "OnFinish after an execution that ended in an error")
	conn.send(socketTrigger)
	require.Len(t, f.triggerBodies(), 1, "the next trigger waits for OnFinish")
	close(release)
	require.JSONEq(t, `{"type":"finish","finishReason":"stop"}`, conn.next())
	waitSignal(t, in, "OnFinish of the second execution")
	close(conn.in)
	require.NoError(t, waitServed(t, done))
	require.Len(t, f.triggerBodies(), 2)
}
