package octavus

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// socketFailsafe bounds every wait of these tests, so that a bug fails the test
// instead of hanging it. It is never what orders events.
const socketFailsafe = 10 * time.Second

// memConn is an in-memory SocketConn. The test plays the browser: what it
// sends on in, Read returns (closing in is io.EOF); what ServeSocket writes
// arrives on out, unbuffered, so a Write blocks until the test reads it.
type memConn struct {
	t        *testing.T
	in       chan []byte
	out      chan []byte
	readErr  chan error    // Read returns the error sent here
	writeErr error         // when set, every Write fails with it
	inWrite  chan struct{} // gets a signal as each Write begins (dropped once 16 are unread)
	writing  atomic.Int32
}

func newMemConn(t *testing.T) *memConn {
	return &memConn{t: t, in: make(chan []byte), out: make(chan []byte), readErr: make(chan error, 1), inWrite: make(chan struct{}, 16)}
}

func (c *memConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case err := <-c.readErr:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *memConn) Write(ctx context.Context, msg []byte) error {
	if c.writing.Add(1) != 1 {
		c.t.Errorf("two Writes at once")
	}
	defer c.writing.Add(-1)
	select {
	case c.inWrite <- struct{}{}:
	default:
	}
	if c.writeErr != nil {
		return c.writeErr
	}
	select {
	case c.out <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send plays one message of the browser.
func (c *memConn) send(msg string) {
	c.t.Helper()
	select {
	case c.in <- []byte(msg):
	case <-time.After(socketFailsafe):
		c.t.Fatalf("ServeSocket did not read %s", msg)
	}
}

// next returns the next message ServeSocket wrote.
func (c *memConn) next() string {
	c.t.Helper()
	select {
	case m := <-c.out:
		return string(m)
	case <-time.After(socketFailsafe):
		c.t.Fatal("no message from ServeSocket")
		return ""
	}
}

// nextN returns the next n messages.
func (c *memConn) nextN(n int) []string {
	c.t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = c.next()
	}
	return out
}

// serveInBackground runs serve in the background and returns its result channel.
func serveInBackground(serve func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- serve() }()
	return done
}

// waitServed returns what ServeSocket returned.
func waitServed(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(socketFailsafe):
		t.Fatal("ServeSocket did not return")
		return nil
	}
}

// waitSignal waits until ch is closed or gets a value.
func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(socketFailsafe):
		t.Fatalf("%s did not happen", what)
	}
}

// socketReleaseLeg writes before, flushes, waits for release (or the request's
// cancellation, reported on aborted when not nil), then writes after and
// [DONE].
func socketReleaseLeg(release <-chan struct{}, aborted chan<- struct{}, before, after []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range before {
			_, _ = io.WriteString(w, "data: "+e+"\n\n")
		}
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			if aborted != nil {
				close(aborted)
			}
			return
		}
		for _, e := range after {
			_, _ = io.WriteString(w, "data: "+e+"\n\n")
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}
}

const (
	socketTrigger = `{"type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`
	socketStop    = `{"type":"stop"}`
)

// socketAnswer is the events of a short answer of execution exec.
func socketAnswer(exec, text string) []string {
	return []string{
		`{"type":"start","messageId":"m_` + exec + `","executionId":"` + exec + `"}`,
		`{"type":"text-start","id":"t_` + exec + `"}`,
		`{"type":"text-delta","id":"t_` + exec + `","delta":"` + text + `"}`,
		`{"type":"text-end","id":"t_` + exec + `"}`,
		`{"type":"finish","finishReason":"stop","executionId":"` + exec + `"}`,
	}
}

func socketValidationError(message string) string {
	b, _ := marshalJSON(message)
	return `{"type":"error","errorType":"validation_error","message":` + string(b) + `,"source":"platform","retryable":false}`
}

func TestServeSocketStreamsAnExecution(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(socketAnswer("e1", "Hello")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("sess_1", AttachOptions{}).ServeSocket(t.Context(), c)
	})

	c.send(socketTrigger)
	// Each event is one message: its JSON as SSE would carry it, nothing
	// more (no data: prefix, no [DONE]).
	requireJSONList(t, socketAnswer("e1", "Hello"), c.nextN(5))
	close(c.in)
	require.NoError(t, waitServed(t, done), "io.EOF from Read is a normal end")
	requireJSONList(t, []string{`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`}, f.triggerBodies())
	assert.Equal(t, "/api/agent-sessions/sess_1/trigger", f.reqs()[0].Path)
}

func TestServeSocketEncodesEventsAsTheSSEWriter(t *testing.T) {
	// Characters that encoding/json escapes by default: the socket writes
	// them as JSON.stringify does, as ToSSEStream does.
	delta := `{"type":"text-delta","id":"t","delta":"<a href=\"x\">&</a>` + "\u2028" + `"}`
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(delta, `{"type":"finish","finishReason":"stop"}`))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	c.send(socketTrigger)
	assert.Equal(t, delta, c.next())
	c.next()
	close(c.in)
	require.NoError(t, waitServed(t, done))
}

func TestServeSocketStopCancelsTheExecution(t *testing.T) {
	f := newFakePlatform(t)
	aborted := make(chan struct{})
	first := socketAnswer("e1", "Partial")
	f.addLegs(stallLeg(nil, aborted, first[:3]...), eventsLeg(socketAnswer("e2", "Again")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})

	c.send(socketTrigger)
	requireJSONList(t, first[:3], c.nextN(3))
	c.send(socketStop)
	waitSignal(t, aborted, "the platform request's cancellation")

	// The stopped execution writes nothing more, not even its finish
	// {stop}: the official client would read it as the end of its next
	// stream. The next message is the next execution's start.
	c.send(socketTrigger)
	requireJSONList(t, socketAnswer("e2", "Again"), c.nextN(5))
	close(c.in)
	require.NoError(t, waitServed(t, done))
	assert.Len(t, f.triggerBodies(), 2)
}

func TestServeSocketStopWithoutExecution(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(socketAnswer("e1", "Hi")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	// OctavusChat.send sends stop before every trigger: nothing to stop,
	// nothing written.
	c.send(socketStop)
	c.send(socketTrigger)
	requireJSONList(t, socketAnswer("e1", "Hi"), c.nextN(5))
	c.send(socketStop) // after the end: nothing either
	close(c.in)
	require.NoError(t, waitServed(t, done))
}

func TestServeSocketNewTriggerCancelsTheRunningOne(t *testing.T) {
	f := newFakePlatform(t)
	aborted := make(chan struct{})
	first := socketAnswer("e1", "Partial")
	f.addLegs(stallLeg(nil, aborted, first[:3]...), eventsLeg(socketAnswer("e2", "New")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})

	c.send(socketTrigger)
	requireJSONList(t, first[:3], c.nextN(3))
	c.send(socketTrigger) // no stop first
	waitSignal(t, aborted, "the first platform request's cancellation")
	requireJSONList(t, socketAnswer("e2", "New"), c.nextN(5))
	close(c.in)
	require.NoError(t, waitServed(t, done))
	assert.Len(t, f.triggerBodies(), 2)
}

func TestServeSocketNewTriggerWaitsForTheOldWriter(t *testing.T) {
	// The first execution has many events buffered; the browser reads one,
	// then triggers again. The event whose Write was already under way
	// may still arrive; after it, only the new execution's.
	f := newFakePlatform(t)
	aborted := make(chan struct{})
	old := []string{`{"type":"start","executionId":"e1"}`}
	for range eventBuffer * 2 {
		old = append(old, `{"type":"text-delta","id":"old","delta":"x"}`)
	}
	f.addLegs(stallLeg(nil, aborted, old...), eventsLeg(socketAnswer("e2", "New")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})

	c.send(socketTrigger)
	require.JSONEq(t, old[0], c.next())
	c.send(socketTrigger)
	// Once the old execution is cancelled, it was also dropped (before the
	// cancel): from then on, at most the one event whose Write had begun.
	waitSignal(t, aborted, "the first platform request's cancellation")
	var got []string
	for {
		m := c.next()
		if strings.Contains(m, `"e2"`) {
			got = append(got, m)
			break
		}
		require.JSONEq(t, old[1], m, "before the new execution: only an event of the old one whose Write had begun")
		require.Empty(t, got, "at most one")
		got = append(got, "old")
	}
	got = append(got[len(got)-1:], c.nextN(4)...)
	requireJSONList(t, socketAnswer("e2", "New"), got)
	close(c.in)
	require.NoError(t, waitServed(t, done))
}

func TestServeSocketMalformedMessages(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(socketAnswer("e1", "Fine")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})

	big := `{"type":"trigger","triggerName":"user-message","input":{"x":"` + strings.Repeat("a", DefaultMaxContinueBody) + `"}}`
	cases := []struct{ msg, want string }{
		{`not json`, "message is not valid JSON"},
		{`{"type":"trigger"`, "message is not valid JSON"},
		{`[1,2]`, "message must be a JSON object"},
		{`null`, "message must be a JSON object"},
		{`{"type":"bogus"}`, `"type" must be "trigger", "continue", "stop" or "init"`},
		{`{"type":5}`, `"type" must be "trigger", "continue", "stop" or "init"`},
		{`{"type":"trigger"}`, `"triggerName" is required and must be a string`},
		{`{"type":"trigger","triggerName":""}`, `"triggerName" must not be empty`},
		{`{"type":"trigger","triggerName":"x","input":[1]}`, `"input" must be an object`},
		{`{"type":"continue","executionId":"e1"}`, `"toolResults" is required and must be an array`},
		{`{"type":"continue","toolResults":[]}`, `"executionId" is required and must be a string`},
		{`{"type":"init"}`, `"sessionId" is required and must be a string`},
		{`{"type":"init","sessionId":""}`, `"sessionId" must not be empty`},
		{big, "message is larger than 4 MiB"},
	}
	for _, tc := range cases {
		c.send(tc.msg)
		assert.JSONEq(t, socketValidationError(tc.want), c.next(), "answer to %.60s", tc.msg)
	}
	assert.Empty(t, f.reqs(), "nothing reaches the platform")

	// The connection lives on. A message without "type" is a trigger, as
	// for DecodeSessionRequest; unknown keys are ignored.
	c.send(`{"triggerName":"user-message","sessionId":"ignored"}`)
	requireJSONList(t, socketAnswer("e1", "Fine"), c.nextN(5))
	close(c.in)
	require.NoError(t, waitServed(t, done))
	requireJSONList(t, []string{`{"triggerName":"user-message"}`}, f.triggerBodies())
}

func TestServeSocketMalformedMessageLeavesTheExecutionRunning(t *testing.T) {
	f := newFakePlatform(t)
	release := make(chan struct{})
	events := socketAnswer("e1", "Still here")
	f.addLegs(socketReleaseLeg(release, nil, events[:2], events[2:]))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	c.send(socketTrigger)
	requireJSONList(t, events[:2], c.nextN(2))
	c.send(`{"type":"nope"}`)
	assert.JSONEq(t, socketValidationError(`"type" must be "trigger", "continue", "stop" or "init"`), c.next())
	close(release)
	requireJSONList(t, events[2:], c.nextN(3))
	close(c.in)
	require.NoError(t, waitServed(t, done))
}

func TestServeSocketWritesOneAtATime(t *testing.T) {
	// An error answer while an event's Write is blocked (the browser is
	// slow to read) waits for it and comes after it. memConn fails the
	// test on two Writes at once (here and in every test); it sees a
	// missing lock only when the reading goroutine gets to Write before
	// the test reads, so this test catches that sometimes, not always.
	f := newFakePlatform(t)
	aborted := make(chan struct{})
	events := socketAnswer("e1", "Slow")
	f.addLegs(stallLeg(nil, aborted, events[:2]...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	c.send(socketTrigger)
	require.JSONEq(t, events[0], c.next())
	waitSignal(t, c.inWrite, "the first event's Write")
	waitSignal(t, c.inWrite, "the second event's Write")
	c.send(`{"type":"nope"}`) // its answer cannot be written before events[1]
	require.JSONEq(t, events[1], c.next())
	require.JSONEq(t, socketValidationError(`"type" must be "trigger", "continue", "stop" or "init"`), c.next())
	close(c.in)
	require.NoError(t, waitServed(t, done))
	waitSignal(t, aborted, "the platform request's cancellation")
}

func TestServeSocketToolRounds(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		// A server tool: run here, its result posted back.
		eventsLeg(
			`{"type":"start","messageId":"m1","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"get-user","args":{"id":"u1"}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c2","toolName":"confirm","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		// The browser's continue.
		eventsLeg(socketAnswer("e1", "Done")[1:]...),
	)
	tools := ToolHandlers{"get-user": constTool(map[string]any{"name": "Ada"})}
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{Tools: tools}).ServeSocket(t.Context(), c)
	})

	c.send(socketTrigger)
	requireJSONList(t, []string{
		`{"type":"start","messageId":"m1","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":{"name":"Ada"}}`,
		`{"type":"client-tool-request","executionId":"e1","toolCalls":[{"toolCallId":"c2","toolName":"confirm","args":{}}]}`,
		`{"type":"finish","finishReason":"client-tool-calls","executionId":"e1"}`,
	}, c.nextN(4))
	c.send(`{"type":"continue","executionId":"e1","toolResults":[{"toolCallId":"c2","toolName":"confirm","result":{"ok":true}}]}`)
	requireJSONList(t, socketAnswer("e1", "Done")[1:], c.nextN(4))
	close(c.in)
	require.NoError(t, waitServed(t, done))
	requireJSONList(t, []string{
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`,
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"get-user","result":{"name":"Ada"}}]}`,
		`{"executionId":"e1","toolResults":[{"toolCallId":"c2","toolName":"confirm","result":{"ok":true}}]}`,
	}, f.triggerBodies())
}

func TestServeSocketPlatformErrorIsAnEvent(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(statusLeg(429, `{"error":"slow down"}`), eventsLeg(socketAnswer("e2", "ok")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	c.send(socketTrigger)
	assert.JSONEq(t, `{"type":"error","errorType":"rate_limit_error","message":"slow down","source":"platform","retryable":true}`, c.next())
	c.send(socketTrigger)
	requireJSONList(t, socketAnswer("e2", "ok"), c.nextN(5))
	close(c.in)
	require.NoError(t, waitServed(t, done))
}

func TestServeSocketReadErrorEndsAndCancels(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newFakePlatform(t)
	defer f.srv.Close()
	aborted := make(chan struct{})
	f.addLegs(stallLeg(nil, aborted, `{"type":"start","executionId":"e1"}`))
	c := newMemConn(t)
	client := f.client(t)
	done := serveInBackground(func() error {
		return client.AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	c.send(socketTrigger)
	c.next()
	reset := errors.New("connection reset by peer")
	c.readErr <- reset
	assert.ErrorIs(t, waitServed(t, done), reset)
	waitSignal(t, aborted, "the platform request's cancellation")
	client.hc.CloseIdleConnections()
}

func TestServeSocketContextDoneEndsAndCancels(t *testing.T) {
	f := newFakePlatform(t)
	aborted := make(chan struct{})
	f.addLegs(stallLeg(nil, aborted, `{"type":"start","executionId":"e1"}`))
	c := newMemConn(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(ctx, c)
	})
	c.send(socketTrigger)
	c.next()
	cancel()
	assert.ErrorIs(t, waitServed(t, done), context.Canceled)
	waitSignal(t, aborted, "the platform request's cancellation")
}

func TestServeSocketWriteErrorEndsAndCancels(t *testing.T) {
	f := newFakePlatform(t)
	aborted := make(chan struct{})
	f.addLegs(stallLeg(nil, aborted, `{"type":"start","executionId":"e1"}`))
	c := newMemConn(t)
	broken := errors.New("broken pipe")
	c.writeErr = broken
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("s", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	c.send(socketTrigger)
	err := waitServed(t, done)
	assert.ErrorIs(t, err, broken)
	assert.ErrorContains(t, err, "writing to the socket")
	waitSignal(t, aborted, "the platform request's cancellation")
}

func TestServeSocketCreatesTheSessionLazily(t *testing.T) {
	f := newFakePlatform(t)
	creates := 0
	f.handle("POST /api/agent-sessions", func(w http.ResponseWriter, r *http.Request) {
		creates++ // the fake serves one request at a time here
		if creates == 1 {
			statusLeg(503, `{"error":"try later"}`)(w, r)
			return
		}
		jsonRoute(`{"sessionId":"sess_new"}`)(w, r)
	})
	f.addLegs(eventsLeg(socketAnswer("e1", "One")...), eventsLeg(socketAnswer("e2", "Two")...))
	client := f.client(t)
	var asked []string
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return ServeSocket(t.Context(), c, func(ctx context.Context, sessionID string) (*AgentSession, error) {
			asked = append(asked, sessionID) // only ServeSocket's reading goroutine calls it
			id, err := client.AgentSessions.Create(ctx, "agent_1", map[string]any{"COMPANY_NAME": "Acme"})
			if err != nil {
				return nil, err
			}
			return client.AgentSessions.Attach(id, AttachOptions{}), nil
		})
	})

	// A continue before any session: refused, no session made for it.
	c.send(`{"type":"continue","executionId":"e0","toolResults":[]}`)
	assert.JSONEq(t, socketValidationError("Session not initialized. Send a trigger or an init message first."), c.next())
	// The first trigger creates the session; Create fails: the browser
	// hears of it as an error event and the connection goes on.
	c.send(socketTrigger)
	assert.JSONEq(t, `{"type":"error","errorType":"provider_overloaded","message":"try later","source":"platform","retryable":true}`, c.next())
	// The next trigger tries again.
	c.send(socketTrigger)
	requireJSONList(t, socketAnswer("e1", "One"), c.nextN(5))
	// And keeps the session.
	c.send(socketTrigger)
	requireJSONList(t, socketAnswer("e2", "Two"), c.nextN(5))
	close(c.in)
	require.NoError(t, waitServed(t, done))

	assert.Equal(t, []string{"", ""}, asked)
	var triggers []string
	for _, r := range f.reqs() {
		if strings.HasSuffix(r.Path, "/trigger") {
			triggers = append(triggers, r.Path)
		}
	}
	assert.Equal(t, []string{"/api/agent-sessions/sess_new/trigger", "/api/agent-sessions/sess_new/trigger"}, triggers)
}

func TestServeSocketInitMessage(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(socketAnswer("e1", "Hi")...), eventsLeg(socketAnswer("e2", "Hi")...))
	client := f.client(t)
	var asked []string
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return ServeSocket(t.Context(), c, func(ctx context.Context, sessionID string) (*AgentSession, error) {
			asked = append(asked, sessionID)
			switch sessionID {
			case "":
				return nil, &RequestError{Status: 400, Message: "Session not initialized. Send init message first."}
			case "sess_other":
				return nil, &RequestError{Status: 403, Message: "Not your session"}
			}
			return client.AgentSessions.Attach(sessionID, AttachOptions{}), nil
		})
	})

	// The docs' init pattern: a trigger before init is refused as the
	// docs' example refuses it.
	c.send(socketTrigger)
	assert.JSONEq(t, socketValidationError("Session not initialized. Send init message first."), c.next())
	c.send(`{"type":"init","sessionId":"sess_other"}`)
	assert.JSONEq(t, `{"type":"error","errorType":"permission_error","message":"Not your session","source":"platform","retryable":false}`, c.next())
	c.send(`{"type":"init","sessionId":"sess_9"}`) // answered with nothing
	c.send(socketTrigger)
	requireJSONList(t, socketAnswer("e1", "Hi"), c.nextN(5))
	c.send(`{"type":"init","sessionId":"sess_10"}`) // another session for the next messages
	c.send(socketTrigger)
	requireJSONList(t, socketAnswer("e2", "Hi"), c.nextN(5))
	close(c.in)
	require.NoError(t, waitServed(t, done))

	assert.Equal(t, []string{"", "sess_other", "sess_9", "sess_10"}, asked)
	bodies := f.reqs()
	require.Len(t, bodies, 2)
	assert.Equal(t, "/api/agent-sessions/sess_9/trigger", bodies[0].Path)
	assert.Equal(t, "/api/agent-sessions/sess_10/trigger", bodies[1].Path)
}

func TestServeSocketSessionFuncErrors(t *testing.T) {
	retryAfter := 2.0
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"api error", &APIError{Status: 401, Message: "Invalid API key"},
			`{"type":"error","errorType":"authentication_error","message":"Invalid API key","source":"platform","retryable":false}`},
		{"octavus error", NewOctavusError(ErrorOptions{ErrorType: ErrorTypeRateLimit, Message: "Too many sessions", Source: ErrorSourcePlatform, Retryable: true, RetryAfter: &retryAfter}),
			`{"type":"error","errorType":"rate_limit_error","message":"Too many sessions","source":"platform","retryable":true,"retryAfter":2}`},
		{"other error, details kept back", errors.New("pq: connection refused to 10.0.0.5"),
			`{"type":"error","errorType":"internal_error","message":"Failed to start the session","source":"platform","retryable":false}`},
		{"nil session", nil,
			`{"type":"error","errorType":"internal_error","message":"Failed to start the session","source":"platform","retryable":false}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemConn(t)
			done := serveInBackground(func() error {
				return ServeSocket(t.Context(), c, func(context.Context, string) (*AgentSession, error) {
					return nil, tc.err
				})
			})
			c.send(socketTrigger)
			assert.JSONEq(t, tc.want, c.next())
			close(c.in)
			require.NoError(t, waitServed(t, done))
		})
	}
}

func TestAgentSessionServeSocketContinueFirst(t *testing.T) {
	// With the session known up front, a continue needs no trigger on this
	// connection (the browser may have reconnected while awaiting input).
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(socketAnswer("e1", "Continued")[1:]...), eventsLeg(socketAnswer("e2", "Hi")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("sess_1", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	c.send(`{"type":"continue","executionId":"e1","toolResults":[{"toolCallId":"c1","result":1}]}`)
	requireJSONList(t, socketAnswer("e1", "Continued")[1:], c.nextN(4))
	c.send(`{"type":"init","sessionId":"sess_2"}`)
	assert.JSONEq(t, `{"type":"error","errorType":"permission_error","message":"This connection serves another session","source":"platform","retryable":false}`, c.next())
	c.send(`{"type":"init","sessionId":"sess_1"}`) // its own: answered with nothing
	c.send(socketTrigger)
	requireJSONList(t, socketAnswer("e2", "Hi"), c.nextN(5))
	close(c.in)
	require.NoError(t, waitServed(t, done))
	for _, r := range f.reqs() {
		assert.Equal(t, "/api/agent-sessions/sess_1/trigger", r.Path)
	}
}

func TestServeSocketNilSessionFuncPanics(t *testing.T) {
	assert.PanicsWithValue(t, "octavus: ServeSocket: nil session func", func() {
		_ = ServeSocket(context.Background(), newMemConn(t), nil)
	})
}

// TestServeSocketRollbackAndSender: the socket transport's retry() sends
// rollbackAfterMessageId in its trigger message; it reaches the platform,
// with the sender of AttachOptions, while the message's own "sender" is
// ignored.
func TestServeSocketRollbackAndSender(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(socketAnswer("e1", "a")...), eventsLeg(socketAnswer("e2", "b")...), eventsLeg(socketAnswer("e3", "c")...))
	c := newMemConn(t)
	done := serveInBackground(func() error {
		s := f.client(t).AgentSessions.Attach("sess_1", AttachOptions{Sender: &MessageSender{ID: "u1", Name: "Ada"}})
		return s.ServeSocket(t.Context(), c)
	})
	c.send(`{"type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"again"},"rollbackAfterMessageId":"m_e0","sender":{"id":"forged"}}`)
	c.nextN(5)
	c.send(`{"type":"trigger","triggerName":"user-message","rollbackAfterMessageId":null}`)
	c.nextN(5)
	c.send(socketTrigger)
	c.nextN(5)
	close(c.in)
	require.NoError(t, waitServed(t, done))
	assert.Equal(t, []string{
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"again"},"rollbackAfterMessageId":"m_e0","sender":{"id":"u1","name":"Ada"}}`,
		`{"triggerName":"user-message","rollbackAfterMessageId":null,"sender":{"id":"u1","name":"Ada"}}`,
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"sender":{"id":"u1","name":"Ada"}}`,
	}, f.triggerBodies())
}

func TestServeSocketRefusesABadRollback(t *testing.T) {
	f := newFakePlatform(t)
	c := newMemConn(t)
	done := serveInBackground(func() error {
		return f.client(t).AgentSessions.Attach("sess_1", AttachOptions{}).ServeSocket(t.Context(), c)
	})
	c.send(`{"type":"trigger","triggerName":"user-message","rollbackAfterMessageId":3}`)
	requireJSONList(t, []string{socketValidationError(`"rollbackAfterMessageId" must be a string or null`)}, []string{c.next()})
	close(c.in)
	require.NoError(t, waitServed(t, done))
	assert.Empty(t, f.reqs())
}
