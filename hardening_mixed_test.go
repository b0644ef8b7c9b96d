package octavus

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 13, item 1: a server result larger than the continue body limit
// (6 MB against 4 MiB) in a mixed round. The client-tool-request carries
// the result trimmed by the continuation size rule, signed as trimmed, so
// the browser's continue fits and verifies; the tool-output-available
// event keeps the full result.
func TestMixedRoundHugeServerResultTrimmedForBrowser(t *testing.T) {
	f := newFakePlatform(t)
	var cuts []TruncatedResult
	c, _ := clientWith(t, f, ClientOptions{ResultSigningKey: signingKey, OnTruncate: func(tr TruncatedResult) { cuts = append(cuts, tr) }})
	big := strings.Repeat("x", 6_000_000)
	tools := ToolHandlers{"lookup": constTool(big)}
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{}},{"toolCallId":"c2","toolName":"confirm","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`))
	var ctr *ClientToolRequestEvent
	var output json.RawMessage
	for _, ev := range run(c, AttachOptions{Tools: tools}, userMessage) {
		switch e := ev.(type) {
		case *ClientToolRequestEvent:
			ctr = e
		case *ToolOutputAvailableEvent:
			output = e.Output
		}
	}
	require.NotNil(t, ctr)
	var full string
	require.NoError(t, json.Unmarshal(output, &full))
	assert.Equal(t, big, full, "the UI event keeps the full result")

	require.Len(t, ctr.ServerToolResults, 1)
	trimmed, _ := ctr.ServerToolResults[0].Result.(json.RawMessage)
	assert.Less(t, len(trimmed), 100_000, "the browser gets the preview")
	require.Len(t, cuts, 1)
	assert.Equal(t, "c1", cuts[0].ToolCallID)
	assert.Equal(t, 6_000_000, cuts[0].OriginalBytes)

	results := append(ctr.ServerToolResults, ToolResult{ToolCallID: "c2", ToolName: "confirm", Result: true})
	body := continueBody(t, ctr.ExecutionID, results)
	assert.Less(t, len(body), DefaultMaxContinueBody)
	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`))
	rec := httptest.NewRecorder()
	c.AgentSessions.Handler(HandlerOptions{Tools: tools}).ServeHTTP(rec, postJSON(body))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.NotContains(t, rec.Body.String(), `"type":"error"`)
	bodies := f.triggerBodies()
	last := bodies[len(bodies)-1]
	assert.Contains(t, last, `"executionId":"e1"`)
	assert.Contains(t, last, string(trimmed[1:200]), "the platform's continuation has the preview")
	assert.Contains(t, last, `"toolCallId":"c2"`)
	assert.Less(t, len(last), DefaultMaxContinueBody)
}
