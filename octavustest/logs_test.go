package octavustest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

func logsPath(id string) string { return "/api/agent-sessions/" + id + "/logs" }

func TestLogs(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock))
	sess := srv.AddSession(octavustest.Session{AgentID: "agent_1", Script: []octavustest.Turn{
		octavustest.Stream(
			octavustest.Reasoning("Let me ", "look"),
			octavustest.Text("Checking"),
			octavustest.ToolCall{ID: "c1", Name: "get-user", Args: map[string]any{"id": "u1"}},
		),
		octavustest.Stream(
			octavustest.ExecutionBlock{Name: "Save", Type: "set-resource", Description: "Saving"},
			octavustest.ExecutionBlock{Name: "Quiet", Display: "hidden", OutputToChat: new(bool), Parts: []octavustest.Part{octavustest.Text("note")}},
			octavustest.WorkerExecution{ID: "w1", Slug: "researcher", Input: map[string]any{"q": "go"}, Output: "found",
				Parts: []octavustest.Part{octavustest.Text("inside")}},
			octavustest.Event(map[string]any{"type": "error", "errorType": "tool_error", "message": "boom", "source": "tool", "code": "X"}),
		),
	}})
	trigger(t, srv, sess, `{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}`)
	trigger(t, srv, sess, `{"executionId":"exec_1","toolResults":[{"toolCallId":"c1","result":{"name":"Ada"}}]}`)

	const at = `"timestamp":"2024-01-15T10:30:00.000Z"`
	model := `"model":"octavustest-model","modelRequest":{"requestType":"llm","provider":"octavustest","model":"octavustest-model"}`
	want := fmt.Sprintf(`{"sessionId":%q,"total":14,"truncated":false,"entries":[
		{"id":"log_1",%[2]s,"sequence":1,"type":"trigger","triggerName":"user-message","triggerInput":{"USER_MESSAGE":"Hi"}},
		{"id":"log_2",%[2]s,"sequence":2,"type":"message","role":"user","content":"Hi","visible":true},
		{"id":"log_3",%[2]s,"sequence":3,"type":"model-request",%[3]s},
		{"id":"log_4",%[2]s,"sequence":4,"type":"reasoning","reasoningContent":"Let me look"},
		{"id":"log_5",%[2]s,"sequence":5,"type":"message","role":"assistant","content":"Checking","visible":true},
		{"id":"log_6",%[2]s,"sequence":6,"type":"tool-call","toolName":"get-user","toolArguments":{"id":"u1"}},
		{"id":"log_7",%[2]s,"sequence":7,"type":"tool-result","toolName":"get-user","toolResult":{"name":"Ada"}},
		{"id":"log_8",%[2]s,"sequence":8,"type":"model-request",%[3]s},
		{"id":"log_9",%[2]s,"sequence":9,"type":"block-operation","blockName":"Save","operationType":"set-resource","operationDescription":"Saving"},
		{"id":"log_10",%[2]s,"sequence":10,"type":"message","role":"assistant","content":"note","visible":false},
		{"id":"log_11",%[2]s,"sequence":11,"type":"worker-execution","workerId":"w1","workerSlug":"researcher","workerInput":{"q":"go"}},
		{"id":"log_12",%[2]s,"sequence":12,"type":"message","role":"assistant","content":"inside","visible":true,"workerId":"w1","workerSlug":"researcher"},
		{"id":"log_13",%[2]s,"sequence":13,"type":"worker-output","workerId":"w1","workerSlug":"researcher","workerOutput":"found"},
		{"id":"log_14",%[2]s,"sequence":14,"type":"error","error":{"type":"tool_error","message":"boom","source":"tool","code":"X"}}
	]}`, sess, at, model)
	equalJSON(t, callJSON(t, srv, http.MethodGet, logsPath(sess), "", http.StatusOK), want)

	got := callJSON(t, srv, http.MethodGet, logsPath(sess)+"?excludeModelRequests=true", "", http.StatusOK)
	if got["total"] != 12.0 || len(got["entries"].([]any)) != 12 {
		t.Fatalf("excludeModelRequests: %v", got)
	}
	for _, e := range got["entries"].([]any) {
		if e.(map[string]any)["type"] == "model-request" {
			t.Fatalf("model-request kept: %v", e)
		}
	}

	status, _, b := call(t, srv, http.MethodGet, logsPath("sess_9"), "")
	wantError(t, status, b, 404, "NOT_FOUND")
	status, _, b = call(t, srv, http.MethodPost, logsPath(sess), "")
	wantError(t, status, b, 405, "METHOD_NOT_ALLOWED")
}

// AddLogEntries passes any entry on (a type the fake does not write), and
// the log serves the most recent 3000 entries with total and truncated.
func TestLogEntriesAddedAndCapped(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock))
	sess := srv.AddSession(octavustest.Session{AgentID: "agent_1"})
	if srv.AddLogEntries("sess_9", map[string]any{"type": "x"}) {
		t.Fatal("AddLogEntries on an unknown session")
	}
	srv.AddLogEntries(sess, map[string]any{"id": "e0", "timestamp": "2020-01-01T00:00:00.000Z", "type": "future-entry", "extra": []any{1}})
	entries := make([]map[string]any, 3000)
	for i := range entries {
		entries[i] = map[string]any{"type": "step-stats", "stepStats": map[string]any{"n": i}}
	}
	srv.AddLogEntries(sess, entries...)
	got := callJSON(t, srv, http.MethodGet, logsPath(sess), "", http.StatusOK)
	list := got["entries"].([]any)
	if got["total"] != 3001.0 || got["truncated"] != true || len(list) != 3000 {
		t.Fatalf("total %v truncated %v len %d", got["total"], got["truncated"], len(list))
	}
	equalJSON(t, list[0], `{"id":"log_1","timestamp":"2024-01-15T10:30:00.000Z","sequence":2,"type":"step-stats","stepStats":{"n":0}}`)

	srv2 := newServer(t)
	s2 := srv2.AddSession(octavustest.Session{AgentID: "a"})
	srv2.AddLogEntries(s2, map[string]any{"id": "e0", "timestamp": "2020-01-01T00:00:00.000Z", "type": "future-entry", "extra": []any{1}})
	equalJSON(t, callJSON(t, srv2, http.MethodGet, logsPath(s2), "", http.StatusOK)["entries"],
		`[{"id":"e0","timestamp":"2020-01-01T00:00:00.000Z","sequence":1,"type":"future-entry","extra":[1]}]`)
}

func TestClearSession(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock))
	sess := srv.AddSession(octavustest.Session{AgentID: "agent_1"})
	path := "/api/agent-sessions/" + sess
	equalJSON(t, callJSON(t, srv, http.MethodDelete, path, "", 200), `{"sessionId":"`+sess+`","cleared":true}`)
	// Idempotent; the session is expired: GET and logs answer the expired shape.
	equalJSON(t, callJSON(t, srv, http.MethodDelete, path, "", 200), `{"sessionId":"`+sess+`","cleared":true}`)
	expired := `{"sessionId":"` + sess + `","agentId":"agent_1","status":"expired","createdAt":"2024-01-15T10:30:00.000Z"}`
	equalJSON(t, callJSON(t, srv, http.MethodGet, path, "", 200), expired)
	equalJSON(t, callJSON(t, srv, http.MethodGet, logsPath(sess), "", 200), expired)
	status, _, b := call(t, srv, http.MethodPost, triggerPath(sess), userMessage)
	wantError(t, status, b, 404, "NOT_FOUND")
	// Restorable.
	equalJSON(t, callJSON(t, srv, http.MethodPost, path+"/restore", `{"messages":[]}`, 200), `{"sessionId":"`+sess+`","restored":true}`)
	status, _, b = call(t, srv, http.MethodDelete, "/api/agent-sessions/sess_9", "")
	wantError(t, status, b, 404, "NOT_FOUND")
}

// With X-Octavus-Trace: true (TraceModelRequests), model-request entries
// carry the request payload; without it they are markers (07-debugging.md).
func TestLogsTrace(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Repeat(octavustest.Stream(octavustest.Text("ok")))))
	sess := srv.AddSession(octavustest.Session{AgentID: "agent_1"})
	trigger(t, srv, sess, userMessage)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+triggerPath(sess), stringsReader(userMessage))
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	req.Header.Set("X-Octavus-Trace", "true")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = readAllLoose(resp)
	var traced []any
	for _, e := range callJSON(t, srv, http.MethodGet, logsPath(sess), "", 200)["entries"].([]any) {
		if e := e.(map[string]any); e["type"] == "model-request" {
			traced = append(traced, e["modelRequest"].(map[string]any)["requestBody"])
		}
	}
	if len(traced) != 2 || traced[0] != nil || traced[1] == nil {
		t.Fatalf("requestBody per model-request: %v", traced)
	}
}
