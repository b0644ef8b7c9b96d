package octavustest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/octavus-go/octavus/octavustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer starts a server that the test closes when it ends.
func newServer(t *testing.T, opts ...octavustest.Option) *octavustest.Server {
	t.Helper()
	srv := octavustest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// fixedClock is the clock of servers whose timestamps tests compare.
func fixedClock() time.Time { return time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC) }

// call sends an authenticated request and returns the answer's status,
// headers and body.
func call(t *testing.T, srv *octavustest.Server, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// callJSON is call with the body decoded; it fails the test on another status.
func callJSON(t *testing.T, srv *octavustest.Server, method, path, body string, wantStatus int) map[string]any {
	t.Helper()
	status, _, b := call(t, srv, method, path, body)
	if status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, wantStatus, b)
	}
	return decode(t, b)
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}

// jsonOf decodes a JSON literal, for comparing with decoded answers.
func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON literal %s: %v", s, err)
	}
	return v
}

// equalJSON fails the test unless got and the JSON literal want are equal as JSON.
func equalJSON(t *testing.T, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	_ = json.Unmarshal(b, &g)
	if w := jsonOf(t, want); !reflect.DeepEqual(g, w) {
		wb, _ := json.Marshal(w)
		t.Fatalf("JSON differs\n got: %s\nwant: %s", b, wb)
	}
}

// wantError checks a platform error answer: status and code.
func wantError(t *testing.T, status int, body []byte, wantStatus int, wantCode string) map[string]any {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	m := decode(t, body)
	if m["code"] != wantCode {
		t.Fatalf("code %v, want %s; body %s", m["code"], wantCode, body)
	}
	if msg, _ := m["error"].(string); msg == "" {
		t.Fatalf("no error message in %s", body)
	}
	return m
}

func triggerPath(sessionID string) string { return "/api/agent-sessions/" + sessionID + "/trigger" }

// sse splits a stream body into its data payloads and reports whether it
// ended with [DONE]; it fails the test on anything but data lines.
func sse(t *testing.T, body []byte) (events []map[string]any, done bool) {
	t.Helper()
	text := string(body)
	if !strings.HasSuffix(text, "\n\n") && text != "" {
		t.Fatalf("stream does not end with a blank line: %q", text)
	}
	for _, frame := range strings.Split(strings.TrimSuffix(text, "\n\n"), "\n\n") {
		if frame == "" {
			continue
		}
		data, ok := strings.CutPrefix(frame, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("not a single data line: %q", frame)
		}
		if done {
			t.Fatalf("event after [DONE]: %q", frame)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		events = append(events, decode(t, []byte(data)))
	}
	return events, done
}

// trigger POSTs body to the session's trigger and returns the streamed events;
// it fails the test unless the answer is a 200 event stream.
func trigger(t *testing.T, srv *octavustest.Server, sessionID, body string) (events []map[string]any, done bool) {
	t.Helper()
	status, h, b := call(t, srv, http.MethodPost, triggerPath(sessionID), body)
	if status != http.StatusOK {
		t.Fatalf("trigger: status %d; body %s", status, b)
	}
	if ct := h.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	return sse(t, b)
}

func types(events []map[string]any) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i], _ = ev["type"].(string)
	}
	return out
}

// openStream starts a trigger POST and returns a reader on its body, for
// tests that read a stream while it is being written.
func openStream(t *testing.T, ctx context.Context, srv *octavustest.Server, sessionID, body string) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+triggerPath(sessionID), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp, bufio.NewReader(resp.Body)
}

// readFrame reads one SSE frame (up to a blank line) from a live stream.
func readFrame(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var frame strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v (read %q)", err, frame.String()+line)
		}
		if line == "\n" {
			return frame.String()
		}
		frame.WriteString(line)
	}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

const userMessage = `{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}`
