package octavustest_test

import (
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

// A worker execution: its events carry the workerId, and the history keeps
// them as the worker part's nested parts (UI) or nestedParts (ChatMessage).
func TestWorker(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(octavustest.Stream(
		octavustest.Text("Asking the researcher."),
		octavustest.WorkerExecution{
			Slug: "researcher", Description: "Researching", Input: map[string]any{"topic": "go"},
			StreamInput: true,
			Parts: []octavustest.Part{
				octavustest.Reasoning("hm"),
				octavustest.Text("Found it."),
				octavustest.Source("https://go.dev", "Go"),
			},
			Output: map[string]any{"answer": 42},
		},
		octavustest.Worker("writer", octavustest.Text("Draft")),
		octavustest.WorkerExecution{ID: "w_bad", Slug: "broken", Error: "boom"},
	)))
	id := srv.AddSession(octavustest.Session{})
	events, done := trigger(t, srv, id, userMessage)
	if !done {
		t.Fatal("no [DONE]")
	}
	want := []string{"start", "text-start", "text-delta", "text-end",
		"worker-input-start", "worker-input-delta", "worker-input-ready", "worker-start",
		"reasoning-start", "reasoning-delta", "reasoning-end", "text-start", "text-delta", "text-end", "source",
		"worker-result",
		"worker-start", "text-start", "text-delta", "text-end", "worker-result",
		"worker-start", "worker-result", "finish"}
	if got := types(events); !reflect.DeepEqual(got, want) {
		t.Fatalf("types %v", got)
	}
	equalJSON(t, events[4], `{"type":"worker-input-start","workerId":"worker_1","workerSlug":"researcher","description":"Researching"}`)
	equalJSON(t, events[5], `{"type":"worker-input-delta","workerId":"worker_1","delta":"{\"topic\":\"go\"}"}`)
	equalJSON(t, events[6], `{"type":"worker-input-ready","workerId":"worker_1","input":{"topic":"go"}}`)
	equalJSON(t, events[7], `{"type":"worker-start","workerId":"worker_1","workerSlug":"researcher","description":"Researching","input":{"topic":"go"}}`)
	equalJSON(t, events[8], `{"type":"reasoning-start","id":"reasoning_1","workerId":"worker_1"}`)
	equalJSON(t, events[12], `{"type":"text-delta","id":"text_2","delta":"Found it.","workerId":"worker_1"}`)
	equalJSON(t, events[14], `{"type":"source","sourceType":"url","id":"src_1","url":"https://go.dev","title":"Go","workerId":"worker_1"}`)
	equalJSON(t, events[15], `{"type":"worker-result","workerId":"worker_1","output":{"answer":42}}`)
	equalJSON(t, events[16], `{"type":"worker-start","workerId":"worker_2","workerSlug":"writer"}`)
	equalJSON(t, events[18], `{"type":"text-delta","id":"text_3","delta":"Draft","workerId":"worker_2"}`)
	equalJSON(t, events[20], `{"type":"worker-result","workerId":"worker_2"}`)
	equalJSON(t, events[22], `{"type":"worker-result","workerId":"w_bad","error":"boom"}`)
	if _, ok := events[1]["workerId"]; ok {
		t.Fatalf("the agent's own text carries a workerId: %v", events[1])
	}

	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"].([]any)[1].(map[string]any)["parts"], `[
		{"type":"step-start"},
		{"type":"text","text":"Asking the researcher.","status":"done"},
		{"type":"worker","workerId":"worker_1","workerSlug":"researcher","description":"Researching",
		 "input":{"topic":"go"},"output":{"answer":42},"status":"done","parts":[
		 {"type":"reasoning","text":"hm","status":"done"},
		 {"type":"text","text":"Found it.","status":"done"},
		 {"type":"source","sourceType":"url","id":"src_1","url":"https://go.dev","title":"Go"}]},
		{"type":"worker","workerId":"worker_2","workerSlug":"writer","status":"done","parts":[
		 {"type":"text","text":"Draft","status":"done"}]},
		{"type":"worker","workerId":"w_bad","workerSlug":"broken","status":"error","error":"boom","parts":[]}]`)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["messages"].([]any)[1], `{"id":"msg_2","role":"assistant","createdAt":"2024-01-15T10:30:00.000Z",
		"content":"Asking the researcher.","parts":[
		{"type":"step-start","visible":true},
		{"type":"text","visible":true,"content":"Asking the researcher."},
		{"type":"worker","visible":true,"worker":{"workerId":"worker_1","workerSlug":"researcher","description":"Researching",
		 "input":{"topic":"go"},"output":{"answer":42},"nestedParts":[
		 {"type":"reasoning","visible":true,"content":"hm"},
		 {"type":"text","visible":true,"content":"Found it."},
		 {"type":"source","visible":true,"source":{"sourceType":"url","id":"src_1","url":"https://go.dev","title":"Go"}}]}},
		{"type":"worker","visible":true,"worker":{"workerId":"worker_2","workerSlug":"writer","nestedParts":[
		 {"type":"text","visible":true,"content":"Draft"}]}},
		{"type":"worker","visible":true,"worker":{"workerId":"w_bad","workerSlug":"broken","error":"boom","nestedParts":[]}}]}`)
}

// A worker's tool call waits for the SDK: the pending call and the
// tool-request carry the workerId, the result lands in the worker part, and
// the next turn goes on with the same worker.
func TestWorkerToolCall(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(
		octavustest.Stream(octavustest.WorkerExecution{ID: "w1", Slug: "finder", Open: true,
			Parts: []octavustest.Part{octavustest.ToolCall{ID: "c1", Name: "search", Thread: "research"}}}),
		octavustest.Stream(octavustest.WorkerExecution{ID: "w1", Slug: "finder",
			Parts: []octavustest.Part{octavustest.Text("ok")}, Output: "done"}),
	))
	id := srv.AddSession(octavustest.Session{})
	events, _ := trigger(t, srv, id, userMessage)
	want := []string{"start", "worker-start", "tool-input-start", "tool-input-delta", "tool-input-end",
		"tool-input-available", "tool-request", "finish"}
	if got := types(events); !reflect.DeepEqual(got, want) {
		t.Fatalf("types %v", got)
	}
	equalJSON(t, events[2], `{"type":"tool-input-start","toolCallId":"c1","toolName":"search","workerId":"w1"}`)
	equalJSON(t, events[6], `{"type":"tool-request","workerId":"w1","toolCalls":[
		{"toolCallId":"c1","toolName":"search","args":{},"thread":"research","workerId":"w1"}]}`)

	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"].([]any)[1].(map[string]any)["parts"], `[{"type":"step-start"},
		{"type":"worker","workerId":"w1","workerSlug":"finder","status":"running","parts":[
		 {"type":"tool-call","toolCallId":"c1","toolName":"search","args":{},"status":"running"}]}]`)

	trigger(t, srv, id, `{"executionId":"exec_1","toolResults":[{"toolCallId":"c1","toolName":"search","result":[1],"thread":"research","workerId":"w1"}]}`)
	ui = callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"].([]any)[1].(map[string]any)["parts"], `[{"type":"step-start"},
		{"type":"worker","workerId":"w1","workerSlug":"finder","status":"done","output":"done","parts":[
		 {"type":"tool-call","toolCallId":"c1","toolName":"search","args":{},"result":[1],"status":"done"},
		 {"type":"text","text":"ok","status":"done"}]}]`)
}

// Each todo-update replaces the todo list; the history keeps one todo part.
func TestTodos(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(octavustest.Stream(
		octavustest.Todos(octavustest.TodoItem{Content: "Plan"}, octavustest.TodoItem{ID: "t2", Content: "Write", Status: "in_progress"}),
		octavustest.Text("working"),
		octavustest.Todos(octavustest.TodoItem{Content: "Plan", Status: "completed"}, octavustest.TodoItem{ID: "t2", Content: "Write", Status: "completed"}),
		octavustest.Worker("helper", octavustest.Todos(octavustest.TodoItem{Content: "Sub", Status: "cancelled"})),
	)))
	id := srv.AddSession(octavustest.Session{})
	events, _ := trigger(t, srv, id, userMessage)
	equalJSON(t, events[1], `{"type":"todo-update","todos":[{"id":"todo_1","content":"Plan","status":"pending"},
		{"id":"t2","content":"Write","status":"in_progress"}]}`)
	equalJSON(t, events[5], `{"type":"todo-update","todos":[{"id":"todo_1","content":"Plan","status":"completed"},
		{"id":"t2","content":"Write","status":"completed"}]}`)
	equalJSON(t, events[7], `{"type":"todo-update","workerId":"worker_1","todos":[{"id":"todo_1","content":"Sub","status":"cancelled"}]}`)

	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"].([]any)[1].(map[string]any)["parts"], `[{"type":"step-start"},
		{"type":"todo","status":"done","todos":[{"id":"todo_1","content":"Plan","status":"completed"},
		 {"id":"t2","content":"Write","status":"completed"}]},
		{"type":"text","text":"working","status":"done"},
		{"type":"worker","workerId":"worker_1","workerSlug":"helper","status":"done","parts":[
		 {"type":"todo","status":"done","todos":[{"id":"todo_1","content":"Sub","status":"cancelled"}]}]}]`)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["messages"].([]any)[1].(map[string]any)["parts"].([]any)[1], `{"type":"todo","visible":true,
		"todo":{"todos":[{"id":"todo_1","content":"Plan","status":"completed"},{"id":"t2","content":"Write","status":"completed"}]}}`)
}

// usage comes after finish, as the platform writes it.
func TestUsage(t *testing.T) {
	fee := 0.25
	u := octavustest.UsageInfo{BandwidthFee: 0.5, ProviderFee: 1.5, TotalFee: 2, EstimatedProviderFee: &fee,
		InputTokens: 10, OutputTokens: 5}
	srv := newServer(t, octavustest.WithScript(
		octavustest.Stream(octavustest.Usage(u), octavustest.Text("hi")),
		octavustest.Stream(octavustest.Text("a"), octavustest.Finish("stop"), octavustest.Usage(octavustest.UsageInfo{
			Currency: "EUR", BYOK: true, InputTokens: 1, OutputTokens: 2, TotalTokens: 4})),
		octavustest.Events(octavustest.Usage(octavustest.UsageInfo{})),
	))
	id := srv.AddSession(octavustest.Session{})
	events, _ := trigger(t, srv, id, userMessage)
	if got := types(events); !reflect.DeepEqual(got, []string{"start", "text-start", "text-delta", "text-end", "finish", "usage"}) {
		t.Fatalf("types %v", got)
	}
	equalJSON(t, events[5], `{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.5,"providerFee":1.5,"totalFee":2,
		"byok":false,"estimatedProviderFee":0.25},"tokens":{"inputTokens":10,"outputTokens":5,"totalTokens":15}}`)
	events, _ = trigger(t, srv, id, userMessage)
	if got := types(events); !reflect.DeepEqual(got, []string{"start", "text-start", "text-delta", "text-end", "finish", "usage"}) {
		t.Fatalf("types %v", got)
	}
	equalJSON(t, events[5], `{"type":"usage","cost":{"currency":"EUR","bandwidthFee":0,"providerFee":0,"totalFee":0,
		"byok":true},"tokens":{"inputTokens":1,"outputTokens":2,"totalTokens":4}}`)
	events, _ = trigger(t, srv, id, userMessage)
	if got := types(events); !reflect.DeepEqual(got, []string{"usage"}) {
		t.Fatalf("types %v", got)
	}
}

// ExecutionBlock writes every block-start field, the title display included.
func TestExecutionBlock(t *testing.T) {
	no := false
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(octavustest.Stream(
		octavustest.ExecutionBlock{Name: "Save", Type: "set-resource", Display: "title", Description: "Saving notes",
			Parts: []octavustest.Part{octavustest.Text("x")}},
		octavustest.ExecutionBlock{ID: "b9", Name: "Think", Display: "hidden", OutputToChat: &no, Thread: "side",
			Parts: []octavustest.Part{octavustest.ToolCall{ID: "c1", Name: "look", Display: "title", Title: "Looking"}}},
	)))
	id := srv.AddSession(octavustest.Session{})
	events, _ := trigger(t, srv, id, userMessage)
	equalJSON(t, events[1], `{"type":"block-start","blockId":"block_1","blockName":"Save","blockType":"set-resource",
		"display":"title","description":"Saving notes","outputToChat":true}`)
	equalJSON(t, events[5], `{"type":"block-end","blockId":"block_1"}`)
	equalJSON(t, events[6], `{"type":"block-start","blockId":"b9","blockName":"Think","blockType":"next-message",
		"display":"hidden","outputToChat":false,"thread":"side"}`)
	equalJSON(t, events[7], `{"type":"tool-input-start","toolCallId":"c1","toolName":"look","title":"Looking","display":"title"}`)
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"].([]any)[1].(map[string]any)["parts"], `[{"type":"step-start"},
		{"type":"operation","operationId":"block_1","name":"Saving notes","operationType":"set-resource","status":"done"},
		{"type":"text","text":"x","status":"done"},
		{"type":"tool-call","toolCallId":"c1","toolName":"look","displayName":"Looking","display":"title","args":{},
		 "status":"running","thread":"side"}]`)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["messages"].([]any)[1].(map[string]any)["toolCalls"], `[{"id":"c1","name":"look","arguments":{},
		"status":"available","display":"title"}]`)
}

// ProviderMetadata reaches the history, never the stream.
func TestProviderMetadata(t *testing.T) {
	meta := map[string]any{"anthropic": map[string]any{"signature": "sig"}}
	srv := newServer(t, octavustest.WithScript(octavustest.Stream(
		octavustest.ProviderMetadata(meta, octavustest.Reasoning("r"), octavustest.ToolCall{ID: "c1", Name: "t"}),
		octavustest.Text("plain"),
	)))
	id := srv.AddSession(octavustest.Session{})
	events, _ := trigger(t, srv, id, userMessage)
	for _, ev := range events {
		if _, ok := ev["providerMetadata"]; ok {
			t.Fatalf("streamed providerMetadata: %v", ev)
		}
	}
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	parts := ui["messages"].([]any)[1].(map[string]any)["parts"].([]any)
	equalJSON(t, parts[1], `{"type":"reasoning","text":"r","status":"done","providerMetadata":{"anthropic":{"signature":"sig"}}}`)
	equalJSON(t, parts[2].(map[string]any)["providerMetadata"], `{"anthropic":{"signature":"sig"}}`)
	if _, ok := parts[3].(map[string]any)["providerMetadata"]; ok {
		t.Fatalf("text outside ProviderMetadata has it: %v", parts[3])
	}
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["messages"].([]any)[1].(map[string]any)["parts"].([]any)[1],
		`{"type":"reasoning","visible":true,"content":"r","providerMetadata":{"anthropic":{"signature":"sig"}}}`)
}

// start carries lastMessageId, the last message before the execution, once
// the session has messages.
func TestStartLastMessageID(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Repeat(octavustest.Stream(octavustest.Text("a")))))
	id := srv.AddSession(octavustest.Session{})
	events, _ := trigger(t, srv, id, userMessage)
	equalJSON(t, events[0], `{"type":"start","messageId":"msg_2","executionId":"exec_1"}`)
	events, _ = trigger(t, srv, id, userMessage)
	equalJSON(t, events[0], `{"type":"start","messageId":"msg_4","executionId":"exec_2","lastMessageId":"msg_2"}`)
}

// A stream that ends without finish cancels what it left running.
func TestCutCancels(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(octavustest.Events(
		octavustest.Event(map[string]any{"type": "start", "messageId": "m1"}),
		octavustest.Event(map[string]any{"type": "tool-input-start", "toolCallId": "c1", "toolName": "t"}),
		octavustest.WorkerExecution{ID: "w1", Slug: "s", Open: true, Parts: []octavustest.Part{octavustest.Text("half")}},
		octavustest.Event(map[string]any{"type": "block-start", "blockId": "b1", "blockName": "Save",
			"blockType": "set-resource", "display": "name"}),
		octavustest.Cut(),
	)))
	id := srv.AddSession(octavustest.Session{})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+triggerPath(id), strings.NewReader(userMessage))
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a cut stream: err %v, want unexpected EOF", err)
	}
	resp.Body.Close()
	if _, err := srv.WaitDone(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"].([]any)[1].(map[string]any)["parts"], `[{"type":"step-start"},
		{"type":"tool-call","toolCallId":"c1","toolName":"t","args":{},"status":"cancelled"},
		{"type":"worker","workerId":"w1","workerSlug":"s","status":"cancelled","parts":[{"type":"text","text":"half","status":"done"}]},
		{"type":"operation","operationId":"b1","name":"Save","operationType":"set-resource","status":"cancelled"}]`)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	parts := full["messages"].([]any)[1].(map[string]any)["parts"].([]any)
	equalJSON(t, parts[1], `{"type":"tool-call","visible":true,"toolCall":{"id":"c1","name":"t","arguments":{},"status":"error"}}`)
	equalJSON(t, parts[2].(map[string]any)["worker"].(map[string]any)["cancelled"], `true`)
}
