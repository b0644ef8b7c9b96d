package octavus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMediaThroughOnToolResults(t *testing.T) {
	// The hook runs before the tool-output events and the continuation: both
	// carry the link, the continuation carries the image in files, and the
	// storage gets the bytes without the API key.
	var mu sync.Mutex
	var puts []string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		puts = append(puts, r.Method+" "+r.Header.Get("Content-Type")+" auth="+r.Header.Get("Authorization")+" "+b64(b))
		mu.Unlock()
	}))
	defer storage.Close()
	f := newFakePlatform(t)
	f.handle("POST /api/files/upload-urls", jsonRoute(fmt.Sprintf(`{"files":[{"id":"file_1","uploadUrl":"%s/up/1","downloadUrl":"https://cdn.example/1"}]}`, storage.URL)))
	f.addLegs(
		eventsLeg(`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"screenshot","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`),
	)
	c := f.client(t)
	s := c.AgentSessions.Attach("sess_1", AttachOptions{
		Tools: ToolHandlers{"screenshot": func(context.Context, map[string]any) (any, error) {
			return []map[string]any{{"type": "text", "text": "shot"}, {"type": "image", "data": b64(pngBytes), "mimeType": "image/png"}}, nil
		}},
		OnToolResults: func(ctx context.Context, results []ToolResult) error {
			return NormalizeToolResultMedia(ctx, c.Files, "sess_1", results)
		},
	})
	var outputs []string
	for ev := range s.Execute(t.Context(), TriggerRequest{TriggerName: "user-message"}) {
		if e, ok := ev.(*ToolOutputAvailableEvent); ok {
			outputs = append(outputs, string(e.Output))
		}
	}
	summary := fmt.Sprintf(`[{"type":"text","text":"shot"},{"type":"image","mediaType":"image/png","size":%d,"url":"https://cdn.example/1"}]`, len(pngBytes))
	require.Len(t, outputs, 1)
	require.JSONEq(t, summary, outputs[0])
	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	var cont struct {
		ToolResults []json.RawMessage `json:"toolResults"`
	}
	require.NoError(t, json.Unmarshal([]byte(bodies[1]), &cont))
	require.Len(t, cont.ToolResults, 1)
	var tr map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(cont.ToolResults[0], &tr))
	require.JSONEq(t, summary, string(tr["result"]))
	var files []map[string]any
	require.NoError(t, json.Unmarshal(tr["files"], &files))
	require.Len(t, files, 1)
	require.Equal(t, "file_1", files[0]["id"])
	require.Equal(t, "https://cdn.example/1", files[0]["url"])
	require.Equal(t, []string{"PUT image/png auth= " + b64(pngBytes)}, puts)
}
