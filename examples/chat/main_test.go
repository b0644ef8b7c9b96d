package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine,
// with a channel that reports each write.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{writes: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	select {
	case b.writes <- struct{}{}:
	default:
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startRun runs the example as `go run ./examples/chat -addr 127.0.0.1:0`
// would, with the demo platform, and returns the chat's URL (ending in /).
// The example is stopped, and must end cleanly, when the test ends.
func startRun(t *testing.T) string {
	t.Helper()
	t.Setenv("OCTAVUS_API_URL", "")
	t.Setenv("OCTAVUS_API_KEY", "")
	ctx, cancel := context.WithCancel(context.Background())
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", out) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		http.DefaultClient.CloseIdleConnections()
	})

	chatLine := regexp.MustCompile(`(?m)^Chat: (http://\S+/)$`)
	for {
		select {
		case <-out.writes:
			if m := chatLine.FindStringSubmatch(out.String()); m != nil {
				assert.Contains(t, out.String(), "built-in demo platform")
				return m[1]
			}
		case err := <-done:
			t.Fatalf("run ended early: %v\n%s", err, out.String())
		}
	}
}

// sse is the events of an execution as GET /api/chat/events streams them.
type sse struct {
	events []map[string]any
	ids    []int // each event's id: the log's cursor after it
	done   bool  // it ended with data: [DONE]
}

// ofType returns the events of type typ.
func (s sse) ofType(typ string) []map[string]any {
	var out []map[string]any
	for _, ev := range s.events {
		if ev["type"] == typ {
			out = append(out, ev)
		}
	}
	return out
}

// text joins the deltas of the events of type typ ("text-delta", ...).
func (s sse) text(typ string) string {
	var b strings.Builder
	for _, ev := range s.ofType(typ) {
		b.WriteString(ev["delta"].(string))
	}
	return b.String()
}

// last returns the last event.
func (s sse) last() map[string]any {
	if len(s.events) == 0 {
		return nil
	}
	return s.events[len(s.events)-1]
}

// heldLongText is the text of the long answer that streams before a hold
// (config.hold) stops it: its first longHoldWords words.
func heldLongText() string {
	return strings.Join(strings.SplitAfter(longAnswerText(), " ")[:longHoldWords], "")
}

// postJSON POSTs body to url and returns the answer.
func postJSON(t *testing.T, url string, body any) *http.Response {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// startTrigger POSTs body to /api/chat/trigger, as the page does: the
// execution starts and the answer is {"executionId"}, the id Stop names.
func startTrigger(t *testing.T, base string, body map[string]any) string {
	t.Helper()
	resp := postJSON(t, base+"api/chat/trigger", body)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var started map[string]any
	require.NoError(t, json.Unmarshal(b, &started), string(b))
	id, _ := started["executionId"].(string)
	require.NotEmpty(t, id, "the answer names the execution: %s", b)
	assert.Equal(t, map[string]any{"executionId": id}, started, "nothing else")
	return id
}

// eventStream is GET /api/chat/events, read event by event.
type eventStream struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
	sse
}

// openEvents opens the session's event stream from the cursor the header
// Last-Event-ID says (none: ?cursor=0, the start of the execution).
func openEvents(t *testing.T, base, sessionID, lastEventID string) *eventStream {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"api/chat/events?cursor=0&sessionId="+sessionID, nil)
	require.NoError(t, err)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	return &eventStream{t: t, resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next reads the next event; false at the end of the stream.
func (s *eventStream) next() bool {
	s.t.Helper()
	id := -1
	for s.sc.Scan() {
		line := s.sc.Text()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			// The id is "<executionId>:<cursor>".
			i := strings.LastIndexByte(v, ':')
			require.Positive(s.t, i, "an id without its execution: %s", line)
			n, err := strconv.Atoi(v[i+1:])
			require.NoError(s.t, err, line)
			id = n
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		require.False(s.t, s.done, "an event after [DONE]: %s", data)
		if data == "[DONE]" {
			s.done = true
			continue
		}
		var ev map[string]any
		require.NoError(s.t, json.Unmarshal([]byte(data), &ev), data)
		s.events = append(s.events, ev)
		s.ids = append(s.ids, id)
		return true
	}
	require.NoError(s.t, s.sc.Err())
	return false
}

// until reads events until one of type typ (and, when name is set, of
// toolName name); it fails at the end of the stream.
func (s *eventStream) until(typ, name string) map[string]any {
	s.t.Helper()
	for s.next() {
		if ev := s.last(); ev["type"] == typ && (name == "" || ev["toolName"] == name) {
			return ev
		}
	}
	s.t.Fatalf("no %s %s event in %v", typ, name, s.events)
	return nil
}

// rest reads the stream to its end.
func (s *eventStream) rest() sse {
	for s.next() {
	}
	return s.sse
}

// trigger starts an execution as the page does and reads all its events.
func trigger(t *testing.T, base string, body map[string]any) sse {
	t.Helper()
	startTrigger(t, base, body)
	return openEvents(t, base, body["sessionId"].(string), "").rest()
}

// newSession creates a session through the chat's POST /api/sessions.
func newSession(t *testing.T, base string) string {
	t.Helper()
	resp := postJSON(t, base+"api/sessions", map[string]any{})
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var created struct {
		SessionID string `json:"sessionId"`
	}
	require.NoError(t, json.Unmarshal(b, &created))
	require.NotEmpty(t, created.SessionID)
	return created.SessionID
}

// userMessage is the page's trigger request for a typed message.
func userMessage(sessionID, text string) map[string]any {
	return map[string]any{
		"sessionId":   sessionID,
		"type":        "trigger",
		"triggerName": "user-message",
		"input":       map[string]any{"USER_MESSAGE": text},
	}
}

// get GETs url and returns the answer and its body.
func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// TestRunServesThePage checks the page, its assets and /api/info.
func TestRunServesThePage(t *testing.T) {
	base := startRun(t)

	resp, body := get(t, base)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	assert.Contains(t, body, `<ol id="messages"`)
	assert.Contains(t, body, `src="app.js"`)
	assert.NotContains(t, body, "http", "no CDN: every asset is served by the example")

	for _, asset := range []struct{ path, contentType, contains string }{
		{"app.js", "text/javascript; charset=utf-8", "new EventSource("},
		{"style.css", "text/css; charset=utf-8", ".part.tool"},
	} {
		resp, body := get(t, base+asset.path)
		assert.Equal(t, http.StatusOK, resp.StatusCode, asset.path)
		assert.Equal(t, asset.contentType, resp.Header.Get("Content-Type"), asset.path)
		assert.Contains(t, body, asset.contains, asset.path)
	}

	resp, body = get(t, base+"api/info")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"platform":"demo"}`, body)
}

// TestRunChatRoundTrip plays the page's requests: a user message starts an
// execution whose events stream reasoning and text, run the get-order
// server tool and then the confirm-refund tool, which waits for the
// person's answer (POST /api/sessions/{id}/confirm); the answer that
// follows reflects it.
func TestRunChatRoundTrip(t *testing.T) {
	base := startRun(t)

	for _, tc := range []struct {
		name      string
		confirmed bool
		answer    string
	}{
		{"confirmed", true, "Done: you confirmed, so I refunded $129.00 for the Mechanical keyboard (order #1042)."},
		{"declined", false, "Understood: you declined, so I did not refund $129.00 for the Mechanical keyboard (order #1042)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sessionID := newSession(t, base)
			startTrigger(t, base, userMessage(sessionID, "Where is my order 1042?"))
			s := openEvents(t, base, sessionID, "")
			ask := s.until("tool-input-available", "confirm-refund")
			assert.Equal(t, "Refund $129.00 for the Mechanical keyboard (order #1042)?", ask["input"].(map[string]any)["question"])

			assert.Greater(t, len(s.ofType("reasoning-delta")), 5, "reasoning streams in small deltas")
			assert.Greater(t, len(s.ofType("text-delta")), 5, "text streams in small deltas")
			assert.Contains(t, s.text("reasoning-delta"), "fetch order #1042 with get-order")
			assert.Contains(t, s.text("text-delta"), "Let me look up order #1042 for you.")
			outputs := s.ofType("tool-output-available")
			require.Len(t, outputs, 1, "the get-order server tool ran")
			assert.Equal(t, map[string]any{
				"orderId": "1042", "item": "Mechanical keyboard", "total": "$129.00", "status": "delivered", "date": "2026-03-02",
			}, outputs[0]["output"])

			resp := postJSON(t, base+"api/sessions/"+sessionID+"/confirm", map[string]any{"confirmed": tc.confirmed})
			require.Equal(t, http.StatusOK, resp.StatusCode)

			all := s.rest()
			require.True(t, all.done, "the stream ends with [DONE]")
			assert.Empty(t, all.ofType("tool-request"), "the SDK consumes tool requests")
			assert.Empty(t, all.ofType("client-tool-request"), "every tool runs on the server")
			outputs = all.ofType("tool-output-available")
			require.Len(t, outputs, 2)
			assert.Equal(t, map[string]any{"confirmed": tc.confirmed}, outputs[1]["output"])
			assert.Contains(t, all.text("text-delta"), tc.answer)
			assert.Equal(t, "stop", all.ofType("finish")[0]["finishReason"])
			for i, id := range all.ids {
				assert.Equal(t, i+1, id, "each event's id is the cursor after it")
			}
		})
	}
}

// TestRunResumesTheStream checks what a reloaded page gets: the browser
// leaves mid-answer and the execution goes on; a stream opened again with
// Last-Event-ID gets exactly the events it missed, then the live tail.
func TestRunResumesTheStream(t *testing.T) {
	// The long answer waits after its first words until the page left.
	hold := make(chan struct{})
	_, base := startAppWith(t, config{pace: 2 * time.Millisecond, hold: hold})
	sessionID := newSession(t, base)
	startTrigger(t, base, userMessage(sessionID, "Tell me a long story about keyboards."))

	first := openEvents(t, base, sessionID, "")
	for len(first.ofType("text-delta")) < longHoldWords {
		require.True(t, first.next(), "the stream ended early")
	}
	require.Equal(t, heldLongText(), first.text("text-delta"))
	require.NoError(t, first.resp.Body.Close()) // the page reloads
	close(hold)

	// The execution goes on without the page (were it cancelled, the
	// rest would end with finish "stop" before the end of the answer).
	cursor := first.ids[len(first.ids)-1]
	second := openEvents(t, base, sessionID, strconv.Itoa(cursor)).rest()
	require.True(t, second.done)
	assert.Equal(t, cursor+1, second.ids[0], "it goes on after the last event the page got")
	assert.Equal(t, longAnswerText(), first.text("text-delta")+second.text("text-delta"), "the whole answer, once")

	// From the start (a reloaded page that lost everything): the same log.
	whole := openEvents(t, base, sessionID, "").rest()
	assert.Equal(t, append(append([]map[string]any{}, first.events...), second.events...), whole.events)
}

// TestRunToolError checks that a failing server tool reaches the browser as
// tool-output-error and the agent answers with it.
func TestRunToolError(t *testing.T) {
	base := startRun(t)
	s := trigger(t, base, userMessage(newSession(t, base), "What about order 9999?"))
	require.True(t, s.done)
	errs := s.ofType("tool-output-error")
	require.Len(t, errs, 1)
	assert.Equal(t, "no order #9999", errs[0]["error"])
	assert.Contains(t, s.text("text-delta"), "Sorry, I could not find that order (no order #9999).")
	assert.Empty(t, s.ofType("client-tool-request"))
	assert.Equal(t, "stop", s.last()["finishReason"])
}

// TestRunPlatformError checks the scripted platform error: an error event
// the page can show, with its message and whether it is retryable.
func TestRunPlatformError(t *testing.T) {
	base := startRun(t)
	s := trigger(t, base, userMessage(newSession(t, base), "Show me an error."))
	errs := s.ofType("error")
	require.Len(t, errs, 1)
	assert.Equal(t, "provider_overloaded", errs[0]["errorType"])
	assert.Equal(t, demoErrorMessage, errs[0]["message"])
	assert.Equal(t, true, errs[0]["retryable"])
	assert.Equal(t, "Let me think about that...", s.text("text-delta"))
}

// TestRunRefusesMalformedRequests checks that the trigger route answers a
// malformed body with a 4xx JSON error, and the confirm route an answer
// nothing waits for with 409.
func TestRunRefusesMalformedRequests(t *testing.T) {
	base := startRun(t)
	resp := postJSON(t, base+"api/chat/trigger", map[string]any{"type": "trigger", "triggerName": "user-message"})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(b), "sessionId")

	id := newSession(t, base)
	resp = postJSON(t, base+"api/sessions/"+id+"/confirm", map[string]any{"confirmed": true})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	resp = postJSON(t, base+"api/sessions/"+id+"/confirm", map[string]any{"yes": true})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// TestConfigFromEnv checks which platform the environment selects.
func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name, url, key, agent string
		wantErr               string // empty: no error
	}{
		{name: "demo platform"},
		{name: "real platform", url: "https://octavus.example", key: "k", agent: "a"},
		{name: "no agent", url: "https://octavus.example", key: "k", wantErr: "(missing: OCTAVUS_AGENT_ID)"},
		{name: "key only", key: "k", wantErr: "(missing: OCTAVUS_API_URL, OCTAVUS_AGENT_ID)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OCTAVUS_API_URL", tc.url)
			t.Setenv("OCTAVUS_API_KEY", tc.key)
			t.Setenv("OCTAVUS_AGENT_ID", tc.agent)
			cfg, err := configFromEnv()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				// run fails the same way, before it listens.
				require.ErrorContains(t, run(context.Background(), "127.0.0.1:0", io.Discard), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, config{baseURL: tc.url, apiKey: tc.key, agentID: tc.agent, pace: defaultPace}, cfg)
		})
	}
}

// TestChatURL checks the printed URL for the usual -addr values.
func TestChatURL(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	for addr, want := range map[string]string{
		"localhost:8080": "http://localhost:8080/",
		":8080":          "http://localhost:8080/",
		"0.0.0.0:8080":   "http://localhost:8080/",
		"127.0.0.1:0":    "http://127.0.0.1:8080/",
		"[::1]:0":        "http://[::1]:8080/",
	} {
		assert.Equal(t, want, chatURL(addr, bound), addr)
	}
}

// startApp serves the example's routes with the demo platform, streaming
// a word every 2 ms, on 127.0.0.1:0 and returns the app and the base URL
// (ending in /).
func startApp(t *testing.T) (*app, string) {
	t.Helper()
	return startAppWith(t, config{pace: 2 * time.Millisecond})
}

// startAppWith is startApp with the demo platform's config cfg.
func startAppWith(t *testing.T, cfg config) (*app, string) {
	t.Helper()
	var a *app
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, "127.0.0.1:0", io.Discard, func(started *app, url string) {
			a = started
			ready <- url
		})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		http.DefaultClient.CloseIdleConnections()
	})
	select {
	case url := <-ready:
		return a, url
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
		return nil, ""
	}
}

// opened is the answer of POST /api/sessions/{id}/open.
type opened struct {
	SessionID string           `json:"sessionId"`
	Status    string           `json:"status"`
	Messages  []map[string]any `json:"messages"`
}

// openSession POSTs /api/sessions/{id}/open with the kept messages.
func openSession(t *testing.T, base, id string, messages []map[string]any) opened {
	t.Helper()
	resp := postJSON(t, base+"api/sessions/"+id+"/open", map[string]any{"messages": messages})
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var o opened
	require.NoError(t, json.Unmarshal(b, &o), string(b))
	return o
}

// messageTexts returns each message's role and the text of its text parts.
func messageTexts(messages []map[string]any) []string {
	var out []string
	for _, m := range messages {
		var b strings.Builder
		for _, p := range m["parts"].([]any) {
			if part := p.(map[string]any); part["type"] == "text" {
				b.WriteString(part["text"].(string))
			}
		}
		out = append(out, m["role"].(string)+": "+b.String())
	}
	return out
}

// TestOpenSession checks how the page's kept session is opened again: an
// active one answers with its messages, an expired one is restored from
// the kept messages, an unknown one (the platform restarted) becomes a new
// session.
func TestOpenSession(t *testing.T) {
	a, base := startApp(t)
	id := newSession(t, base)
	s := trigger(t, base, userMessage(id, "What is the status of order 1043?"))
	require.True(t, s.done)
	want := []string{
		"user: What is the status of order 1043?",
		"assistant: Let me look up order #1043 for you.Order #1043, the USB-C dock ($89.50), is shipped (2026-03-05). It can be refunded once it has been delivered.",
	}

	t.Run("active", func(t *testing.T) {
		o := openSession(t, base, id, nil)
		assert.Equal(t, opened{SessionID: id, Status: "active", Messages: o.Messages}, o)
		assert.Equal(t, want, messageTexts(o.Messages))

		resp, body := get(t, base+"api/sessions/"+id+"/messages")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		var kept opened
		require.NoError(t, json.Unmarshal([]byte(body), &kept))
		assert.Equal(t, "active", kept.Status)
		assert.Equal(t, o.Messages, kept.Messages, "what the page keeps is what open answers")
	})

	t.Run("expired", func(t *testing.T) {
		keptCopy := openSession(t, base, id, nil).Messages
		require.True(t, a.fake.ExpireSession(id))
		o := openSession(t, base, id, keptCopy)
		assert.Equal(t, "restored", o.Status)
		assert.Equal(t, id, o.SessionID)
		assert.Equal(t, want, messageTexts(o.Messages))
		// The platform has the session again: the chat goes on in it.
		s := trigger(t, base, userMessage(id, "And order 1044?"))
		require.True(t, s.done)
		assert.Contains(t, s.text("text-delta"), "Order #1044, the Desk lamp")
	})

	t.Run("expired with nothing kept", func(t *testing.T) {
		other := newSession(t, base)
		require.True(t, a.fake.ExpireSession(other))
		o := openSession(t, base, other, nil)
		assert.Equal(t, "new", o.Status)
		assert.NotEqual(t, other, o.SessionID)
		assert.Empty(t, o.Messages)
	})

	t.Run("unknown", func(t *testing.T) {
		o := openSession(t, base, "sess_gone", []map[string]any{{"id": "m1", "role": "user", "parts": []any{}}})
		assert.Equal(t, "new", o.Status)
		assert.NotEmpty(t, o.SessionID)
		assert.NotEqual(t, "sess_gone", o.SessionID)
		assert.Empty(t, o.Messages)

		resp, body := get(t, base+"api/sessions/sess_gone/messages")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, body)
		// A trigger in it ends with the platform's not-found error, which
		// the page answers with "Start a new chat".
		s := trigger(t, base, userMessage("sess_gone", "Hello?"))
		errs := s.ofType("error")
		require.Len(t, errs, 1, "%v", s.events)
		assert.Equal(t, "not_found_error", errs[0]["errorType"])
		assert.Equal(t, false, errs[0]["retryable"])
	})
}

// TestRetryAfterError checks the demo's retryable error: the first try
// fails, the retry (with rollbackAfterMessageId, as the page sends it)
// answers, and the platform dropped the failed turn.
func TestRetryAfterError(t *testing.T) {
	a, base := startApp(t)
	id := newSession(t, base)
	first := trigger(t, base, userMessage(id, "Show me an error."))
	require.Len(t, first.ofType("error"), 1)
	start := first.ofType("start")
	require.Len(t, start, 1)
	_, hasLast := start[0]["lastMessageId"]
	assert.False(t, hasLast, "a new session has no message before the trigger")

	retry := userMessage(id, "Show me an error.")
	retry["rollbackAfterMessageId"] = nil // the anchor of a first message: remove all
	s := trigger(t, base, retry)
	require.True(t, s.done)
	assert.Equal(t, retriedAnswer, s.text("text-delta"))

	st, err := a.client.AgentSessions.GetMessages(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, st.Messages, 2, "the failed turn was rolled back")
}

// An answer that comes before the SDK has called confirm-refund (the page
// shows the question when the platform streams the tool's input, a moment
// before the tool runs) waits for the call and reaches it.
func TestConfirmationBeforeTheCall(t *testing.T) {
	c := newConfirmations()
	delivered := make(chan bool, 1)
	go func() { delivered <- c.answer(context.Background(), "sess_1", true) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.tool("sess_1")(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"confirmed": true}, out)
	assert.True(t, <-delivered)
}
