package octavus

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var signingKey = []byte("0123456789abcdef0123456789abcdef")

// signedRound runs a round with a server tool (lookup) and a client tool
// (confirm) and returns the client-tool-request the browser gets.
func signedRound(t *testing.T, c *Client, f *fakePlatform, tools ToolHandlers) *ClientToolRequestEvent {
	t.Helper()
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{}},{"toolCallId":"c2","toolName":"confirm","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`))
	events := run(c, AttachOptions{Tools: tools}, userMessage)
	require.Len(t, events, 4)
	ctr, ok := events[2].(*ClientToolRequestEvent)
	require.True(t, ok, "%T", events[2])
	fin := events[3].(*FinishEvent)
	assert.Equal(t, ctr.ExecutionID, fin.ExecutionID)
	return ctr
}

// continueBody is the browser's continue request: the server results it was
// handed, then its own.
func continueBody(t *testing.T, executionID string, results []ToolResult) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"sessionId": "sess_1", "type": "continue", "executionId": executionID, "toolResults": results})
	require.NoError(t, err)
	return string(b)
}

func TestSignedResults(t *testing.T) {
	f := newFakePlatform(t)
	c, _ := clientWith(t, f, ClientOptions{ResultSigningKey: signingKey})
	tools := ToolHandlers{"lookup": constTool(map[string]any{"balance": 1.5, "owner": "ada", "big": 12345678901234567})}
	ctr := signedRound(t, c, f, tools)
	require.True(t, strings.HasPrefix(ctr.ExecutionID, "e1~"), ctr.ExecutionID)
	require.Len(t, ctr.ServerToolResults, 1)

	// The browser's round trip: JSON.parse, then JSON.stringify, with its
	// own result appended. Key order and number spelling may change.
	server := ctr.ServerToolResults[0]
	server.Result = json.RawMessage(`{"owner":"ada","big":12345678901234568,"balance":1.50}`)
	client := ToolResult{ToolCallID: "c2", ToolName: "confirm", Result: true}
	handler := c.AgentSessions.Handler(HandlerOptions{Tools: tools})

	t.Run("untouched results pass, without the mark", func(t *testing.T) {
		f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, postJSON(continueBody(t, ctr.ExecutionID, []ToolResult{server, client})))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		bodies := f.triggerBodies()
		assert.JSONEq(t, `{"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"lookup","result":{"owner":"ada","big":12345678901234568,"balance":1.50}},{"toolCallId":"c2","toolName":"confirm","result":true}]}`, bodies[len(bodies)-1])
	})

	forged := []struct {
		name string
		id   string
		res  []ToolResult
	}{
		{"changed result", ctr.ExecutionID, []ToolResult{{ToolCallID: "c1", ToolName: "lookup", Result: map[string]any{"balance": 1e9, "owner": "ada", "big": 12345678901234567}}, client}},
		{"dropped result", ctr.ExecutionID, []ToolResult{client}},
		{"added server result", ctr.ExecutionID, []ToolResult{server, {ToolCallID: "c9", ToolName: "lookup", Result: 1}, client}},
		{"result turned into an error", ctr.ExecutionID, []ToolResult{{ToolCallID: "c1", ToolName: "lookup", Error: "denied"}, client}},
		{"server result renamed to a client tool", ctr.ExecutionID, []ToolResult{{ToolCallID: "c1", ToolName: "confirm", Result: server.Result}, client}},
		{"other call id", ctr.ExecutionID, []ToolResult{{ToolCallID: "c7", ToolName: "lookup", Result: server.Result}, client}},
		{"mark removed", "e1", []ToolResult{server, client}},
		{"mark moved to another execution", "e2" + ctr.ExecutionID[2:], []ToolResult{server, client}},
		{"mark garbled", ctr.ExecutionID[:len(ctr.ExecutionID)-2] + "!!", []ToolResult{server, client}},
		{"mark cut short", ctr.ExecutionID[:len(ctr.ExecutionID)-1], []ToolResult{server, client}},
	}
	for _, tc := range forged {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.reqs())
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, postJSON(continueBody(t, tc.id, tc.res)))
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.JSONEq(t, `{"error":"tool results do not match the execution (signature check failed)"}`, rec.Body.String())
			assert.Len(t, f.reqs(), before, "nothing reaches the platform")
		})
	}

	t.Run("Execute reports a forged request as an error event", func(t *testing.T) {
		before := len(f.reqs())
		s := c.AgentSessions.Attach("sess_1", AttachOptions{Tools: tools})
		got := wireJSON(t, collect(s.Execute(context.Background(), ContinueRequest{ExecutionID: "e1", ToolResults: []ToolResult{client}})))
		requireJSONList(t, []string{`{"type":"error","errorType":"validation_error","message":"tool results do not match the execution (signature check failed)","source":"client","retryable":false}`}, got)
		assert.Len(t, f.reqs(), before)
	})
}

func TestSignedResultsKeyMatters(t *testing.T) {
	f := newFakePlatform(t)
	tools := ToolHandlers{"lookup": constTool("x")}
	c1, _ := clientWith(t, f, ClientOptions{ResultSigningKey: signingKey})
	ctr := signedRound(t, c1, f, tools)
	c2, _ := clientWith(t, f, ClientOptions{ResultSigningKey: []byte("another key, another server.....")})
	req := ContinueRequest{ExecutionID: ctr.ExecutionID, ToolResults: append(ctr.ServerToolResults, ToolResult{ToolCallID: "c2", ToolName: "confirm", Result: true})}
	assert.Error(t, c2.AgentSessions.Attach("s", AttachOptions{Tools: tools}).CheckRequest(req))
	assert.NoError(t, c1.AgentSessions.Attach("s", AttachOptions{Tools: tools}).CheckRequest(req))
	assert.NoError(t, c1.AgentSessions.Attach("s", AttachOptions{Tools: tools}).CheckRequest(userMessage), "triggers carry no results")
}

func TestUnsignedByDefault(t *testing.T) {
	f := newFakePlatform(t)
	c, _ := clientWith(t, f, ClientOptions{})
	ctr := signedRound(t, c, f, ToolHandlers{"lookup": constTool("x")})
	assert.Equal(t, "e1", ctr.ExecutionID)
	assert.NoError(t, c.AgentSessions.Attach("s", AttachOptions{}).CheckRequest(ContinueRequest{ExecutionID: "e1", ToolResults: []ToolResult{{ToolCallID: "c1", ToolName: "lookup", Result: "forged"}}}))
}
