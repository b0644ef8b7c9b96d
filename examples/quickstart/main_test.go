package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// runMainEnv makes the test binary run main instead of the tests: the test
// of the program as `go run` starts it runs the binary again with it set.
const runMainEnv = "QUICKSTART_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// TestREADMEShowsThisFile keeps the README's quick start and this program
// one text: the README's Go block that starts like main.go must be main.go,
// byte for byte.
func TestREADMEShowsThisFile(t *testing.T) {
	program, err := os.ReadFile("main.go")
	require.NoError(t, err)
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)

	const open, closing = "```go\n", "```\n"
	firstLine := string(program[:bytes.IndexByte(program, '\n')+1])
	start := bytes.Index(readme, []byte(open+firstLine))
	require.GreaterOrEqual(t, start, 0, "README.md has no ```go block starting with %q", firstLine)
	block := readme[start+len(open):]
	end := bytes.Index(block, []byte("\n"+closing))
	require.GreaterOrEqual(t, end, 0, "the README's quick start block is not closed")
	block = block[:end+1]
	if !bytes.Equal(block, program) {
		t.Fatalf("the README's quick start differs from examples/quickstart/main.go; copy main.go into the block (first difference at line %d)", firstDifferentLine(block, program))
	}
}

// firstDifferentLine is the 1-based number of the first line where a and b
// differ.
func firstDifferentLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// TestGoRunWithoutAPlatform runs the program as `go run
// ./examples/quickstart` does with no OCTAVUS_* variables set (this test
// binary, running main), then plays the two curl lines it prints.
func TestGoRunWithoutAPlatform(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(withoutOctavusEnv(os.Environ()), runMainEnv+"=1", "ADDR=127.0.0.1:0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// stop ends the program and returns what it wrote to stderr.
	stopped := false
	stop := func() string {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return stderr.String()
	}
	defer stop()

	// The program prints where it listens, then the two curl lines.
	listening := regexp.MustCompile(`^Listening on (http://127\.0\.0\.1:\d+)\. Try:$`)
	lines := bufio.NewScanner(stdout)
	var printed []string
	var url string
	for url == "" && lines.Scan() {
		printed = append(printed, lines.Text())
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("the program printed no address:\n%s\nstderr: %s", strings.Join(printed, "\n"), stop())
	}
	assert.Contains(t, printed[0], "No OCTAVUS_API_URL set: using a scripted fake platform at http://127.0.0.1:")
	for _, want := range []string{"  curl -X POST " + url + "/api/sessions", "  curl -N " + url + "/api/trigger "} {
		require.True(t, lines.Scan(), "the program stopped printing before %q", want)
		assert.True(t, strings.HasPrefix(lines.Text(), want), "got %q, want it to start with %q", lines.Text(), want)
	}

	sessionID := createSession(t, url)
	events := trigger(t, url, sessionID, "Who am I?")
	assert.Equal(t, []string{
		"start", "text-start", "text-delta", "text-end",
		"tool-input-start", "tool-input-delta", "tool-input-end", "tool-input-available",
		"tool-output-available",
		"start", "text-start", "text-delta", "text-end",
		"finish",
	}, eventTypes(events))
	assert.JSONEq(t, `{"name":"Demo User","plan":"pro"}`, string(events[8]["output"]))
	assert.JSONEq(t, `"You are Demo User, on the pro plan."`, string(events[11]["delta"]))
	assert.JSONEq(t, `"stop"`, string(events[13]["finishReason"]))
}

// TestRoutesAgainstAPlatform serves the program's routes against a platform
// scripted here: the session is created with the program's input, the
// get-user-account tool runs in Go, and a call with mistyped arguments gets
// a tool error the model can read.
func TestRoutesAgainstAPlatform(t *testing.T) {
	results := make(chan []octavustest.ToolResult, 2)
	platform := octavustest.NewServer()
	defer platform.Close()
	agentID := platform.AddAgent(octavustest.Agent{Name: "Test", Script: []octavustest.Turn{
		octavustest.Stream(
			octavustest.ToolCall{ID: "good", Name: "get-user-account", Args: map[string]any{"userId": "u1"}},
			octavustest.ToolCall{ID: "bad", Name: "get-user-account", Args: map[string]any{"userId": 42}},
		),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			results <- req.ToolResults
			return octavustest.Stream(octavustest.Text("Done."))
		}),
	}})
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	require.NoError(t, err)
	app := httptest.NewServer(routes(client, agentID))
	defer app.Close()

	sessionID := createSession(t, app.URL)
	var created map[string]any
	for _, r := range platform.Requests() {
		if r.Method == http.MethodPost && r.Path == "/api/agent-sessions" {
			require.NoError(t, json.Unmarshal(r.Body, &created))
		}
	}
	assert.Equal(t, map[string]any{"agentId": agentID, "input": map[string]any{"COMPANY_NAME": "Acme Corp"}}, created)

	events := trigger(t, app.URL, sessionID, "Who am I?")
	assert.Equal(t, "finish", eventTypes(events)[len(events)-1])
	got := <-results
	require.Len(t, got, 2)
	assert.Equal(t, "good", got[0].ToolCallID)
	assert.Equal(t, map[string]any{"name": "Demo User", "plan": "pro"}, got[0].Result)
	assert.Empty(t, got[0].Error)
	assert.Equal(t, "bad", got[1].ToolCallID)
	assert.Nil(t, got[1].Result)
	assert.Contains(t, got[1].Error, `invalid arguments: field "userId" must be string, got number`)
}

// withoutOctavusEnv drops the OCTAVUS_* and ADDR variables from env.
func withoutOctavusEnv(env []string) []string {
	var kept []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "OCTAVUS_") && !strings.HasPrefix(kv, "ADDR=") {
			kept = append(kept, kv)
		}
	}
	return kept
}

// createSession posts to the app's /api/sessions and returns the id.
func createSession(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Post(url+"/api/sessions", "application/json", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		SessionID string `json:"sessionId"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.NotEmpty(t, body.SessionID)
	return body.SessionID
}

// trigger posts a user message to the app's /api/trigger, as the browser's
// HTTP transport does, and returns the SSE events up to [DONE].
func trigger(t *testing.T, url, sessionID, message string) []map[string]json.RawMessage {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"sessionId": sessionID, "type": "trigger", "triggerName": "user-message",
		"input": map[string]any{"USER_MESSAGE": message},
	})
	require.NoError(t, err)
	resp, err := http.Post(url+"/api/trigger", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /api/trigger: %s %s", resp.Status, b)
	}
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var events []map[string]json.RawMessage
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			return events
		}
		var ev map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(data), &ev), data)
		events = append(events, ev)
	}
	require.NoError(t, sc.Err())
	t.Fatal("the stream ended without [DONE]")
	return nil
}

// eventTypes lists the events' types in order.
func eventTypes(events []map[string]json.RawMessage) []string {
	types := make([]string, len(events))
	for i, ev := range events {
		_ = json.Unmarshal(ev["type"], &types[i])
	}
	return types
}
