package octavustest_test

import (
	"net/http"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

// startBody is the nested body session.ts builds for a deferred start's
// first leg, in its key order.
const startBody = `{"agentId":"agent_1","trigger":{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"},
	"sender":{"id":"u1"}},"input":{"COMPANY":"Acme"},"idempotencyKey":"k1"}`

func TestDeferredStart(t *testing.T) {
	var seen []octavustest.TriggerRequest
	srv := newServer(t)
	srv.AddAgent(octavustest.Agent{Script: []octavustest.Turn{octavustest.Repeat(octavustest.Respond(
		func(req octavustest.TriggerRequest) octavustest.Turn {
			seen = append(seen, req)
			return octavustest.Stream(octavustest.Text("Hello"))
		}))}})

	status, h, b := call(t, srv, http.MethodPost, "/api/agent-sessions/start", startBody)
	if status != http.StatusOK || h.Get("X-Octavus-Session-Id") != "sess_1" {
		t.Fatalf("status %d, X-Octavus-Session-Id %q; body %s", status, h.Get("X-Octavus-Session-Id"), b)
	}
	events, done := sse(t, b)
	if !done || events[0]["type"] != "start" || events[0]["sessionId"] != "sess_1" || events[0]["executionId"] != "exec_1" {
		t.Fatalf("events %v", events)
	}
	// The session exists with the session input and the user message.
	got := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/sess_1", "", http.StatusOK)
	equalJSON(t, got["input"], `{"COMPANY":"Acme"}`)
	if msgs := got["messages"].([]any); len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "user" {
		t.Fatalf("messages %v", msgs)
	}

	// The same key again (a retry): the same session, no second one.
	_, h, _ = call(t, srv, http.MethodPost, "/api/agent-sessions/start", startBody)
	if h.Get("X-Octavus-Session-Id") != "sess_1" {
		t.Fatalf("retry got session %q", h.Get("X-Octavus-Session-Id"))
	}
	if id, ok := srv.StartedSession("k1"); !ok || id != "sess_1" {
		t.Fatalf("StartedSession(k1) = %q, %v", id, ok)
	}
	// Another key: another session. Later legs go to /trigger as usual.
	_, h, _ = call(t, srv, http.MethodPost, "/api/agent-sessions/start",
		`{"agentId":"agent_1","trigger":{"triggerName":"t"},"idempotencyKey":"k2"}`)
	if h.Get("X-Octavus-Session-Id") != "sess_2" {
		t.Fatalf("new key got session %q", h.Get("X-Octavus-Session-Id"))
	}
	evs, _ := trigger(t, srv, "sess_2", userMessage)
	if _, has := evs[0]["sessionId"]; has {
		t.Errorf("a /trigger start event carries sessionId: %v", evs[0])
	}

	if len(seen) != 4 {
		t.Fatalf("%d requests reached the script", len(seen))
	}
	first := seen[0]
	if first.Endpoint != octavustest.EndpointStart || first.IdempotencyKey != "k1" || first.SessionID != "sess_1" ||
		first.TriggerName != "user-message" || first.Sender == nil || first.Sender.ID != "u1" {
		t.Errorf("first leg seen as %+v", first)
	}
	equalJSON(t, first.Input, `{"USER_MESSAGE":"Hi"}`)
	if seen[3].Endpoint != octavustest.EndpointTrigger || seen[3].IdempotencyKey != "" {
		t.Errorf("trigger seen as %+v", seen[3])
	}
}

func TestDeferredStartContinuesOnTrigger(t *testing.T) {
	srv := newServer(t)
	srv.AddAgent(octavustest.Agent{Script: []octavustest.Turn{
		octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "get-user"}),
		octavustest.Stream(octavustest.Text("Hi Ada")),
	}})
	status, _, b := call(t, srv, http.MethodPost, "/api/agent-sessions/start", startBody)
	events, _ := sse(t, b)
	if status != http.StatusOK || types(events)[len(events)-2] != "tool-request" {
		t.Fatalf("status %d events %v", status, types(events))
	}
	evs, _ := trigger(t, srv, "sess_1", `{"triggerName":"user-message","executionId":"exec_1","toolResults":[{"toolCallId":"c1","result":{"name":"Ada"}}]}`)
	if evs[len(evs)-1]["finishReason"] != "stop" {
		t.Fatalf("continuation %v", evs)
	}
}

func TestDeferredStartErrors(t *testing.T) {
	srv := newServer(t)
	srv.AddAgent(octavustest.Agent{Script: []octavustest.Turn{octavustest.Repeat(octavustest.Stream())}})
	srv.AddAgent(octavustest.Agent{})
	call(t, srv, http.MethodPost, "/api/agent-sessions/start", startBody) // k1 -> sess_1 of agent_1
	for name, tc := range map[string]struct {
		body   string
		status int
		code   string
	}{
		"no key":           {`{"agentId":"agent_1","trigger":{"triggerName":"t"}}`, 400, "VALIDATION_ERROR"},
		"empty key":        {`{"agentId":"agent_1","trigger":{"triggerName":"t"},"idempotencyKey":""}`, 400, "VALIDATION_ERROR"},
		"no trigger":       {`{"agentId":"agent_1","idempotencyKey":"k9"}`, 400, "VALIDATION_ERROR"},
		"no triggerName":   {`{"agentId":"agent_1","trigger":{},"idempotencyKey":"k9"}`, 400, "VALIDATION_ERROR"},
		"rollback in trig": {`{"agentId":"agent_1","trigger":{"triggerName":"t","rollbackAfterMessageId":null},"idempotencyKey":"k9"}`, 400, "VALIDATION_ERROR"},
		"executionId":      {`{"agentId":"agent_1","trigger":{"triggerName":"t","executionId":"e"},"idempotencyKey":"k9"}`, 400, "VALIDATION_ERROR"},
		"unknown field":    {`{"agentId":"agent_1","trigger":{"triggerName":"t"},"idempotencyKey":"k9","sessionId":"s"}`, 400, "VALIDATION_ERROR"},
		"input not object": {`{"agentId":"agent_1","trigger":{"triggerName":"t"},"input":[],"idempotencyKey":"k9"}`, 400, "VALIDATION_ERROR"},
		"unknown agent":    {`{"agentId":"agent_9","trigger":{"triggerName":"t"},"idempotencyKey":"k9"}`, 404, "NOT_FOUND"},
		"key of another":   {`{"agentId":"agent_2","trigger":{"triggerName":"t"},"idempotencyKey":"k1"}`, 409, "CONFLICT"},
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, "/api/agent-sessions/start", tc.body)
			wantError(t, status, b, tc.status, tc.code)
		})
	}
	if _, ok := srv.StartedSession("k9"); ok {
		t.Error("a refused start created a session")
	}
}

func TestDeferredStartFaults(t *testing.T) {
	srv := newServer(t)
	srv.AddAgent(octavustest.Agent{Script: []octavustest.Turn{
		octavustest.Failure{Status: 503, RetryAfter: "2"},
		octavustest.Stream(octavustest.Text("ok")),
	}})
	// An injected fault is answered before anything: no session.
	srv.FailNextTriggers(1, octavustest.Failure{Status: 502})
	status, _, b := call(t, srv, http.MethodPost, "/api/agent-sessions/start", startBody)
	wantError(t, status, b, 502, "BAD_GATEWAY")
	if _, ok := srv.StartedSession("k1"); ok {
		t.Fatal("an injected fault created a session")
	}
	// A scripted Failure is the platform failing the run: the session exists,
	// and the retry with the same key runs in it.
	status, h, _ := call(t, srv, http.MethodPost, "/api/agent-sessions/start", startBody)
	if status != 503 || h.Get("Retry-After") != "2" || h.Get("X-Octavus-Session-Id") != "" {
		t.Fatalf("status %d, headers %v", status, h)
	}
	status, h, b = call(t, srv, http.MethodPost, "/api/agent-sessions/start", startBody)
	if status != http.StatusOK || h.Get("X-Octavus-Session-Id") != "sess_1" {
		t.Fatalf("retry: status %d session %q body %s", status, h.Get("X-Octavus-Session-Id"), b)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Fatalf("%d requests recorded", n)
	}
}
