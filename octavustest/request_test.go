package octavustest_test

import (
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/octavus-go/octavus/octavustest"
)

// The 6.4 body fields are accepted, checked and recorded.
func TestTriggerBodyV4(t *testing.T) {
	seen := make(chan octavustest.TriggerRequest, 10)
	record := octavustest.Repeat(octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
		seen <- req
		if req.ExecutionID == "" && req.TriggerName == "tools" {
			return octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "t"})
		}
		return octavustest.Stream()
	}))
	srv := newServer(t, octavustest.WithScript(record))
	id := srv.AddSession(octavustest.Session{})

	post := func(body string, header map[string]string) octavustest.TriggerRequest {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+triggerPath(id), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.APIKey)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body) // to the end: the run is over
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d for %s", resp.StatusCode, body)
		}
		return <-seen
	}

	// Absent, null and a string are three different rollbacks.
	got := post(`{"triggerName":"t"}`, nil)
	if got.Rollback != (octavustest.Rollback{}) || got.Sender != nil || got.DynamicToolSchemas != nil || got.SDKVersion != "" {
		t.Fatalf("a 2.0 body: %+v", got)
	}
	got = post(`{"triggerName":"t","rollbackAfterMessageId":null}`, nil)
	if got.Rollback != (octavustest.Rollback{Present: true, Null: true}) {
		t.Fatalf("null rollback: %+v", got.Rollback)
	}
	got = post(`{"triggerName":"t","rollbackAfterMessageId":"msg_9"}`, nil)
	if got.Rollback != (octavustest.Rollback{Present: true, MessageID: "msg_9"}) {
		t.Fatalf("string rollback: %+v", got.Rollback)
	}

	// Every field of a 6.4 SDK's body, in its order, with the version header.
	got = post(`{"triggerName":"tools","input":{"USER_MESSAGE":"Hi"},"rollbackAfterMessageId":null,
		"sender":{"id":"u1","name":"Ada","image":"https://i/a.png"},
		"dynamicToolSchemas":[{"name":"dyn","description":"A tool","inputSchema":{"type":"object"},"outputSchema":{"type":"string"}},
		 {"name":"dyn2","description":"","inputSchema":{}}]}`,
		map[string]string{"X-Octavus-Sdk-Version": "4"})
	if got.SDKVersion != "4" || *got.Sender != (octavustest.Sender{ID: "u1", Name: "Ada", Image: "https://i/a.png"}) {
		t.Fatalf("request %+v", got)
	}
	wantSchemas := []octavustest.ToolSchema{
		{Name: "dyn", Description: "A tool", InputSchema: map[string]any{"type": "object"}, OutputSchema: map[string]any{"type": "string"}},
		{Name: "dyn2", Description: "", InputSchema: map[string]any{}},
	}
	if !reflect.DeepEqual(got.DynamicToolSchemas, wantSchemas) {
		t.Fatalf("schemas %+v", got.DynamicToolSchemas)
	}
	rec, err := srv.WaitDone(testCtx(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	if rec.SDKVersion() != "4" {
		t.Fatalf("Request.SDKVersion() = %q", rec.SDKVersion())
	}

	// Tool results carry files, thread and workerId, and keys of their own.
	got = post(`{"executionId":"exec_4","toolResults":[{"toolCallId":"c1","toolName":"t","result":"ok",
		"files":[{"id":"f1","mediaType":"image/png","url":"https://f/1","filename":"a.png","size":3,"width":10}],
		"thread":"main","workerId":"w1","browserKey":true}]}`, nil)
	tr := got.ToolResults[0]
	if tr.Thread != "main" || tr.WorkerID != "w1" || len(tr.Files) != 1 || tr.Files[0]["id"] != "f1" || tr.Files[0]["width"] != 10.0 {
		t.Fatalf("tool result %+v", tr)
	}

	for name, body := range map[string]string{
		"rollback number":       `{"triggerName":"t","rollbackAfterMessageId":1}`,
		"sender not object":     `{"triggerName":"t","sender":"ada"}`,
		"sender unknown key":    `{"triggerName":"t","sender":{"email":"a@b"}}`,
		"sender name number":    `{"triggerName":"t","sender":{"name":1}}`,
		"schemas not array":     `{"triggerName":"t","dynamicToolSchemas":{}}`,
		"schema without name":   `{"triggerName":"t","dynamicToolSchemas":[{"description":"d","inputSchema":{}}]}`,
		"schema without input":  `{"triggerName":"t","dynamicToolSchemas":[{"name":"n","description":"d"}]}`,
		"schema without desc":   `{"triggerName":"t","dynamicToolSchemas":[{"name":"n","inputSchema":{}}]}`,
		"schema unknown key":    `{"triggerName":"t","dynamicToolSchemas":[{"name":"n","description":"d","inputSchema":{},"x":1}]}`,
		"schema output string":  `{"triggerName":"t","dynamicToolSchemas":[{"name":"n","description":"d","inputSchema":{},"outputSchema":"s"}]}`,
		"duplicate schema name": `{"triggerName":"t","dynamicToolSchemas":[{"name":"n","description":"d","inputSchema":{}},{"name":"n","description":"d","inputSchema":{}}]}`,
		"unknown top-level key": `{"triggerName":"t","additionalToolSchemas":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, triggerPath(id), body)
			wantError(t, status, b, http.StatusBadRequest, "VALIDATION_ERROR")
		})
	}
}

// The sender is stamped on the user message, in both message shapes.
func TestSenderOnUserMessage(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(octavustest.Stream(octavustest.Text("ok"))))
	id := srv.AddSession(octavustest.Session{})
	trigger(t, srv, id, `{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"},"sender":{"id":"u1","name":"Ada"}}`)
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"].([]any)[0], `{"id":"msg_1","role":"user","status":"done","createdAt":"2024-01-15T10:30:00.000Z",
		"sender":{"id":"u1","name":"Ada"},"parts":[{"type":"text","text":"Hi","status":"done"}]}`)
	if _, ok := ui["messages"].([]any)[1].(map[string]any)["sender"]; ok {
		t.Fatal("the assistant message has a sender")
	}
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["messages"].([]any)[0], `{"id":"msg_1","role":"user","createdAt":"2024-01-15T10:30:00.000Z",
		"content":"Hi","sender":{"id":"u1","name":"Ada"},"parts":[{"type":"text","visible":true,"content":"Hi"}]}`)
}

// A 6.4 browser's retry: the trigger removes the messages after
// rollbackAfterMessageId, so the retried turn replaces the failed one.
func TestRollback(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Repeat(octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
		if req.TriggerName == "tool" {
			return octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "t"})
		}
		return octavustest.Stream(octavustest.Text(req.TriggerName))
	}))))
	id := srv.AddSession(octavustest.Session{})
	ids := func() []string {
		t.Helper()
		ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
		var out []string
		for _, m := range ui["messages"].([]any) {
			out = append(out, m.(map[string]any)["id"].(string))
		}
		return out
	}
	trigger(t, srv, id, `{"triggerName":"one","input":{"USER_MESSAGE":"1"}}`) // msg_1, msg_2
	events, _ := trigger(t, srv, id, `{"triggerName":"two","input":{"USER_MESSAGE":"2"}}`)
	lastID := events[0]["lastMessageId"].(string)
	if lastID != "msg_2" {
		t.Fatalf("lastMessageId %q", lastID)
	}
	// The retry anchors on the start event's lastMessageId.
	events, _ = trigger(t, srv, id, `{"triggerName":"two","input":{"USER_MESSAGE":"2"},"rollbackAfterMessageId":"`+lastID+`"}`)
	equalJSON(t, events[0]["lastMessageId"], `"msg_2"`)
	if got := ids(); !reflect.DeepEqual(got, []string{"msg_1", "msg_2", "msg_5", "msg_6"}) {
		t.Fatalf("after the retry: %v", got)
	}
	// An id the session does not have removes nothing.
	trigger(t, srv, id, `{"triggerName":"three","rollbackAfterMessageId":"client_msg"}`)
	if got := ids(); len(got) != 5 {
		t.Fatalf("after an unknown anchor: %v", got)
	}
	// A retry may drop an execution that waits for tool results; the rollback
	// sent again on its continuation removes nothing.
	trigger(t, srv, id, `{"triggerName":"tool","input":{"USER_MESSAGE":"t"}}`)
	all := ids()
	status, _, b := call(t, srv, http.MethodPost, triggerPath(id), `{"triggerName":"four","rollbackAfterMessageId":"`+all[len(all)-1]+`"}`)
	wantError(t, status, b, http.StatusBadRequest, "VALIDATION_ERROR") // the anchor keeps the waiting execution
	trigger(t, srv, id, `{"triggerName":"tool","input":{"USER_MESSAGE":"t"},"rollbackAfterMessageId":null}`)
	if got := ids(); len(got) != 2 {
		t.Fatalf("after a null rollback: %v", got)
	}
	trigger(t, srv, id, `{"triggerName":"tool","rollbackAfterMessageId":null,"executionId":"exec_6",
		"toolResults":[{"toolCallId":"c1","result":1}]}`)
	if got := ids(); len(got) != 2 {
		t.Fatalf("the continuation's rollback removed messages: %v", got)
	}
}

// A trigger while the session's previous stream is still written is
// answered SESSION_BUSY; once it ended, the session takes triggers again.
func TestSessionBusy(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, octavustest.WithScript(
		octavustest.Stream(octavustest.Text("a"), octavustest.Stall(release)),
		octavustest.Stream(octavustest.Text("b")),
	))
	id := srv.AddSession(octavustest.Session{})
	other := srv.AddSession(octavustest.Session{Script: []octavustest.Turn{octavustest.Stream()}})
	resp, r := openStream(t, testCtx(t), srv, id, userMessage)
	defer resp.Body.Close()
	for range 4 { // start and the text: the stream is stalled after them
		readFrame(t, r)
	}
	status, h, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	equalJSON(t, decode(t, b), `{"error":"The session is busy with another run. Please try again in a moment.","code":"SESSION_BUSY"}`)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q", status, h.Get("Retry-After"))
	}
	// Another session is not busy.
	if events, _ := trigger(t, srv, other, userMessage); len(events) == 0 {
		t.Fatal("the other session answered nothing")
	}
	close(release)
	if rest, err := readAll(r); err != nil || !strings.HasSuffix(rest, "data: [DONE]\n\n") {
		t.Fatalf("rest of the stream %q, %v", rest, err)
	}
	if _, err := srv.WaitDone(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	events, _ := trigger(t, srv, id, userMessage)
	if events[2]["delta"] != "b" {
		t.Fatalf("after the run: %v", events)
	}
}

// A continuation posted right after the previous leg's stream ended is not
// busy: the run ends before the client can see the end of the stream.
func TestContinuationNotBusy(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(
		octavustest.Stream(octavustest.ToolCall{ID: "c1", Name: "t"}),
		octavustest.Stream(octavustest.ToolCall{ID: "c2", Name: "t"}),
		octavustest.Stream(octavustest.Text("done")),
	))
	id := srv.AddSession(octavustest.Session{})
	trigger(t, srv, id, userMessage)
	trigger(t, srv, id, `{"executionId":"exec_1","toolResults":[{"toolCallId":"c1","result":1}]}`)
	events, _ := trigger(t, srv, id, `{"executionId":"exec_1","toolResults":[{"toolCallId":"c2","result":2}]}`)
	if events[2]["delta"] != "done" {
		t.Fatalf("events %v", events)
	}
}

func TestBusyOptions(t *testing.T) {
	// handler answers with a stream held open until the subtest ends.
	handler := func(t *testing.T) octavustest.Turn {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) }) // runs before the server's Close
		return octavustest.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			_ = http.NewResponseController(w).Flush()
			<-release
		}))
	}
	t.Run("Retry-After", func(t *testing.T) {
		srv := newServer(t, octavustest.WithBusyRetryAfter("2.5"))
		srv.AddSession(octavustest.Session{ID: "x", Script: []octavustest.Turn{handler(t)}})
		id := "x"
		resp, _ := openStream(t, testCtx(t), srv, id, userMessage) // a Handler turn is a run too
		defer resp.Body.Close()
		status, h, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
		wantError(t, status, b, http.StatusTooManyRequests, "SESSION_BUSY")
		if h.Get("Retry-After") != "2.5" {
			t.Fatalf("Retry-After %q", h.Get("Retry-After"))
		}
	})
	t.Run("no Retry-After", func(t *testing.T) {
		srv := newServer(t, octavustest.WithBusyRetryAfter(""))
		srv.AddSession(octavustest.Session{ID: "x", Script: []octavustest.Turn{handler(t)}})
		id := "x"
		resp, _ := openStream(t, testCtx(t), srv, id, userMessage)
		defer resp.Body.Close()
		status, h, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
		wantError(t, status, b, http.StatusTooManyRequests, "SESSION_BUSY")
		if _, ok := h["Retry-After"]; ok {
			t.Fatalf("Retry-After %q", h.Get("Retry-After"))
		}
	})
	t.Run("concurrent runs", func(t *testing.T) {
		srv := newServer(t, octavustest.WithConcurrentRuns())
		srv.AddSession(octavustest.Session{ID: "x", Script: []octavustest.Turn{handler(t), octavustest.Stream()}})
		id := "x"
		resp, _ := openStream(t, testCtx(t), srv, id, userMessage)
		defer resp.Body.Close()
		if events, _ := trigger(t, srv, id, userMessage); len(events) != 2 {
			t.Fatalf("events %v", events)
		}
	})
}

// A stalled stream writes ": heartbeat" on each tick.
func TestHeartbeatTicks(t *testing.T) {
	ticks := make(chan time.Time)
	release := make(chan struct{})
	srv := newServer(t, octavustest.WithHeartbeatTicks(ticks), octavustest.WithScript(
		octavustest.Stream(octavustest.Stall(release), octavustest.Text("x"))))
	id := srv.AddSession(octavustest.Session{})
	resp, r := openStream(t, testCtx(t), srv, id, userMessage)
	defer resp.Body.Close()
	readFrame(t, r) // start
	for range 2 {
		ticks <- time.Time{}
		if f := readFrame(t, r); f != ": heartbeat\n" {
			t.Fatalf("frame %q", f)
		}
	}
	close(release)
	if f := readFrame(t, r); !strings.Contains(f, "text-start") {
		t.Fatalf("frame %q", f)
	}
}

// WithHeartbeat ticks on a real clock; the test waits for the heartbeat,
// however long it takes, and asserts no timing.
func TestHeartbeatInterval(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, octavustest.WithHeartbeat(time.Millisecond), octavustest.WithScript(
		octavustest.Stream(octavustest.Stall(release))))
	id := srv.AddSession(octavustest.Session{})
	resp, r := openStream(t, testCtx(t), srv, id, userMessage)
	defer resp.Body.Close()
	readFrame(t, r) // start
	if f := readFrame(t, r); f != ": heartbeat\n" {
		t.Fatalf("frame %q", f)
	}
	close(release)
	rest, err := readAll(r)
	if err != nil || !strings.HasSuffix(rest, "data: [DONE]\n\n") {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// Restore keeps every v4 UI part with every key, and serves the same.
func TestRestoreV4(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock))
	id := srv.AddSession(octavustest.Session{})
	srv.ExpireSession(id)
	stored := `[{"id":"m1","role":"user","status":"done","createdAt":"2024-01-01T00:00:00.000Z","sender":{"id":"u1","name":"Ada","image":"https://i"},
		"parts":[{"type":"text","text":"Go","status":"done"}]},
		{"id":"m2","role":"assistant","status":"done","createdAt":"2024-01-01T00:00:01.000Z","parts":[
		 {"type":"step-start"},
		 {"type":"reasoning","text":"r","status":"done","providerMetadata":{"anthropic":{"signature":"s"}}},
		 {"type":"tool-call","toolCallId":"c1","toolName":"t","args":{},"status":"cancelled","display":"title","providerMetadata":{"openai":{"itemId":"i"}}},
		 {"type":"operation","operationId":"o1","name":"Save","operationType":"set-resource","status":"cancelled"},
		 {"type":"todo","todos":[{"id":"1","content":"c","status":"in_progress"}],"status":"done","thread":"main"},
		 {"type":"worker","workerId":"w1","workerSlug":"s","description":"d","input":{"a":1},"output":2,"status":"done","parts":[
		  {"type":"step-start"},{"type":"text","text":"in","status":"done"},{"type":"todo","todos":[],"status":"done"}]},
		 {"type":"worker","workerId":"w2","workerSlug":"s","status":"cancelled","parts":[]},
		 {"type":"source","sourceType":"document","id":"d","mediaType":"application/pdf","title":"T","filename":"t.pdf"},
		 {"type":"file","id":"f","mediaType":"image/png","url":"u","toolCallId":"c1","futureKey":true},
		 {"type":"object","id":"o","typeName":"P","partial":{},"object":{},"status":"done"},
		 {"type":"step-start"},
		 {"type":"text","text":"end","status":"done"}]}]`
	callJSON(t, srv, http.MethodPost, "/api/agent-sessions/"+id+"/restore", `{"messages":`+stored+`}`, 200)
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"], stored)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	msgs := full["messages"].([]any)
	equalJSON(t, msgs[0].(map[string]any)["sender"], `{"id":"u1","name":"Ada","image":"https://i"}`)
	equalJSON(t, msgs[1].(map[string]any)["parts"], `[
		{"type":"step-start","visible":true},
		{"type":"reasoning","visible":true,"content":"r","providerMetadata":{"anthropic":{"signature":"s"}}},
		{"type":"tool-call","visible":true,"providerMetadata":{"openai":{"itemId":"i"}},
		 "toolCall":{"id":"c1","name":"t","arguments":{},"status":"error","display":"title"}},
		{"type":"operation","visible":true,"operation":{"id":"o1","name":"Save","operationType":"set-resource"}},
		{"type":"todo","visible":true,"thread":"main","todo":{"todos":[{"id":"1","content":"c","status":"in_progress"}]}},
		{"type":"worker","visible":true,"worker":{"workerId":"w1","workerSlug":"s","description":"d","input":{"a":1},"output":2,
		 "nestedParts":[{"type":"text","visible":true,"content":"in"},{"type":"todo","visible":true,"todo":{"todos":[]}}]}},
		{"type":"worker","visible":true,"worker":{"workerId":"w2","workerSlug":"s","cancelled":true,"nestedParts":[]}},
		{"type":"source","visible":true,"source":{"sourceType":"document","id":"d","mediaType":"application/pdf","title":"T","filename":"t.pdf"}},
		{"type":"file","visible":true,"file":{"id":"f","mediaType":"image/png","url":"u","toolCallId":"c1","futureKey":true}},
		{"type":"object","visible":true,"object":{"id":"o","typeName":"P","value":{}}},
		{"type":"step-start","visible":true},
		{"type":"text","visible":true,"content":"end"}]`)

	srv.ExpireSession(id)
	for name, body := range map[string]string{
		"unknown part type": `{"messages":[{"id":"x","role":"user","parts":[{"type":"poll"}]}]}`,
		"nested worker":     `{"messages":[{"id":"x","role":"assistant","parts":[{"type":"worker","workerId":"w","workerSlug":"s","status":"done","parts":[{"type":"worker"}]}]}]}`,
		"worker no parts":   `{"messages":[{"id":"x","role":"assistant","parts":[{"type":"worker","workerId":"w","workerSlug":"s","status":"done"}]}]}`,
		"sender not object": `{"messages":[{"id":"x","role":"user","sender":"ada","parts":[]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, "/api/agent-sessions/"+id+"/restore", body)
			wantError(t, status, b, http.StatusBadRequest, "VALIDATION_ERROR")
		})
	}
}

// readAll reads the rest of a live stream.
func readAll(r interface{ ReadString(byte) (string, error) }) (string, error) {
	var sb strings.Builder
	for {
		s, err := r.ReadString('\n')
		sb.WriteString(s)
		if errors.Is(err, io.EOF) {
			return sb.String(), nil
		}
		if err != nil {
			return sb.String(), err
		}
	}
}
