package octavustest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

func TestStreamText(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Stream(octavustest.Text("Hello", " there!"))))
	id := srv.AddSession(octavustest.Session{AgentID: "agent_1"})
	status, h, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	if status != 200 || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" {
		t.Fatalf("status %d, headers %v", status, h)
	}
	want := `data: {"type":"start","executionId":"exec_1","messageId":"msg_2"}

data: {"type":"text-start","id":"text_1"}

data: {"type":"text-delta","delta":"Hello","id":"text_1"}

data: {"type":"text-delta","delta":" there!","id":"text_1"}

data: {"type":"text-end","id":"text_1"}

data: {"type":"finish","executionId":"exec_1","finishReason":"stop"}

data: [DONE]

`
	if string(b) != want {
		t.Fatalf("stream\n%s\nwant\n%s", b, want)
	}
}

// A tool round: the first POST requests tools, the second must continue the
// execution with a result for every call, and the script's next turn sees them.
func TestToolRound(t *testing.T) {
	var seen octavustest.TriggerRequest
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(
		octavustest.Stream(
			octavustest.Text("Let me look."),
			octavustest.ToolCall{Name: "get-user", Args: map[string]any{"id": "u1"}, Title: "Get user", Source: "llm"},
			octavustest.ToolCall{ID: "loc", Name: "get-location", OutputVariable: "LOC", BlockIndex: new(int)},
		),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			seen = req
			user := req.ToolResults[0].Result.(map[string]any)
			return octavustest.Stream(octavustest.Text(fmt.Sprintf("You are %v.", user["name"])))
		}),
	))
	id := srv.AddSession(octavustest.Session{AgentID: "agent_1"})
	events, done := trigger(t, srv, id, userMessage)
	if !done {
		t.Fatal("no [DONE]")
	}
	wantTypes := []string{"start", "text-start", "text-delta", "text-end",
		"tool-input-start", "tool-input-delta", "tool-input-end", "tool-input-available",
		"tool-input-start", "tool-input-delta", "tool-input-end", "tool-input-available",
		"tool-request", "finish"}
	if got := types(events); !reflect.DeepEqual(got, wantTypes) {
		t.Fatalf("types %v", got)
	}
	equalJSON(t, events[4], `{"type":"tool-input-start","toolCallId":"call_1","toolName":"get-user","title":"Get user"}`)
	equalJSON(t, events[5], `{"type":"tool-input-delta","toolCallId":"call_1","inputTextDelta":"{\"id\":\"u1\"}"}`)
	equalJSON(t, events[7], `{"type":"tool-input-available","toolCallId":"call_1","toolName":"get-user","input":{"id":"u1"}}`)
	equalJSON(t, events[11], `{"type":"tool-input-available","toolCallId":"loc","toolName":"get-location","input":{}}`)
	equalJSON(t, events[12], `{"type":"tool-request","toolCalls":[
		{"toolCallId":"call_1","toolName":"get-user","args":{"id":"u1"},"source":"llm"},
		{"toolCallId":"loc","toolName":"get-location","args":{},"outputVariable":"LOC","blockIndex":0}]}`)
	equalJSON(t, events[13], `{"type":"finish","finishReason":"tool-calls","executionId":"exec_1"}`)

	// Wrong continuations are answered 400 and do not advance the script.
	for name, body := range map[string]string{
		"new trigger":       userMessage,
		"no executionId":    `{"toolResults":[{"toolCallId":"call_1","result":1},{"toolCallId":"loc","result":2}]}`,
		"wrong executionId": `{"executionId":"exec_9","toolResults":[{"toolCallId":"call_1","result":1},{"toolCallId":"loc","result":2}]}`,
		"no toolResults":    `{"executionId":"exec_1"}`,
		"missing result":    `{"executionId":"exec_1","toolResults":[{"toolCallId":"call_1","result":1}]}`,
		"unknown call":      `{"executionId":"exec_1","toolResults":[{"toolCallId":"call_1","result":1},{"toolCallId":"loc","result":2},{"toolCallId":"x","result":3}]}`,
		"duplicate":         `{"executionId":"exec_1","toolResults":[{"toolCallId":"call_1","result":1},{"toolCallId":"call_1","result":1},{"toolCallId":"loc"}]}`,
		"no toolCallId":     `{"executionId":"exec_1","toolResults":[{"result":1}]}`,
		"error not text":    `{"executionId":"exec_1","toolResults":[{"toolCallId":"call_1","error":{}},{"toolCallId":"loc"}]}`,
		"thread not text":   `{"executionId":"exec_1","toolResults":[{"toolCallId":"call_1","thread":1},{"toolCallId":"loc"}]}`,
		"files not refs":    `{"executionId":"exec_1","toolResults":[{"toolCallId":"call_1","files":[{"id":"f"}]},{"toolCallId":"loc"}]}`,
		"results not array": `{"executionId":"exec_1","toolResults":{}}`,
		"type key":          `{"type":"continue","executionId":"exec_1","toolResults":[{"toolCallId":"call_1"},{"toolCallId":"loc"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, triggerPath(id), body)
			wantError(t, status, b, http.StatusBadRequest, "VALIDATION_ERROR")
		})
	}
	status, _, b := call(t, srv, http.MethodPost, triggerPath(id),
		`{"executionId":"exec_1","toolResults":[{"toolCallId":"call_1","result":1}]}`)
	if msg := decode(t, b)["error"].(string); status != 400 || !strings.Contains(msg, `"loc"`) {
		t.Fatalf("the 400 must name the missing call: %d %s", status, b)
	}

	// The SDK's server-tool continuation: trigger fields again, plus the results.
	events, _ = trigger(t, srv, id, `{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"},"executionId":"exec_1",
		"toolResults":[{"toolCallId":"call_1","toolName":"get-user","result":{"name":"Ada"}},
		{"toolCallId":"loc","toolName":"get-location","error":"denied","outputVariable":"LOC","blockIndex":0}]}`)
	equalJSON(t, events[0], `{"type":"start","messageId":"msg_3","executionId":"exec_1","lastMessageId":"msg_2"}`)
	equalJSON(t, events[2], `{"type":"text-delta","id":"text_2","delta":"You are Ada."}`)
	if seen.ExecutionID != "exec_1" || seen.TriggerName != "user-message" || seen.SessionID != id ||
		seen.AgentID != "agent_1" || len(seen.ToolResults) != 2 || seen.ToolResults[1].Error != "denied" ||
		seen.ToolResults[1].OutputVariable != "LOC" || *seen.ToolResults[1].BlockIndex != 0 ||
		seen.Input["USER_MESSAGE"] != "Hi" || !strings.Contains(string(seen.Body), "exec_1") {
		t.Fatalf("Respond saw %+v", seen)
	}

	// One user message, one assistant message for the whole execution.
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"], `[
		{"id":"msg_1","role":"user","status":"done","createdAt":"2024-01-15T10:30:00.000Z",
		 "parts":[{"type":"text","text":"Hi","status":"done"}]},
		{"id":"msg_2","role":"assistant","status":"done","createdAt":"2024-01-15T10:30:00.000Z","parts":[
		 {"type":"step-start"},
		 {"type":"text","text":"Let me look.","status":"done"},
		 {"type":"tool-call","toolCallId":"call_1","toolName":"get-user","displayName":"Get user","args":{"id":"u1"},"result":{"name":"Ada"},"status":"done"},
		 {"type":"tool-call","toolCallId":"loc","toolName":"get-location","args":{},"error":"denied","status":"error"},
		 {"type":"step-start"},
		 {"type":"text","text":"You are Ada.","status":"done"}]}]`)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["messages"].([]any)[1], `{"id":"msg_2","role":"assistant","createdAt":"2024-01-15T10:30:00.000Z",
		"content":"Let me look.You are Ada.",
		"parts":[{"type":"step-start","visible":true},{"type":"text","visible":true,"content":"Let me look."},
		 {"type":"tool-call","visible":true,"toolCall":{"id":"call_1","name":"get-user","arguments":{"id":"u1"},"status":"available","result":{"name":"Ada"}}},
		 {"type":"tool-call","visible":true,"toolCall":{"id":"loc","name":"get-location","arguments":{},"status":"error","error":"denied"}},
		 {"type":"step-start","visible":true},
		 {"type":"text","visible":true,"content":"You are Ada."}],
		"toolCalls":[{"id":"call_1","name":"get-user","arguments":{"id":"u1"},"status":"available","result":{"name":"Ada"}},
		 {"id":"loc","name":"get-location","arguments":{},"status":"error","error":"denied"}]}`)

	// The execution is over: continuing it again is wrong.
	status, _, b = call(t, srv, http.MethodPost, triggerPath(id), `{"executionId":"exec_1","toolResults":[]}`)
	wantError(t, status, b, http.StatusBadRequest, "VALIDATION_ERROR")
}

// The browser's continue request carries only executionId and toolResults.
func TestClientToolContinue(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(
		octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "confirm"}),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			return octavustest.Stream(octavustest.Text(fmt.Sprintf("%s %q %v %v", req.ExecutionID, req.TriggerName,
				req.Input == nil, req.ToolResults[0].Result)))
		}),
	))
	id := srv.AddSession(octavustest.Session{})
	trigger(t, srv, id, userMessage)
	events, _ := trigger(t, srv, id, `{"executionId":"exec_1","toolResults":[{"toolCallId":"c1","toolName":"confirm","result":null}]}`)
	equalJSON(t, events[2]["delta"], `"exec_1 \"\" true <nil>"`)
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	part := ui["messages"].([]any)[1].(map[string]any)["parts"].([]any)[1]
	equalJSON(t, part, `{"type":"tool-call","toolCallId":"c1","toolName":"confirm","args":{},"result":null,"status":"done"}`)
}

func TestTriggerValidation(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Repeat(octavustest.Stream())))
	id := srv.AddSession(octavustest.Session{})
	for name, tc := range map[string]struct {
		path, body string
		status     int
		code       string
	}{
		"unknown session":      {triggerPath("nope"), userMessage, 404, "NOT_FOUND"},
		"bad JSON":             {triggerPath(id), `{"triggerName":`, 400, "VALIDATION_ERROR"},
		"no triggerName":       {triggerPath(id), `{"input":{}}`, 400, "VALIDATION_ERROR"},
		"triggerName not text": {triggerPath(id), `{"triggerName":1}`, 400, "VALIDATION_ERROR"},
		"input not object":     {triggerPath(id), `{"triggerName":"t","input":"x"}`, 400, "VALIDATION_ERROR"},
		"sessionId key":        {triggerPath(id), `{"sessionId":"x","triggerName":"t"}`, 400, "VALIDATION_ERROR"},
		"nothing pending":      {triggerPath(id), `{"executionId":"exec_1","toolResults":[]}`, 400, "VALIDATION_ERROR"},
		"results without id":   {triggerPath(id), `{"toolResults":[]}`, 400, "VALIDATION_ERROR"},
		"empty executionId":    {triggerPath(id), `{"triggerName":"t","executionId":""}`, 400, "VALIDATION_ERROR"},
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, tc.path, tc.body)
			wantError(t, status, b, tc.status, tc.code)
		})
	}
	// A trigger without input is fine and adds no user message.
	events, _ := trigger(t, srv, id, `{"triggerName":"t"}`)
	if got := types(events); !reflect.DeepEqual(got, []string{"start", "finish"}) {
		t.Fatalf("types %v", got)
	}
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"], `[]`)
}

func TestScriptSelection(t *testing.T) {
	say := func(s string) octavustest.Turn { return octavustest.Stream(octavustest.Text(s)) }
	srv := newServer(t, octavustest.WithScript(say("default 1"), say("default 2")))
	scripted := srv.AddAgent(octavustest.Agent{Script: []octavustest.Turn{say("agent")}})
	plain := srv.AddAgent(octavustest.Agent{})
	text := func(id string) string {
		t.Helper()
		events, _ := trigger(t, srv, id, userMessage)
		return events[2]["delta"].(string)
	}
	a := srv.AddSession(octavustest.Session{AgentID: plain})
	b := srv.AddSession(octavustest.Session{AgentID: plain})
	c := srv.AddSession(octavustest.Session{AgentID: scripted})
	d := srv.AddSession(octavustest.Session{AgentID: scripted, Script: []octavustest.Turn{say("session")}})
	// Each session plays its script from the start.
	for _, tc := range []struct{ id, want string }{
		{a, "default 1"}, {b, "default 1"}, {a, "default 2"}, {c, "agent"}, {d, "session"},
	} {
		if got := text(tc.id); got != tc.want {
			t.Fatalf("session %s said %q, want %q", tc.id, got, tc.want)
		}
	}
	status, _, body := call(t, srv, http.MethodPost, triggerPath(a), userMessage)
	wantError(t, status, body, http.StatusInternalServerError, "SCRIPT_EXHAUSTED")

	if !srv.SetScript(a, say("again"), octavustest.Repeat(say("forever"))) {
		t.Fatal("SetScript: not found")
	}
	for _, want := range []string{"again", "forever", "forever", "forever"} {
		if got := text(a); got != want {
			t.Fatalf("said %q, want %q", got, want)
		}
	}

	// A session created through the API plays its agent's script.
	created := callJSON(t, srv, http.MethodPost, "/api/agent-sessions", `{"agentId":"`+scripted+`"}`, 201)
	if got := text(created["sessionId"].(string)); got != "agent" {
		t.Fatalf("said %q", got)
	}
}

func TestFailureTurn(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(
		octavustest.Failure{Status: 429, RetryAfter: "7"},
		octavustest.Failure{Status: 503, Body: `{"error":"overloaded","code":"BUSY"}`},
		octavustest.Failure{Body: "boom", ContentType: "text/plain"},
		octavustest.Respond(func(octavustest.TriggerRequest) octavustest.Turn { return octavustest.Failure{Status: 400} }),
		octavustest.Respond(func(octavustest.TriggerRequest) octavustest.Turn { return nil }),
	))
	id := srv.AddSession(octavustest.Session{})
	status, h, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	wantError(t, status, b, 429, "RATE_LIMITED")
	if h.Get("Retry-After") != "7" {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	status, h, b = call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	if status != 503 || string(b) != `{"error":"overloaded","code":"BUSY"}` || h.Get("Retry-After") != "" ||
		h.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v %s", status, h, b)
	}
	status, h, b = call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	if status != 500 || string(b) != "boom" || h.Get("Content-Type") != "text/plain" {
		t.Fatalf("%d %v %s", status, h, b)
	}
	status, _, b = call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	wantError(t, status, b, 400, "VALIDATION_ERROR")
	status, _, b = call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	wantError(t, status, b, 500, "SCRIPT_ERROR")
	// Failed triggers leave no trace in the history.
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"], `[]`)
}

// A Failure on a continuation leaves the tool calls pending, so the same
// continuation can be sent again.
func TestFailureKeepsPendingTools(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(
		octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "t"}),
		octavustest.Failure{Status: 502},
		octavustest.Stream(octavustest.Text("done")),
	))
	id := srv.AddSession(octavustest.Session{})
	trigger(t, srv, id, userMessage)
	cont := `{"executionId":"exec_1","toolResults":[{"toolCallId":"c1","result":1}]}`
	status, _, b := call(t, srv, http.MethodPost, triggerPath(id), cont)
	wantError(t, status, b, 502, "BAD_GATEWAY")
	events, _ := trigger(t, srv, id, cont)
	if events[2]["delta"] != "done" {
		t.Fatalf("events %v", events)
	}
}

func TestHandlerTurn(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(
		octavustest.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"type\":\"start\"}\n\n: body was %s\n\ndata: [DONE]\n\n", b)
		})),
		octavustest.Stream(),
	))
	id := srv.AddSession(octavustest.Session{})
	status, _, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	if want := "data: {\"type\":\"start\"}\n\n: body was " + userMessage + "\n\ndata: [DONE]\n\n"; status != 200 || string(b) != want {
		t.Fatalf("%d %q", status, b)
	}
	// The handler's trigger was accepted: its user message is in the history
	// and the execution ids go on.
	events, _ := trigger(t, srv, id, userMessage)
	equalJSON(t, events[0], `{"type":"start","messageId":"msg_3","executionId":"exec_2","lastMessageId":"msg_1"}`)
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	if n := len(ui["messages"].([]any)); n != 2 {
		t.Fatalf("%d messages, want the 2 user messages", n)
	}
}

// Events pins every event: here a start without executionId, and an explicit
// finish that the queued tool-request goes before.
func TestEventsTurn(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(
		octavustest.Events(
			octavustest.Event(map[string]any{"type": "start", "messageId": "m1"}),
			octavustest.ToolCall{ID: "c1", Name: "t"},
			octavustest.Event(map[string]any{"type": "finish", "finishReason": "tool-calls"}),
		),
		octavustest.Events(octavustest.ToolCall{ID: "c2", Name: "t"}),
	))
	id := srv.AddSession(octavustest.Session{})
	events, done := trigger(t, srv, id, userMessage)
	want := []string{"start", "tool-input-start", "tool-input-delta", "tool-input-end", "tool-input-available", "tool-request", "finish"}
	if got := types(events); !done || !reflect.DeepEqual(got, want) {
		t.Fatalf("types %v, done %v", got, done)
	}
	equalJSON(t, events[0], `{"type":"start","messageId":"m1"}`)
	equalJSON(t, events[6], `{"type":"finish","finishReason":"tool-calls"}`)
	// The server still knows which execution waits: the one it assigned.
	events, _ = trigger(t, srv, id, `{"executionId":"exec_1","toolResults":[{"toolCallId":"c1","result":1}]}`)
	want = []string{"tool-input-start", "tool-input-delta", "tool-input-end", "tool-input-available", "tool-request"}
	if got := types(events); !reflect.DeepEqual(got, want) {
		t.Fatalf("types %v", got)
	}
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	// Two legs, two steps: a step-start and a tool call each.
	if m := ui["messages"].([]any)[1].(map[string]any); m["id"] != "m1" || len(m["parts"].([]any)) != 4 {
		t.Fatalf("assistant message %v", m)
	}
}

// Reasoning, blocks, sources, files, resources and a chosen finish reason,
// and how each lands in the history.
func TestPartsAndHistory(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(octavustest.Stream(
		octavustest.Reasoning("Think", "ing"),
		octavustest.Block("Respond", octavustest.Text("A", "B")),
		octavustest.Source("https://example.com", "Example"),
		octavustest.Source("https://example.org", ""),
		octavustest.File("image/png", "https://files/x.png", "x.png"),
		octavustest.File("text/plain", "https://files/y", ""),
		octavustest.ResourceUpdate("SUMMARY", map[string]any{"n": 1}),
		octavustest.Finish("length"),
	)))
	id := srv.AddSession(octavustest.Session{})
	events, done := trigger(t, srv, id, `{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi",
		"FILES":[{"id":"f1","mediaType":"image/png","url":"https://u/f1","filename":"a.png","size":3}],
		"DOC":{"id":"f2","mediaType":"text/plain","url":"https://u/f2"}}}`)
	if !done {
		t.Fatal("no [DONE]")
	}
	want := []string{"start", "reasoning-start", "reasoning-delta", "reasoning-delta", "reasoning-end",
		"block-start", "text-start", "text-delta", "text-delta", "text-end", "block-end",
		"source", "source", "file-available", "file-available", "resource-update", "finish"}
	if got := types(events); !reflect.DeepEqual(got, want) {
		t.Fatalf("types %v", got)
	}
	equalJSON(t, events[5], `{"type":"block-start","blockId":"block_1","blockName":"Respond","blockType":"next-message","display":"stream","outputToChat":true}`)
	equalJSON(t, events[10], `{"type":"block-end","blockId":"block_1"}`)
	equalJSON(t, events[11], `{"type":"source","sourceType":"url","id":"src_1","url":"https://example.com","title":"Example"}`)
	equalJSON(t, events[12], `{"type":"source","sourceType":"url","id":"src_2","url":"https://example.org"}`)
	equalJSON(t, events[13], `{"type":"file-available","id":"file_1","mediaType":"image/png","url":"https://files/x.png","filename":"x.png"}`)
	equalJSON(t, events[15], `{"type":"resource-update","name":"SUMMARY","value":{"n":1}}`)
	equalJSON(t, events[16], `{"type":"finish","finishReason":"length","executionId":"exec_1"}`)

	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"], `[
		{"id":"msg_1","role":"user","status":"done","createdAt":"2024-01-15T10:30:00.000Z","parts":[
		 {"type":"file","id":"f2","mediaType":"text/plain","url":"https://u/f2"},
		 {"type":"file","id":"f1","mediaType":"image/png","url":"https://u/f1","filename":"a.png","size":3},
		 {"type":"text","text":"Hi","status":"done"}]},
		{"id":"msg_2","role":"assistant","status":"done","createdAt":"2024-01-15T10:30:00.000Z","parts":[
		 {"type":"step-start"},
		 {"type":"reasoning","text":"Thinking","status":"done"},
		 {"type":"text","text":"AB","status":"done"},
		 {"type":"source","sourceType":"url","id":"src_1","url":"https://example.com","title":"Example"},
		 {"type":"source","sourceType":"url","id":"src_2","url":"https://example.org"},
		 {"type":"file","id":"file_1","mediaType":"image/png","url":"https://files/x.png","filename":"x.png"},
		 {"type":"file","id":"file_2","mediaType":"text/plain","url":"https://files/y"}]}]`)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["resources"], `{"SUMMARY":{"n":1}}`)
	equalJSON(t, full["messages"].([]any)[1], `{"id":"msg_2","role":"assistant","createdAt":"2024-01-15T10:30:00.000Z",
		"content":"AB","parts":[
		 {"type":"step-start","visible":true},
		 {"type":"reasoning","visible":true,"content":"Thinking"},
		 {"type":"text","visible":true,"content":"AB"},
		 {"type":"source","visible":true,"source":{"sourceType":"url","id":"src_1","url":"https://example.com","title":"Example"}},
		 {"type":"source","visible":true,"source":{"sourceType":"url","id":"src_2","url":"https://example.org"}},
		 {"type":"file","visible":true,"file":{"id":"file_1","mediaType":"image/png","url":"https://files/x.png","filename":"x.png"}},
		 {"type":"file","visible":true,"file":{"id":"file_2","mediaType":"text/plain","url":"https://files/y"}}]}`)
}

// Raw events for hidden blocks, threads, operations, structured output and
// tool outputs streamed by the platform itself.
func TestEventHistory(t *testing.T) {
	ev := func(s string) octavustest.Part { return octavustest.Event(jsonOf(t, s)) }
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(octavustest.Stream(
		ev(`{"type":"reasoning-start","id":"r0"}`), ev(`{"type":"reasoning-delta","id":"r0","delta":"hmm"}`), // never ended
		ev(`{"type":"block-start","blockId":"b1","blockName":"Summarize","blockType":"next-message","display":"hidden","outputToChat":false}`),
		ev(`{"type":"text-start","id":"t1"}`), ev(`{"type":"text-delta","id":"t1","delta":"secret"}`), ev(`{"type":"text-end","id":"t1"}`),
		ev(`{"type":"block-end","blockId":"b1"}`),
		ev(`{"type":"block-start","blockId":"b2","blockName":"Side","blockType":"next-message","display":"stream","outputToChat":false,"thread":"side"}`),
		ev(`{"type":"text-start","id":"t2"}`), ev(`{"type":"text-delta","id":"t2","delta":"aside"}`), ev(`{"type":"text-end","id":"t2"}`),
		ev(`{"type":"block-end","blockId":"b2"}`),
		ev(`{"type":"block-start","blockId":"b3","blockName":"Save","blockType":"set-resource","display":"name","description":"Saving"}`),
		ev(`{"type":"block-end","blockId":"b3"}`),
		ev(`{"type":"text-start","id":"o1","responseType":"Plan"}`), ev(`{"type":"text-delta","id":"o1","delta":"{\"a\":"}`),
		ev(`{"type":"text-delta","id":"o1","delta":"1}"}`), ev(`{"type":"text-end","id":"o1"}`),
		ev(`{"type":"text-start","id":"o2","responseType":"Bad"}`), ev(`{"type":"text-delta","id":"o2","delta":"{"}`), ev(`{"type":"text-end","id":"o2"}`),
		ev(`{"type":"tool-input-start","toolCallId":"p1","toolName":"search"}`),
		ev(`{"type":"tool-input-available","toolCallId":"p1","toolName":"search","input":{"q":"x"}}`),
		ev(`{"type":"tool-output-available","toolCallId":"p1","output":[1]}`),
		ev(`{"type":"tool-input-start","toolCallId":"p2","toolName":"search"}`),
		ev(`{"type":"tool-output-error","toolCallId":"p2","error":"nope"}`),
		ev(`{"type":"source","sourceType":"document","id":"d1","mediaType":"application/pdf","title":"Doc"}`),
		ev(`{"type":"text-start","id":"t3"}`), ev(`{"type":"text-delta","id":"t3","delta":"cut short"}`),
	)))
	id := srv.AddSession(octavustest.Session{})
	trigger(t, srv, id, `{"triggerName":"go"}`)
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"], `[{"id":"msg_1","role":"assistant","status":"done","createdAt":"2024-01-15T10:30:00.000Z","parts":[
		{"type":"step-start"},
		{"type":"reasoning","text":"hmm","status":"done"},
		{"type":"text","text":"aside","status":"done","thread":"side"},
		{"type":"operation","operationId":"b3","name":"Saving","operationType":"set-resource","status":"done"},
		{"type":"object","id":"o1","typeName":"Plan","partial":{"a":1},"object":{"a":1},"status":"done"},
		{"type":"object","id":"o2","typeName":"Bad","status":"error","error":"Failed to parse response as JSON"},
		{"type":"tool-call","toolCallId":"p1","toolName":"search","args":{"q":"x"},"result":[1],"status":"done"},
		{"type":"tool-call","toolCallId":"p2","toolName":"search","args":{},"error":"nope","status":"error"},
		{"type":"source","sourceType":"document","id":"d1","mediaType":"application/pdf","title":"Doc"},
		{"type":"text","text":"cut short","status":"done"}]}]`)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["messages"], `[{"id":"msg_1","role":"assistant","createdAt":"2024-01-15T10:30:00.000Z",
		"content":"asidecut short","parts":[
		{"type":"step-start","visible":true},
		{"type":"reasoning","visible":true,"content":"hmm"},
		{"type":"text","visible":false,"content":"secret"},
		{"type":"text","visible":true,"content":"aside","thread":"side"},
		{"type":"operation","visible":true,"operation":{"id":"b3","name":"Saving","operationType":"set-resource"}},
		{"type":"object","visible":true,"object":{"id":"o1","typeName":"Plan","value":{"a":1}}},
		{"type":"object","visible":true,"object":{"id":"o2","typeName":"Bad"}},
		{"type":"tool-call","visible":true,"toolCall":{"id":"p1","name":"search","arguments":{"q":"x"},"status":"available","result":[1]}},
		{"type":"tool-call","visible":true,"toolCall":{"id":"p2","name":"search","arguments":{},"status":"error","error":"nope"}},
		{"type":"source","visible":true,"source":{"sourceType":"document","id":"d1","mediaType":"application/pdf","title":"Doc"}},
		{"type":"text","visible":true,"content":"cut short"}],
		"toolCalls":[{"id":"p1","name":"search","arguments":{"q":"x"},"status":"available","result":[1]},
		 {"id":"p2","name":"search","arguments":{},"status":"error","error":"nope"}]}]`)
}

func TestEventPanicsOnNonObject(t *testing.T) {
	for _, v := range []any{[]int{1}, "x", make(chan int)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Event(%T) did not panic", v)
				}
			}()
			octavustest.Event(v)
		}()
	}
}

func TestLenientContinuations(t *testing.T) {
	srv := newServer(t, octavustest.WithLenientContinuations(), octavustest.WithScript(
		octavustest.Stream(octavustest.Text("resumed")),
		octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "t"}),
		octavustest.Stream(octavustest.Text("fresh")),
	))
	id := srv.AddSession(octavustest.Session{})
	// A continuation of an execution this server never started.
	events, _ := trigger(t, srv, id, `{"executionId":"exec_mix","toolResults":[{"toolCallId":"x","result":1}]}`)
	equalJSON(t, events[0], `{"type":"start","messageId":"msg_1","executionId":"exec_mix"}`)
	// A new trigger while tool calls are pending drops them.
	trigger(t, srv, id, `{"triggerName":"t"}`)
	events, _ = trigger(t, srv, id, `{"triggerName":"t"}`)
	if events[2]["delta"] != "fresh" {
		t.Fatalf("events %v", events)
	}
}

// Event writes numbers exactly as given, even past float64 precision.
func TestEventKeepsNumbers(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Events(
		octavustest.Event(json.RawMessage(`{"type":"resource-update","name":"N","value":12345678901234567890}`)),
	)))
	id := srv.AddSession(octavustest.Session{})
	_, _, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	if want := "data: {\"type\":\"resource-update\",\"name\":\"N\",\"value\":12345678901234567890}\n\ndata: [DONE]\n\n"; string(b) != want {
		t.Fatalf("%q", b)
	}
}
