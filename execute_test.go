package octavus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// execute runs req against f with opts and returns the wire JSON of every
// event.
func execute(t *testing.T, f *fakePlatform, opts AttachOptions, req SessionRequest) []string {
	t.Helper()
	s := f.client(t).AgentSessions.Attach("sess_1", opts)
	return wireJSON(t, collect(s.Execute(context.Background(), req)))
}

var userMessage = TriggerRequest{TriggerName: "user-message", Input: map[string]any{"USER_MESSAGE": "hi"}}

func constTool(result any) ToolHandler {
	return func(context.Context, map[string]any) (any, error) { return result, nil }
}

func TestExecuteForwardsEveryEventInOrder(t *testing.T) {
	events := []string{
		`{"type":"start","messageId":"m1","executionId":"e1"}`,
		`{"type":"block-start","blockId":"b1","blockName":"Respond","blockType":"next-message","display":"stream","outputToChat":true}`,
		`{"type":"reasoning-start","id":"r1"}`,
		`{"type":"reasoning-delta","id":"r1","delta":"think"}`,
		`{"type":"reasoning-end","id":"r1"}`,
		`{"type":"text-start","id":"t1","responseType":"Answer"}`,
		`{"type":"text-delta","id":"t1","delta":"Hello"}`,
		`{"type":"text-end","id":"t1"}`,
		`{"type":"tool-input-start","toolCallId":"c1","toolName":"search","title":"Searching"}`,
		`{"type":"tool-input-delta","toolCallId":"c1","inputTextDelta":"{}"}`,
		`{"type":"tool-input-end","toolCallId":"c1"}`,
		`{"type":"tool-input-available","toolCallId":"c1","toolName":"search","input":{}}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":[1,2]}`,
		`{"type":"tool-output-error","toolCallId":"c2","error":"boom"}`,
		`{"type":"source","sourceType":"url","id":"s1","url":"https://example.com","title":"Ex"}`,
		`{"type":"source","sourceType":"document","id":"s2","mediaType":"application/pdf","title":"Doc","filename":"d.pdf"}`,
		`{"type":"file-available","id":"f1","mediaType":"image/png","url":"https://example.com/f.png","filename":"f.png","size":12,"toolCallId":"c1"}`,
		`{"type":"resource-update","name":"NOTES","value":"x"}`,
		`{"type":"error","errorType":"provider_error","message":"upstream","source":"provider","retryable":true,"retryAfter":3,"code":"X","provider":{"name":"anthropic","model":"m","statusCode":529,"errorType":"overloaded","requestId":"r"},"tool":{"name":"t","callId":"c"}}`,
		`{"type":"block-end","blockId":"b1","summary":"done"}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(events...))
	got := execute(t, f, AttachOptions{}, userMessage)
	requireJSONList(t, events, got)
	requireJSONList(t, []string{`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`}, f.triggerBodies())
}

func TestExecuteDropsInvalidEventsAndKeepsGoing(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(rawLeg(strings.Join([]string{
		`data: {"type":"start","executionId":"e1"}`, ``,
		`data: not json`, ``,
		`: a comment`, ``,
		`data: {"type":"nope"}`, ``,
		`data: {"type":"text-delta","id":"t1"}`, ``,
		`data: {"type":"text-delta","id":"t1","delta":"a","extra":1}`, ``,
		`data: {"type":"start","messageId":null}`, ``,
		`data: {"type":"finish","finishReason":"weird"}`, ``,
		`data: [DONE]`, ``,
		`data: {"type":"finish","finishReason":"stop"}`, ``,
	}, "\n")))
	got := execute(t, f, AttachOptions{}, userMessage)
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"text-delta","id":"t1","delta":"a"}`,
		`{"type":"finish","finishReason":"stop"}`,
	}, got)
}

func TestExecuteReadsEachDataLineAndCRLF(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(rawLeg("data: {\"type\":\"text-delta\",\"id\":\"a\",\"delta\":\"1\"}\r\ndata: {\"type\":\"text-delta\",\"id\":\"a\",\"delta\":\"2\"}\r\n\r\nevent: x\nid: 7\ndata: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n"))
	got := execute(t, f, AttachOptions{}, userMessage)
	requireJSONList(t, []string{
		`{"type":"text-delta","id":"a","delta":"1"}`,
		`{"type":"text-delta","id":"a","delta":"2"}`,
		`{"type":"finish","finishReason":"stop"}`,
	}, got)
}

func TestExecuteServerToolLoop(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(
			`{"type":"start","messageId":"m1","executionId":"e1"}`,
			`{"type":"tool-input-available","toolCallId":"c1","toolName":"get-user","input":{"id":"u1"}}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"get-user","args":{"id":"u1"},"source":"block","outputVariable":"USER","blockIndex":2}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(
			`{"type":"start","messageId":"m2","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c2","toolName":"get-user","args":{"id":"u2"}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(
			`{"type":"text-delta","id":"t","delta":"done"}`,
			`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
		),
	)
	var mu sync.Mutex
	var seen []map[string]any
	tools := ToolHandlers{"get-user": func(_ context.Context, args map[string]any) (any, error) {
		mu.Lock()
		seen = append(seen, args)
		mu.Unlock()
		return map[string]any{"name": "Ada", "id": args["id"]}, nil
	}}
	got := execute(t, f, AttachOptions{Tools: tools}, userMessage)
	requireJSONList(t, []string{
		`{"type":"start","messageId":"m1","executionId":"e1"}`,
		`{"type":"tool-input-available","toolCallId":"c1","toolName":"get-user","input":{"id":"u1"}}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":{"name":"Ada","id":"u1"}}`,
		`{"type":"start","messageId":"m2","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c2","output":{"name":"Ada","id":"u2"}}`,
		`{"type":"text-delta","id":"t","delta":"done"}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}, got)
	requireJSONList(t, []string{
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`,
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"get-user","result":{"name":"Ada","id":"u1"},"outputVariable":"USER","blockIndex":2}]}`,
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"executionId":"e1","toolResults":[{"toolCallId":"c2","toolName":"get-user","result":{"name":"Ada","id":"u2"}}]}`,
	}, f.triggerBodies())
	assert.Equal(t, []map[string]any{{"id": "u1"}, {"id": "u2"}}, seen)
}

func TestExecuteRunsServerToolsConcurrentlyInCallOrder(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(
			`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"a","toolName":"first","args":{}},{"toolCallId":"b","toolName":"second","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
	)
	// "first" cannot return before "second" has returned: run one at a
	// time, this would never finish (the test's deadline would fail it).
	secondDone := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tools := ToolHandlers{
		"first": func(hctx context.Context, _ map[string]any) (any, error) {
			select {
			case <-secondDone:
				return "one", nil
			case <-hctx.Done():
				return nil, hctx.Err()
			}
		},
		"second": func(context.Context, map[string]any) (any, error) {
			defer close(secondDone)
			return "two", nil
		},
	}
	s := f.client(t).AgentSessions.Attach("sess_1", AttachOptions{Tools: tools})
	got := wireJSON(t, collect(s.Execute(ctx, userMessage)))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"a","output":"one"}`,
		`{"type":"tool-output-available","toolCallId":"b","output":"two"}`,
		`{"type":"finish","finishReason":"stop"}`,
	}, got)
	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	assert.JSONEq(t, `{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"executionId":"e1","toolResults":[{"toolCallId":"a","toolName":"first","result":"one"},{"toolCallId":"b","toolName":"second","result":"two"}]}`, bodies[1])
}

func TestExecuteToolResultsAndErrors(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(
			`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[`+
				`{"toolCallId":"1","toolName":"nil","args":{}},`+
				`{"toolCallId":"2","toolName":"null","args":{}},`+
				`{"toolCallId":"3","toolName":"fails","args":{}},`+
				`{"toolCallId":"4","toolName":"empty-error","args":{}},`+
				`{"toolCallId":"5","toolName":"panics","args":{}},`+
				`{"toolCallId":"6","toolName":"scalar","args":{}},`+
				`{"toolCallId":"7","toolName":"unencodable","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
	)
	var logs bytes.Buffer
	tools := ToolHandlers{
		"nil":         constTool(nil),
		"null":        constTool(json.RawMessage("null")),
		"fails":       func(context.Context, map[string]any) (any, error) { return nil, errors.New("db down") },
		"empty-error": func(context.Context, map[string]any) (any, error) { return nil, errors.New("") },
		"panics":      func(context.Context, map[string]any) (any, error) { panic("secret detail") },
		"scalar":      constTool(42),
		"unencodable": constTool(make(chan int)),
	}
	c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, APIKey: testKey, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	got := wireJSON(t, collect(c.AgentSessions.Attach("s", AttachOptions{Tools: tools}).Execute(context.Background(), userMessage)))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"1"}`,
		`{"type":"tool-output-available","toolCallId":"2","output":null}`,
		`{"type":"tool-output-error","toolCallId":"3","error":"db down"}`,
		`{"type":"tool-output-available","toolCallId":"4"}`,
		`{"type":"tool-output-error","toolCallId":"5","error":"Tool execution failed"}`,
		`{"type":"tool-output-available","toolCallId":"6","output":42}`,
		`{"type":"tool-output-error","toolCallId":"7","error":"Tool unencodable returned a result that is not JSON: json: unsupported type: chan int"}`,
		`{"type":"finish","finishReason":"stop"}`,
	}, got)
	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	assert.JSONEq(t, `{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"executionId":"e1","toolResults":[`+
		`{"toolCallId":"1","toolName":"nil"},`+
		`{"toolCallId":"2","toolName":"null","result":null},`+
		`{"toolCallId":"3","toolName":"fails","error":"db down"},`+
		`{"toolCallId":"4","toolName":"empty-error","error":""},`+
		`{"toolCallId":"5","toolName":"panics","error":"Tool execution failed"},`+
		`{"toolCallId":"6","toolName":"scalar","result":42},`+
		`{"toolCallId":"7","toolName":"unencodable","error":"Tool unencodable returned a result that is not JSON: json: unsupported type: chan int"}]}`, bodies[1])
	assert.NotContains(t, strings.Join(got, ""), "secret detail", "a panic value must not reach the browser")
	assert.Contains(t, logs.String(), "secret detail", "a panic value is logged")
	assert.Contains(t, logs.String(), "goroutine", "a panic's stack is logged")
}

func TestExecuteClientTools(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(
		`{"type":"start","messageId":"m1","executionId":"exec_9"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"call_a","toolName":"get-user-account","args":{"userId":"u1"}},{"toolCallId":"call_b","toolName":"confirm","args":{"q":"ok?"},"source":"llm"}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	))
	got := execute(t, f, AttachOptions{Tools: ToolHandlers{"get-user-account": constTool(map[string]any{"name": "Demo"})}}, userMessage)
	requireJSONList(t, []string{
		`{"type":"start","messageId":"m1","executionId":"exec_9"}`,
		`{"type":"tool-output-available","toolCallId":"call_a","output":{"name":"Demo"}}`,
		`{"type":"client-tool-request","executionId":"exec_9","toolCalls":[{"toolCallId":"call_b","toolName":"confirm","args":{"q":"ok?"},"source":"llm"}],"serverToolResults":[{"toolCallId":"call_a","toolName":"get-user-account","result":{"name":"Demo"}}]}`,
		`{"type":"finish","finishReason":"client-tool-calls","executionId":"exec_9"}`,
	}, got)
	assert.Len(t, f.triggerBodies(), 1, "client tools end the execution: no further POST")
}

func TestExecuteClientToolsOnlyOmitServerResults(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(
		`{"type":"start","executionId":"e"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"loc","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	))
	got := execute(t, f, AttachOptions{}, userMessage)
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e"}`,
		`{"type":"client-tool-request","executionId":"e","toolCalls":[{"toolCallId":"c","toolName":"loc","args":{}}]}`,
		`{"type":"finish","finishReason":"client-tool-calls","executionId":"e"}`,
	}, got)
}

func TestExecuteClientToolWithoutExecutionID(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(
		`{"type":"start","messageId":"m"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"loc","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	))
	got := execute(t, f, AttachOptions{}, userMessage)
	requireJSONList(t, []string{
		`{"type":"start","messageId":"m"}`,
		`{"type":"error","errorType":"internal_error","message":"Missing executionId for client-tool-request","source":"platform","retryable":false}`,
	}, got)
}

func TestExecuteFinishRules(t *testing.T) {
	t.Run("tool-calls finish without pending calls is forwarded", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(eventsLeg(`{"type":"finish","finishReason":"tool-calls"}`))
		got := execute(t, f, AttachOptions{}, userMessage)
		requireJSONList(t, []string{`{"type":"finish","finishReason":"tool-calls"}`}, got)
		assert.Len(t, f.triggerBodies(), 1)
	})
	t.Run("empty tool-request swallows finish and ends", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(eventsLeg(`{"type":"tool-request","toolCalls":[]}`, `{"type":"finish","finishReason":"tool-calls"}`))
		got := execute(t, f, AttachOptions{}, userMessage)
		assert.Empty(t, got)
		assert.Len(t, f.triggerBodies(), 1)
	})
	t.Run("a later tool-request replaces an earlier one", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(eventsLeg(
			`{"type":"start","executionId":"e"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"old","toolName":"x","args":{}}]}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"new","toolName":"x","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		))
		got := execute(t, f, AttachOptions{}, userMessage)
		requireJSONList(t, []string{
			`{"type":"start","executionId":"e"}`,
			`{"type":"client-tool-request","executionId":"e","toolCalls":[{"toolCallId":"new","toolName":"x","args":{}}]}`,
			`{"type":"finish","finishReason":"client-tool-calls","executionId":"e"}`,
		}, got)
	})
	t.Run("a forwarded finish ends the loop after this leg's server tools", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(eventsLeg(
			`{"type":"start","executionId":"e"}`,
			`{"type":"finish","finishReason":"stop"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"srv","args":{}}]}`,
		))
		got := execute(t, f, AttachOptions{Tools: ToolHandlers{"srv": constTool("r")}}, userMessage)
		requireJSONList(t, []string{
			`{"type":"start","executionId":"e"}`,
			`{"type":"finish","finishReason":"stop"}`,
			`{"type":"tool-output-available","toolCallId":"c","output":"r"}`,
		}, got)
		assert.Len(t, f.triggerBodies(), 1, "no next leg after a forwarded finish")
	})
	for _, reason := range []string{"stop", "length", "content-filter", "error", "other", "client-tool-calls"} {
		t.Run("finish "+reason+" with pending calls is forwarded", func(t *testing.T) {
			f := newFakePlatform(t)
			f.addLegs(eventsLeg(
				`{"type":"start","executionId":"e"}`,
				`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"srv","args":{}}]}`,
				`{"type":"finish","finishReason":"`+reason+`"}`,
			))
			got := execute(t, f, AttachOptions{Tools: ToolHandlers{"srv": constTool(1)}}, userMessage)
			requireJSONList(t, []string{
				`{"type":"start","executionId":"e"}`,
				`{"type":"finish","finishReason":"` + reason + `"}`,
				`{"type":"tool-output-available","toolCallId":"c","output":1}`,
			}, got)
			assert.Len(t, f.triggerBodies(), 1)
		})
	}
	t.Run("stream ending without finish or tools ends the execution", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(rawLeg("data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"x\"}\n\n"))
		got := execute(t, f, AttachOptions{}, userMessage)
		requireJSONList(t, []string{`{"type":"text-delta","id":"t","delta":"x"}`}, got)
	})
}

func TestExecuteRequestBodies(t *testing.T) {
	cases := []struct {
		name string
		req  SessionRequest
		want string
	}{
		{"trigger without input", TriggerRequest{TriggerName: "go"}, `{"triggerName":"go"}`},
		{"trigger with empty input", TriggerRequest{TriggerName: "go", Input: map[string]any{}}, `{"triggerName":"go","input":{}}`},
		{"trigger pointer", &TriggerRequest{TriggerName: "go", Input: map[string]any{"A": 1}}, `{"triggerName":"go","input":{"A":1}}`},
		{"continue", ContinueRequest{ExecutionID: "e9", ToolResults: []ToolResult{{ToolCallID: "c", ToolName: "t", Result: map[string]any{"ok": true}}}}, `{"executionId":"e9","toolResults":[{"toolCallId":"c","toolName":"t","result":{"ok":true}}]}`},
		{"continue with no results", &ContinueRequest{ExecutionID: "e9"}, `{"executionId":"e9","toolResults":[]}`},
		{"html stays unescaped", TriggerRequest{TriggerName: "go", Input: map[string]any{"Q": "<a&b>"}}, `{"triggerName":"go","input":{"Q":"<a&b>"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
			execute(t, f, AttachOptions{}, tc.req)
			bodies := f.triggerBodies()
			require.Len(t, bodies, 1)
			assert.JSONEq(t, tc.want, bodies[0])
			if strings.Contains(tc.want, "<") {
				assert.Contains(t, bodies[0], "<a&b>")
			}
			r := f.reqs()[0]
			assert.Equal(t, "/api/agent-sessions/sess_1/trigger", r.Path)
			assert.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		})
	}
}

func TestExecuteContinueThenServerRound(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(
			`{"type":"start","executionId":"e5"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c9","toolName":"srv","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e5"}`),
	)
	req, err := DecodeSessionRequest([]byte(`{"type":"continue","executionId":"e5","toolResults":[{"toolCallId":"c1","result":null,"extra":"kept"}]}`))
	require.NoError(t, err)
	execute(t, f, AttachOptions{Tools: ToolHandlers{"srv": constTool("x")}}, req)
	requireJSONList(t, []string{
		`{"executionId":"e5","toolResults":[{"toolCallId":"c1","result":null,"extra":"kept"}]}`,
		`{"executionId":"e5","toolResults":[{"toolCallId":"c9","toolName":"srv","result":"x"}]}`,
	}, f.triggerBodies())
}

func TestExecuteInvalidRequests(t *testing.T) {
	for _, req := range []SessionRequest{nil, (*TriggerRequest)(nil), (*ContinueRequest)(nil), ContinueRequest{}} {
		t.Run(fmt.Sprintf("%T", req), func(t *testing.T) {
			f := newFakePlatform(t)
			got := execute(t, f, AttachOptions{}, req)
			require.Len(t, got, 1)
			assert.Contains(t, got[0], `"errorType":"internal_error"`)
			assert.Empty(t, f.reqs(), "nothing is sent to the platform")
		})
	}
	t.Run("unencodable input", func(t *testing.T) {
		f := newFakePlatform(t)
		got := execute(t, f, AttachOptions{}, TriggerRequest{TriggerName: "x", Input: map[string]any{"c": make(chan int)}})
		require.Len(t, got, 1)
		assert.Contains(t, got[0], "Trigger input is not JSON")
		assert.Empty(t, f.reqs())
	})
}

func TestExecuteStatusErrors(t *testing.T) {
	cases := []struct {
		status    int
		body      string
		errorType string
		message   string
		retryable bool
		code      string // kept (SESSION_BUSY only), unlike the reference
	}{
		{400, `{"error":"bad input"}`, "validation_error", "bad input", false, ""},
		{401, `{"error":"Invalid API key"}`, "authentication_error", "Invalid API key", false, ""},
		{402, `{"message":"Out of credits","code":"QUOTA"}`, "quota_exceeded_error", "Out of credits", false, ""},
		{403, `{"error":"nope"}`, "permission_error", "nope", false, ""},
		{404, `{"error":"Session not found"}`, "not_found_error", "Session not found", false, ""},
		{408, `{}`, "unknown_error", "Failed to trigger: Request Timeout", false, ""},
		{409, `not json`, "unknown_error", "Failed to trigger: Conflict", false, ""},
		{429, `{"error":"Too many requests","code":"RATE_LIMITED"}`, "rate_limit_error", "Too many requests", true, ""},
		{429, `{"error":"The session is busy with another run. Please try again in a moment.","code":"SESSION_BUSY"}`, "rate_limit_error", "The session is busy with another run. Please try again in a moment.", true, "SESSION_BUSY"},
		{500, `{"error":"boom"}`, "internal_error", "boom", true, ""},
		{502, ``, "internal_error", "Failed to trigger: Bad Gateway", true, ""},
		{503, `{"error":"overloaded"}`, "provider_overloaded", "overloaded", true, ""},
		{504, `{"error":"slow"}`, "provider_timeout", "slow", true, ""},
		{404, `{"error":{"code":"NOT_FOUND","message":"no such session"}}`, "not_found_error", "no such session", false, ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status, " ", tc.body), func(t *testing.T) {
			f := newFakePlatform(t)
			f.addLegs(statusLeg(tc.status, tc.body))
			got := execute(t, f, AttachOptions{}, userMessage)
			m := map[string]any{"type": "error", "errorType": tc.errorType, "message": tc.message, "source": "platform", "retryable": tc.retryable}
			if tc.code != "" {
				m["code"] = tc.code
			}
			want, _ := json.Marshal(m)
			requireJSONList(t, []string{string(want)}, got)
			assert.Len(t, f.triggerBodies(), 1, "no retry, no further leg")
		})
	}
}

type recordingResource struct {
	name string
	mu   sync.Mutex
	got  []any
	err  error
}

func (r *recordingResource) Name() string { return r.name }
func (r *recordingResource) OnUpdate(_ context.Context, v any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, v)
	return r.err
}

func TestExecuteResources(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(
		`{"type":"resource-update","name":"NOTES","value":"v1"}`,
		`{"type":"resource-update","name":"OTHER","value":1}`,
		`{"type":"resource-update","name":"NOTES","value":{"k":[1,2]}}`,
		`{"type":"resource-update","name":"FAILS","value":true}`,
		`{"type":"resource-update","name":"NOTES"}`,
		`{"type":"resource-update","name":"NOTES","value":null}`,
		`{"type":"finish","finishReason":"stop"}`,
	))
	notes := &recordingResource{name: "NOTES"}
	fails := &recordingResource{name: "FAILS", err: errors.New("disk full")}
	var logs bytes.Buffer
	c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	got := wireJSON(t, collect(c.AgentSessions.Attach("s", AttachOptions{Resources: []Resource{notes, fails, nil}}).Execute(context.Background(), userMessage)))
	// Every update has finished once the channel is closed. An update
	// without "value" is dropped (zod 4.4+ requires the key).
	assert.Equal(t, []any{"v1", map[string]any{"k": []any{1.0, 2.0}}, nil}, notes.got)
	assert.Equal(t, []any{true}, fails.got)
	assert.Contains(t, logs.String(), "disk full")
	requireJSONList(t, []string{
		`{"type":"resource-update","name":"NOTES","value":"v1"}`,
		`{"type":"resource-update","name":"OTHER","value":1}`,
		`{"type":"resource-update","name":"NOTES","value":{"k":[1,2]}}`,
		`{"type":"resource-update","name":"FAILS","value":true}`,
		`{"type":"resource-update","name":"NOTES","value":null}`,
		`{"type":"finish","finishReason":"stop"}`,
	}, got)
}

func TestExecuteSlowResourceDoesNotHoldTheStream(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(
		`{"type":"resource-update","name":"SLOW","value":1}`,
		`{"type":"text-delta","id":"t","delta":"after"}`,
		`{"type":"finish","finishReason":"stop"}`,
	))
	release := make(chan struct{})
	var updated bool
	slow := ResourceFunc("SLOW", func(ctx context.Context, v any) error {
		<-release
		updated = true
		return nil
	})
	s := f.client(t).AgentSessions.Attach("s", AttachOptions{Resources: []Resource{slow}})
	ch := s.Execute(context.Background(), userMessage)
	var types []EventType
	for ev := range ch {
		types = append(types, ev.EventType())
		if ev.EventType() == EventFinish {
			// The whole stream came through while OnUpdate was blocked.
			close(release)
		}
	}
	assert.Equal(t, []EventType{EventResourceUpdate, EventTextDelta, EventFinish}, types)
	assert.True(t, updated, "the channel closes only after the update finished")
}

func TestExecutePanickingResourceIsLogged(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(`{"type":"resource-update","name":"P","value":1}`, `{"type":"finish","finishReason":"stop"}`))
	var logs bytes.Buffer
	c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	p := ResourceFunc("P", func(context.Context, any) error { panic("resource bug") })
	got := collect(c.AgentSessions.Attach("s", AttachOptions{Resources: []Resource{p}}).Execute(context.Background(), userMessage))
	assert.Len(t, got, 2)
	assert.Contains(t, logs.String(), "resource bug")
}

// toolLegs is a leg asking for calls (JSON array), then one finishing.
func toolLegs(calls string) []http.HandlerFunc {
	return []http.HandlerFunc{
		eventsLeg(`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":`+calls+`}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`),
	}
}

// TestExecuteBodyKeysIn64Order checks the exact bytes of each leg: the
// 6.4.0 key order, each key omitted when unset, and a trigger's keys
// repeated on its continuation legs.
func TestExecuteBodyKeysIn64Order(t *testing.T) {
	schemas := `[{"name":"dyn","description":"a dynamic tool","inputSchema":{"type":"object"}}]`
	cases := []struct {
		name    string
		req     SessionRequest
		opts    AttachOptions
		dynamic bool
		want    []string
	}{
		{"rollback after a message, sender, repeated on the next leg",
			TriggerRequest{TriggerName: "user-message", Input: map[string]any{"USER_MESSAGE": "again"}, Rollback: RollbackAfter("m1"), Sender: &MessageSender{ID: "u1", Name: "Ada", Image: "https://x/a.png"}},
			AttachOptions{Tools: ToolHandlers{"t": constTool("ok")}}, false,
			[]string{
				`{"triggerName":"user-message","input":{"USER_MESSAGE":"again"},"rollbackAfterMessageId":"m1","sender":{"id":"u1","name":"Ada","image":"https://x/a.png"}}`,
				`{"triggerName":"user-message","input":{"USER_MESSAGE":"again"},"rollbackAfterMessageId":"m1","sender":{"id":"u1","name":"Ada","image":"https://x/a.png"},"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"t","result":"ok"}]}`,
			}},
		{"rollback all is null",
			TriggerRequest{TriggerName: "user-message", Rollback: RollbackAll()},
			AttachOptions{Tools: ToolHandlers{"t": constTool("ok")}}, false,
			[]string{
				`{"triggerName":"user-message","rollbackAfterMessageId":null}`,
				`{"triggerName":"user-message","rollbackAfterMessageId":null,"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"t","result":"ok"}]}`,
			}},
		{"no rollback, no sender: no keys",
			TriggerRequest{TriggerName: "user-message"},
			AttachOptions{Tools: ToolHandlers{"t": constTool("ok")}}, false,
			[]string{
				`{"triggerName":"user-message"}`,
				`{"triggerName":"user-message","executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"t","result":"ok"}]}`,
			}},
		{"sender of the attach options, partial",
			&TriggerRequest{TriggerName: "user-message"},
			AttachOptions{Tools: ToolHandlers{"t": constTool("ok")}, Sender: &MessageSender{Name: "Bob"}}, false,
			[]string{
				`{"triggerName":"user-message","sender":{"name":"Bob"}}`,
				`{"triggerName":"user-message","sender":{"name":"Bob"},"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"t","result":"ok"}]}`,
			}},
		{"the trigger's own sender wins over the attach options'",
			TriggerRequest{TriggerName: "user-message", Sender: &MessageSender{ID: "u2"}},
			AttachOptions{Tools: ToolHandlers{"t": constTool("ok")}, Sender: &MessageSender{Name: "Bob"}}, false,
			[]string{
				`{"triggerName":"user-message","sender":{"id":"u2"}}`,
				`{"triggerName":"user-message","sender":{"id":"u2"},"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"t","result":"ok"}]}`,
			}},
		{"dynamic schemas on every leg, the dynamic tool runs",
			TriggerRequest{TriggerName: "user-message", Rollback: RollbackAfter("m1")},
			AttachOptions{}, true,
			[]string{
				`{"triggerName":"user-message","rollbackAfterMessageId":"m1","dynamicToolSchemas":` + schemas + `}`,
				`{"triggerName":"user-message","rollbackAfterMessageId":"m1","executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"dyn","result":"dynamic"}],"dynamicToolSchemas":` + schemas + `}`,
			}},
		{"a continue carries no trigger keys, but the dynamic schemas",
			ContinueRequest{ExecutionID: "e0", ToolResults: []ToolResult{{ToolCallID: "b1", ToolName: "browser", Result: json.RawMessage(`1`)}}},
			AttachOptions{}, true,
			[]string{
				`{"executionId":"e0","toolResults":[{"toolCallId":"b1","toolName":"browser","result":1}],"dynamicToolSchemas":` + schemas + `}`,
				`{"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"dyn","result":"dynamic"}],"dynamicToolSchemas":` + schemas + `}`,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			call := "t"
			if tc.dynamic {
				call = "dyn"
			}
			f.addLegs(toolLegs(`[{"toolCallId":"c1","toolName":"` + call + `","args":{}}]`)...)
			s := f.client(t).AgentSessions.Attach("sess_1", tc.opts)
			if tc.dynamic {
				s.SetDynamicTools(DynamicTools(
					DynamicTool{Schema: ToolSchema{Name: "dyn", Description: "a dynamic tool", InputSchema: json.RawMessage(`{"type":"object"}`)}, Handler: constTool("d")},
					DynamicTool{Schema: ToolSchema{Name: "t", Description: "a dynamic tool", InputSchema: json.RawMessage(`{"type":"object"}`)}, Handler: nil},
				))
				// Replaced: only the last set counts.
				s.SetDynamicTools(toolProvider{
					handlers: ToolHandlers{"dyn": constTool("dynamic"), "t": constTool("no schema: not a tool")},
					schemas: []ToolSchema{
						{Name: "dyn", Description: "a dynamic tool", InputSchema: json.RawMessage(`{"type":"object"}`)},
						{Name: "nohandler", Description: "dropped", InputSchema: json.RawMessage(`{}`)},
					},
				})
			}
			collect(s.Execute(context.Background(), tc.req))
			got := f.triggerBodies()
			require.Len(t, got, len(tc.want))
			for i := range tc.want {
				assert.Equal(t, tc.want[i], got[i], "leg %d", i)
			}
		})
	}
}

// toolProvider is a ToolProvider whose schemas and handlers differ.
type toolProvider struct {
	handlers ToolHandlers
	schemas  []ToolSchema
}

func (p toolProvider) ToolHandlers() ToolHandlers { return p.handlers }
func (p toolProvider) ToolSchemas() []ToolSchema  { return p.schemas }

func TestSetDynamicTools(t *testing.T) {
	f := newFakePlatform(t)
	static := constTool("static")
	s := f.client(t).AgentSessions.Attach("s", AttachOptions{Tools: ToolHandlers{"t": static, "keep": constTool("kept")}})
	schema := func(name string) ToolSchema {
		return ToolSchema{Name: name, Description: name + " tool", InputSchema: json.RawMessage(`{"type":"object","properties":{}}`), OutputSchema: json.RawMessage(`{"type":"string"}`)}
	}
	run := func(tool string) any {
		tools, _ := s.toolSet()
		h := tools[tool]
		if h == nil {
			return nil
		}
		v, _ := h(context.Background(), nil)
		return v
	}
	_, dyn := s.toolSet()
	assert.Nil(t, dyn, "no dynamic tools: no key")

	s.SetDynamicTools(DynamicTools(DynamicTool{Schema: schema("t"), Handler: constTool("dynamic")}, DynamicTool{Schema: schema("x"), Handler: constTool("x")}))
	_, dyn = s.toolSet()
	assert.Equal(t, `[{"name":"t","description":"t tool","inputSchema":{"type":"object","properties":{}},"outputSchema":{"type":"string"}},{"name":"x","description":"x tool","inputSchema":{"type":"object","properties":{}},"outputSchema":{"type":"string"}}]`, string(dyn))
	assert.Equal(t, "dynamic", run("t"), "a dynamic tool wins on a name clash")
	assert.Equal(t, "kept", run("keep"))
	assert.Equal(t, "x", run("x"))

	s.SetDynamicTools(DynamicTools())
	_, dyn = s.toolSet()
	assert.Equal(t, `[]`, string(dyn), "an empty set is sent as [], as the reference")
	assert.Equal(t, "static", run("t"), "the static handler is back")
	assert.Nil(t, run("x"), "a removed dynamic tool is gone")

	s.SetDynamicTools(DynamicTools(DynamicTool{Schema: schema("t"), Handler: constTool("one")}, DynamicTool{Schema: schema("t"), Handler: constTool("two")}))
	_, dyn = s.toolSet()
	assert.Equal(t, 1, strings.Count(string(dyn), `"name":"t"`), "one schema per name")
	assert.Equal(t, "two", run("t"), "the last of one name wins")

	s.SetDynamicTools(toolProvider{handlers: ToolHandlers{"y": constTool("y")}, schemas: []ToolSchema{{Name: "y", InputSchema: json.RawMessage(`{bad`)}}})
	_, dyn = s.toolSet()
	assert.Equal(t, `[]`, string(dyn), "a schema that is not JSON is left out")
	assert.Nil(t, run("y"))

	s.SetDynamicTools(toolProvider{handlers: ToolHandlers{"z": constTool("z")}})
	assert.Nil(t, run("z"), "a handler without a schema is no tool")

	s.SetDynamicTools(nil)
	_, dyn = s.toolSet()
	assert.Nil(t, dyn, "nil removes the dynamic tools and the key")
	assert.Equal(t, "static", run("t"))
}

// TestSetDynamicToolsWhileExecuting changes the tools between two legs of
// one execution (from a tool handler) and under the race detector.
func TestSetDynamicToolsWhileExecuting(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"install","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		eventsLeg(`{"type":"tool-request","toolCalls":[{"toolCallId":"c2","toolName":"fresh","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`),
	)
	var s *AgentSession
	s = f.client(t).AgentSessions.Attach("s", AttachOptions{Tools: ToolHandlers{"install": func(context.Context, map[string]any) (any, error) {
		s.SetDynamicTools(DynamicTools(DynamicTool{Schema: ToolSchema{Name: "fresh", InputSchema: json.RawMessage(`{}`)}, Handler: constTool("new")}))
		return "installed", nil
	}}})
	got := wireJSON(t, collect(s.Execute(context.Background(), userMessage)))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":"installed"}`,
		`{"type":"tool-output-available","toolCallId":"c2","output":"new"}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}, got)
	bodies := f.triggerBodies()
	require.Len(t, bodies, 3)
	assert.NotContains(t, bodies[0], "dynamicToolSchemas")
	assert.Contains(t, bodies[1], `"dynamicToolSchemas":[{"name":"fresh","description":"","inputSchema":{}}]`)
	assert.Contains(t, bodies[2], `"dynamicToolSchemas":[{"name":"fresh","description":"","inputSchema":{}}]`)
}

// TestServerToolResultsEchoThreadAndWorker: each result carries the
// thread and workerId of its call, present-but-empty ones included, for
// results, errors and rejected calls alike.
func TestServerToolResultsEchoThreadAndWorker(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(toolLegs(`[{"toolCallId":"c1","toolName":"ok","args":{},"thread":"research","workerId":"w1","outputVariable":"V","blockIndex":3},` +
		`{"toolCallId":"c2","toolName":"fail","args":{},"thread":"","workerId":"w2"},` +
		`{"toolCallId":"c3","toolName":"ok","args":{}},` +
		`{"toolCallId":"c4","toolName":"none","args":{},"workerId":"w3"}]`)...)
	c := f.client(t)
	tools := ToolHandlers{"ok": constTool(1), "fail": func(context.Context, map[string]any) (any, error) { return nil, errors.New("bad") }}
	collect(c.AgentSessions.Attach("sess_1", AttachOptions{Tools: tools, RejectClientTools: true}).Execute(context.Background(), userMessage))
	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	assert.JSONEq(t, `{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"executionId":"e1","toolResults":[`+
		`{"toolCallId":"c1","toolName":"ok","result":1,"outputVariable":"V","blockIndex":3,"thread":"research","workerId":"w1"},`+
		`{"toolCallId":"c2","toolName":"fail","error":"bad","thread":"","workerId":"w2"},`+
		`{"toolCallId":"c3","toolName":"ok","result":1},`+
		`{"toolCallId":"c4","toolName":"none","error":"Tool \"none\" is not available. No handler is registered for this tool.","workerId":"w3"}]}`, bodies[1])
}

// TestClientToolRequestKeepsThreadAndWorker: the calls handed to the
// browser keep their thread and workerId, and so do the server results
// listed with them.
func TestClientToolRequestKeepsThreadAndWorker(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"srv","args":{},"thread":"t1","workerId":"w1"},{"toolCallId":"c2","toolName":"browser","args":{},"thread":"t1","workerId":"w1"}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`))
	got := execute(t, f, AttachOptions{Tools: ToolHandlers{"srv": constTool("s")}}, userMessage)
	require.Len(t, got, 4)
	assert.JSONEq(t, `{"type":"client-tool-request","executionId":"e1","toolCalls":[{"toolCallId":"c2","toolName":"browser","args":{},"thread":"t1","workerId":"w1"}],"serverToolResults":[{"toolCallId":"c1","toolName":"srv","result":"s","thread":"t1","workerId":"w1"}]}`, got[2])
}

// TestEventsAfterFinishAreForwarded: as the reference's reader, the loop
// keeps reading a stream after its finish, so the usage event 6.4.0 sends
// after finish reaches the browser.
func TestEventsAfterFinishAreForwarded(t *testing.T) {
	usage := `{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.001,"providerFee":0.02,"totalFee":0.021,"byok":false},"tokens":{"inputTokens":10,"outputTokens":5,"totalTokens":15}}`
	t.Run("an event after finish", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(eventsLeg(`{"type":"start","executionId":"e"}`, `{"type":"finish","finishReason":"stop"}`, `{"type":"text-delta","id":"t","delta":"late"}`))
		got := execute(t, f, AttachOptions{}, userMessage)
		requireJSONList(t, []string{`{"type":"start","executionId":"e"}`, `{"type":"finish","finishReason":"stop"}`, `{"type":"text-delta","id":"t","delta":"late"}`}, got)
	})
	t.Run("usage after finish, through ToSSEStream", func(t *testing.T) {
		if _, err := ParseStreamEvent([]byte(usage)); err != nil {
			t.Skip("the usage event type is added by the events work (branch h1); this runs once it is merged")
		}
		f := newFakePlatform(t)
		f.addLegs(eventsLeg(`{"type":"start","executionId":"e"}`, `{"type":"finish","finishReason":"stop"}`, usage))
		c := f.client(t)
		rec := httptest.NewRecorder()
		ToSSEStream(c.AgentSessions.Attach("s", AttachOptions{}).Execute(context.Background(), userMessage)).
			ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
		payloads, done := ssePayloads(t, rec.Body.String())
		requireJSONList(t, []string{`{"type":"start","executionId":"e"}`, `{"type":"finish","finishReason":"stop"}`, usage}, payloads)
		assert.True(t, done)
	})
}
