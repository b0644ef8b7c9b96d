package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testproc"
	"github.com/octavus-go/octavus/octavustest"
)

// TestSocketChat runs the official browser client (@octavus/client-sdk
// OctavusChat with createSocketTransport, over a `ws` WebSocket, in Node:
// node/socket-client.mjs) against the Go example examples/socket, a real
// process backed by a scripted octavustest platform. Each case is one chat
// on one socket: the example creates the session on the first trigger
// (server-managed sessions) and serves the socket with octavus.ServeSocket.
//
// The chat must end as the same conversation ends over the HTTP transport
// (the expected views use the builders of TestClientChat; "requests" are the
// trigger and continue messages sent on the socket), and the socket's
// traffic must be what the protocol says: the client's stop messages, no
// finish event of a stopped execution, one connection, one session, a clean
// close.
func TestSocketChat(t *testing.T) {
	requireNode(t)
	example := exampleSocketServer(t)
	cases := append(socketChatCases(), socketCasesFrom(chatCases20Only(), map[string][]string{
		"stop-then-busy":       {"trigger", "stop", "stop", "trigger"},
		"worker-to-2.0-client": {"trigger"},
		"todo-to-2.0-client":   {"trigger"},
	})...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), clientCaseTimeout)
			defer cancel()
			runSocketCase(t, ctx, "node/socket-client.mjs", "", c, example)
		})
	}
}

// TestSocketChat64 is TestSocketChat with the official browser client at
// 6.4.0 (node/chat-client-6.4.mjs over createSocketTransport): the same
// cases, plus the 6.4.0-only cases of TestClientChat64 (retry() after an
// error, a worker's streamed output, a todo list, SESSION_BUSY after
// stop), each played against examples/socket and then against
// node/socket-reference-server-6.4.mjs, the docs' socket server on the
// official @octavus/server-sdk 6.4.0 (handleSocketMessage). Both runs must
// reach the case's end state (the one the same conversation reaches over
// the HTTP transport), the same one, with the same trigger bodies. The
// 6.4.0 client waits for finish {client-tool-calls} before it continues, so
// its automatic client tools answer at once (no workaround of the 2.0.0
// race, see conformance/README.md).
func TestSocketChat64(t *testing.T) {
	requireNode(t)
	requireOracle(t)
	example := exampleSocketServer(t)
	reference := socketServer{
		label: "reference 6.4.0 (node/socket-reference-server-6.4.mjs)",
		start: func(t *testing.T, ctx context.Context, env []string) *appServer {
			return startAppServer(t, ctx, "node/socket-reference-server-6.4.mjs",
				[]string{"node", "node/socket-reference-server-6.4.mjs", "-addr", "127.0.0.1:0"}, env)
		},
	}
	for _, c := range socketChatCases64() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), clientCaseTimeout)
			defer cancel()
			runSocketCase(t, ctx, chatClient64, "socket", c, example, reference)
		})
	}
}

// exampleSocketServer builds examples/socket (once, for every case of t)
// and starts it per case.
func exampleSocketServer(t *testing.T) socketServer {
	bin := buildExample(t, "examples/socket")
	return socketServer{
		label: "octavus-go (examples/socket)",
		start: func(t *testing.T, ctx context.Context, env []string) *appServer {
			return startAppServer(t, ctx, "examples/socket", []string{bin, "-addr", "127.0.0.1:0"}, env)
		},
	}
}

// socketCase is one conversation over the socket transport.
type socketCase struct {
	name, about string
	script      []octavustest.Turn // the agent's script on the platform
	sends       []chatSend
	clientTools map[string]clientToolSpec
	want        view
	// wantGo, when set, is octavus-go's end state where it deliberately
	// differs from the reference (TestClientChat's case says why).
	wantGo *view
	why    string
	// aborted says, per trigger POST the platform received, whether the
	// app server must have cancelled it before it was answered; abortedGo,
	// when set, says it for octavus-go where it deliberately posts others.
	aborted, abortedGo []bool
	// sent are the types of the messages the client sent, in order.
	sent []string
	// check, when set, checks the trigger POSTs the platform received.
	check func(triggers []octavustest.Request) error
	// platform are the options of the case's octavustest platform.
	platform []octavustest.Option
	// scriptFor, when set, makes the agent's script in place of script.
	scriptFor func(p *octavustest.Server) []octavustest.Turn
	// retries leaves the example's retries on (its default).
	retries bool
}

// socketJob is what node/socket-client.mjs reads on stdin.
type socketJob struct {
	URL         string                    `json:"url"`
	Sends       []chatSend                `json:"sends"`
	ClientTools map[string]clientToolSpec `json:"clientTools,omitempty"`
	Transport   string                    `json:"transport,omitempty"` // "socket" for node/chat-client-6.4.mjs
	// HoldOpen makes the client wait, once the chat has settled, for the
	// go-ahead to close the socket (see runSocketClient).
	HoldOpen  bool  `json:"holdOpen"`
	TimeoutMs int64 `json:"timeoutMs"`
}

// socketOutput is what node/socket-client.mjs prints: chat-client.mjs's
// output plus the socket's traffic.
type socketOutput struct {
	chatOutput
	Sent             []map[string]any `json:"sent"`
	Received         []map[string]any `json:"received"`
	ConnectionStates []string         `json:"connectionStates"`
}

// socketServer starts one app server with a socket endpoint at /ws, with
// env added to its environment.
type socketServer struct {
	label string
	start func(t *testing.T, ctx context.Context, env []string) *appServer
}

// socketSide is one run of a case against one app server.
type socketSide struct {
	label    string
	out      socketOutput
	raw      []byte
	view     jsonValue
	triggers []octavustest.Request
	problems []string // what this run got wrong on its own
	diag     string
}

// runSocketCase plays c with the driver script (transport is its job's
// "transport", empty for the 2.0.0 driver) against each server, each on a
// fresh platform, checks each run, and, with two servers (octavus-go, then
// the reference), checks that both ended the same and posted the same
// trigger bodies.
func runSocketCase(t *testing.T, ctx context.Context, driver, transport string, c socketCase, servers ...socketServer) {
	t.Helper()
	var sides []*socketSide
	for i, srv := range servers {
		want, aborted := c.want, c.aborted
		if i == 0 { // octavus-go
			if c.wantGo != nil {
				want = *c.wantGo
			}
			if c.abortedGo != nil {
				aborted = c.abortedGo
			}
		}
		sides = append(sides, runSocketSide(t, ctx, driver, transport, c, want, aborted, srv))
	}
	var problems []string
	for _, side := range sides {
		for _, p := range side.problems {
			problems = append(problems, side.label+": "+p)
		}
	}
	if len(sides) == 2 {
		gosdk, ref := sides[0], sides[1]
		if c.wantGo == nil && !gosdk.view.equal(ref.view) {
			problems = append(problems, "the two runs end differently:\n"+pathDiff(ref.label, ref.view, gosdk.label, gosdk.view))
		}
		if c.wantGo != nil && len(problems) == 0 {
			t.Logf("deliberate divergence (%s):\n%s", c.why, pathDiff(ref.label, ref.view, gosdk.label, gosdk.view))
		}
		goBodies, refBodies := triggerBodyValues(gosdk.triggers), triggerBodyValues(ref.triggers)
		if c.abortedGo == nil && !listsEqual(refBodies, goBodies) {
			problems = append(problems, "the platform got different trigger bodies:\n"+renderDiff(ref.label, refBodies, gosdk.label, goBodies))
		}
	}
	if len(problems) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "case %s: %s\n", c.name, c.about)
	for _, p := range problems {
		b.WriteString("\n" + strings.TrimRight(p, "\n") + "\n")
	}
	for _, side := range sides {
		fmt.Fprintf(&b, "\n%s, end state (normalised):\n%s", side.label, pretty(side.view))
		fmt.Fprintf(&b, "%s, socket client output:\n  %s\n", side.label, strings.TrimSpace(string(side.raw)))
		b.WriteString(side.diag)
	}
	t.Error(b.String())
}

// runSocketSide runs c against one app server on a fresh platform and
// checks what can be checked of that run alone.
// want and aborted are what this side must reach (c's, or its Go ones).
func runSocketSide(t *testing.T, ctx context.Context, driver, transport string, c socketCase, want view, aborted []bool, srv socketServer) *socketSide {
	t.Helper()
	p, env := startCasePlatform(t, c.platform, c.script, c.scriptFor, c.retries)
	app := srv.start(t, ctx, env)
	diag := func() string {
		return fmt.Sprintf("%s\n%splatform requests:\n%s", srv.label, app.Logs(), joinLines(requestLog(p)))
	}

	job, err := json.Marshal(socketJob{
		URL:         "ws" + strings.TrimPrefix(app.URL, "http") + "/ws",
		Sends:       c.sends,
		ClientTools: c.clientTools,
		Transport:   transport,
		HoldOpen:    true,
		TimeoutMs:   chatClientTimeout.Milliseconds(),
	})
	if err != nil {
		t.Fatalf("encoding the job: %v", err)
	}
	var triggers []octavustest.Request
	stdout, stderr, err := runSocketClient(ctx, driver, job, func() error {
		var err error
		triggers, err = triggerRequests(ctx, p)
		return err
	})
	if ctx.Err() != nil || err != nil {
		t.Fatalf("the socket client failed (%v, context: %v)\nstdout:\n%s\nstderr:\n%s\n%s",
			err, ctx.Err(), testproc.Indent(stdout), testproc.Indent(stderr), diag())
	}
	var out socketOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("the socket client printed no result: %v\nstdout:\n%s\nstderr:\n%s\n%s",
			err, testproc.Indent(stdout), testproc.Indent(stderr), diag())
	}
	// The client closed the socket and waited for the close handshake;
	// stopping the app server now leaves its log complete.
	app.Stop()

	side := &socketSide{label: srv.label, out: out, raw: []byte(stdout), triggers: triggers}
	got, err := out.view()
	if err != nil {
		side.problems = append(side.problems, fmt.Sprintf("the chat's end state: %v", err))
	} else if want := want.json(t); !got.equal(want) {
		side.problems = append(side.problems, "the chat does not end as expected:\n"+pathDiff("expected", want, "socket chat", got))
	}
	side.view = got
	side.problems = append(side.problems, abortedProblems(triggers, aborted)...)
	var sent []string
	for _, m := range out.Sent {
		sent = append(sent, fmt.Sprint(m["type"]))
	}
	if strings.Join(sent, " ") != strings.Join(c.sent, " ") {
		side.problems = append(side.problems, fmt.Sprintf("the client sent %v, want %v", sent, c.sent))
	}
	for i, m := range out.Received {
		if m["type"] == "finish" && m["executionId"] == nil {
			// The platform's finish events carry their executionId; one
			// without is Execute's finish {stop} of a cancelled execution,
			// which ServeSocket must not write.
			side.problems = append(side.problems, fmt.Sprintf("received[%d] is the finish of a stopped execution: %v", i, m))
		}
	}
	if n := strings.Count(strings.Join(out.ConnectionStates, " "), "connecting"); n != 1 {
		side.problems = append(side.problems, fmt.Sprintf("the transport connected %d times, want once: %v", n, out.ConnectionStates))
	}
	var creates []string
	for _, r := range p.Requests() {
		if r.Method == "POST" && r.Path == "/api/agent-sessions" {
			creates = append(creates, string(r.Body))
		}
	}
	if len(creates) != 1 {
		side.problems = append(side.problems, fmt.Sprintf("the app server created %d sessions, want 1: %v", len(creates), creates))
	}
	if c.check != nil {
		if err := c.check(triggers); err != nil {
			side.problems = append(side.problems, err.Error())
		}
	}
	if strings.Contains(app.Stderr.String(), "socket:") {
		side.problems = append(side.problems, "the app server logged a socket error (the close was not clean)")
	}
	side.diag = diag()
	return side
}

func socketChatCases() []socketCase {
	no := "The user said no"
	askConfirmation := octavustest.Stream(
		octavustest.Text("I need your confirmation."),
		octavustest.ToolCall{Name: clientTool, Args: confirmArgs},
	)
	continueRequest := func(result obj) obj {
		return obj{"type": "continue", "executionId": "exec_1", "toolResults": []obj{
			{"toolCallId": "call_1", "toolName": clientTool, "result": result},
		}}
	}
	confirmed := assistantMessage(
		textPart("I need your confirmation."),
		obj{"type": "tool-call", "toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs, "status": "done", "result": confirmResult},
		textPart("Confirmed: true."),
	)
	return []socketCase{
		{
			name:  "text",
			about: "two streamed text answers on one socket; OctavusChat.send sends stop before the second trigger",
			script: []octavustest.Turn{
				octavustest.Stream(octavustest.Text("Hello", " from", " Octavus.")),
				octavustest.Stream(octavustest.Text("Still", " here.")),
			},
			sends: []chatSend{userTrigger("Hi"), userTrigger("Are you there?")},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Hi"),
					assistantMessage(textPart("Hello from Octavus.")),
					userMessage("Are you there?"),
					assistantMessage(textPart("Still here.")),
				},
				statuses:  []string{"idle", "streaming", "idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Hi"), triggerRequest("Are you there?")},
				callbacks: []string{"finish", "finish"},
			},
			aborted: []bool{false, false},
			sent:    []string{"trigger", "stop", "trigger"},
		},
		{
			name:  "server-tool",
			about: "the example's get-user-account handler runs and the agent answers with its result",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Text("Let me look you up."),
					octavustest.ToolCall{Name: serverTool, Args: obj{"userId": "u_1"}},
				),
				answerFromAccount,
			},
			sends: []chatSend{userTrigger("Who am I?")},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Who am I?"),
					assistantMessage(
						textPart("Let me look you up."),
						obj{"type": "tool-call", "toolCallId": "call_1", "toolName": serverTool, "args": obj{"userId": "u_1"}, "status": "done", "result": account},
						textPart("You are Demo User on the pro plan."),
					),
				},
				statuses:  []string{"idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Who am I?")},
				callbacks: []string{"finish"},
			},
			aborted: []bool{false, false},
			sent:    []string{"trigger"},
		},
		{
			name:        "client-tool",
			about:       "a tool the example has no handler for goes to the browser; an automatic clientTools handler answers it with a continue message",
			script:      []octavustest.Turn{askConfirmation, answerFromConfirmation},
			sends:       []chatSend{userTrigger("Upgrade me")},
			clientTools: map[string]clientToolSpec{clientTool: {Result: confirmResult}},
			want: view{
				status:          "idle",
				messages:        []obj{userMessage("Upgrade me"), confirmed},
				statuses:        []string{"idle", "streaming", "idle"},
				requests:        []obj{triggerRequest("Upgrade me"), continueRequest(confirmResult)},
				clientToolCalls: []obj{{"toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs}},
				callbacks:       []string{"finish"},
			},
			aborted: []bool{false, false},
			sent:    []string{"trigger", "continue"},
		},
		{
			name:        "client-tool-fails",
			about:       "an automatic client tool throws: its error goes back to the agent in the continue message",
			script:      []octavustest.Turn{askConfirmation, answerFromConfirmation},
			sends:       []chatSend{userTrigger("Upgrade me")},
			clientTools: map[string]clientToolSpec{clientTool: {Error: &no}},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Upgrade me"),
					assistantMessage(
						textPart("I need your confirmation."),
						obj{"type": "tool-call", "toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs, "status": "error", "error": no},
						textPart("Okay, I will not: "+no),
					),
				},
				statuses: []string{"idle", "streaming", "idle"},
				requests: []obj{
					triggerRequest("Upgrade me"),
					{"type": "continue", "executionId": "exec_1", "toolResults": []obj{{"toolCallId": "call_1", "toolName": clientTool, "error": no}}},
				},
				clientToolCalls: []obj{{"toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs}},
				callbacks:       []string{"finish"},
			},
			aborted: []bool{false, false},
			sent:    []string{"trigger", "continue"},
		},
		{
			name:        "interactive-client-tool",
			about:       "an 'interactive' client tool: the chat waits in awaiting-input until the call is submitted, then continues",
			script:      []octavustest.Turn{askConfirmation, answerFromConfirmation},
			sends:       []chatSend{userTrigger("Upgrade me")},
			clientTools: map[string]clientToolSpec{clientTool: {Interactive: true, Result: confirmResult}},
			want: view{
				status:          "idle",
				messages:        []obj{userMessage("Upgrade me"), confirmed},
				statuses:        []string{"idle", "streaming", "awaiting-input", "streaming", "idle"},
				requests:        []obj{triggerRequest("Upgrade me"), continueRequest(confirmResult)},
				clientToolCalls: []obj{{"toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs}},
				callbacks:       []string{"finish"},
			},
			aborted: []bool{false, false},
			sent:    []string{"trigger", "continue"},
		},
		{
			name:  "mixed-tools",
			about: "the server tool and a client tool in one turn: the server result rides along in client-tool-request and comes back in continue",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Text("Checking."),
					octavustest.ToolCall{Name: serverTool},
					octavustest.ToolCall{Name: clientTool, Args: confirmArgs},
				),
				octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
					acct, ok1 := toolResult(req, serverTool)
					conf, ok2 := toolResult(req, clientTool)
					a, _ := acct.Result.(map[string]any)
					c, _ := conf.Result.(map[string]any)
					if !ok1 || !ok2 || a == nil || c == nil {
						return unexpected(req)
					}
					return octavustest.Stream(octavustest.Text(fmt.Sprintf("%v confirmed: %v.", a["name"], c["confirmed"])))
				}),
			},
			sends:       []chatSend{userTrigger("Upgrade me")},
			clientTools: map[string]clientToolSpec{clientTool: {Interactive: true, Result: confirmResult}},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Upgrade me"),
					assistantMessage(
						textPart("Checking."),
						obj{"type": "tool-call", "toolCallId": "call_1", "toolName": serverTool, "args": obj{}, "status": "done", "result": account},
						obj{"type": "tool-call", "toolCallId": "call_2", "toolName": clientTool, "args": confirmArgs, "status": "done", "result": confirmResult},
						textPart("Demo User confirmed: true."),
					),
				},
				statuses: []string{"idle", "streaming", "awaiting-input", "streaming", "idle"},
				requests: []obj{
					triggerRequest("Upgrade me"),
					{"type": "continue", "executionId": "exec_1", "toolResults": []obj{
						{"toolCallId": "call_1", "toolName": serverTool, "result": account},
						{"toolCallId": "call_2", "toolName": clientTool, "result": confirmResult},
					}},
				},
				clientToolCalls: []obj{{"toolCallId": "call_2", "toolName": clientTool, "args": confirmArgs}},
				callbacks:       []string{"finish"},
			},
			aborted: []bool{false, false},
			sent:    []string{"trigger", "continue"},
		},
		{
			name: "stop",
			about: "stop() after the first text delta while the platform stalls: the example cancels the platform request and " +
				"writes nothing more of it; the next send, right after (stop then trigger), gets its whole answer",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Event(obj{"type": "text-start", "id": "t1"}),
					octavustest.Event(obj{"type": "text-delta", "id": "t1", "delta": "Partial answer"}),
					octavustest.Stall(nil), // until the example goes away
					octavustest.Event(obj{"type": "text-delta", "id": "t1", "delta": " that never arrives"}),
					octavustest.Event(obj{"type": "text-end", "id": "t1"}),
				),
				octavustest.Stream(octavustest.Text("Back again.")),
			},
			sends: []chatSend{
				{TriggerName: "user-message", Input: obj{"USER_MESSAGE": "Tell me a long story"}, UserMessage: "Tell me a long story", StopOnFirstTextDelta: true},
				userTrigger("Still there?"),
			},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Tell me a long story"),
					assistantMessage(textPart("Partial answer")),
					userMessage("Still there?"),
					assistantMessage(textPart("Back again.")),
				},
				statuses:  []string{"idle", "streaming", "idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Tell me a long story"), triggerRequest("Still there?")},
				callbacks: []string{"stop", "finish"},
				stopped:   true,
			},
			aborted: []bool{true, false},
			// chat.stop() sends stop, then send() sends its own.
			sent: []string{"trigger", "stop", "stop", "trigger"},
			// The next trigger may reach the platform before it has seen the
			// cancel: SESSION_BUSY, which this case (run without retries)
			// is not about; see TestClientChat's stop case.
			platform: []octavustest.Option{octavustest.WithConcurrentRuns()},
		},
		{
			name: "platform-error",
			about: "the platform answers 403: the error event is the last message of the stream and the chat ends in error; " +
				"the socket stays open for the next send",
			script: []octavustest.Turn{
				octavustest.Failure{Status: 403, Body: `{"error":"This project cannot use the agent"}`},
				octavustest.Stream(octavustest.Text("Better now.")),
			},
			sends: []chatSend{userTrigger("Hi"), userTrigger("Again")},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Hi"),
					userMessage("Again"),
					assistantMessage(textPart("Better now.")),
				},
				statuses:  []string{"idle", "streaming", "error", "streaming", "idle"},
				requests:  []obj{triggerRequest("Hi"), triggerRequest("Again")},
				callbacks: []string{"error:permission_error", "finish"},
			},
			aborted: []bool{false, false},
			sent:    []string{"trigger", "stop", "trigger"},
		},
		{
			name:  "error-event-mid-stream",
			about: "the platform streams some text, then a provider error event: the chat ends in error and keeps the text",
			script: []octavustest.Turn{
				octavustest.Stream(octavustest.Text("Working on it"), octavustest.Event(providerError)),
			},
			sends: []chatSend{userTrigger("Hi")},
			want: view{
				status: "error",
				err: obj{
					"name": "OctavusError", "errorType": "provider_error", "message": "The model provider failed",
					"source": "provider", "retryable": true, "retryAfter": 3, "provider": providerError["provider"],
				},
				messages:  []obj{userMessage("Hi"), assistantMessage(textPart("Working on it"))},
				statuses:  []string{"idle", "streaming", "error"},
				requests:  []obj{triggerRequest("Hi")},
				callbacks: []string{"error:provider_error"},
			},
			aborted: []bool{false},
			sent:    []string{"trigger"},
		},
	}
}

// runSocketClient runs the socket client driver with job (which has
// holdOpen) and returns what it printed after its "settled" line (all it
// printed when it did not settle). Once the
// chat has settled, and before the client closes the socket, it calls
// settled, which waits until the platform has answered every request: a
// stream goes on after its finish event (6.4.0 forwards a usage event that
// comes after it), so a socket closed at once may cancel the last platform
// request before its end, and whether it does is a race.
func runSocketClient(ctx context.Context, driver string, job []byte, settled func() error) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, "node", driver)
	var errBuf testproc.SyncBuffer
	cmd.Stderr = &errBuf
	cmd.WaitDelay = 5 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", "", err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	r := bufio.NewReader(outPipe)
	var first string
	_, werr := in.Write(append(append([]byte(nil), job...), '\n'))
	if werr == nil {
		first, werr = r.ReadString('\n')
	}
	if werr == nil && first != "settled\n" {
		werr = fmt.Errorf("the client printed %q before it settled", first)
	}
	if werr == nil {
		werr = settled()
	}
	_, _ = in.Write([]byte("close\n"))
	_ = in.Close()
	rest, _ := io.ReadAll(r)
	err = cmd.Wait()
	if werr != nil && err == nil {
		err = werr
	}
	if first != "settled\n" {
		return first + string(rest), errBuf.String(), err
	}
	return string(rest), errBuf.String(), err
}

// socketChatCases64 are TestSocketChat64's cases: socketChatCases, then the
// 6.4.0-only cases of TestClientChat64 over the socket.
func socketChatCases64() []socketCase {
	// The messages the client sends: retry() calls transport.stop() first,
	// which sends stop on an open socket.
	return append(socketChatCases(), socketCasesFrom(chatCases64Only(), map[string][]string{
		"retry-after-error":       {"trigger", "stop", "trigger"},
		"retry-mid-conversation":  {"trigger", "stop", "trigger", "stop", "trigger"},
		"stop-then-busy":          {"trigger", "stop", "stop", "trigger"},
		"stop-then-busy-persists": {"trigger", "stop", "stop", "trigger"},
		"worker":                  {"trigger"},
		"todo":                    {"trigger"},
	})...)
}

// socketCasesFrom are TestClientChat cases over the socket; sent are the
// message types each sends.
func socketCasesFrom(chatCases []chatCase, sent map[string][]string) []socketCase {
	var cases []socketCase
	for _, c := range chatCases {
		s, ok := sent[c.name]
		if !ok {
			panic("socketCasesFrom: no sent list for " + c.name)
		}
		cases = append(cases, socketCase{
			name: c.name, about: c.about, script: c.script, scriptFor: c.scriptFor, retries: c.retries,
			sends: c.job.Sends, clientTools: c.job.ClientTools,
			want: c.want, wantGo: c.wantGo, why: c.why, aborted: c.aborted, abortedGo: c.abortedGo,
			sent: s, check: c.check, platform: c.platform,
		})
	}
	return cases
}
