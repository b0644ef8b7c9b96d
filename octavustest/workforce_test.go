package octavustest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

// wfCall sends a workforce request with the given bearer key.
func wfCall(t *testing.T, srv *octavustest.Server, key, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func threadsPath(agentID string) string { return "/api/v1/workforce/agents/" + agentID + "/threads" }

// threadTexts lists a thread's messages as "role: text" per text part.
func threadTexts(t *testing.T, thread map[string]any) []string {
	t.Helper()
	var out []string
	for _, m := range thread["messages"].([]any) {
		m := m.(map[string]any)
		for _, p := range m["parts"].([]any) {
			if p := p.(map[string]any); p["type"] == "text" {
				out = append(out, m["role"].(string)+": "+p["text"].(string))
			}
		}
	}
	return out
}

func TestWorkforceThreadDefaultRun(t *testing.T) {
	srv := newServer(t)
	agent := srv.AddAgent(octavustest.Agent{Name: "Ops"})
	key, ok := srv.AgentKey(agent)
	if !ok || key != "oct_agt_"+agent {
		t.Fatalf("AgentKey = %q, %v", key, ok)
	}
	status, b := wfCall(t, srv, key, http.MethodPost, threadsPath(agent), `{"message":"Summarize"}`)
	if status != http.StatusCreated {
		t.Fatalf("dispatch: %d %s", status, b)
	}
	equalJSON(t, decode(t, b), `{"threadId":"thread_1","status":"queued"}`)
	get := func() map[string]any {
		status, b := wfCall(t, srv, key, http.MethodGet, threadsPath(agent)+"/thread_1", "")
		if status != http.StatusOK {
			t.Fatalf("get: %d %s", status, b)
		}
		return decode(t, b)
	}
	// Each GET moves the run one step on: running, then completed.
	th := get()
	if th["status"] != "running" || th["failureReason"] != nil {
		t.Fatalf("first GET %v", th)
	}
	equalJSON(t, threadTexts(t, th), `["user: Summarize"]`)
	th = get()
	if th["status"] != "completed" {
		t.Fatalf("second GET %v", th)
	}
	equalJSON(t, threadTexts(t, th), `["user: Summarize","assistant: Done."]`)
	msgs := th["messages"].([]any)
	equalJSON(t, msgs[1].(map[string]any)["parts"], `[{"type":"step-start"},{"type":"text","text":"Done.","status":"done"}]`)
	if th = get(); th["status"] != "completed" || len(th["messages"].([]any)) != 2 {
		t.Fatalf("a completed thread moved on: %v", th)
	}

	// A follow-up on a finished thread runs now: 202, and messages grow.
	status, b = wfCall(t, srv, key, http.MethodPost, threadsPath(agent)+"/thread_1/messages",
		`{"message":"More","files":[{"id":"f1","mediaType":"text/plain","url":"https://f/1"}]}`)
	if status != http.StatusAccepted {
		t.Fatalf("follow-up: %d %s", status, b)
	}
	equalJSON(t, decode(t, b), `{"threadId":"thread_1","status":"queued"}`)
	get()
	th = get()
	equalJSON(t, threadTexts(t, th), `["user: Summarize","assistant: Done.","user: More","assistant: Done."]`)
	equalJSON(t, th["messages"].([]any)[2].(map[string]any)["parts"].([]any)[0],
		`{"type":"file","id":"f1","mediaType":"text/plain","url":"https://f/1"}`)
}

func TestWorkforceThreadSteps(t *testing.T) {
	srv := newServer(t)
	agent := srv.AddAgent(octavustest.Agent{ThreadSteps: []octavustest.ThreadStep{
		{Status: "pending"},
		{Parts: []octavustest.Part{octavustest.Text("Reading"), octavustest.ToolCall{ID: "c1", Name: "fetch"}}},
		{Status: "failed", FailureReason: "Out of credits"},
	}})
	key, _ := srv.AgentKey(agent)
	_, b := wfCall(t, srv, key, http.MethodPost, threadsPath(agent), `{"message":"Go"}`)
	equalJSON(t, decode(t, b), `{"threadId":"thread_1","status":"pending"}`)

	// A follow-up while the run is going is queued: it runs after it.
	status, b := wfCall(t, srv, key, http.MethodPost, threadsPath(agent)+"/thread_1/messages", `{"message":"Then this"}`)
	if status != http.StatusAccepted {
		t.Fatalf("follow-up: %d %s", status, b)
	}
	equalJSON(t, decode(t, b), `{"threadId":"thread_1","status":"pending"}`)

	_, b = wfCall(t, srv, key, http.MethodGet, threadsPath(agent)+"/thread_1", "")
	th := decode(t, b)
	if th["status"] != "running" {
		t.Fatalf("step 2: %v", th)
	}
	equalJSON(t, threadTexts(t, th), `["user: Go","assistant: Reading"]`)
	// The run fails; the queued follow-up starts at once, so the thread
	// is not terminal and shows the new run's first step.
	_, b = wfCall(t, srv, key, http.MethodGet, threadsPath(agent)+"/thread_1", "")
	th = decode(t, b)
	if th["status"] != "pending" || th["failureReason"] != nil {
		t.Fatalf("after the failed run: %v", th)
	}
	equalJSON(t, threadTexts(t, th), `["user: Go","assistant: Reading","user: Then this"]`)
	parts := th["messages"].([]any)[1].(map[string]any)["parts"].([]any)
	if call := parts[2].(map[string]any); call["type"] != "tool-call" || call["status"] != "cancelled" {
		t.Errorf("the failed run left its tool call %v", call)
	}
	wfCall(t, srv, key, http.MethodGet, threadsPath(agent)+"/thread_1", "")
	_, b = wfCall(t, srv, key, http.MethodGet, threadsPath(agent)+"/thread_1", "")
	th = decode(t, b)
	if th["status"] != "failed" || th["failureReason"] != "Out of credits" {
		t.Fatalf("second run: %v", th)
	}

	// CancelThread ends a run that is going.
	wfCall(t, srv, key, http.MethodPost, threadsPath(agent), `{"message":"Other"}`)
	if !srv.CancelThread("thread_2") || srv.CancelThread("thread_9") {
		t.Fatal("CancelThread reports wrong")
	}
	_, b = wfCall(t, srv, key, http.MethodGet, threadsPath(agent)+"/thread_2", "")
	if th = decode(t, b); th["status"] != "cancelled" {
		t.Fatalf("cancelled thread: %v", th)
	}
}

func TestWorkforceErrors(t *testing.T) {
	srv := newServer(t)
	a1 := srv.AddAgent(octavustest.Agent{WorkforceKey: "oct_agt_one"})
	a2 := srv.AddAgent(octavustest.Agent{})
	k2, _ := srv.AgentKey(a2)
	wfCall(t, srv, "oct_agt_one", http.MethodPost, threadsPath(a1), `{"message":"x"}`) // thread_1 of a1
	for name, tc := range map[string]struct {
		key, method, path, body string
		status                  int
		code                    string
	}{
		"no key":              {"", "GET", threadsPath(a1) + "/thread_1", "", 401, "UNAUTHORIZED"},
		"unknown key":         {"oct_agt_nope", "GET", threadsPath(a1) + "/thread_1", "", 401, "UNAUTHORIZED"},
		"project key":         {octavustest.DefaultAPIKey, "GET", threadsPath(a1) + "/thread_1", "", 403, "FORBIDDEN"},
		"other agent's key":   {k2, "GET", threadsPath(a1) + "/thread_1", "", 403, "FORBIDDEN"},
		"unknown thread":      {"oct_agt_one", "GET", threadsPath(a1) + "/thread_9", "", 404, "NOT_FOUND"},
		"other agent thread":  {k2, "GET", threadsPath(a2) + "/thread_1", "", 404, "NOT_FOUND"},
		"follow-up unknown":   {"oct_agt_one", "POST", threadsPath(a1) + "/thread_9/messages", `{"message":"x"}`, 404, "NOT_FOUND"},
		"no message":          {"oct_agt_one", "POST", threadsPath(a1), `{}`, 400, "VALIDATION_ERROR"},
		"empty message":       {"oct_agt_one", "POST", threadsPath(a1), `{"message":""}`, 400, "VALIDATION_ERROR"},
		"bad files":           {"oct_agt_one", "POST", threadsPath(a1), `{"message":"x","files":[{"id":"f"}]}`, 400, "VALIDATION_ERROR"},
		"unknown field":       {"oct_agt_one", "POST", threadsPath(a1), `{"message":"x","threadId":"t"}`, 400, "VALIDATION_ERROR"},
		"GET the collection":  {"oct_agt_one", "GET", threadsPath(a1), "", 405, "METHOD_NOT_ALLOWED"},
		"DELETE a thread":     {"oct_agt_one", "DELETE", threadsPath(a1) + "/thread_1", "", 405, "METHOD_NOT_ALLOWED"},
		"unknown subresource": {"oct_agt_one", "GET", threadsPath(a1) + "/thread_1/files", "", 404, "NOT_FOUND"},
	} {
		t.Run(name, func(t *testing.T) {
			status, b := wfCall(t, srv, tc.key, tc.method, tc.path, tc.body)
			wantError(t, status, b, tc.status, tc.code)
		})
	}

	// 402 while the agent is blocked by a limit: dispatch and follow-up, not reads.
	if !srv.SetBlocked(a1, true) || srv.SetBlocked("agent_9", true) {
		t.Fatal("SetBlocked reports wrong")
	}
	status, b := wfCall(t, srv, "oct_agt_one", http.MethodPost, threadsPath(a1), `{"message":"x"}`)
	wantError(t, status, b, 402, "PAYMENT_REQUIRED")
	status, b = wfCall(t, srv, "oct_agt_one", http.MethodPost, threadsPath(a1)+"/thread_1/messages", `{"message":"x"}`)
	wantError(t, status, b, 402, "PAYMENT_REQUIRED")
	if status, b = wfCall(t, srv, "oct_agt_one", http.MethodGet, threadsPath(a1)+"/thread_1", ""); status != 200 {
		t.Fatalf("read while blocked: %d %s", status, b)
	}
	srv.SetBlocked(a1, false)

	// Injected faults come first, as everywhere.
	srv.FailNext(1, octavustest.Failure{Status: 503})
	status, b = wfCall(t, srv, "oct_agt_one", http.MethodGet, threadsPath(a1)+"/thread_1", "")
	wantError(t, status, b, 503, "SERVICE_UNAVAILABLE")

	// With the key check off (WithAPIKey("")), any key or none works.
	open := newServer(t, octavustest.WithAPIKey(""))
	a := open.AddAgent(octavustest.Agent{})
	if status, b := wfCall(t, open, "", http.MethodPost, threadsPath(a), `{"message":"x"}`); status != 201 {
		t.Fatalf("no key check: %d %s", status, b)
	}
}
