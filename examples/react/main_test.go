package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeDist writes a stand-in for the built app: an index.html.
func writeDist(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>the built app</p>\n"), 0o644))
}

func TestFindDist(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	_, err := findDist("")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run `npm ci && npm run build` in examples/react first")

	// From the repository, examples/react/dist is found.
	writeDist(t, filepath.Join(root, "examples", "react", "dist"))
	got, err := findDist("")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("examples", "react", "dist"), got)

	// A dist given is used, and must hold an index.html.
	writeDist(t, filepath.Join(root, "elsewhere"))
	got, err = findDist("elsewhere")
	require.NoError(t, err)
	assert.Equal(t, "elsewhere", got)
	_, err = findDist("examples")
	assert.Error(t, err)
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("OCTAVUS_API_URL", "")
	t.Setenv("OCTAVUS_API_KEY", "")
	t.Setenv("OCTAVUS_AGENT_ID", "")
	cfg, err := configFromEnv()
	require.NoError(t, err)
	assert.Equal(t, config{pace: defaultPace}, cfg, "the demo platform")

	t.Setenv("OCTAVUS_API_URL", "https://octavus.example")
	t.Setenv("OCTAVUS_API_KEY", "key")
	_, err = configFromEnv()
	assert.ErrorContains(t, err, "OCTAVUS_AGENT_ID")

	t.Setenv("OCTAVUS_AGENT_ID", "agent_1")
	cfg, err = configFromEnv()
	require.NoError(t, err)
	assert.Equal(t, config{baseURL: "https://octavus.example", apiKey: "key", agentID: "agent_1", pace: defaultPace}, cfg)
}

// events POSTs body to url and returns the SSE events of the answer.
func events(t *testing.T, url string, body any) []map[string]any {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var evs []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(data), &ev), data)
		evs = append(evs, ev)
	}
	require.NoError(t, sc.Err())
	return evs
}

// ofType returns the events of type typ.
func ofType(evs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, ev := range evs {
		if ev["type"] == typ {
			out = append(out, ev)
		}
	}
	return out
}

// text joins the text deltas of evs.
func text(evs []map[string]any) string {
	var b strings.Builder
	for _, ev := range ofType(evs, "text-delta") {
		b.WriteString(ev["delta"].(string))
	}
	return b.String()
}

// TestServeRoundTrip plays the browser's part over plain HTTP: the page,
// a session, a trigger that runs get-order in Go and hands confirm-refund
// to the browser, and the continue request with the person's answer.
func TestServeRoundTrip(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	writeDist(t, dist)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	_, base := startServer(t, config{dist: dist})

	resp, err := http.Get(base)
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "<p>the built app</p>\n", string(page))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")

	resp, err = http.Post(base+"api/sessions", "application/json", nil)
	require.NoError(t, err)
	var session struct {
		SessionID string `json:"sessionId"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&session))
	resp.Body.Close()
	require.NotEmpty(t, session.SessionID)

	first := events(t, base+"api/trigger", map[string]any{
		"sessionId": session.SessionID, "type": "trigger", "triggerName": "user-message",
		"input": map[string]any{"USER_MESSAGE": "Can I get a refund for order 1042?"},
	})
	assert.Equal(t, "Let me look up order #1042.Order #1042, the Mechanical keyboard, was delivered on 2026-03-02. I can refund it.", text(first))
	outputs := ofType(first, "tool-output-available")
	require.Len(t, outputs, 1, "get-order ran in Go")
	assert.Equal(t, map[string]any{"orderId": "1042", "item": "Mechanical keyboard", "total": "$129.00", "status": "delivered", "date": "2026-03-02"}, outputs[0]["output"])
	requests := ofType(first, "client-tool-request")
	require.Len(t, requests, 1, "confirm-refund goes to the browser")
	req := requests[0]
	calls := req["toolCalls"].([]any)
	require.Len(t, calls, 1)
	call := calls[0].(map[string]any)
	assert.Equal(t, "confirm-refund", call["toolName"])
	assert.Equal(t, "Refund $129.00 for the Mechanical keyboard (order #1042)?", call["args"].(map[string]any)["question"])

	// The browser sends the server results back with its own, as the
	// HTTP transport does.
	results, _ := req["serverToolResults"].([]any)
	results = append(results, map[string]any{"toolCallId": call["toolCallId"], "toolName": "confirm-refund", "result": map[string]any{"confirmed": false}})
	second := events(t, base+"api/trigger", map[string]any{
		"sessionId": session.SessionID, "type": "continue", "executionId": req["executionId"], "toolResults": results,
	})
	assert.Equal(t, "All right, I did not refund $129.00 for the Mechanical keyboard (order #1042).", text(second))
	require.Len(t, ofType(second, "finish"), 1)
	assert.Equal(t, "stop", ofType(second, "finish")[0]["finishReason"])
}

func TestServeRefusesMalformedTriggers(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	writeDist(t, dist)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	_, base := startServer(t, config{dist: dist})
	resp, err := http.Post(base+"api/trigger", "application/json", strings.NewReader(`{"type":"trigger"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
