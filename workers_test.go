package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const workerPath = "/api/agents/agent_w/execute"

func TestWorkersExecuteRunsTheToolLoop(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+workerPath, seqRoute(
		eventsLeg(
			`{"type":"start","messageId":"m1","executionId":"ex1"}`,
			`{"type":"worker-start","workerId":"w1","workerSlug":"research"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"search","args":{"q":"go"}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(
			`{"type":"worker-result","workerId":"w1","output":{"summary":"done"}}`,
			`{"type":"finish","finishReason":"stop","executionId":"ex1"}`,
			`{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.1,"providerFee":0.4,"totalFee":0.5,"byok":false},"tokens":{"inputTokens":10,"outputTokens":5,"totalTokens":15}}`,
		),
	))
	c := f.client(t)
	var gotArgs map[string]any
	events := c.Workers.Execute(context.Background(), "agent_w", map[string]any{"TOPIC": "go"}, WorkerOptions{
		Tools: ToolHandlers{"search": func(_ context.Context, args map[string]any) (any, error) {
			gotArgs = args
			return []string{"r1"}, nil
		}},
		DynamicToolSchemas: []ToolSchema{{Name: "search", Description: "Search", InputSchema: json.RawMessage(`{"type":"object"}`)}},
	})
	got := wireJSON(t, collect(events))
	requireJSONList(t, []string{
		`{"type":"start","messageId":"m1","executionId":"ex1"}`,
		`{"type":"worker-start","workerId":"w1","workerSlug":"research"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":["r1"]}`,
		`{"type":"worker-result","workerId":"w1","output":{"summary":"done"}}`,
		`{"type":"finish","finishReason":"stop","executionId":"ex1"}`,
		`{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.1,"providerFee":0.4,"totalFee":0.5,"byok":false},"tokens":{"inputTokens":10,"outputTokens":5,"totalTokens":15}}`,
	}, got)
	require.Equal(t, map[string]any{"q": "go"}, gotArgs)
	// S/workers.ts:134-144: the start body, then the continue body without
	// dynamicToolSchemas.
	require.Equal(t, []string{
		`{"type":"start","input":{"TOPIC":"go"},"dynamicToolSchemas":[{"name":"search","description":"Search","inputSchema":{"type":"object"}}]}`,
		`{"type":"continue","executionId":"ex1","toolResults":[{"toolCallId":"c1","toolName":"search","result":["r1"]}]}`,
	}, f.bodiesOf(workerPath))
	for _, r := range f.reqs() {
		require.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
	}
}

func TestWorkersExecuteNilInputAndNoSchemas(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+workerPath, eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	collect(f.client(t).Workers.Execute(context.Background(), "agent_w", nil, WorkerOptions{}))
	require.Equal(t, []string{`{"type":"start","input":{}}`}, f.bodiesOf(workerPath))
}

func TestWorkersClientToolsGoToTheCallerUnsigned(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+workerPath, eventsLeg(
		`{"type":"start","executionId":"ex1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"server","args":{}},{"toolCallId":"c2","toolName":"ask-user","args":{"q":"?"}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	))
	c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, HTTPClient: f.srv.Client(), MaxRetries: -1, ResultSigningKey: make([]byte, 32)})
	require.NoError(t, err)
	got := wireJSON(t, collect(c.Workers.Execute(context.Background(), "agent_w", map[string]any{}, WorkerOptions{Tools: ToolHandlers{"server": constTool("s")}})))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"ex1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":"s"}`,
		`{"type":"client-tool-request","executionId":"ex1","toolCalls":[{"toolCallId":"c2","toolName":"ask-user","args":{"q":"?"}}],"serverToolResults":[{"toolCallId":"c1","toolName":"server","result":"s"}]}`,
		`{"type":"finish","finishReason":"client-tool-calls","executionId":"ex1"}`,
	}, got)
	require.Len(t, f.bodiesOf(workerPath), 1)
}

func TestWorkersContinue(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+workerPath, seqRoute(
		eventsLeg(
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c3","toolName":"server","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"worker-result","workerId":"w1","output":1}`, `{"type":"finish","finishReason":"stop"}`),
	))
	f.handle("POST /api/agents/agent_x/execute", eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	c := f.client(t)
	results := []ToolResult{{ToolCallID: "c1", ToolName: "server", Result: json.RawMessage(`"s"`)}, {ToolCallID: "c2", ToolName: "ask-user", Result: json.RawMessage(`"yes"`)}}
	got := wireJSON(t, collect(c.Workers.Continue(context.Background(), "agent_w", "ex1", results, WorkerOptions{
		Tools:              ToolHandlers{"server": constTool(2)},
		DynamicToolSchemas: []ToolSchema{{Name: "server", InputSchema: json.RawMessage(`{}`)}},
	})))
	requireJSONList(t, []string{
		`{"type":"tool-output-available","toolCallId":"c3","output":2}`,
		`{"type":"worker-result","workerId":"w1","output":1}`,
		`{"type":"finish","finishReason":"stop"}`,
	}, got)
	require.Equal(t, []string{
		`{"type":"continue","executionId":"ex1","toolResults":[{"toolCallId":"c1","toolName":"server","result":"s"},{"toolCallId":"c2","toolName":"ask-user","result":"yes"}]}`,
		// No start event came: the execution id stays the one continued.
		`{"type":"continue","executionId":"ex1","toolResults":[{"toolCallId":"c3","toolName":"server","result":2}]}`,
	}, f.bodiesOf(workerPath))

	collect(c.Workers.Continue(context.Background(), "agent_x", "ex9", nil, WorkerOptions{}))
	require.Equal(t, []string{`{"type":"continue","executionId":"ex9","toolResults":[]}`}, f.bodiesOf("/api/agents/agent_x/execute"))
}

func TestWorkersErrorContext(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+workerPath, statusLeg(404, `{}`))
	c := f.client(t)
	got := collect(c.Workers.Execute(context.Background(), "agent_w", nil, WorkerOptions{}))
	require.Len(t, got, 1)
	// S/api-error.ts: the fallback is "<errorContext>: <statusText>".
	require.Equal(t, "Failed to execute worker: Not Found", got[0].(*ErrorEvent).Message)
	got = collect(c.Workers.Continue(context.Background(), "agent_w", "ex1", nil, WorkerOptions{}))
	require.Contains(t, got[0].(*ErrorEvent).Message, "Failed to continue worker")
}

func TestWorkersGenerate(t *testing.T) {
	retryAfter := 7.0
	cases := []struct {
		name   string
		events []string
		want   *WorkerResult
		err    *WorkerError
	}{
		{
			name: "output with usage",
			events: []string{
				`{"type":"start","executionId":"ex1"}`,
				`{"type":"worker-result","workerId":"w1","output":{"a":1}}`,
				`{"type":"finish","finishReason":"stop"}`,
				`{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.1,"providerFee":0.4,"totalFee":0.5,"byok":false},"tokens":{"inputTokens":10,"outputTokens":5,"totalTokens":15}}`,
			},
			want: &WorkerResult{Output: json.RawMessage(`{"a":1}`), SessionID: "ex1",
				Cost: &UsageCost{Currency: "USD", BandwidthFee: 0.1, ProviderFee: 0.4, TotalFee: 0.5}, Tokens: &UsageTokens{InputTokens: 10, OutputTokens: 5, TotalTokens: 15}},
		},
		{
			name:   "no start event: the workerId names it, no usage",
			events: []string{`{"type":"worker-result","workerId":"w1","output":"x"}`},
			want:   &WorkerResult{Output: json.RawMessage(`"x"`), SessionID: "w1"},
		},
		{
			name: "error event before worker-result: its message and details win",
			events: []string{
				`{"type":"start","executionId":"ex1"}`,
				`{"type":"error","errorType":"rate_limit_error","message":"slow down","source":"provider","retryable":true,"retryAfter":7,"code":"ANTHROPIC_429","provider":{"name":"anthropic"}}`,
				`{"type":"worker-result","workerId":"w1","error":"masked"}`,
			},
			err: &WorkerError{Message: "slow down", SessionID: "ex1", Details: &WorkerErrorDetails{ErrorType: ErrorTypeRateLimit, Source: ErrorSourceProvider, Code: "ANTHROPIC_429", Retryable: true, RetryAfter: &retryAfter, Provider: &ProviderErrorInfo{Name: "anthropic"}}},
		},
		{
			name: "worker-result error before the error event",
			events: []string{
				`{"type":"worker-result","workerId":"w1","error":"masked"}`,
				`{"type":"error","errorType":"internal_error","message":"real","source":"platform","retryable":false}`,
			},
			err: &WorkerError{Message: "real", SessionID: "w1", Details: &WorkerErrorDetails{ErrorType: ErrorTypeInternal, Source: ErrorSourcePlatform}},
		},
		{
			name:   "worker-result error only",
			events: []string{`{"type":"start","executionId":"ex1"}`, `{"type":"worker-result","workerId":"w1","error":"failed"}`},
			err:    &WorkerError{Message: "failed", SessionID: "ex1"},
		},
		{
			name:   "an empty error is an error",
			events: []string{`{"type":"worker-result","workerId":"w1","error":""}`},
			err:    &WorkerError{Message: "", SessionID: "w1"},
		},
		{
			name:   "an output and a later error event: the error",
			events: []string{`{"type":"worker-result","workerId":"w1","output":1}`, `{"type":"error","errorType":"internal_error","message":"late","source":"platform","retryable":false}`},
			err:    &WorkerError{Message: "late", SessionID: "w1", Details: &WorkerErrorDetails{ErrorType: ErrorTypeInternal, Source: ErrorSourcePlatform}},
		},
		{
			name:   "no result",
			events: []string{`{"type":"start","executionId":"ex1"}`, `{"type":"finish","finishReason":"stop"}`},
			err:    &WorkerError{Message: "Worker completed without producing a result", SessionID: "ex1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST "+workerPath, eventsLeg(tc.events...))
			res, err := f.client(t).Workers.Generate(context.Background(), "agent_w", map[string]any{"X": 1}, WorkerOptions{})
			if tc.err == nil {
				require.NoError(t, err)
				require.Equal(t, tc.want, res)
				return
			}
			require.Nil(t, res)
			var we *WorkerError
			require.True(t, errors.As(err, &we), "%T", err)
			require.Equal(t, tc.err, we)
			require.Equal(t, "octavus: "+tc.err.Message, err.Error())
		})
	}
}

func TestWorkersGeneratePlatformError(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+workerPath, statusLeg(http.StatusTooManyRequests, `{"error":"Too many","code":"RATE"}`))
	_, err := f.client(t).Workers.Generate(context.Background(), "agent_w", nil, WorkerOptions{})
	var we *WorkerError
	require.ErrorAs(t, err, &we)
	require.Equal(t, "Too many", we.Message, "the answer's error wins over the fallback")
	require.Equal(t, "", we.SessionID)
	require.NotNil(t, we.Details)
	require.Equal(t, ErrorTypeRateLimit, we.Details.ErrorType)
	require.True(t, we.Details.Retryable)
}

func TestOnToolResultsRunsBeforeEventsAndContinuation(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(
			`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"shot","args":{}},{"toolCallId":"c2","toolName":"gone","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
	)
	var seen [][]ToolResult
	s := f.client(t).AgentSessions.Attach("sess_1", AttachOptions{
		Tools:             ToolHandlers{"shot": constTool(map[string]any{"base64": "AAAA"})},
		RejectClientTools: true,
		OnToolResults: func(ctx context.Context, results []ToolResult) error {
			seen = append(seen, append([]ToolResult(nil), results...))
			results[0].Result = map[string]any{"url": "https://files/1.png"}
			return nil
		},
	})
	got := wireJSON(t, collect(s.Execute(context.Background(), userMessage)))
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":{"url":"https://files/1.png"}}`,
		`{"type":"tool-output-error","toolCallId":"c2","error":"Tool \"gone\" is not available. No handler is registered for this tool."}`,
		`{"type":"finish","finishReason":"stop"}`,
	}, got)
	require.Len(t, seen, 1)
	require.Len(t, seen[0], 1, "only the server results, not the rejected ones")
	require.JSONEq(t, `{"base64":"AAAA"}`, string(seen[0][0].Result.(json.RawMessage)))
	require.Contains(t, f.triggerBodies()[1], `"toolResults":[{"toolCallId":"c1","toolName":"shot","result":{"url":"https://files/1.png"}},{"toolCallId":"c2","toolName":"gone","error":`)
}

func TestOnToolResultsErrorEndsTheExecution(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"shot","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	))
	s := f.client(t).AgentSessions.Attach("sess_1", AttachOptions{
		Tools:         ToolHandlers{"shot": constTool(1)},
		OnToolResults: func(context.Context, []ToolResult) error { return errors.New("upload failed") },
	})
	evs := collect(s.Execute(context.Background(), userMessage))
	require.Len(t, evs, 2)
	ev := evs[1].(*ErrorEvent)
	require.Equal(t, "upload failed", ev.Message)
	require.Equal(t, ErrorTypeInternal, ev.ErrorType)
	require.True(t, ev.terminal)
	require.Len(t, f.triggerBodies(), 1, "nothing more is posted")
}

func TestOnToolResultsNotCalledWithoutServerResults(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST "+workerPath, eventsLeg(
		`{"type":"start","executionId":"ex1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"client","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	))
	called := false
	evs := collect(f.client(t).Workers.Execute(context.Background(), "agent_w", nil, WorkerOptions{
		OnToolResults: func(context.Context, []ToolResult) error { called = true; return nil },
	}))
	require.False(t, called)
	require.IsType(t, &ClientToolRequestEvent{}, evs[1])
}

func TestOnToolResultsCancelledStops(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"shot","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`,
	))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := f.client(t).AgentSessions.Attach("sess_1", AttachOptions{
		Tools: ToolHandlers{"shot": constTool(1)},
		OnToolResults: func(ctx context.Context, _ []ToolResult) error {
			cancel()
			return ctx.Err()
		},
	})
	got := wireJSON(t, collect(s.Execute(ctx, userMessage)))
	require.JSONEq(t, `{"type":"finish","finishReason":"stop"}`, got[len(got)-1])
	require.Len(t, f.triggerBodies(), 1)
}

func TestWorkersMCPServers(t *testing.T) {
	srv, err := NewInlineMCPServer("kb", RawMCPTool("find", "Find", json.RawMessage(`{"type":"object"}`), nil, constTool("found")))
	require.NoError(t, err)
	f := newFakePlatform(t)
	f.handle("POST "+workerPath, seqRoute(
		eventsLeg(
			`{"type":"start","executionId":"ex1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"kb__find","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
	))
	c := f.client(t)
	opts := WorkerOptions{MCPServers: []MCPServer{srv}, DynamicToolSchemas: []ToolSchema{{Name: "dyn", InputSchema: json.RawMessage(`{}`)}}}
	got := wireJSON(t, collect(c.Workers.Execute(context.Background(), "agent_w", nil, opts)))
	require.JSONEq(t, `{"type":"tool-output-available","toolCallId":"c1","output":"found"}`, got[1])
	bodies := f.bodiesOf(workerPath)
	// S/resolve-mcp-servers.ts: the given schemas, then the servers'.
	require.JSONEq(t, `{"type":"start","input":{},"dynamicToolSchemas":[{"name":"dyn","description":"","inputSchema":{}},{"name":"kb__find","description":"Find","inputSchema":{"type":"object"}}]}`, bodies[0])
	require.Equal(t, `{"type":"continue","executionId":"ex1","toolResults":[{"toolCallId":"c1","toolName":"kb__find","result":"found"}]}`, bodies[1])

	// Continue resolves the handlers only.
	collect(c.Workers.Continue(context.Background(), "agent_w", "ex1", nil, opts))
	require.Equal(t, `{"type":"continue","executionId":"ex1","toolResults":[]}`, f.bodiesOf(workerPath)[2])

	// A clash ends the execution before any request.
	evs := collect(c.Workers.Execute(context.Background(), "agent_w", nil, WorkerOptions{MCPServers: []MCPServer{srv}, Tools: ToolHandlers{"kb__find": constTool(1)}}))
	require.Len(t, evs, 1)
	require.Contains(t, evs[0].(*ErrorEvent).Message, `Tool name collision: "kb__find" is already registered.`)
	require.Len(t, f.bodiesOf(workerPath), 3)
}
