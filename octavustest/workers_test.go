package octavustest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

func executePath(agentID string) string { return "/api/agents/" + agentID + "/execute" }

// execute POSTs a worker leg and returns its events; it fails the test
// unless the answer is a 200 event stream ending with [DONE].
func execute(t *testing.T, srv *octavustest.Server, agentID, body string) []map[string]any {
	t.Helper()
	status, h, b := call(t, srv, http.MethodPost, executePath(agentID), body)
	if status != http.StatusOK || h.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("execute: status %d; body %s", status, b)
	}
	events, done := sse(t, b)
	if !done {
		t.Fatal("execute: no [DONE]")
	}
	return events
}

func TestWorkerExecute(t *testing.T) {
	var seen []octavustest.TriggerRequest
	record := func(turn octavustest.Turn) octavustest.Turn {
		return octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn { seen = append(seen, req); return turn })
	}
	srv := newServer(t)
	agent := srv.AddAgent(octavustest.Agent{Name: "Titles", Format: "worker", Script: []octavustest.Turn{
		record(octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "lookup", Args: map[string]any{"q": "x"}})),
		record(octavustest.Stream(octavustest.WorkerExecution{ID: "w1", Slug: "titles", Output: "A title"})),
		record(octavustest.Stream(octavustest.Text("t"), octavustest.Usage(octavustest.UsageInfo{TotalFee: 0.5, InputTokens: 2}))),
	}})
	start := `{"type":"start","input":{"SUMMARY":"s"},"dynamicToolSchemas":[{"name":"lookup","description":"d","inputSchema":{"type":"object"}}]}`
	events := execute(t, srv, agent, start)
	// A leg that waits for tool results ends without usage: the platform
	// sends it once, at the end of the execution.
	equalJSON(t, types(events), `["start","tool-input-start","tool-input-delta","tool-input-end","tool-input-available",
		"tool-request","finish"]`)
	equalJSON(t, events[0], `{"type":"start","messageId":"msg_1","executionId":"exec_1"}`)
	equalJSON(t, events[len(events)-1], `{"type":"finish","finishReason":"tool-calls","executionId":"exec_1"}`)

	events = execute(t, srv, agent, `{"type":"continue","executionId":"exec_1","toolResults":[{"toolCallId":"c1","toolName":"lookup","result":1}]}`)
	equalJSON(t, types(events), `["start","worker-start","worker-result","finish","usage"]`)
	equalJSON(t, events[2], `{"type":"worker-result","workerId":"w1","output":"A title"}`)
	// Without a scripted usage, the leg that ends the execution ends with a zero one.
	equalJSON(t, events[len(events)-1], `{"type":"usage","cost":{"currency":"USD","bandwidthFee":0,"providerFee":0,"totalFee":0,"byok":false},
		"tokens":{"inputTokens":0,"outputTokens":0,"totalTokens":0}}`)

	// A scripted usage is the only one.
	events = execute(t, srv, agent, `{"type":"start","input":{}}`)
	equalJSON(t, types(events), `["start","text-start","text-delta","text-end","finish","usage"]`)
	if events[0]["executionId"] != "exec_2" || events[5]["cost"].(map[string]any)["totalFee"] != 0.5 {
		t.Fatalf("events %v", events)
	}

	if len(seen) != 3 {
		t.Fatalf("%d legs reached the script", len(seen))
	}
	if s := seen[0]; s.Endpoint != octavustest.EndpointExecute || s.SessionID != "exec_1" || s.AgentID != agent ||
		s.ExecutionID != "" || len(s.DynamicToolSchemas) != 1 || s.DynamicToolSchemas[0].Name != "lookup" {
		t.Errorf("start seen as %+v", s)
	}
	equalJSON(t, seen[0].Input, `{"SUMMARY":"s"}`)
	if s := seen[1]; s.ExecutionID != "exec_1" || len(s.ToolResults) != 1 || s.ToolResults[0].Result != 1.0 {
		t.Errorf("continue seen as %+v", s)
	}
	// The execution is a session: its messages and logs can be read.
	got := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/exec_1?format=ui", "", http.StatusOK)
	if msgs := got["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["role"] != "assistant" {
		t.Fatalf("messages %v", got["messages"])
	}
}

func TestWorkerExecuteErrors(t *testing.T) {
	srv := newServer(t)
	worker := srv.AddAgent(octavustest.Agent{Format: "worker", Script: []octavustest.Turn{
		octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "lookup"}),
		octavustest.Repeat(octavustest.Stream()),
	}})
	chat := srv.AddAgent(octavustest.Agent{})
	execute(t, srv, worker, `{"type":"start","input":{}}`) // exec_1 waits for c1
	for name, tc := range map[string]struct {
		agent, body string
		status      int
		code        string
	}{
		"no type":             {worker, `{"input":{}}`, 400, "VALIDATION_ERROR"},
		"bad type":            {worker, `{"type":"trigger","input":{}}`, 400, "VALIDATION_ERROR"},
		"start without input": {worker, `{"type":"start"}`, 400, "VALIDATION_ERROR"},
		"start with results":  {worker, `{"type":"start","input":{},"toolResults":[]}`, 400, "VALIDATION_ERROR"},
		"continue with schemas": {worker, `{"type":"continue","executionId":"exec_1","toolResults":[{"toolCallId":"c1"}],
			"dynamicToolSchemas":[]}`, 400, "VALIDATION_ERROR"},
		"continue without results": {worker, `{"type":"continue","executionId":"exec_1"}`, 400, "VALIDATION_ERROR"},
		"wrong toolCallId":         {worker, `{"type":"continue","executionId":"exec_1","toolResults":[{"toolCallId":"c2"}]}`, 400, "VALIDATION_ERROR"},
		"unknown execution":        {worker, `{"type":"continue","executionId":"exec_9","toolResults":[]}`, 404, "NOT_FOUND"},
		"unknown agent":            {"agent_9", `{"type":"start","input":{}}`, 404, "NOT_FOUND"},
		"interactive agent":        {chat, `{"type":"start","input":{}}`, 400, "VALIDATION_ERROR"},
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, executePath(tc.agent), tc.body)
			wantError(t, status, b, tc.status, tc.code)
		})
	}
	status, _, b := call(t, srv, http.MethodGet, executePath(worker), "")
	wantError(t, status, b, 405, "METHOD_NOT_ALLOWED")

	// Faults as for /trigger: FailNextTriggers answers the leg, the script
	// does not advance, and the execution still waits for its result.
	srv.FailNextTriggers(1, octavustest.Failure{Status: 429, RetryAfter: "1"})
	cont := `{"type":"continue","executionId":"exec_1","toolResults":[{"toolCallId":"c1"}]}`
	status, h, b := call(t, srv, http.MethodPost, executePath(worker), cont)
	if wantError(t, status, b, 429, "RATE_LIMITED"); h.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", h.Get("Retry-After"))
	}
	if evs := execute(t, srv, worker, cont); evs[len(evs)-2]["finishReason"] != "stop" {
		t.Errorf("continuation after the fault: %v", types(evs))
	}
}

// A worker agent's script plays across its executions, so a retried start
// gets the next turn, and a Cut leg ends without finish or usage.
func TestWorkerScriptAcrossExecutions(t *testing.T) {
	srv := newServer(t)
	agent := srv.AddAgent(octavustest.Agent{Format: "worker", Script: []octavustest.Turn{
		octavustest.Failure{Status: 500},
		octavustest.Stream(octavustest.Text("half"), octavustest.Cut()),
		octavustest.Stream(octavustest.WorkerExecution{Slug: "w", Output: 1}),
	}})
	status, _, b := call(t, srv, http.MethodPost, executePath(agent), `{"type":"start","input":{}}`)
	wantError(t, status, b, 500, "INTERNAL_SERVER_ERROR")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+executePath(agent), stringsReader(`{"type":"start","input":{}}`))
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := readAllLoose(resp); !strings.Contains(string(b), `"half"`) || strings.Contains(string(b), "usage") ||
		strings.Contains(string(b), "finish") {
		t.Fatalf("cut leg wrote %s", b)
	}
	events := execute(t, srv, agent, `{"type":"start","input":{}}`)
	if events[0]["executionId"] != "exec_3" || events[len(events)-1]["type"] != "usage" {
		t.Fatalf("third start: %v", events)
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// readAllLoose reads a body that may end early (a Cut) and closes it.
func readAllLoose(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
