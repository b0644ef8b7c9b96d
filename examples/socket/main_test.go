package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// failsafe bounds every wait, so that a bug fails a test instead of hanging
// it; it never orders events.
const failsafe = 10 * time.Second

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine,
// with a channel that reports each write.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes chan struct{}
}

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

var listening = regexp.MustCompile(`Listening on http://(\S+)\n`)

// startExample runs the example on a free port and returns its host:port.
// It is stopped (and must return nil) when t ends.
func startExample(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{writes: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(failsafe):
			t.Error("run did not return after its context was cancelled")
		}
	})
	for {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case <-out.writes:
		case err := <-done:
			t.Fatalf("run ended early: %v\n%s", err, out.String())
		case <-time.After(failsafe):
			t.Fatalf("no URL printed:\n%s", out.String())
		}
	}
}

// browser is the test's side of one WebSocket.
type browser struct {
	t *testing.T
	c *websocket.Conn
}

func dial(t *testing.T, host string) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failsafe)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+host+"/ws", nil)
	require.NoError(t, err)
	if resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { c.CloseNow() })
	return &browser{t: t, c: c}
}

func (b *browser) send(msg string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failsafe)
	defer cancel()
	require.NoError(b.t, b.c.Write(ctx, websocket.MessageText, []byte(msg)))
}

// event is one stream event as the browser decodes it.
type event map[string]any

func (e event) typ() string { s, _ := e["type"].(string); return s }

// next reads one message: a text message holding one JSON event.
func (b *browser) next() event {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failsafe)
	defer cancel()
	typ, msg, err := b.c.Read(ctx)
	require.NoError(b.t, err)
	require.Equal(b.t, websocket.MessageText, typ)
	var ev event
	require.NoError(b.t, json.Unmarshal(msg, &ev), "%s", msg)
	return ev
}

// stream reads until the end of a stream as createSocketTransport sees it:
// a finish or an error event.
func (b *browser) stream() []event {
	b.t.Helper()
	var evs []event
	for {
		ev := b.next()
		evs = append(evs, ev)
		if ev.typ() == "finish" || ev.typ() == "error" {
			return evs
		}
	}
}

func text(evs []event) string {
	var s strings.Builder
	for _, ev := range evs {
		if ev.typ() == "text-delta" {
			s.WriteString(ev["delta"].(string))
		}
	}
	return s.String()
}

func types(evs []event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.typ()
	}
	return out
}

func trigger(message string) string {
	b, _ := json.Marshal(map[string]any{"type": "trigger", "triggerName": "user-message", "input": map[string]any{"USER_MESSAGE": message}})
	return string(b)
}

// TestExampleChatsOverAWebSocket runs the example as `go run` would (with
// the built-in fake platform) and chats over one WebSocket: a server tool,
// a client tool answered with a continue message, a story stopped midway,
// and a message after it.
func TestExampleChatsOverAWebSocket(t *testing.T) {
	t.Setenv("OCTAVUS_API_URL", "")
	host := startExample(t)
	b := dial(t, host)

	b.send(trigger("Who am I?"))
	evs := b.stream()
	assert.Equal(t, "Let me look you up.You are Demo User on the pro plan.", text(evs))
	assert.Contains(t, types(evs), "tool-output-available", "the server tool ran")
	assert.NotContains(t, types(evs), "tool-request", "tool requests are consumed by the SDK")
	assert.Equal(t, "stop", evs[len(evs)-1]["finishReason"])

	b.send(trigger("Upgrade me"))
	evs = b.stream()
	require.Equal(t, "client-tool-calls", evs[len(evs)-1]["finishReason"])
	req := evs[len(evs)-2]
	require.Equal(t, "client-tool-request", req.typ())
	call := req["toolCalls"].([]any)[0].(map[string]any)
	assert.Equal(t, "confirm-with-user", call["toolName"])
	cont, _ := json.Marshal(map[string]any{
		"type": "continue", "executionId": req["executionId"],
		"toolResults": []any{map[string]any{"toolCallId": call["toolCallId"], "toolName": call["toolName"], "result": map[string]any{"confirmed": true}}},
	})
	b.send(string(cont))
	evs = b.stream()
	assert.Equal(t, "Confirmed: true.", text(evs))
	assert.Equal(t, "stop", evs[len(evs)-1]["finishReason"])

	b.send(trigger("Tell me a story"))
	for b.next().typ() != "text-delta" {
	}
	b.send(`{"type":"stop"}`)
	b.send(trigger("Hi"))
	// Story words already on their way may still arrive; then the new
	// answer, never the story's end.
	var ev event
	for ev = b.next(); ev.typ() != "start"; ev = b.next() {
		require.Equal(t, "text-delta", ev.typ(), "only words already sent before the stop")
		require.Equal(t, "story", ev["id"])
	}
	evs = append([]event{ev}, b.stream()...)
	assert.Equal(t, `Hello! Ask me "Who am I?", "Upgrade me" or for a story.`, text(evs))
	assert.NotContains(t, text(evs), "gopher")

	// A malformed message gets an error event; the socket lives on.
	b.send(`{"type":"trigger"}`)
	ev = b.next()
	assert.Equal(t, "error", ev.typ())
	assert.Equal(t, "validation_error", ev["errorType"])

	require.NoError(t, b.c.Close(websocket.StatusNormalClosure, ""))
}

// TestExampleAgainstAPlatform points the example at a scripted platform,
// as with OCTAVUS_API_URL set: the session is created on the first trigger,
// and stop cancels the platform request.
func TestExampleAgainstAPlatform(t *testing.T) {
	p := octavustest.NewServer()
	defer p.Close()
	agentID := p.AddAgent(octavustest.Agent{Name: "Demo assistant", Script: []octavustest.Turn{
		octavustest.Stream(octavustest.Text("Partial"), octavustest.Stall(nil), octavustest.Text("never sent")),
		octavustest.Stream(octavustest.Text("Back again.")),
	}})
	t.Setenv("OCTAVUS_API_URL", p.URL)
	t.Setenv("OCTAVUS_API_KEY", p.APIKey)
	t.Setenv("OCTAVUS_AGENT_ID", agentID)
	host := startExample(t)
	b := dial(t, host)

	// The connection alone creates nothing; a malformed message neither.
	b.send(`{"type":"continue"}`)
	assert.Equal(t, "error", b.next().typ())
	assert.Empty(t, p.Requests())

	b.send(trigger("Tell me a long story"))
	for b.next().typ() != "text-end" { // the last event before the stall
	}
	b.send(`{"type":"stop"}`)
	ctx, cancel := context.WithTimeout(context.Background(), failsafe)
	defer cancel()
	stalled, err := p.WaitDone(ctx, 2) // 1: the session, 2: the trigger
	require.NoError(t, err)
	assert.True(t, stalled.Aborted, "stop cancelled the platform request")

	b.send(trigger("Still there?"))
	evs := b.stream()
	assert.Equal(t, "start", evs[0].typ(), "nothing of the stopped stream after the stop")
	assert.Equal(t, "Back again.", text(evs))

	reqs := p.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "/api/agent-sessions", reqs[0].Path)
	assert.JSONEq(t, `{"agentId":"`+agentID+`","input":{"COMPANY_NAME":"Acme Corp"}}`, string(reqs[0].Body))
	assert.Equal(t, reqs[1].Path, reqs[2].Path, "one session for the connection")
	require.NoError(t, b.c.Close(websocket.StatusNormalClosure, ""))
}

// TestExampleShutsDownWithOpenSockets stops the example while a socket is
// mid-stream: run returns (startExample's cleanup checks it), the socket is
// closed, the platform request cancelled, and no goroutine is left
// (TestMain).
func TestExampleShutsDownWithOpenSockets(t *testing.T) {
	p := octavustest.NewServer()
	defer p.Close()
	agentID := p.AddAgent(octavustest.Agent{Script: []octavustest.Turn{
		octavustest.Stream(octavustest.Text("Partial"), octavustest.Stall(nil)),
	}})
	t.Setenv("OCTAVUS_API_URL", p.URL)
	t.Setenv("OCTAVUS_API_KEY", p.APIKey)
	t.Setenv("OCTAVUS_AGENT_ID", agentID)

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{writes: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", out) }()
	var host string
	for host == "" {
		select {
		case <-out.writes:
			if m := listening.FindStringSubmatch(out.String()); m != nil {
				host = m[1]
			}
		case err := <-done:
			t.Fatalf("run ended early: %v", err)
		}
	}
	b := dial(t, host)
	b.send(trigger("Hi"))
	for b.next().typ() != "text-end" { // the last event before the stall
	}

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(failsafe):
		t.Fatal("run did not return with a socket open")
	}
	rctx, rcancel := context.WithTimeout(context.Background(), failsafe)
	defer rcancel()
	_, msg, err := b.c.Read(rctx)
	assert.Error(t, err, "the socket is closed, got %s", msg)
	stalled, err := p.WaitDone(rctx, 2)
	require.NoError(t, err)
	assert.True(t, stalled.Aborted)
}

func TestExampleServesThePage(t *testing.T) {
	t.Setenv("OCTAVUS_API_URL", "")
	host := startExample(t)
	resp, err := http.Get("http://" + host + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(body), `'/ws'`)
	http.DefaultClient.CloseIdleConnections()

	// A plain GET of the endpoint is no WebSocket handshake.
	resp, err = http.Get("http://" + host + "/ws")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUpgradeRequired, resp.StatusCode)
	http.DefaultClient.CloseIdleConnections()
}

// ctxBlindConn is an octavus.SocketConn whose Write succeeds whatever its
// ctx says, as coder/websocket's may on a done ctx (it picks at random
// between its write lock and ctx.Done): the shape of the shutdown race of
// TestExampleShutsDownWithOpenSockets, made certain.
type ctxBlindConn struct {
	in    chan []byte // the browser's messages
	wrote chan event  // every message written, decoded
	// ended, when ctx is done, holds Read back until it is closed, so that
	// the cancelled execution's last event comes before ServeSocket ends.
	ended chan struct{}
}

func (c *ctxBlindConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-ctx.Done():
		<-c.ended
		return nil, ctx.Err()
	}
}

func (c *ctxBlindConn) Write(_ context.Context, msg []byte) error {
	var ev event
	if err := json.Unmarshal(msg, &ev); err != nil {
		return err
	}
	c.wrote <- ev
	return nil
}

// TestServeSocketWritesNothingAfterShutdown pins the cause of that race:
// when the connection's context ends (the example's shutdown), the running
// execution is cancelled and Execute ends it with finish {stop}; ServeSocket
// must not write that event, even through a Write that ignores its ctx.
func TestServeSocketWritesNothingAfterShutdown(t *testing.T) {
	p := octavustest.NewServer()
	defer p.Close()
	agentID := p.AddAgent(octavustest.Agent{Script: []octavustest.Turn{
		octavustest.Stream(octavustest.Text("Partial"), octavustest.Stall(nil)),
	}})
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: p.URL, APIKey: p.APIKey})
	require.NoError(t, err)

	conn := &ctxBlindConn{in: make(chan []byte), wrote: make(chan event, 64), ended: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- octavus.ServeSocket(ctx, conn, func(ctx context.Context, _ string) (*octavus.AgentSession, error) {
			id, err := client.AgentSessions.Create(ctx, agentID, nil)
			if err != nil {
				return nil, err
			}
			return client.AgentSessions.Attach(id, octavus.AttachOptions{}), nil
		})
	}()
	conn.in <- []byte(trigger("Hi"))
	timeout := time.After(failsafe)
	for seen := false; !seen; {
		select {
		case ev := <-conn.wrote:
			seen = ev.typ() == "text-end" // the last event before the stall
		case <-timeout:
			t.Fatal("no text-end written")
		}
	}

	cancel()
	// The platform request is cancelled with the execution: once the
	// platform has seen it go, Execute is ending it.
	stalled, err := p.WaitDone(context.Background(), 2)
	require.NoError(t, err)
	assert.True(t, stalled.Aborted)
	close(conn.ended)
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(failsafe):
		t.Fatal("ServeSocket did not return after its context was cancelled")
	}
	// ServeSocket waits for the execution's writer before it returns, so
	// every write it made is in the channel now.
	close(conn.wrote)
	var after []string
	for ev := range conn.wrote {
		after = append(after, ev.typ())
	}
	assert.Empty(t, after, "events written after the shutdown")
}
