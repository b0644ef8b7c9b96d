package octavus

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The direct path (direct.go) must write what the channel path writes.
// ToSSEStream takes it when it is given the very channel of an Execute;
// relaying the channel through another one forces the channel path.

// relay copies ch into a channel of its own.
func relay(ch <-chan StreamEvent) <-chan StreamEvent {
	out := make(chan StreamEvent)
	go func() {
		defer close(out)
		for ev := range ch {
			out <- ev
		}
	}()
	return out
}

// directLegs are two legs of a mixed stream: deltas the verbatim path
// takes (a worker's too), ones it leaves to the decoder (escapes it does
// not write, a present empty workerId, another key order), general
// events, a server tool round and the platform's error text.
func directLegs() []http.HandlerFunc {
	return []http.HandlerFunc{
		eventsLeg(`{"type":"start","messageId":"m1","executionId":"e1"}`,
			`{"type":"text-start","id":"t1"}`,
			`{"type":"text-delta","id":"t1","delta":"Hello"}`,
			`{"type":"text-delta","id":"t1","delta":"line\n\"q\"\u0001 é"}`,
			`{"type":"text-delta","id":"t1","delta":"caf\u00e9 \/"}`,
			`{"type":"text-delta","id":"t1","delta":"w","workerId":"wk"}`,
			`{"type":"text-delta","id":"t1","delta":"e","workerId":""}`,
			`{"delta":"order","type":"text-delta","id":"t1"}`,
			`{"type":"text-end","id":"t1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{"q":"x"}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`),
		eventsLeg(`{"type":"reasoning-delta","id":"r","delta":"why"}`,
			`{"type":"tool-input-delta","toolCallId":"c2","inputTextDelta":"{\"a\":1}","workerId":"wk"}`,
			`{"type":"finish","finishReason":"stop"}`),
	}
}

// directSession is a session on a fake platform with the legs of
// directLegs, closed (its connections too) when the test returns.
func directSession(t *testing.T) *AgentSession {
	f := newFakePlatform(t)
	f.addLegs(directLegs()...)
	t.Cleanup(f.srv.Close)
	return f.client(t).AgentSessions.Attach("s", AttachOptions{Tools: ToolHandlers{
		"lookup": func(context.Context, map[string]any) (any, error) { return map[string]any{"ok": true}, nil },
	}})
}

func serveBody(events <-chan StreamEvent) string {
	rec := httptest.NewRecorder()
	ToSSEStream(events).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	return rec.Body.String()
}

func TestDirectPathWritesWhatTheChannelPathWrites(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // after the platforms close
	viaChannel := serveBody(relay(directSession(t).Execute(context.Background(), userMessage)))
	direct := serveBody(directSession(t).Execute(context.Background(), userMessage))
	assert.Equal(t, viaChannel, direct)
	// Spot checks, written here by hand: a verbatim delta, a re-encoded
	// one, the tool's output, the end.
	assert.Contains(t, direct, "data: {\"type\":\"text-delta\",\"id\":\"t1\",\"delta\":\"w\",\"workerId\":\"wk\"}\n\n")
	assert.Contains(t, direct, "data: {\"type\":\"text-delta\",\"id\":\"t1\",\"delta\":\"café /\"}\n\n")
	assert.Contains(t, direct, "data: {\"type\":\"tool-output-available\",\"toolCallId\":\"c1\",\"output\":{\"ok\":true}}\n\n")
	assert.True(t, strings.HasSuffix(direct, "data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n"), direct)
}

// TestDirectPathAfterEventsOnTheChannel claims an execution that already
// sent events on its channel: they come first, in order.
func TestDirectPathAfterEventsOnTheChannel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const early = 5 // sent before ToSSEStream, fewer than eventBuffer
	release := make(chan struct{})
	leg := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range early + 1 {
			_, _ = io.WriteString(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\""+strings.Repeat("x", i)+"\"}\n\n")
		}
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"late\"}\n\ndata: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n")
	}
	f := newFakePlatform(t)
	defer f.srv.Close()
	f.addLegs(leg)
	events := f.client(t).AgentSessions.Attach("s", AttachOptions{}).Execute(context.Background(), userMessage)
	first := <-events
	require.Equal(t, "", first.(*TextDeltaEvent).Delta)
	for len(events) < early {
		runtime.Gosched() // the execution fills the channel buffer
	}
	body := make(chan string)
	go func() { body <- serveBody(events) }()
	close(release)
	var want strings.Builder
	for i := 1; i <= early; i++ {
		want.WriteString("data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"" + strings.Repeat("x", i) + "\"}\n\n")
	}
	want.WriteString("data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"late\"}\n\ndata: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n")
	assert.Equal(t, want.String(), <-body)
}

// TestDirectClaimOnce: a second ToSSEStream of the same channel does not
// take the execution from the first.
func TestDirectClaimOnce(t *testing.T) {
	x := &execution{out: make(chan StreamEvent)}
	require.NotNil(t, x.claimDirect())
	require.Nil(t, x.claimDirect())
}
