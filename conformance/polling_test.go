package conformance

// TestPollingTransport: the official OctavusChat 6.4.0 with
// createPollingTransport (node/polling-driver.mjs) against octavus-go's
// NewPollingHandler ends with the same UIMessages as the same client's
// plain SSE chat (createHttpTransport against AgentSessionsAPI.Handler),
// with one send, and across a page refresh mid-answer (a new OctavusChat
// that observe()s the running execution).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/internal/testproc"
	"github.com/octavus-go/octavus/octavustest"
)

const pollingDriver = "node/polling-driver.mjs"

// pollingApp is an app server in this process: POST /api/sessions, the
// HTTP transport's POST /api/trigger, and the polling routes under
// /api/chat/, on a fresh fake platform whose agent plays pollingScript.
type pollingApp struct {
	platform *octavustest.Server
	execs    *octavus.Executions
	srv      *httptest.Server
	// toolCalls counts the runs of the server tool.
	toolCalls atomic.Int32
	// release lets the answer go on past its stall; gated, it is closed
	// once a poll of the second page (&page=2) was answered "streaming".
	release chan struct{}
	once    sync.Once

	// mu guards the counts of the polling triggers answered and the
	// stops received; changed is closed (and replaced) when one grows.
	mu       sync.Mutex
	triggers int
	stops    int
	changed  chan struct{}
}

// holdStop holds the i-th stop request until the i+1-th polling trigger
// was answered. OctavusChat.send calls onStop before each trigger, so the
// i-th stop (none is sent before the first execution) is sent just before
// trigger i+1; held, it arrives after it, the late stop a slow network
// makes, which must stop nothing but the execution it names.
func (app *pollingApp) holdStop(ctx context.Context) {
	app.mu.Lock()
	app.stops++
	want := app.stops + 1
	for app.triggers < want {
		ch := app.changed
		app.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		app.mu.Lock()
	}
	app.mu.Unlock()
}

func (app *pollingApp) triggered() {
	app.mu.Lock()
	app.triggers++
	close(app.changed)
	app.changed = make(chan struct{})
	app.mu.Unlock()
}

// pollingScript: per send, reasoning and a server tool, then an answer
// that stalls halfway until release is closed.
func pollingScript(release <-chan struct{}, sends int) []octavustest.Turn {
	var turns []octavustest.Turn
	for range sends {
		turns = append(turns,
			octavustest.Stream(octavustest.Reasoning("Let me ", "look you up."), octavustest.ToolCall{Name: "get-user", Args: map[string]any{"id": "u1"}}),
			octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
				name := fmt.Sprint(req.ToolResults[0].Result.(map[string]any)["name"])
				return octavustest.Stream(octavustest.Text("Hello ", name, ", "), octavustest.Stall(release), octavustest.Text("how ", "can I help?"))
			}))
	}
	return turns
}

const pollingAnswer = "Hello Ada, how can I help?"

func newPollingApp(t *testing.T, gated bool, sends int) *pollingApp {
	t.Helper()
	app := &pollingApp{release: make(chan struct{}), changed: make(chan struct{})}
	if !gated {
		close(app.release)
	}
	app.platform = octavustest.NewServer()
	t.Cleanup(app.platform.Close)
	agentID := app.platform.AddAgent(octavustest.Agent{Name: "Demo assistant", Script: pollingScript(app.release, sends)})
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: app.platform.URL, APIKey: app.platform.APIKey, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	tools := octavus.ToolHandlers{"get-user": func(ctx context.Context, args map[string]any) (any, error) {
		app.toolCalls.Add(1)
		return map[string]any{"name": "Ada"}, nil
	}}
	app.execs = octavus.NewExecutions(client, octavus.ExecutionsOptions{Tools: tools})
	polling := octavus.NewPollingHandler(app.execs, octavus.PollingOptions{PollWait: 5 * time.Second})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/sessions", func(w http.ResponseWriter, r *http.Request) {
		id, err := client.AgentSessions.Create(r.Context(), agentID, map[string]any{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"sessionId": id})
	})
	mux.Handle("POST /api/trigger", client.AgentSessions.Handler(octavus.HandlerOptions{Tools: tools}))
	mux.HandleFunc("/api/chat/trigger", func(w http.ResponseWriter, r *http.Request) {
		polling.ServeHTTP(w, r)
		app.triggered()
	})
	mux.HandleFunc("/api/chat/stop", func(w http.ResponseWriter, r *http.Request) {
		app.holdStop(r.Context())
		polling.ServeHTTP(w, r)
	})
	mux.HandleFunc("/api/chat/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") != "2" {
			polling.ServeHTTP(w, r)
			return
		}
		rec := &teeWriter{ResponseWriter: w}
		polling.ServeHTTP(rec, r)
		var res octavus.PollResult
		if json.Unmarshal(rec.body.Bytes(), &res) == nil && res.Status == octavus.PollStreaming {
			app.once.Do(func() { close(app.release) })
		}
	})
	app.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		app.srv.Close()
		if err := app.execs.Close(); err != nil {
			t.Error(err)
		}
	})
	return app
}

// teeWriter keeps a copy of the body it writes.
type teeWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// pollingOutput is what node/polling-driver.mjs prints.
type pollingOutput struct {
	SessionID         string            `json:"sessionId"`
	Status            string            `json:"status"`
	Error             json.RawMessage   `json:"error"`
	Messages          json.RawMessage   `json:"messages"`
	Statuses          []string          `json:"statuses"`
	Polls             map[string][]int  `json:"polls"`
	Stops             []*string         `json:"stops"`
	FirstPageMessages []json.RawMessage `json:"firstPageMessages"`
}

func runPollingDriver(t *testing.T, ctx context.Context, app *pollingApp, mode string, sends int) (pollingOutput, []byte) {
	t.Helper()
	job, err := json.Marshal(map[string]any{
		"url": app.srv.URL, "mode": mode, "sends": sends, "triggerName": "user-message",
		"input": map[string]any{"USER_MESSAGE": "Who am I?"}, "userMessage": "Who am I?",
		"timeoutMs": chatClientTimeout.Milliseconds(),
	})
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runNodeScript(ctx, pollingDriver, job)
	if err != nil {
		t.Fatalf("%s (%s): %v\nstdout:\n%s\nstderr:\n%s\nplatform requests:\n%s", pollingDriver, mode, err,
			testproc.Indent(stdout.String()), testproc.Indent(stderr.String()), joinLines(requestLog(app.platform)))
	}
	var out pollingOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%s (%s) printed no result: %v\n%s", pollingDriver, mode, err, stdout.String())
	}
	return out, stdout.Bytes()
}

// endState is the comparable end of a chat: status, error, messages.
func endState(t *testing.T, label string, status string, errValue, messages json.RawMessage) jsonValue {
	t.Helper()
	msgs, err := normalizeMessages(messages)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	b, err := json.Marshal(map[string]any{"status": status, "error": rawOrNull(errValue), "messages": msgs})
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(string(b))
}

// answerText joins the text parts of the last message.
func answerText(t *testing.T, messages json.RawMessage) string {
	t.Helper()
	var msgs []struct {
		Role  string `json:"role"`
		Parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(messages, &msgs); err != nil || len(msgs) == 0 {
		t.Fatalf("messages %s: %v", messages, err)
	}
	var b strings.Builder
	for _, p := range msgs[len(msgs)-1].Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func TestPollingTransport(t *testing.T) {
	requireNode(t)
	requireOracle(t)
	ctx, cancel := context.WithTimeout(t.Context(), clientCaseTimeout)
	defer cancel()

	// The plain SSE chats of the same script: one send, and two.
	plain := map[int]jsonValue{}
	plainRaw := map[int][]byte{}
	for _, sends := range []int{1, 2} {
		app := newPollingApp(t, false, sends)
		send := chatSend{TriggerName: "user-message", Input: map[string]any{"USER_MESSAGE": "Who am I?"}, UserMessage: "Who am I?"}
		job := chatJob{URL: app.srv.URL}
		for range sends {
			job.Sends = append(job.Sends, send)
		}
		out, raw := runChatClient(t, ctx, chatClient64, job, func() string { return joinLines(requestLog(app.platform)) })
		if out.Status != "idle" || answerText(t, out.Messages) != pollingAnswer {
			t.Fatalf("the plain SSE chat did not end with the answer:\n%s", raw)
		}
		plain[sends], plainRaw[sends] = endState(t, "plain SSE chat", out.Status, out.Error, out.Messages), raw
	}

	for _, c := range []struct {
		name  string
		mode  string
		sends int
	}{
		{"send", "send", 1},
		// The second send's onStop names the first execution; the server
		// holds it until the second trigger ran: it stops nothing.
		{"two-sends-late-stop", "send", 2},
		{"reload", "reload", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := newPollingApp(t, c.mode == "reload", c.sends)
			out, raw := runPollingDriver(t, ctx, app, c.mode, c.sends)
			got := endState(t, "polling chat", out.Status, out.Error, out.Messages)
			if !got.equal(plain[c.sends]) {
				t.Errorf("the polling chat (%s) ends differently from the plain SSE chat:\n%s\npolling output:\n  %s\nplain output:\n  %s",
					c.name, pathDiff("plain SSE", plain[c.sends], "polling", got), raw, plainRaw[c.sends])
			}
			// Each execution ran once: one trigger and its continuation,
			// the tool once, however the browser came and went.
			triggers, err := triggerRequests(ctx, app.platform)
			if err != nil {
				t.Fatal(err)
			}
			if len(triggers) != 2*c.sends || int(app.toolCalls.Load()) != c.sends {
				t.Errorf("%d trigger POSTs and %d tool runs, want %d and %d\n%s", len(triggers), app.toolCalls.Load(), 2*c.sends, c.sends, joinLines(requestLog(app.platform)))
			}
			for _, r := range triggers {
				if r.Aborted {
					t.Errorf("trigger POST #%d was aborted", r.Seq)
				}
			}
			if len(out.Stops) != c.sends || out.Stops[0] != nil || (c.sends == 2 && out.Stops[1] == nil) {
				t.Errorf("the page's stops: %s, want none before the first execution and one naming it", raw)
			}
			if c.mode == "reload" {
				// The first page saw part of the answer, not all of it; the
				// second page observed from cursor 0.
				if len(out.FirstPageMessages) != 2 || strings.Contains(string(out.FirstPageMessages[1]), "can I help") {
					t.Errorf("the first page did not stop mid-answer: %s", raw)
				}
				if p2 := out.Polls["2"]; len(p2) == 0 || p2[0] != 0 {
					t.Errorf("the second page's polls: %v, want them from cursor 0", p2)
				}
			}
		})
	}
}
