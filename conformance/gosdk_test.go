package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	octavus "github.com/octavus-go/octavus"
)

// goTool builds the octavus-go handler a scenario describes.
func goTool(spec toolSpec) octavus.ToolHandler {
	return func(ctx context.Context, _ map[string]any) (any, error) {
		if spec.DelayMs > 0 {
			timer := time.NewTimer(time.Duration(spec.DelayMs) * time.Millisecond)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if spec.Error != nil {
			return nil, errors.New(*spec.Error)
		}
		if spec.Result == nil {
			return nil, nil
		}
		return json.RawMessage(spec.Result), nil
	}
}

// captureWriter is an http.ResponseWriter whose body can be read while the
// handler may still be writing (when it overran the timeout).
type captureWriter struct {
	mu     sync.Mutex
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *captureWriter) Header() http.Header { return w.header }

func (w *captureWriter) WriteHeader(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = status
	}
}

func (w *captureWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *captureWriter) Flush() {}

func (w *captureWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.body.Bytes())
}

// runGo plays the scenario through octavus-go against a fresh platform.
func runGo(t *testing.T, sc *scenario) run {
	t.Helper()
	p := newPlatform(t, sc.Legs)
	client, tools := goClient(t, p.URL(), sc.Retries, sc.Tools)
	session := client.AgentSessions.Attach(sessionID, octavus.AttachOptions{
		Tools:             tools,
		RejectClientTools: sc.RejectClientTools,
	})
	if len(sc.DynamicTools) > 0 {
		setDynamicTools(t, session, sc.DynamicTools)
	}
	req, err := octavus.DecodeSessionRequest(sc.Request)
	if err != nil {
		t.Fatalf("octavus.DecodeSessionRequest(%s): %v", sc.Request, err)
	}
	if sc.Sender != nil {
		req = withSender(t, req, sc.Sender)
	}

	ctx, cancel := contextWithRunTimeout(t)
	defer cancel()
	sse := goSSE(t, ctx, p.requestLog, session.Execute(ctx, req))
	if ctx.Err() != nil {
		t.Fatalf("octavus-go did not finish within %v\nSSE so far:\n%s\nplatform log:\n%s",
			runTimeout, indentRaw(sse), joinLines(p.requestLog()))
	}
	return run{
		sse:    sse,
		bodies: p.triggerBodies(),
		log:    p.requestLog(),
	}
}

// goClient makes the octavus-go client of a run against the platform at
// baseURL, and the handlers of the scenario's server tools. Retries are
// off unless the scenario asks for them: 2.0.0 does not retry, and the
// 6.4.0 oracle runs with the same count.
func goClient(t *testing.T, baseURL string, scenarioRetries int, specs map[string]toolSpec) (*octavus.Client, octavus.ToolHandlers) {
	t.Helper()
	retries := -1
	if scenarioRetries > 0 {
		retries = scenarioRetries
	}
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: baseURL, APIKey: apiKey, MaxRetries: retries})
	if err != nil {
		t.Fatalf("octavus.NewClient: %v", err)
	}
	tools := octavus.ToolHandlers{}
	for name, spec := range specs {
		tools[name] = goTool(spec)
	}
	return client, tools
}

// goSSE writes the events through octavus-go's SSE writer, as an app's
// handler does, and returns the bytes. requestLog is the platform's, for
// the report when the writer does not finish.
func goSSE(t *testing.T, ctx context.Context, requestLog func() []string, events <-chan octavus.StreamEvent) []byte {
	t.Helper()
	w := &captureWriter{header: http.Header{}}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/octavus", nil)
		octavus.ToSSEStream(events).ServeHTTP(w, r)
	}()
	select {
	case <-finished:
	case <-time.After(runTimeout + 5*time.Second):
		t.Fatalf("octavus-go did not finish within %v, even after its context was cancelled\nSSE so far:\n%s\nplatform log:\n%s",
			runTimeout, indentRaw(w.bytes()), joinLines(requestLog()))
	}
	return w.bytes()
}

// withSender sets the scenario's sender on a trigger request, as an app
// does on the server from its signed-in user.
func withSender(t *testing.T, req octavus.SessionRequest, raw json.RawMessage) octavus.SessionRequest {
	t.Helper()
	var sender octavus.MessageSender
	if err := json.Unmarshal(raw, &sender); err != nil {
		t.Fatalf("decoding the scenario's sender %s: %v", raw, err)
	}
	switch r := req.(type) {
	case octavus.TriggerRequest:
		r.Sender = &sender
		return r
	case *octavus.TriggerRequest:
		r.Sender = &sender
		return r
	default:
		t.Fatalf("the scenario's sender needs a trigger request, got %T", req)
		return nil
	}
}

// scenarioTools is the ToolProvider of a scenario's dynamic tools.
type scenarioTools []dynamicToolSpec

func (st scenarioTools) ToolHandlers() octavus.ToolHandlers {
	h := octavus.ToolHandlers{}
	for _, dt := range st {
		var s octavus.ToolSchema
		_ = json.Unmarshal(dt.Schema, &s) // checked when the scenario was loaded
		h[s.Name] = goTool(dt.Handler)
	}
	return h
}

func (st scenarioTools) ToolSchemas() []octavus.ToolSchema {
	out := make([]octavus.ToolSchema, 0, len(st))
	for _, dt := range st {
		var s octavus.ToolSchema
		_ = json.Unmarshal(dt.Schema, &s)
		out = append(out, s)
	}
	return out
}

// setDynamicTools hands the scenario's dynamic tools to the session. It
// goes through an interface so that this package builds before
// (*AgentSession).SetDynamicTools exists; until then the scenario fails.
func setDynamicTools(t *testing.T, session *octavus.AgentSession, specs []dynamicToolSpec) {
	t.Helper()
	setter, ok := any(session).(interface{ SetDynamicTools(octavus.ToolProvider) })
	if !ok {
		t.Fatal("octavus-go has no (*AgentSession).SetDynamicTools(ToolProvider) yet")
	}
	setter.SetDynamicTools(scenarioTools(specs))
}
