package octavustest_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/octavus-go/octavus/internal/testtool"
	"github.com/octavus-go/octavus/octavustest"
)

// requireOracle returns node and the official 6.4.0 server SDK bundle
// (OCTAVUS_ORACLE, else OCTAVUS_ORACLE_DIR/server-sdk-6.4.0.mjs, else
// shared/oracle above this directory). It skips without them, and fails
// instead under CI=true, where the oracle must run.
func requireOracle(t *testing.T) (node, oracle string) {
	t.Helper()
	oracle = findOracle()
	if dir := os.Getenv("OCTAVUS_ORACLE_DIR"); dir != "" && os.Getenv("OCTAVUS_ORACLE") == "" {
		oracle = filepath.Join(dir, "server-sdk-6.4.0.mjs")
	}
	if _, err := os.Stat(oracle); oracle == "" || err != nil {
		testtool.Skip(t, "no 6.4.0 oracle: set OCTAVUS_ORACLE or OCTAVUS_ORACLE_DIR (it is not in the repository)")
	}
	node = testtool.Require(t, "node", "the 6.4.0 oracle runs on Node 20")
	return node, oracle
}

// endpointsScript drives the new endpoints with the official 6.4.0 SDK:
// workers.generate and execute, agentSessions.start (first leg, tool
// continuation, second trigger), clear and getLogs, tokens, and the
// workforce run. It prints what each call returned.
const endpointsScript = `
const { OctavusClient } = await import(process.env.OCTAVUS_ORACLE);
let text = '';
for await (const chunk of process.stdin) text += chunk;
const input = JSON.parse(text);
const client = new OctavusClient({ baseUrl: input.baseUrl, apiKey: input.apiKey, maxRetries: 0 });
const out = {};
const attempt = async (name, f) => { try { out[name] = await f(); } catch (e) { out[name] = { thrown: e.constructor.name, message: e.message, sessionId: e.sessionId, details: e.details }; } };

await attempt('generate', () => client.workers.generate(input.worker, { TOPIC: 'go' }, {
  tools: { 'web-search': async (args) => ({ hits: [args.query] }) },
}));
await attempt('generateFail', () => client.workers.generate(input.failing, { TOPIC: 'go' }));
await attempt('execute', async () => {
  const types = [];
  for await (const ev of client.workers.execute(input.worker, { TOPIC: 'rust' }, {
    tools: { 'web-search': async () => ({ hits: [] }) },
  })) types.push(ev.type);
  return types;
});

const created = [];
const session = client.agentSessions.start({
  agentId: input.chat, input: { COMPANY: 'Acme' }, idempotencyKey: 'key-1',
  onSessionCreated: (id) => created.push(id),
  tools: { 'get-user': async () => ({ name: 'Ada' }) },
});
await attempt('start', async () => {
  const legs = [];
  for (const msg of ['Hi', 'Again']) {
    const types = [];
    for await (const ev of session.execute({ type: 'trigger', triggerName: 'user-message', input: { USER_MESSAGE: msg } })) types.push(ev.type);
    legs.push(types);
  }
  return { legs, created, sessionId: session.getSessionId() };
});
const sid = session.getSessionId();
await attempt('logs', () => client.agentSessions.getLogs(sid));
await attempt('logsNoModel', () => client.agentSessions.getLogs(sid, { excludeModelRequests: true }));
await attempt('rawLogs', async () => (await fetch(input.baseUrl + '/api/agent-sessions/' + sid + '/logs', { headers: { Authorization: 'Bearer ' + input.apiKey } })).json());
await attempt('clear', () => client.agentSessions.clear(sid));
await attempt('logsExpired', () => client.agentSessions.getLogs(sid));

await attempt('mint', () => client.tokens.mint({ agentId: input.chat, ttlSeconds: 60 }));
await attempt('tokenSession', async () => {
  const runner = new OctavusClient({ baseUrl: input.baseUrl, apiKey: out.mint.token, maxRetries: 0 });
  return { sessionId: await runner.agentSessions.create(input.chat) };
});
await attempt('revoke', () => client.tokens.revoke(out.mint.token));
await attempt('revokeAgain', () => client.tokens.revoke(out.mint.token));

const wf = new OctavusClient({ baseUrl: input.baseUrl, apiKey: input.agentKey, maxRetries: 0 });
await attempt('run', () => wf.workforce.run(input.wf, 'Summarize', { pollIntervalMs: 1 }));
await attempt('followUp', () => wf.workforce.followUp(input.wf, out.run.threadId, 'More'));
await attempt('wait', () => wf.workforce.waitForCompletion(input.wf, out.run.threadId, { pollIntervalMs: 1 }));
await attempt('wrongKey', () => client.workforce.getThread(input.wf, out.run.threadId));
console.log(JSON.stringify(out));
`

// The official 6.4.0 SDK works against every new endpoint of the fake, and
// gets what its sources say: generate's output, session id and cost; the
// deferred start's session id once, with later legs on /trigger; logs
// passed through; the workforce thread completed with its messages.
func TestOracleNewEndpoints(t *testing.T) {
	node, oracle := requireOracle(t)
	srv := newServer(t, octavustest.WithClock(fixedClock))
	worker := srv.AddAgent(octavustest.Agent{Name: "Researcher", Format: "worker", Script: []octavustest.Turn{
		octavustest.Stream(octavustest.WorkerExecution{ID: "w1", Slug: "researcher", Open: true, Parts: []octavustest.Part{
			octavustest.ToolCall{Name: "web-search", Args: map[string]any{"query": "go"}},
		}}),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			return octavustest.Stream(
				octavustest.WorkerExecution{ID: "w1", Slug: "researcher", Output: map[string]any{"found": req.ToolResults[0].Result},
					Parts: []octavustest.Part{octavustest.Text("done")}},
				octavustest.Usage(octavustest.UsageInfo{BandwidthFee: 0.01, ProviderFee: 0.02, TotalFee: 0.03, InputTokens: 10, OutputTokens: 5}),
			)
		}),
		// execute: the same round, default usage.
		octavustest.Stream(octavustest.ToolCall{Name: "web-search", Args: map[string]any{"query": "rust"}}),
		octavustest.Stream(octavustest.WorkerExecution{Slug: "researcher", Output: "ok"}),
	}})
	failing := srv.AddAgent(octavustest.Agent{Name: "Failing", Format: "worker", Script: []octavustest.Turn{
		octavustest.Stream(
			octavustest.WorkerExecution{ID: "w9", Slug: "failing", Error: "Worker failed"},
			octavustest.Event(map[string]any{"type": "error", "errorType": "provider_error", "message": "Overloaded",
				"source": "provider", "retryable": true, "retryAfter": 30, "code": "OVERLOADED"}),
		),
	}})
	chat := srv.AddAgent(octavustest.Agent{Name: "Chat", Script: []octavustest.Turn{
		octavustest.Stream(octavustest.Text("Looking"), octavustest.ToolCall{Name: "get-user"}),
		octavustest.Stream(octavustest.Text("Hello Ada")),
		octavustest.Stream(octavustest.Reasoning("again?"), octavustest.Text("Hi again")),
	}})
	wf := srv.AddAgent(octavustest.Agent{Name: "Ops", ThreadSteps: []octavustest.ThreadStep{
		{Status: "queued"},
		{Status: "running", Parts: []octavustest.Part{octavustest.Text("Working")}},
		{Status: "completed", Parts: []octavustest.Part{octavustest.Text("Summary")}},
	}})
	agentKey, _ := srv.AgentKey(wf)

	in, _ := json.Marshal(map[string]any{"baseUrl": srv.URL, "apiKey": srv.APIKey, "worker": worker, "failing": failing,
		"chat": chat, "wf": wf, "agentKey": agentKey})
	cmd := exec.CommandContext(testCtx(t), node, "--input-type=module", "-e", endpointsScript)
	cmd.Env = append(os.Environ(), "OCTAVUS_ORACLE="+oracle)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("node said %s: %v", outb, err)
	}
	get := func(k string) any {
		var v any
		_ = json.Unmarshal(out[k], &v)
		return v
	}
	// workers.ts generate: sessionId from start.executionId, output from
	// worker-result, cost and tokens from usage.
	equalJSON(t, get("generate"), `{"output":{"found":{"hits":["go"]}},"sessionId":"exec_1",
		"cost":{"currency":"USD","bandwidthFee":0.01,"providerFee":0.02,"totalFee":0.03,"byok":false},
		"tokens":{"inputTokens":10,"outputTokens":5,"totalTokens":15}}`)
	// A failing worker: the structured error wins over the worker-result string.
	equalJSON(t, get("generateFail"), `{"thrown":"WorkerError","message":"Overloaded","sessionId":"exec_2",
		"details":{"errorType":"provider_error","source":"provider","code":"OVERLOADED","retryable":true,"retryAfter":30}}`)
	// streaming.ts keeps a tool-calls finish to itself and runs the tool;
	// usage comes once, at the end of the execution.
	equalJSON(t, get("execute"), `["start","tool-input-start","tool-input-delta","tool-input-end","tool-input-available",
		"tool-output-available","start","worker-start","worker-result","finish","usage"]`)
	// session.ts: the id is latched once; the second trigger went to /trigger.
	equalJSON(t, get("start"), `{"legs":[
		["start","text-start","text-delta","text-end","tool-input-start","tool-input-delta","tool-input-end","tool-input-available",
		 "tool-output-available","start","text-start","text-delta","text-end","finish"],
		["start","reasoning-start","reasoning-delta","reasoning-end","text-start","text-delta","text-end","finish"]],
		"created":["sess_1"],"sessionId":"sess_1"}`)
	var paths []string
	for _, r := range srv.Requests() {
		if r.Method == "POST" && (r.Path == "/api/agent-sessions/start" || r.Path == "/api/agent-sessions/sess_1/trigger") {
			paths = append(paths, r.Path)
		}
	}
	equalJSON(t, paths, `["/api/agent-sessions/start","/api/agent-sessions/sess_1/trigger","/api/agent-sessions/sess_1/trigger"]`)
	// getLogs passes entries through (looseObject): what the SDK returns is what was served.
	equalJSON(t, get("logs"), string(out["rawLogs"]))
	logs, _ := get("logs").(map[string]any)
	if n, _ := logs["total"].(float64); n < 10 || logs["truncated"] != false {
		t.Errorf("logs: total %v truncated %v", logs["total"], logs["truncated"])
	}
	for _, e := range get("logsNoModel").(map[string]any)["entries"].([]any) {
		if e.(map[string]any)["type"] == "model-request" {
			t.Errorf("excludeModelRequests kept %v", e)
		}
	}
	equalJSON(t, get("clear"), `{"sessionId":"sess_1","cleared":true}`)
	equalJSON(t, get("logsExpired"), `{"sessionId":"sess_1","agentId":"`+chat+`","status":"expired","createdAt":"2024-01-15T10:30:00.000Z"}`)
	equalJSON(t, get("mint"), `{"token":"oct_et_test_1","jti":"jti_1","expiresAt":"2024-01-15T10:31:00.000Z"}`)
	equalJSON(t, get("tokenSession"), `{"sessionId":"sess_2"}`)
	equalJSON(t, get("revoke"), `{"revoked":true,"jti":"jti_1"}`)
	equalJSON(t, get("revokeAgain"), `{"revoked":false,"jti":"jti_1"}`)
	run, _ := get("run").(map[string]any)
	if run["status"] != "completed" || run["failureReason"] != nil {
		t.Fatalf("run: %s", out["run"])
	}
	texts := func(thread any) []string {
		var s []string
		for _, m := range thread.(map[string]any)["messages"].([]any) {
			for _, p := range m.(map[string]any)["parts"].([]any) {
				if p := p.(map[string]any); p["type"] == "text" {
					s = append(s, m.(map[string]any)["role"].(string)+": "+p["text"].(string))
				}
			}
		}
		return s
	}
	equalJSON(t, texts(run), `["user: Summarize","assistant: Working","assistant: Summary"]`)
	equalJSON(t, get("followUp"), `{"threadId":"thread_1","status":"queued"}`)
	wait := get("wait")
	if wait.(map[string]any)["status"] != "completed" {
		t.Fatalf("wait: %s", out["wait"])
	}
	equalJSON(t, texts(wait), `["user: Summarize","assistant: Working","assistant: Summary","user: More","assistant: Working","assistant: Summary"]`)
	// The project key is not this agent's key: 403 (api-error.ts message).
	if w := get("wrongKey").(map[string]any); w["thrown"] != "ApiError" || w["message"] != "The key is not authorized for this agent" {
		t.Errorf("wrongKey: %s", out["wrongKey"])
	}
}
