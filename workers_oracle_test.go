package octavus

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The official SDK as the judge of the workers and of the deferred start:
// each scenario's scripted platform answers are served to both 6.4.0
// (testdata/workers-oracle.mjs, in Node) and octavus-go, and their events,
// Generate outcomes, created session ids and POST bodies (byte for byte)
// must be the same.

type oracleLeg struct {
	Status int      `json:"status,omitempty"` // 200 when 0
	Body   string   `json:"body,omitempty"`   // the answer of a non-200
	Header string   `json:"header,omitempty"` // X-Octavus-Session-Id
	Events []string `json:"events,omitempty"`
}

type oracleScenario struct {
	Name               string                     `json:"name"`
	Kind               string                     `json:"kind"`
	AgentID            string                     `json:"agentId"`
	Input              any                        `json:"input,omitempty"` // a map[string]any or nil (an empty map is sent)
	ExecutionID        string                     `json:"executionId,omitempty"`
	ToolResults        json.RawMessage            `json:"toolResults,omitempty"`
	Tools              map[string]json.RawMessage `json:"tools,omitempty"`
	DynamicToolSchemas json.RawMessage            `json:"dynamicToolSchemas,omitempty"`
	IdempotencyKey     string                     `json:"idempotencyKey,omitempty"`
	Requests           []json.RawMessage          `json:"requests,omitempty"`
	Legs               []oracleLeg                `json:"legs"`
}

var workerScenarios = []oracleScenario{
	{
		Name: "execute: server tool, continue, usage", Kind: "execute", AgentID: "w-exec", Input: map[string]any{"TOPIC": "go", "N": 2},
		Tools:              map[string]json.RawMessage{"search": json.RawMessage(`{"hits":["a","b"]}`)},
		DynamicToolSchemas: json.RawMessage(`[{"name":"search","description":"Search","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}}]`),
		Legs: []oracleLeg{
			{Events: []string{
				`{"type":"start","messageId":"m1","executionId":"ex1"}`,
				`{"type":"worker-start","workerId":"w1","workerSlug":"research","description":"Research"}`,
				`{"type":"text-delta","id":"t1","delta":"thinking"}`,
				`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"search","args":{"q":"go"}},{"toolCallId":"c2","toolName":"search","args":{"q":"rust"},"outputVariable":"HITS","blockIndex":2}]}`,
				`{"type":"finish","finishReason":"tool-calls"}`,
			}},
			{Events: []string{
				`{"type":"worker-result","workerId":"w1","output":{"summary":"done"}}`,
				`{"type":"finish","finishReason":"stop","executionId":"ex1"}`,
				`{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.001,"providerFee":0.02,"totalFee":0.021,"byok":false},"tokens":{"inputTokens":100,"outputTokens":20,"totalTokens":120}}`,
			}},
		},
	},
	{
		Name: "execute: client tool to the caller", Kind: "execute", AgentID: "w-client", Input: map[string]any{},
		Tools: map[string]json.RawMessage{"server": json.RawMessage(`"s"`)},
		Legs: []oracleLeg{{Events: []string{
			`{"type":"start","executionId":"ex2"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"server","args":{}},{"toolCallId":"c2","toolName":"ask","args":{"q":"?"}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		}}},
	},
	{
		Name: "execute: empty dynamic schemas are sent", Kind: "execute", AgentID: "w-empty", Input: map[string]any{"A": "b"},
		DynamicToolSchemas: json.RawMessage(`[]`),
		Legs:               []oracleLeg{{Events: []string{`{"type":"finish","finishReason":"stop"}`}}},
	},
	{
		Name: "execute: platform error", Kind: "execute", AgentID: "w-404", Input: map[string]any{},
		Legs: []oracleLeg{{Status: 404, Body: `{"error":"Agent not found","code":"NOT_FOUND"}`}},
	},
	{
		Name: "continue: results, then a server tool", Kind: "continue", AgentID: "w-cont", ExecutionID: "ex3",
		ToolResults:        json.RawMessage(`[{"toolCallId":"c1","toolName":"server","result":"s"},{"toolCallId":"c2","toolName":"ask","result":{"yes":true}}]`),
		Tools:              map[string]json.RawMessage{"server": json.RawMessage(`2`)},
		DynamicToolSchemas: json.RawMessage(`[{"name":"server","description":"","inputSchema":{}}]`),
		Legs: []oracleLeg{
			{Events: []string{
				`{"type":"tool-request","toolCalls":[{"toolCallId":"c3","toolName":"server","args":{}}]}`,
				`{"type":"finish","finishReason":"tool-calls"}`,
			}},
			{Events: []string{`{"type":"worker-result","workerId":"w1","output":1}`, `{"type":"finish","finishReason":"stop"}`}},
		},
	},
	{
		Name: "generate: output, cost, tokens", Kind: "generate", AgentID: "g-ok", Input: map[string]any{"X": 1},
		Legs: []oracleLeg{{Events: []string{
			`{"type":"start","executionId":"ex4"}`,
			`{"type":"worker-result","workerId":"w1","output":{"a":[1,2]}}`,
			`{"type":"finish","finishReason":"stop","executionId":"ex4"}`,
			`{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.001,"providerFee":0.02,"totalFee":0.021,"byok":true,"estimatedProviderFee":0.03},"tokens":{"inputTokens":100,"outputTokens":20,"totalTokens":120}}`,
		}}},
	},
	{
		Name: "generate: no start event", Kind: "generate", AgentID: "g-nostart", Input: map[string]any{},
		Legs: []oracleLeg{{Events: []string{`{"type":"worker-result","workerId":"w9","output":"x"}`, `{"type":"finish","finishReason":"stop"}`}}},
	},
	{
		Name: "generate: error event then worker-result error", Kind: "generate", AgentID: "g-err1", Input: map[string]any{},
		Legs: []oracleLeg{{Events: []string{
			`{"type":"start","executionId":"ex5"}`,
			`{"type":"error","errorType":"rate_limit_error","message":"slow down","source":"provider","retryable":true,"retryAfter":7,"code":"ANTHROPIC_429","provider":{"name":"anthropic","model":"claude","statusCode":429}}`,
			`{"type":"worker-result","workerId":"w1","error":"masked"}`,
		}}},
	},
	{
		Name: "generate: worker-result error then error event", Kind: "generate", AgentID: "g-err2", Input: map[string]any{},
		Legs: []oracleLeg{{Events: []string{
			`{"type":"worker-result","workerId":"w1","error":"masked"}`,
			`{"type":"error","errorType":"internal_error","message":"real","source":"platform","retryable":false}`,
		}}},
	},
	{
		Name: "generate: worker-result error only", Kind: "generate", AgentID: "g-err3", Input: map[string]any{},
		Legs: []oracleLeg{{Events: []string{`{"type":"start","executionId":"ex6"}`, `{"type":"worker-result","workerId":"w1","error":"failed"}`, `{"type":"finish","finishReason":"stop"}`}}},
	},
	{
		Name: "generate: no result", Kind: "generate", AgentID: "g-none", Input: map[string]any{},
		Legs: []oracleLeg{{Events: []string{`{"type":"start","executionId":"ex7"}`, `{"type":"finish","finishReason":"stop"}`}}},
	},
	{
		Name: "generate: platform error", Kind: "generate", AgentID: "g-500", Input: map[string]any{},
		Legs: []oracleLeg{{Status: 400, Body: `{"error":"Invalid input","code":"BAD"}`}},
	},
	{
		Name: "start: header, tool leg, later trigger, continue", Kind: "start", AgentID: "s-hdr", Input: map[string]any{"COMPANY": "Acme"}, IdempotencyKey: "key-1",
		Tools: map[string]json.RawMessage{"lookup": json.RawMessage(`{"v":1}`)},
		Requests: []json.RawMessage{
			json.RawMessage(`{"type":"continue","executionId":"e0","toolResults":[]}`),
			json.RawMessage(`{"type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"rollbackAfterMessageId":"m0"}`),
			json.RawMessage(`{"type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"again"}}`),
			json.RawMessage(`{"type":"continue","executionId":"e2","toolResults":[{"toolCallId":"k1","toolName":"ask","result":"ok"}]}`),
		},
		Legs: []oracleLeg{
			{Header: "sess-s-hdr", Events: []string{
				`{"type":"start","messageId":"m1","executionId":"e1","sessionId":"sess-s-hdr"}`,
				`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{}}]}`,
				`{"type":"finish","finishReason":"tool-calls"}`,
			}},
			{Events: []string{`{"type":"text-delta","id":"t1","delta":"ok"}`, `{"type":"finish","finishReason":"stop","executionId":"e1"}`}},
			{Events: []string{`{"type":"start","executionId":"e2"}`, `{"type":"finish","finishReason":"stop","executionId":"e2"}`}},
			{Events: []string{`{"type":"finish","finishReason":"stop","executionId":"e2"}`}},
		},
	},
	{
		Name: "start: id from the start event", Kind: "start", AgentID: "s-ev", IdempotencyKey: "key-2",
		Requests: []json.RawMessage{
			json.RawMessage(`{"type":"trigger","triggerName":"go"}`),
			json.RawMessage(`{"type":"trigger","triggerName":"go","input":{}}`),
		},
		Legs: []oracleLeg{
			{Events: []string{`{"type":"start","executionId":"e1","sessionId":"sess-s-ev"}`, `{"type":"finish","finishReason":"stop"}`}},
			{Events: []string{`{"type":"finish","finishReason":"stop"}`}},
		},
	},
	{
		Name: "start: first trigger fails, the next starts again", Kind: "start", AgentID: "s-fail", IdempotencyKey: "key-3",
		Requests: []json.RawMessage{
			json.RawMessage(`{"type":"trigger","triggerName":"go"}`),
			json.RawMessage(`{"type":"trigger","triggerName":"go"}`),
		},
		Legs: []oracleLeg{
			{Status: 400, Body: `{"error":"Invalid session input"}`},
			{Header: "sess-s-fail", Events: []string{`{"type":"finish","finishReason":"stop"}`}},
		},
	},
}

// oraclePlatform serves the scenarios' legs: each scenario's POSTs, in
// order, get its next leg; the bodies are recorded per scenario.
type oraclePlatform struct {
	mu     sync.Mutex
	legs   map[string][]oracleLeg
	bodies map[string][]string
}

func newOraclePlatform(scenarios []oracleScenario) *oraclePlatform {
	p := &oraclePlatform{legs: map[string][]oracleLeg{}, bodies: map[string][]string{}}
	for _, sc := range scenarios {
		p.legs[sc.AgentID] = append([]oracleLeg(nil), sc.Legs...)
	}
	return p
}

func (p *oraclePlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var agent string
	switch path := r.URL.Path; {
	case strings.HasPrefix(path, "/api/agents/") && strings.HasSuffix(path, "/execute"):
		agent = strings.TrimSuffix(strings.TrimPrefix(path, "/api/agents/"), "/execute")
	case path == "/api/agent-sessions/start":
		var b struct {
			AgentID string `json:"agentId"`
		}
		_ = json.Unmarshal(body, &b)
		agent = b.AgentID
	case strings.HasPrefix(path, "/api/agent-sessions/sess-") && strings.HasSuffix(path, "/trigger"):
		agent = strings.TrimSuffix(strings.TrimPrefix(path, "/api/agent-sessions/sess-"), "/trigger")
	}
	p.mu.Lock()
	p.bodies[agent] = append(p.bodies[agent], r.URL.Path+" "+string(body))
	legs := p.legs[agent]
	var leg *oracleLeg
	if len(legs) > 0 {
		leg = &legs[0]
		p.legs[agent] = legs[1:]
	}
	p.mu.Unlock()
	if leg == nil {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, `{"error":"no leg left"}`)
		return
	}
	if leg.Status != 0 && leg.Status != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(leg.Status)
		_, _ = io.WriteString(w, leg.Body)
		return
	}
	if leg.Header != "" {
		w.Header().Set("X-Octavus-Session-Id", leg.Header)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range leg.Events {
		_, _ = io.WriteString(w, "data: "+e+"\n\n")
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

// oracleOutcome is what one scenario did, in the script's shape.
type oracleOutcome struct {
	Name       string          `json:"name"`
	Events     json.RawMessage `json:"events,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      json.RawMessage `json:"error,omitempty"`
	Created    []string        `json:"created,omitempty"`
	SessionIDs []string        `json:"sessionIds,omitempty"`
	Thrown     string          `json:"thrown,omitempty"`
}

func runGoScenario(t *testing.T, c *Client, sc oracleScenario) oracleOutcome {
	t.Helper()
	ctx := context.Background()
	out := oracleOutcome{Name: sc.Name}
	input, _ := sc.Input.(map[string]any)
	tools := ToolHandlers{}
	for name, res := range sc.Tools {
		tools[name] = constTool(res)
	}
	opts := WorkerOptions{Tools: tools}
	if sc.DynamicToolSchemas != nil {
		require.NoError(t, json.Unmarshal(sc.DynamicToolSchemas, &opts.DynamicToolSchemas))
	}
	events := func(ch <-chan StreamEvent) json.RawMessage {
		b, err := json.Marshal(wireRaw(t, collect(ch)))
		require.NoError(t, err)
		return b
	}
	switch sc.Kind {
	case "execute":
		out.Events = events(c.Workers.Execute(ctx, sc.AgentID, input, opts))
	case "continue":
		var results []ToolResult
		require.NoError(t, json.Unmarshal(sc.ToolResults, &results))
		out.Events = events(c.Workers.Continue(ctx, sc.AgentID, sc.ExecutionID, results, opts))
	case "generate":
		res, err := c.Workers.Generate(ctx, sc.AgentID, input, opts)
		if err != nil {
			var we *WorkerError
			require.ErrorAs(t, err, &we)
			e := map[string]any{"name": "WorkerError", "message": we.Message}
			if we.SessionID != "" {
				e["sessionId"] = we.SessionID
			}
			if d := we.Details; d != nil {
				dm := map[string]any{"errorType": d.ErrorType, "source": d.Source, "retryable": d.Retryable}
				if d.Code != "" {
					dm["code"] = d.Code
				}
				if d.RetryAfter != nil {
					dm["retryAfter"] = *d.RetryAfter
				}
				if d.Provider != nil {
					dm["provider"] = d.Provider
				}
				e["details"] = dm
			}
			out.Error, _ = json.Marshal(e)
			break
		}
		r := map[string]any{"output": res.Output, "sessionId": res.SessionID}
		if res.Cost != nil {
			r["cost"] = res.Cost
		}
		if res.Tokens != nil {
			r["tokens"] = res.Tokens
		}
		out.Result, _ = json.Marshal(r)
	case "start":
		out.Created = []string{}
		s := c.AgentSessions.Start(StartOptions{
			AttachOptions:    AttachOptions{Tools: tools},
			AgentID:          sc.AgentID,
			Input:            input,
			IdempotencyKey:   sc.IdempotencyKey,
			OnSessionCreated: func(id string) { out.Created = append(out.Created, id) },
		})
		out.SessionIDs = []string{s.SessionID()}
		var all []json.RawMessage
		for _, raw := range sc.Requests {
			req, err := DecodeSessionRequest(raw)
			require.NoError(t, err)
			evs := collect(s.Execute(ctx, req))
			if len(evs) == 1 {
				// 6.4.0 throws where octavus-go ends the stream with
				// the same message (what its toSSEStream sends).
				if ev, ok := evs[0].(*ErrorEvent); ok && ev.Message == errNoSession {
					all = append(all, json.RawMessage(`[{"thrown":"`+errNoSession+`"}]`))
					out.SessionIDs = append(out.SessionIDs, s.SessionID())
					continue
				}
			}
			b, err := json.Marshal(wireRaw(t, evs))
			require.NoError(t, err)
			all = append(all, b)
			out.SessionIDs = append(out.SessionIDs, s.SessionID())
		}
		out.Events, _ = json.Marshal(all)
	}
	return out
}

// wireRaw is wireJSON as raw JSON values.
func wireRaw(t *testing.T, events []StreamEvent) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, len(events))
	for i, s := range wireJSON(t, events) {
		out[i] = json.RawMessage(s)
	}
	return out
}

func TestWorkersAndStartAgainstOracle(t *testing.T) {
	dir := requireOracle(t, "")

	// The official SDK first, on its own platform.
	op := newOraclePlatform(workerScenarios)
	osrv := httptest.NewServer(op)
	defer osrv.Close()
	in, err := json.Marshal(workerScenarios)
	require.NoError(t, err)
	stdout := runNode(t, 0, in, "testdata/workers-oracle.mjs", filepath.Join(dir, "server-sdk-6.4.0.mjs"), osrv.URL)
	var want []oracleOutcome
	require.NoError(t, json.Unmarshal(stdout, &want))
	require.Len(t, want, len(workerScenarios))

	gp := newOraclePlatform(workerScenarios)
	gsrv := httptest.NewServer(gp)
	defer gsrv.Close()
	c, err := NewClient(ClientOptions{BaseURL: gsrv.URL, APIKey: testKey, HTTPClient: gsrv.Client(), MaxRetries: -1})
	require.NoError(t, err)
	for i, sc := range workerScenarios {
		t.Run(sc.Name, func(t *testing.T) {
			w := want[i]
			require.Empty(t, w.Thrown, "the oracle threw")
			require.True(t, len(w.Events) > 2 || len(w.Result) > 0 || len(w.Error) > 0, "the oracle did something: %+v", w)
			got := runGoScenario(t, c, sc)
			wb, _ := json.Marshal(w)
			gb, _ := json.Marshal(got)
			require.JSONEq(t, string(wb), string(gb))
			require.Equal(t, op.bodies[sc.AgentID], gp.bodies[sc.AgentID], "POST bodies, byte for byte")
			require.NotEmpty(t, gp.bodies[sc.AgentID])
		})
	}
}
