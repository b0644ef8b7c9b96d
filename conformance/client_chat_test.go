package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

// TestClientChat runs the official browser client (@octavus/client-sdk
// OctavusChat with createHttpTransport, in Node) against the Go example
// examples/nethttp, a real process backed by a scripted octavustest
// platform, and checks the chat's end state: UIMessages, status, error,
// the requests the transport sent, the client tools it ran and the
// callbacks it fired. Each case then runs the same client job against
// node/reference-server.mjs, a Node port of the example written with the
// official @octavus/server-sdk, on a fresh platform with the same script,
// and both runs must end the same (message ids and createdAt, made up by
// the client, are normalised), and must have posted the same trigger bodies
// to the platform.
func TestClientChat(t *testing.T) {
	requireNode(t)
	exampleBin := buildExample(t, "examples/nethttp")
	startGo := func(t *testing.T, ctx context.Context, env []string) *appServer {
		return startAppServer(t, ctx, "examples/nethttp", []string{exampleBin, "-addr", "127.0.0.1:0"}, env)
	}
	startNode := func(t *testing.T, ctx context.Context, env []string) *appServer {
		return startAppServer(t, ctx, "node/reference-server.mjs", []string{"node", "node/reference-server.mjs", "-addr", "127.0.0.1:0"}, env)
	}

	for _, c := range append(clientChatCases(), chatCases20Only()...) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), clientCaseTimeout)
			defer cancel()
			gosdk := runChatSide(t, ctx, "octavus-go (examples/nethttp)", chatClient20, c, startGo)
			ref := runChatSide(t, ctx, "reference (node/reference-server.mjs)", chatClient20, c, startNode)
			checkChatSides(t, c, gosdk, ref)
		})
	}
}

// TestClientChat64 is TestClientChat with the official browser client at
// 6.4.0 (the oracle build of @octavus/client-sdk, driven by
// node/chat-client-6.4.mjs), and with node/reference-server-6.4.mjs, the
// same Node port on the official @octavus/server-sdk 6.4.0, as the
// reference. It plays TestClientChat's cases, with the end states the 6.4.0
// client reaches where it differs from 2.0.0, and the cases only 6.4.0 has:
// retry() after an error (with the rollback the platform must receive), a
// worker's streamed output and a todo list.
func TestClientChat64(t *testing.T) {
	requireNode(t)
	requireOracle(t)
	exampleBin := buildExample(t, "examples/nethttp")
	startGo := func(t *testing.T, ctx context.Context, env []string) *appServer {
		return startAppServer(t, ctx, "examples/nethttp", []string{exampleBin, "-addr", "127.0.0.1:0"}, env)
	}
	startNode := func(t *testing.T, ctx context.Context, env []string) *appServer {
		return startAppServer(t, ctx, "node/reference-server-6.4.mjs", []string{"node", "node/reference-server-6.4.mjs", "-addr", "127.0.0.1:0"}, env)
	}

	for _, c := range clientChatCases64() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), clientCaseTimeout)
			defer cancel()
			gosdk := runChatSide(t, ctx, "octavus-go (examples/nethttp)", chatClient64, c, startGo)
			ref := runChatSide(t, ctx, "reference 6.4.0 (node/reference-server-6.4.mjs)", chatClient64, c, startNode)
			checkChatSides(t, c, gosdk, ref)
			if c.check != nil {
				for _, side := range []*chatSide{gosdk, ref} {
					if err := c.check(side.triggers); err != nil {
						t.Errorf("%s: %v\nplatform requests:\n%s", side.label, err, joinLines(requestLog(side.platform)))
					}
				}
			}
		})
	}
}

// chatCase is one conversation played through both app servers.
type chatCase struct {
	name   string
	about  string
	script []octavustest.Turn // the agent's script on the platform
	job    chatJob            // the chat client's job (URL filled in)
	// want is the end state both runs must reach (see chatOutput.view).
	want view
	// wantGo, when set, is octavus-go's end state where it deliberately
	// differs from the reference; why says why.
	wantGo *view
	why    string
	// aborted says, per trigger POST the platform received, whether the
	// app server must have gone away before it was answered. abortedGo,
	// when not nil, is the same for octavus-go where it deliberately sends
	// other POSTs (the trigger bodies are then not compared).
	aborted   []bool
	abortedGo []bool
	// check, when set, checks the trigger POSTs the platform received on
	// each side (beyond comparing the two sides' bodies).
	check func(triggers []octavustest.Request) error
	// platform are the options of the case's octavustest platforms.
	platform []octavustest.Option
	// scriptFor, when set, makes the agent's script for each side's
	// platform in place of script.
	scriptFor func(p *octavustest.Server) []octavustest.Turn
	// retries leaves the app servers' retries on (their default).
	retries bool
}

// chatSide is one run of a case against one app server.
type chatSide struct {
	label    string
	out      chatOutput
	raw      []byte
	view     jsonValue
	triggers []octavustest.Request
	platform *octavustest.Server
	app      *appServer
}

// runChatSide starts a fresh platform whose agent plays c.script, an app
// server pointed at it, runs the chat client against the app server and
// waits until the platform has served every trigger POST.
// driver is the chat client (chatClient20 or chatClient64).
func runChatSide(t *testing.T, ctx context.Context, label, driver string, c chatCase, start func(*testing.T, context.Context, []string) *appServer) *chatSide {
	t.Helper()
	p, env := startCasePlatform(t, c.platform, c.script, c.scriptFor, c.retries)
	app := start(t, ctx, env)
	diag := func() string {
		return fmt.Sprintf("%s\n%splatform requests:\n%s", label, app.Logs(), joinLines(requestLog(p)))
	}
	job := c.job
	job.URL = app.URL
	out, raw := runChatClient(t, ctx, driver, job, diag)
	triggers, err := triggerRequests(ctx, p)
	if err != nil {
		t.Fatalf("%v\n%s", err, diag())
	}
	v, err := out.view()
	if err != nil {
		t.Fatalf("%s: the chat's end state: %v\n%s\n%s", label, err, raw, diag())
	}
	return &chatSide{label: label, out: out, raw: raw, view: v, triggers: triggers, platform: p, app: app}
}

// startCasePlatform starts a fresh octavustest platform (with options
// opts) for one run of a case: its agent plays script, or what scriptFor
// makes for this platform when it is set. It returns the platform and the
// environment that points an app server at it. Unless retries, the app
// server's retries are off: the reference 2.0.0 does not retry, and the
// cases pin its requests; 6.4.0 does (the conformance scenarios pin how);
// here retries are off on both sides, so that a failure reaches the
// browser at once.
func startCasePlatform(t *testing.T, opts []octavustest.Option, script []octavustest.Turn,
	scriptFor func(*octavustest.Server) []octavustest.Turn, retries bool,
) (*octavustest.Server, []string) {
	t.Helper()
	p := octavustest.NewServer(opts...)
	t.Cleanup(p.Close) // after the app server's cleanup, registered later
	if scriptFor != nil {
		script = scriptFor(p)
	}
	agentID := p.AddAgent(octavustest.Agent{Name: "Demo assistant", Script: script})
	env := []string{
		"OCTAVUS_API_URL=" + p.URL,
		"OCTAVUS_API_KEY=" + p.APIKey,
		"OCTAVUS_AGENT_ID=" + agentID,
	}
	if !retries {
		env = append(env, "OCTAVUS_MAX_RETRIES=-1")
	}
	return p, env
}

// abortedProblems lists where the trigger POSTs a platform received differ
// from aborted: how many there are, and whether the app server went away
// before each was answered.
func abortedProblems(triggers []octavustest.Request, aborted []bool) []string {
	if len(triggers) != len(aborted) {
		return []string{fmt.Sprintf("the platform got %d trigger POSTs, want %d", len(triggers), len(aborted))}
	}
	var problems []string
	for i, r := range triggers {
		if r.Aborted != aborted[i] {
			problems = append(problems, fmt.Sprintf("trigger POST %d (#%d): aborted by the app server = %v, want %v", i+1, r.Seq, r.Aborted, aborted[i]))
		}
	}
	return problems
}

// checkChatSides checks both runs of c against what c expects and against
// each other.
func checkChatSides(t *testing.T, c chatCase, gosdk, ref *chatSide) {
	t.Helper()
	want := c.want.json(t)
	wantGo := want
	if c.wantGo != nil {
		wantGo = c.wantGo.json(t)
	}

	var problems []string
	if c.wantGo == nil && !gosdk.view.equal(ref.view) {
		problems = append(problems, "the two runs end differently:\n"+pathDiff(ref.label, ref.view, gosdk.label, gosdk.view))
	}
	if !ref.view.equal(want) {
		problems = append(problems, "the reference run does not end as expected:\n"+pathDiff("expected", want, ref.label, ref.view))
	}
	if !gosdk.view.equal(wantGo) {
		problems = append(problems, "the octavus-go run does not end as expected:\n"+pathDiff("expected", wantGo, gosdk.label, gosdk.view))
	}
	abortedGo := c.aborted
	if c.abortedGo != nil {
		abortedGo = c.abortedGo
	}
	for _, side := range []*chatSide{gosdk, ref} {
		aborted := c.aborted
		if side == gosdk {
			aborted = abortedGo
		}
		for _, p := range abortedProblems(side.triggers, aborted) {
			problems = append(problems, side.label+": "+p)
		}
	}
	goBodies, refBodies := triggerBodyValues(gosdk.triggers), triggerBodyValues(ref.triggers)
	if c.abortedGo == nil && !listsEqual(refBodies, goBodies) {
		problems = append(problems, "the platform got different trigger bodies:\n"+
			renderDiff(ref.label, refBodies, gosdk.label, goBodies))
	}
	if len(problems) == 0 {
		if c.wantGo != nil {
			t.Logf("deliberate divergence (%s):\n%s", c.why, pathDiff(ref.label, ref.view, gosdk.label, gosdk.view))
		}
		return
	}

	var b strings.Builder
	fmt.Fprintf(&b, "case %s: %s\n", c.name, c.about)
	if c.wantGo != nil {
		fmt.Fprintf(&b, "deliberate divergence: %s\n", c.why)
	}
	for _, p := range problems {
		b.WriteString("\n")
		b.WriteString(strings.TrimRight(p, "\n"))
		b.WriteString("\n")
	}
	for _, side := range []*chatSide{gosdk, ref} {
		fmt.Fprintf(&b, "\n%s, end state (normalised):\n%s", side.label, pretty(side.view))
		fmt.Fprintf(&b, "%s, chat client output:\n  %s\n", side.label, strings.TrimSpace(string(side.raw)))
		fmt.Fprintf(&b, "%s, platform requests:\n%s", side.label, joinLines(requestLog(side.platform)))
		b.WriteString(side.app.Logs())
	}
	t.Error(b.String())
}

// pathDiff lists the JSON paths where two end states differ.
func pathDiff(aLabel string, a jsonValue, bLabel string, b jsonValue) string {
	lines := jsonPathDiff("$", a, b)
	return fmt.Sprintf("  (%s vs %s)\n%s", aLabel, bLabel, joinLines(lines))
}

func triggerBodyValues(reqs []octavustest.Request) []jsonValue {
	out := make([]jsonValue, len(reqs))
	for i, r := range reqs {
		out[i] = decodeJSON(string(r.Body))
	}
	return out
}

// obj is a JSON object literal.
type obj = map[string]any

// view is an expected end state; json() renders it as chatOutput.view
// does, numbering messages msg-1, msg-2, ... in order.
type view struct {
	status          string
	err             obj
	messages        []obj
	statuses        []string
	requests        []obj
	clientToolCalls []obj
	callbacks       []string
	stopped         bool
	canRetry        []bool // 6.4.0 client only: chat.canRetry before each retry
}

func (v view) json(t *testing.T) jsonValue {
	t.Helper()
	messages := make([]obj, len(v.messages))
	for i, m := range v.messages {
		c := obj{"id": fmt.Sprintf("msg-%d", i+1), "status": "done", "createdAt": createdAtOK}
		for k, e := range m {
			c[k] = e
		}
		messages[i] = c
	}
	nonNil := func(l []obj) []obj {
		if l == nil {
			return []obj{}
		}
		return l
	}
	var errValue any
	if v.err != nil {
		errValue = v.err
	}
	rendered := obj{
		"status":          v.status,
		"error":           errValue,
		"messages":        messages,
		"statuses":        v.statuses,
		"requests":        nonNil(v.requests),
		"clientToolCalls": nonNil(v.clientToolCalls),
		"callbacks":       v.callbacks,
		"stopped":         v.stopped,
	}
	if len(v.canRetry) > 0 {
		rendered["canRetry"] = v.canRetry
	}
	b, err := json.Marshal(rendered)
	if err != nil {
		t.Fatalf("encoding the expected end state: %v", err)
	}
	return decodeJSON(string(b))
}

// Builders of expected messages and parts.

func userMessage(text string) obj {
	return obj{"role": "user", "parts": []obj{textPart(text)}}
}

func assistantMessage(parts ...obj) obj {
	return obj{"role": "assistant", "parts": parts}
}

func textPart(text string) obj {
	return obj{"type": "text", "text": text, "status": "done"}
}

func userTrigger(text string) chatSend {
	return chatSend{TriggerName: "user-message", Input: obj{"USER_MESSAGE": text}, UserMessage: text}
}

func triggerRequest(text string) obj {
	return obj{"type": "trigger", "triggerName": "user-message", "input": obj{"USER_MESSAGE": text}}
}

// The example's server tool and what it returns.
const serverTool = "get-user-account"

var account = obj{"name": "Demo User", "plan": "pro"}

// A tool the example has no handler for: a client tool.
const clientTool = "confirm-with-user"

var (
	confirmArgs   = obj{"question": "Upgrade to the pro plan?"}
	confirmResult = obj{"confirmed": true}
)

// toolResult finds the continuation's result for toolName.
func toolResult(req octavustest.TriggerRequest, toolName string) (octavustest.ToolResult, bool) {
	for _, r := range req.ToolResults {
		if r.ToolName == toolName {
			return r, true
		}
	}
	return octavustest.ToolResult{}, false
}

// unexpected answers a continuation the script did not expect; the
// message then shows up in the chat's end state.
func unexpected(req octavustest.TriggerRequest) octavustest.Turn {
	return octavustest.Failure{Status: 400, Body: fmt.Sprintf(`{"error":%q}`, "unexpected continuation: "+string(req.Body))}
}

// answerFromAccount answers the server tool's result as the example's own
// fake platform does.
var answerFromAccount = octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
	r, ok := toolResult(req, serverTool)
	acct, isObj := r.Result.(map[string]any)
	if !ok || !isObj {
		return unexpected(req)
	}
	return octavustest.Stream(octavustest.Text("You are ", fmt.Sprint(acct["name"]), " on the ", fmt.Sprint(acct["plan"]), " plan."))
})

// answerFromConfirmation answers the client tool's result or error.
var answerFromConfirmation = octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
	r, ok := toolResult(req, clientTool)
	if !ok {
		return unexpected(req)
	}
	if r.Error != "" {
		return octavustest.Stream(octavustest.Text("Okay, I will not: ", r.Error))
	}
	res, _ := r.Result.(map[string]any)
	return octavustest.Stream(octavustest.Text(fmt.Sprintf("Confirmed: %v.", res["confirmed"])))
})

// clientChatCases are TestClientChat's cases: clientChatCaseList with the
// platform and the end states that octavus-go's 6.4.0 behaviour needs.
func clientChatCases() []chatCase {
	cases := clientChatCaseList()
	for i := range cases {
		c := &cases[i]
		switch c.name {
		case "stop":
			// The app server cancels the stalled platform request, and the
			// platform sees that cancel when its handler notices the client
			// has gone. A next trigger that arrives before that gets
			// SESSION_BUSY, as on the real platform (which SDKs at 6.4.0
			// retry; 2.0.0 does not, and the cases run without retries).
			// This case is about stop, so its platform takes concurrent
			// runs; stop-then-busy pins the busy answer.
			c.platform = []octavustest.Option{octavustest.WithConcurrentRuns()}
		}
	}
	return cases
}

// clientChatCaseList are the conversations of TestClientChat as the
// reference plays them.
func clientChatCaseList() []chatCase {
	no := "The user said no"
	return []chatCase{
		{
			name:  "text",
			about: "two streamed text answers in one chat",
			script: []octavustest.Turn{
				octavustest.Stream(octavustest.Text("Hello", " from", " Octavus.")),
				octavustest.Stream(octavustest.Text("Still", " here.")),
			},
			job: chatJob{
				SessionInput: obj{"COMPANY_NAME": "Acme Corp"},
				Sends:        []chatSend{userTrigger("Hi"), userTrigger("Are you there?")},
			},
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
		},
		{
			name:  "server-tool",
			about: "a server tool round: the example's get-user-account handler runs and the agent answers with its result",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Text("Let me look you up."),
					octavustest.ToolCall{Name: serverTool, Args: obj{"userId": "u_1"}},
				),
				answerFromAccount,
			},
			job: chatJob{Sends: []chatSend{userTrigger("Who am I?")}},
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
		},
		{
			name:  "client-tool",
			about: "a tool the example has no handler for goes to the browser; clientTools answers it and the chat continues",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Text("I need your confirmation."),
					octavustest.ToolCall{Name: clientTool, Args: confirmArgs},
				),
				answerFromConfirmation,
			},
			job: chatJob{
				Sends:       []chatSend{userTrigger("Upgrade me")},
				ClientTools: map[string]clientToolSpec{clientTool: {Result: confirmResult}},
			},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Upgrade me"),
					assistantMessage(
						textPart("I need your confirmation."),
						obj{"type": "tool-call", "toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs, "status": "done", "result": confirmResult},
						textPart("Confirmed: true."),
					),
				},
				statuses: []string{"idle", "streaming", "idle"},
				requests: []obj{
					triggerRequest("Upgrade me"),
					{"type": "continue", "executionId": "exec_1", "toolResults": []obj{
						{"toolCallId": "call_1", "toolName": clientTool, "result": confirmResult},
					}},
				},
				clientToolCalls: []obj{{"toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs}},
				callbacks:       []string{"finish"},
			},
			aborted: []bool{false, false},
		},
		{
			name:  "client-tool-fails",
			about: "a client tool handler throws: the part ends in error and the error goes back to the agent",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Text("I need your confirmation."),
					octavustest.ToolCall{Name: clientTool, Args: confirmArgs},
				),
				answerFromConfirmation,
			},
			job: chatJob{
				Sends:       []chatSend{userTrigger("Upgrade me")},
				ClientTools: map[string]clientToolSpec{clientTool: {Error: &no}},
			},
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
					{"type": "continue", "executionId": "exec_1", "toolResults": []obj{
						{"toolCallId": "call_1", "toolName": clientTool, "error": no},
					}},
				},
				clientToolCalls: []obj{{"toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs}},
				callbacks:       []string{"finish"},
			},
			aborted: []bool{false, false},
		},
		{
			name:  "interactive-client-tool",
			about: "an 'interactive' client tool: the chat waits in awaiting-input until the call is submitted, then continues",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Text("I need your confirmation."),
					octavustest.ToolCall{Name: clientTool, Args: confirmArgs},
				),
				answerFromConfirmation,
			},
			job: chatJob{
				Sends:       []chatSend{userTrigger("Upgrade me")},
				ClientTools: map[string]clientToolSpec{clientTool: {Interactive: true, Result: confirmResult}},
			},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Upgrade me"),
					assistantMessage(
						textPart("I need your confirmation."),
						obj{"type": "tool-call", "toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs, "status": "done", "result": confirmResult},
						textPart("Confirmed: true."),
					),
				},
				statuses: []string{"idle", "streaming", "awaiting-input", "streaming", "idle"},
				requests: []obj{
					triggerRequest("Upgrade me"),
					{"type": "continue", "executionId": "exec_1", "toolResults": []obj{
						{"toolCallId": "call_1", "toolName": clientTool, "result": confirmResult},
					}},
				},
				clientToolCalls: []obj{{"toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs}},
				callbacks:       []string{"finish"},
			},
			aborted: []bool{false, false},
		},
		{
			name: "client-tool-continuation-fails",
			about: "the platform answers the client tool's continue with 503: the chat ends in error; the client SDK leaves " +
				"the assistant message in status streaming on this path (send()'s own error path finalises it)",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Text("I need your confirmation."),
					octavustest.ToolCall{Name: clientTool, Args: confirmArgs},
				),
				octavustest.Failure{Status: 503},
			},
			job: chatJob{
				Sends:       []chatSend{userTrigger("Upgrade me")},
				ClientTools: map[string]clientToolSpec{clientTool: {Result: confirmResult}},
			},
			want: view{
				status: "error",
				err: obj{
					"name": "OctavusError", "errorType": "provider_overloaded", "message": "Service Unavailable",
					"source": "platform", "retryable": true,
				},
				messages: []obj{
					userMessage("Upgrade me"),
					{
						"role": "assistant", "status": "streaming", "parts": []obj{
							textPart("I need your confirmation."),
							{"type": "tool-call", "toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs, "status": "done", "result": confirmResult},
						},
					},
				},
				statuses: []string{"idle", "streaming", "error"},
				requests: []obj{
					triggerRequest("Upgrade me"),
					{"type": "continue", "executionId": "exec_1", "toolResults": []obj{
						{"toolCallId": "call_1", "toolName": clientTool, "result": confirmResult},
					}},
				},
				clientToolCalls: []obj{{"toolCallId": "call_1", "toolName": clientTool, "args": confirmArgs}},
				callbacks:       []string{"error:provider_overloaded"},
			},
			aborted: []bool{false, false},
		},
		{
			name:  "mixed-tools",
			about: "one turn asks for the server tool and a client tool: the server result rides along in client-tool-request and comes back in continue",
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
			job: chatJob{
				Sends:       []chatSend{userTrigger("Upgrade me")},
				ClientTools: map[string]clientToolSpec{clientTool: {Result: confirmResult}},
			},
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
				statuses: []string{"idle", "streaming", "idle"},
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
		},
		{
			name: "stop",
			about: "stop() after the first text delta while the platform stalls: the app server aborts the platform request, " +
				"the chat is idle with the partial text; the next send works",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Event(obj{"type": "text-start", "id": "t1"}),
					octavustest.Event(obj{"type": "text-delta", "id": "t1", "delta": "Partial answer"}),
					octavustest.Stall(nil), // until the app server goes away
					octavustest.Event(obj{"type": "text-delta", "id": "t1", "delta": " that never arrives"}),
					octavustest.Event(obj{"type": "text-end", "id": "t1"}),
				),
				octavustest.Stream(octavustest.Text("Back again.")),
			},
			job: chatJob{
				Sends: []chatSend{
					{TriggerName: "user-message", Input: obj{"USER_MESSAGE": "Tell me a long story"}, UserMessage: "Tell me a long story", StopOnFirstTextDelta: true},
					userTrigger("Still there?"),
				},
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
		},
		{
			name:  "rate-limited",
			about: "the platform answers 429 with a JSON error, a code and Retry-After: the chat ends in error with rate_limit_error",
			script: []octavustest.Turn{
				octavustest.Failure{
					Status:     429,
					Body:       `{"error":"Too many requests for this project","code":"RATE_LIMITED"}`,
					RetryAfter: "7",
				},
			},
			job: chatJob{Sends: []chatSend{userTrigger("Hi")}},
			want: view{
				status: "error",
				// The reference's createApiErrorEvent keeps neither the
				// body's code nor Retry-After; octavus-go does the same
				// (it keeps the code of a persisting SESSION_BUSY only).
				err: obj{
					"name": "OctavusError", "errorType": "rate_limit_error", "message": "Too many requests for this project",
					"source": "platform", "retryable": true,
				},
				messages:  []obj{userMessage("Hi")},
				statuses:  []string{"idle", "streaming", "error"},
				requests:  []obj{triggerRequest("Hi")},
				callbacks: []string{"error:rate_limit_error"},
			},
			aborted: []bool{false},
		},
		{
			name:   "provider-overloaded",
			about:  "the platform answers 503 (default body): the chat ends in error with provider_overloaded",
			script: []octavustest.Turn{octavustest.Failure{Status: 503}},
			job:    chatJob{Sends: []chatSend{userTrigger("Hi")}},
			want: view{
				status: "error",
				err: obj{
					"name": "OctavusError", "errorType": "provider_overloaded", "message": "Service Unavailable",
					"source": "platform", "retryable": true,
				},
				messages:  []obj{userMessage("Hi")},
				statuses:  []string{"idle", "streaming", "error"},
				requests:  []obj{triggerRequest("Hi")},
				callbacks: []string{"error:provider_overloaded"},
			},
			aborted: []bool{false},
		},
		{
			name:  "error-event-mid-stream",
			about: "the platform streams some text, then a provider error event: the chat ends in error and keeps the text",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Text("Working on it"),
					octavustest.Event(providerError),
				),
			},
			job: chatJob{Sends: []chatSend{userTrigger("Hi")}},
			want: view{
				status: "error",
				err: obj{
					"name": "OctavusError", "errorType": "provider_error", "message": "The model provider failed",
					"source": "provider", "retryable": true, "retryAfter": 3, "provider": providerError["provider"],
				},
				messages: []obj{
					userMessage("Hi"),
					assistantMessage(textPart("Working on it")),
				},
				statuses:  []string{"idle", "streaming", "error"},
				requests:  []obj{triggerRequest("Hi")},
				callbacks: []string{"error:provider_error"},
			},
			aborted: []bool{false},
		},
		{
			name:  "reasoning-sources-files",
			about: "reasoning, text inside a block, a url source and a file become their UIMessage parts",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Reasoning("The user wants", " the report."),
					octavustest.Block("answer", octavustest.Text("Here is the report.")),
					octavustest.Source("https://example.com/report", "The report"),
					octavustest.File("application/pdf", "https://files.example.com/report.pdf", "report.pdf"),
				),
			},
			job: chatJob{Sends: []chatSend{userTrigger("Report, please")}},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Report, please"),
					assistantMessage(
						obj{"type": "reasoning", "text": "The user wants the report.", "status": "done"},
						textPart("Here is the report."),
						obj{"type": "source", "sourceType": "url", "id": "src_1", "url": "https://example.com/report", "title": "The report"},
						obj{"type": "file", "id": "file_1", "mediaType": "application/pdf", "url": "https://files.example.com/report.pdf", "filename": "report.pdf"},
					),
				},
				statuses:  []string{"idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Report, please")},
				callbacks: []string{"finish"},
			},
			aborted: []bool{false},
		},
		{
			name:  "connection-cut",
			about: "the platform connection drops mid-stream: the chat ends in internal_error and keeps the text",
			script: []octavustest.Turn{
				octavustest.Stream(octavustest.Text("Half an ans"), octavustest.Cut()),
			},
			job:     chatJob{Sends: []chatSend{userTrigger("Hi")}},
			want:    connectionCut("terminated", false),
			wantGo:  ptr(connectionCut("Platform connection dropped", true)),
			why:     "octavus-go says what happened, and that a retry may work, where the reference passes on undici's \"terminated\" as not retryable (README, Divergences)",
			aborted: []bool{false},
		},
		{
			name:   "unknown-session",
			about:  "the chat uses a session the platform does not know: not_found_error",
			script: []octavustest.Turn{octavustest.Stream(octavustest.Text("Never sent."))},
			job:    chatJob{Sends: []chatSend{userTrigger("Hi")}, SessionID: ptr("sess_unknown")},
			want: view{
				status: "error",
				err: obj{
					"name": "OctavusError", "errorType": "not_found_error", "message": "Session not found: sess_unknown",
					"source": "platform", "retryable": false,
				},
				messages:  []obj{userMessage("Hi")},
				statuses:  []string{"idle", "streaming", "error"},
				requests:  []obj{triggerRequest("Hi")},
				callbacks: []string{"error:not_found_error"},
			},
			aborted: []bool{false},
		},
		{
			name:   "empty-session-id",
			about:  "the browser sends sessionId \"\": the reference posts to /api/agent-sessions//trigger, octavus-go answers 400 itself",
			script: []octavustest.Turn{octavustest.Stream(octavustest.Text("Never sent."))},
			job:    chatJob{Sends: []chatSend{userTrigger("Hi")}, SessionID: ptr("")},
			want: emptySessionID(obj{
				"name": "OctavusError", "errorType": "not_found_error", "message": "Session not found: ",
				"source": "platform", "retryable": false,
			}, "error:not_found_error"),
			// createHttpTransport turns a non-2xx answer into an Error whose
			// message is the raw body text, hence internal_error from the
			// client with the JSON text as its message.
			wantGo: ptr(emptySessionID(obj{
				"name": "OctavusError", "errorType": "internal_error", "message": `{"error":"\"sessionId\" must not be empty"}`,
				"source": "client", "retryable": false,
			}, "error:internal_error")),
			why:       "Handler refuses a malformed browser request with 4xx before the platform (README, Divergences)",
			aborted:   []bool{false},
			abortedGo: []bool{},
		},
	}
}

// emptySessionID is the end state of the empty-session-id case.
func emptySessionID(err obj, callback string) view {
	return view{
		status:    "error",
		err:       err,
		messages:  []obj{userMessage("Hi")},
		statuses:  []string{"idle", "streaming", "error"},
		requests:  []obj{triggerRequest("Hi")},
		callbacks: []string{callback},
	}
}

// connectionCut is the end state of the connection-cut case with the
// error message each SDK gives.
func connectionCut(message string, retryable bool) view {
	return view{
		status: "error",
		err: obj{
			"name": "OctavusError", "errorType": "internal_error", "message": message,
			"source": "platform", "retryable": retryable,
		},
		messages: []obj{
			userMessage("Hi"),
			assistantMessage(textPart("Half an ans")),
		},
		statuses:  []string{"idle", "streaming", "error"},
		requests:  []obj{triggerRequest("Hi")},
		callbacks: []string{"error:internal_error"},
	}
}

func ptr[T any](v T) *T { return &v }

var providerError = obj{
	"type": "error", "errorType": "provider_error", "message": "The model provider failed",
	"source": "provider", "retryable": true, "retryAfter": 3,
	"provider": obj{"name": "anthropic", "model": "claude-sonnet-4", "statusCode": 529, "errorType": "overloaded_error", "requestId": "req_123"},
}

// clientChatCases64 are TestClientChat64's cases: clientChatCases with the
// 6.4.0 client's end state where it differs from 2.0.0's, then the cases
// of what only 6.4.0 has.
func clientChatCases64() []chatCase {
	cases := clientChatCases()
	for i := range cases {
		c := &cases[i]
		switch c.name {
		case "connection-cut":
			// 6.4.0's server SDK takes the cut for a transport drop: it ends
			// the stream with no event, and the 6.4.0 client commits the
			// partial turn and goes idle.
			c.want = view{
				status:    "idle",
				messages:  []obj{userMessage("Hi"), assistantMessage(textPart("Half an ans"))},
				statuses:  []string{"idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Hi")},
				callbacks: []string{}, // no finish event, so no onFinish
			}
			c.why = "octavus-go ends a cut platform stream with a retryable internal_error event, where 6.4.0 ends it silently " +
				"(a 2.0.0 browser would hang in streaming on a silent end; README, Divergences)"
		case "empty-session-id":
			// 6.4.0's attach("") is a handle with no session id and no
			// deferred-start config: its execute() posts the plain trigger
			// body ({triggerName, input}) to /api/agent-sessions/start,
			// which octavustest refuses with 400 (that endpoint takes the
			// nested start body); the 6.4.0 createHttpTransport turns
			// octavus-go's 400 into an error event of its own
			// (createApiErrorEvent), no longer the raw body as an
			// internal_error.
			c.about = "the browser sends sessionId \"\": the 6.4.0 reference starts a deferred session with no agent, octavus-go answers 400 itself"
			c.want = emptySessionID(obj{
				"name": "OctavusError", "errorType": "validation_error", "message": "unknown field(s): triggerName",
				"source": "platform", "retryable": false,
			}, "error:validation_error")
			c.wantGo = ptr(emptySessionID(obj{
				"name": "OctavusError", "errorType": "validation_error", "message": `{"error":"\"sessionId\" must not be empty"}`,
				"source": "platform", "retryable": false,
			}, "error:validation_error"))
			c.aborted = []bool{}
		}
	}
	return append(cases, chatCases64Only()...)
}

// retryTrigger is the trigger request retry() sends: the last trigger with
// its rollback anchor.
func retryTrigger(text string, rollbackAfter any) obj {
	r := triggerRequest(text)
	r["rollbackAfterMessageId"] = rollbackAfter
	return r
}

// checkRollbacks checks the rollbackAfterMessageId of each trigger POST the
// platform received, in order: absent where want[i] is absentRollback, else
// present with that value (nil for null).
func checkRollbacks(want ...any) func([]octavustest.Request) error {
	return func(triggers []octavustest.Request) error {
		if len(triggers) != len(want) {
			return fmt.Errorf("the platform got %d trigger POSTs, want %d", len(triggers), len(want))
		}
		for i, r := range triggers {
			var body map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &body); err != nil {
				return fmt.Errorf("trigger POST %d: %w", i+1, err)
			}
			got, present := body["rollbackAfterMessageId"]
			if want[i] == absentRollback {
				if present {
					return fmt.Errorf("trigger POST %d carries rollbackAfterMessageId %s, want none: %s", i+1, got, r.Body)
				}
				continue
			}
			wantJSON, _ := json.Marshal(want[i])
			if !present || !decodeJSON(string(got)).equal(decodeJSON(string(wantJSON))) {
				return fmt.Errorf("trigger POST %d: rollbackAfterMessageId %s, want %s: %s", i+1, orAbsent(got, present), wantJSON, r.Body)
			}
		}
		return nil
	}
}

// absentRollback stands for a trigger body without rollbackAfterMessageId.
const absentRollback = "(absent)"

func orAbsent(raw json.RawMessage, present bool) string {
	if !present {
		return absentRollback
	}
	return string(raw)
}

// The worker of the worker cases: a stream worker whose input streams in
// before it runs.
const workerID = "worker_1"

var (
	workerInput  = obj{"topic": "Go servers"}
	workerOutput = obj{"summary": "net/http is enough"}
)

// workerEvents are a worker's events as the platform streams them: its
// input (worker-input-start, -delta, -ready), worker-start, its own
// reasoning and text (each event with workerId), worker-result.
func workerEvents() []octavustest.Part {
	w := func(ev obj) octavustest.Part {
		ev["workerId"] = workerID
		return octavustest.Event(ev)
	}
	return []octavustest.Part{
		w(obj{"type": "worker-input-start", "workerSlug": "researcher", "description": "Research the topic"}),
		w(obj{"type": "worker-input-delta", "delta": `{"topic":"Go `}),
		w(obj{"type": "worker-input-delta", "delta": `servers"}`}),
		w(obj{"type": "worker-input-ready", "input": workerInput}),
		w(obj{"type": "worker-start", "workerSlug": "researcher", "description": "Research the topic", "input": workerInput}),
		w(obj{"type": "reasoning-start", "id": "wr_1"}),
		w(obj{"type": "reasoning-delta", "id": "wr_1", "delta": "Looking at the standard library."}),
		w(obj{"type": "reasoning-end", "id": "wr_1"}),
		w(obj{"type": "text-start", "id": "wt_1"}),
		w(obj{"type": "text-delta", "id": "wt_1", "delta": "net/http"}),
		w(obj{"type": "text-delta", "id": "wt_1", "delta": " is enough."}),
		w(obj{"type": "text-end", "id": "wt_1"}),
		w(obj{"type": "worker-result", "output": workerOutput}),
	}
}

// workerPart is the UIMessage part the worker's events become.
func workerPart() obj {
	return obj{
		"type": "worker", "workerId": workerID, "workerSlug": "researcher", "description": "Research the topic",
		"input": workerInput, "output": workerOutput, "status": "done",
		"parts": []obj{
			{"type": "reasoning", "text": "Looking at the standard library.", "status": "done"},
			textPart("net/http is enough."),
		},
	}
}

// usageEvent is a worker execution's cost summary, which 6.4.0 streams
// after finish.
var usageEvent = obj{
	"type":   "usage",
	"cost":   obj{"currency": "USD", "bandwidthFee": 0.0001, "providerFee": 0.002, "totalFee": 0.0021, "byok": false},
	"tokens": obj{"inputTokens": 120, "outputTokens": 30, "totalTokens": 150},
}

func todos(statuses ...string) []obj {
	items := []string{"Find the order", "Refund it"}
	out := make([]obj, len(statuses))
	for i, s := range statuses {
		out[i] = obj{"id": fmt.Sprintf("todo_%d", i+1), "content": items[i], "status": s}
	}
	return out
}

// chatCases64Only are the cases of what only the 6.4.0 client and protocol
// have.
func chatCases64Only() []chatCase {
	return []chatCase{
		{
			name: "retry-after-error",
			about: "the platform fails the first turn with a retryable 503; chat.retry() sends the trigger again with " +
				"rollbackAfterMessageId null (no message before it: truncate all), and the platform gets that null",
			script: []octavustest.Turn{
				octavustest.Failure{Status: 503},
				octavustest.Stream(octavustest.Text("Here", " now.")),
			},
			job: chatJob{Sends: []chatSend{userTrigger("Hi"), {Retry: true}}},
			want: view{
				status:    "idle",
				messages:  []obj{userMessage("Hi"), assistantMessage(textPart("Here now."))},
				statuses:  []string{"idle", "streaming", "error", "streaming", "idle"},
				requests:  []obj{triggerRequest("Hi"), retryTrigger("Hi", nil)},
				callbacks: []string{"error:provider_overloaded", "finish"},
				canRetry:  []bool{true},
			},
			aborted: []bool{false, false},
			check:   checkRollbacks(absentRollback, nil),
		},
		{
			name: "retry-mid-conversation",
			about: "the second turn fails with a provider error event after some text; chat.retry() drops that turn and sends " +
				"it again with rollbackAfterMessageId from the failed turn's start.lastMessageId; the platform gets it",
			script: []octavustest.Turn{
				octavustest.Stream(octavustest.Text("Hello.")), // message msg_1
				octavustest.Events(
					octavustest.Event(obj{"type": "start", "messageId": "msg_2", "executionId": "exec_2", "lastMessageId": "msg_1"}),
					octavustest.Text("Working on it"),
					octavustest.Event(providerError),
				),
				octavustest.Stream(octavustest.Text("Recovered.")),
			},
			job: chatJob{Sends: []chatSend{userTrigger("Hi"), userTrigger("Again"), {Retry: true}}},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Hi"),
					assistantMessage(textPart("Hello.")),
					userMessage("Again"),
					assistantMessage(textPart("Recovered.")),
				},
				statuses:  []string{"idle", "streaming", "idle", "streaming", "error", "streaming", "idle"},
				requests:  []obj{triggerRequest("Hi"), triggerRequest("Again"), retryTrigger("Again", "msg_1")},
				callbacks: []string{"finish", "error:provider_error", "finish"},
				canRetry:  []bool{true},
			},
			aborted: []bool{false, false, false},
			check:   checkRollbacks(absentRollback, absentRollback, "msg_1"),
		},
		{
			name: "stop-then-busy",
			about: "stop() mid-stream, then another message while the platform still runs the stopped execution: the platform " +
				"answers SESSION_BUSY (429, Retry-After: 1), the app server retries after Retry-After, and the answer comes",
			scriptFor: func(p *octavustest.Server) []octavustest.Turn {
				return []octavustest.Turn{busyAfterStop(p, 1), octavustest.Stream(octavustest.Text("Back again."))}
			},
			retries: true,
			job: chatJob{
				Sends: []chatSend{
					{TriggerName: "user-message", Input: obj{"USER_MESSAGE": "Tell me a long story"}, UserMessage: "Tell me a long story", StopOnFirstTextDelta: true},
					userTrigger("Still there?"),
				},
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
			// The stopped trigger, the busy one, its retry.
			aborted: []bool{true, false, false},
			check: func(triggers []octavustest.Request) error {
				if len(triggers) == 3 && !bytes.Equal(triggers[1].Body, triggers[2].Body) {
					return fmt.Errorf("the retry posted %s, the busy trigger %s", triggers[2].Body, triggers[1].Body)
				}
				return nil
			},
		},
		{
			name: "stop-then-busy-persists",
			about: "as stop-then-busy, but the stopped execution goes on running on the platform: the app server's retries " +
				"(two, 50 ms apart: Retry-After: 0.05) get SESSION_BUSY too, and the chat ends in rate_limit_error",
			scriptFor: func(p *octavustest.Server) []octavustest.Turn {
				return []octavustest.Turn{busyAfterStop(p, 3)}
			},
			platform: []octavustest.Option{octavustest.WithBusyRetryAfter("0.05")},
			retries:  true,
			job: chatJob{
				Sends: []chatSend{
					{TriggerName: "user-message", Input: obj{"USER_MESSAGE": "Tell me a long story"}, UserMessage: "Tell me a long story", StopOnFirstTextDelta: true},
					userTrigger("Still there?"),
				},
			},
			want: busyPersists(nil),
			// Issue 10: a persisting SESSION_BUSY keeps its code, so that the
			// browser can tell it from a rate limit.
			wantGo:  ptr(busyPersists(ptr("SESSION_BUSY"))),
			why:     "octavus-go keeps the code of a persisting SESSION_BUSY in the error event, which 6.4.0 drops (README, Divergences)",
			aborted: []bool{true, false, false, false}, // the stopped trigger, the busy one, its two retries
		},
		{
			name: "worker",
			about: "a worker's streamed output: its input streams in (worker-input-*), worker-start, its reasoning and text " +
				"deltas with workerId, worker-result, then the main agent's text; a usage event after finish changes nothing",
			script: []octavustest.Turn{
				octavustest.Stream(append(workerEvents(),
					octavustest.Text("The researcher is done."),
					octavustest.Finish("stop"),
					octavustest.Event(usageEvent),
				)...),
			},
			job: chatJob{Sends: []chatSend{userTrigger("Research Go servers")}},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Research Go servers"),
					assistantMessage(workerPart(), textPart("The researcher is done.")),
				},
				statuses:  []string{"idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Research Go servers")},
				callbacks: []string{"finish"},
			},
			aborted: []bool{false},
		},
		{
			name: "todo",
			about: "a todo list: todo-update events (the second replaces the first's list in the same part), " +
				"around the agent's text",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Event(obj{"type": "todo-update", "todos": todos("in_progress", "pending")}),
					octavustest.Text("Found it."),
					octavustest.Event(obj{"type": "todo-update", "todos": todos("completed", "completed")}),
					octavustest.Text("Refunded."),
				),
			},
			job: chatJob{Sends: []chatSend{userTrigger("Refund my order")}},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Refund my order"),
					assistantMessage(
						obj{"type": "todo", "todos": todos("completed", "completed"), "status": "done"},
						textPart("Found it."),
						textPart("Refunded."),
					),
				},
				statuses:  []string{"idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Refund my order")},
				callbacks: []string{"finish"},
			},
			aborted: []bool{false},
		},
	}
}

// busyPersists is the end state of stop-then-busy-persists, with the
// error's code when not nil.
func busyPersists(code *string) view {
	err := obj{
		"name": "OctavusError", "errorType": "rate_limit_error", "message": "The session is busy with another run. Please try again in a moment.",
		"source": "platform", "retryable": true,
	}
	if code != nil {
		err["code"] = *code
	}
	return view{
		status: "error",
		err:    err,
		messages: []obj{
			userMessage("Tell me a long story"),
			assistantMessage(textPart("Partial answer")),
			userMessage("Still there?"),
		},
		statuses:  []string{"idle", "streaming", "idle", "streaming", "error"},
		requests:  []obj{triggerRequest("Tell me a long story"), triggerRequest("Still there?")},
		callbacks: []string{"stop", "error:rate_limit_error"},
		stopped:   true,
	}
}

// busyAfterStop is a turn that streams some text and then keeps the
// execution running on the platform after the app server has cancelled it
// (a stop), until the session's next busy trigger POSTs have been
// answered, which are therefore SESSION_BUSY. With busy 1, the app server
// retries after Retry-After (1 s), by when this turn has long returned: the
// retry's answer is the script's next turn.
func busyAfterStop(p *octavustest.Server, busy int) octavustest.Turn {
	return octavustest.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq := len(p.Requests()) // this POST's, the last to arrive
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []string{
			`{"type":"start","messageId":"msg_1","executionId":"exec_1"}`,
			`{"type":"text-start","id":"t1"}`,
			`{"type":"text-delta","id":"t1","delta":"Partial answer"}`,
		} {
			fmt.Fprintf(w, "data: %s\n\n", ev)
		}
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done() // the app server cancelled: the stop
		ctx, cancel := context.WithTimeout(context.Background(), chatClientTimeout)
		defer cancel()
		_, _ = p.WaitDone(ctx, seq+busy) // the next busy triggers got SESSION_BUSY
	}))
}

// chatCases20Only are TestClientChat's cases of 6.4.0 events reaching a
// 2.0.0 browser: octavus-go forwards them (it speaks 6.4.0), the reference
// 2.0.0 drops the ones it does not know, and the 2.0.0 client drops them
// too, so both chats end the same, as a 2.0.0 browser shows them: the
// worker's reasoning and text as the agent's own (2.0.0 knows no
// workerId), no todo list.
func chatCases20Only() []chatCase {
	var busy chatCase
	for _, c := range chatCases64Only() {
		if c.name == "stop-then-busy" {
			busy = c
		}
	}
	// The reference 2.0.0 does not retry: the busy answer is the chat's
	// end. octavus-go retries it as 6.4.0 does, so the 2.0.0 browser gets
	// its answer.
	goBusy := busy.want
	busy.want = view{
		status: "error",
		err: obj{
			"name": "OctavusError", "errorType": "rate_limit_error", "message": "The session is busy with another run. Please try again in a moment.",
			"source": "platform", "retryable": true,
		},
		messages: []obj{
			userMessage("Tell me a long story"),
			assistantMessage(textPart("Partial answer")),
			userMessage("Still there?"),
		},
		statuses:  []string{"idle", "streaming", "idle", "streaming", "error"},
		requests:  goBusy.requests,
		callbacks: []string{"stop", "error:rate_limit_error"},
		stopped:   true,
	}
	busy.wantGo = &goBusy
	busy.why = "octavus-go retries SESSION_BUSY after Retry-After, as 6.4.0 does; the reference 2.0.0 does not retry"
	busy.aborted = []bool{true, false}
	busy.abortedGo = []bool{true, false, false}
	busy.check = nil
	return []chatCase{
		busy,
		{
			name:  "worker-to-2.0-client",
			about: "a worker's streamed output (and a usage event after finish) reaches a 2.0.0 browser, which knows no worker",
			script: []octavustest.Turn{
				octavustest.Stream(append(workerEvents(),
					octavustest.Text("The researcher is done."),
					octavustest.Finish("stop"),
					octavustest.Event(usageEvent),
				)...),
			},
			job: chatJob{Sends: []chatSend{userTrigger("Research Go servers")}},
			want: view{
				status: "idle",
				messages: []obj{
					userMessage("Research Go servers"),
					assistantMessage(
						obj{"type": "reasoning", "text": "Looking at the standard library.", "status": "done"},
						textPart("net/http is enough."),
						textPart("The researcher is done."),
					),
				},
				statuses:  []string{"idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Research Go servers")},
				callbacks: []string{"finish"},
			},
			aborted: []bool{false},
		},
		{
			name:  "todo-to-2.0-client",
			about: "todo-update events reach a 2.0.0 browser, which knows no todo list",
			script: []octavustest.Turn{
				octavustest.Stream(
					octavustest.Event(obj{"type": "todo-update", "todos": todos("in_progress", "pending")}),
					octavustest.Text("Found it."),
					octavustest.Event(obj{"type": "todo-update", "todos": todos("completed", "completed")}),
					octavustest.Text("Refunded."),
				),
			},
			job: chatJob{Sends: []chatSend{userTrigger("Refund my order")}},
			want: view{
				status:    "idle",
				messages:  []obj{userMessage("Refund my order"), assistantMessage(textPart("Found it."), textPart("Refunded."))},
				statuses:  []string{"idle", "streaming", "idle"},
				requests:  []obj{triggerRequest("Refund my order")},
				callbacks: []string{"finish"},
			},
			aborted: []bool{false},
		},
	}
}
