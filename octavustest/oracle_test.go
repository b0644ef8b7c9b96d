package octavustest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/octavus-go/octavus/internal/testtool"
	"github.com/octavus-go/octavus/octavustest"
)

// oracleScript checks what octavustest serves with the official 6.4.0
// server SDK: each streamed event must pass safeParseStreamEvent unchanged
// (nothing dropped, nothing stripped), and each session must load through
// agentSessions.get and getMessages (their zod schemas throw on a shape 6.4
// does not know) and equal the raw JSON the fake served.
const oracleScript = `
const { OctavusClient, safeParseStreamEvent } = await import(process.env.OCTAVUS_ORACLE);
let text = '';
for await (const chunk of process.stdin) text += chunk;
const input = JSON.parse(text);
const sortKeys = (v) => Array.isArray(v) ? v.map(sortKeys)
  : v && typeof v === 'object' && !(v instanceof Date)
    ? Object.fromEntries(Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => [k, sortKeys(v[k])]))
    : v;
const canon = (v) => JSON.stringify(sortKeys(JSON.parse(JSON.stringify(v))));
const out = { events: [], sessions: [] };
for (const ev of input.events) {
  const r = safeParseStreamEvent(ev);
  out.events.push(!r.success ? 'dropped ' + canon(ev) : canon(r.data) === canon(ev) ? 'ok' : 'stripped ' + canon(ev) + ' -> ' + canon(r.data));
}
const client = new OctavusClient({ baseUrl: input.baseUrl, apiKey: input.apiKey, maxRetries: 0 });
const raw = async (path) => (await fetch(input.baseUrl + path, { headers: { Authorization: 'Bearer ' + input.apiKey } })).json();
for (const id of input.sessions) {
  for (const [name, load, path] of [
    ['get', () => client.agentSessions.get(id), '/api/agent-sessions/' + id],
    ['getMessages', () => client.agentSessions.getMessages(id), '/api/agent-sessions/' + id + '?format=ui'],
  ]) {
    try {
      const got = canon(await load()), want = canon(await raw(path));
      out.sessions.push(got === want ? 'ok' : name + ' ' + id + ' stripped: ' + want + ' -> ' + got);
    } catch (e) {
      out.sessions.push(name + ' ' + id + ' rejected: ' + e.message);
    }
  }
}
console.log(JSON.stringify(out));
`

// findOracle returns the official 6.4.0 server SDK bundle: OCTAVUS_ORACLE,
// else shared/oracle/server-sdk-6.4.0.mjs in a directory above this one.
func findOracle() string {
	if p := os.Getenv("OCTAVUS_ORACLE"); p != "" {
		return p
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, "shared", "oracle", "server-sdk-6.4.0.mjs")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// What the fake streams and stores is what the 6.4.0 SDK accepts.
func TestOracleAcceptsV4(t *testing.T) {
	oracle := findOracle()
	if oracle == "" {
		testtool.Skip(t, "no 6.4.0 oracle: set OCTAVUS_ORACLE to server-sdk-6.4.0.mjs (it is not in the repository)")
	}
	node := testtool.Require(t, "node", "the 6.4.0 oracle runs on Node 20")
	meta := map[string]any{"anthropic": map[string]any{"signature": "sig"}}
	fee := 0.1
	srv := newServer(t, octavustest.WithClock(fixedClock))
	full := srv.AddSession(octavustest.Session{Script: []octavustest.Turn{
		octavustest.Stream(
			octavustest.ProviderMetadata(meta, octavustest.Reasoning("think")),
			octavustest.Text("Hi"),
			octavustest.ExecutionBlock{Name: "Save", Type: "set-resource", Display: "title", Description: "Saving"},
			octavustest.ExecutionBlock{Name: "Side", Thread: "side", Parts: []octavustest.Part{octavustest.Text("aside")}},
			octavustest.Todos(octavustest.TodoItem{Content: "a", Status: "in_progress"}, octavustest.TodoItem{Content: "b"}),
			octavustest.WorkerExecution{Slug: "researcher", Description: "Research", Input: map[string]any{"q": "go"},
				StreamInput: true, Output: map[string]any{"n": 1}, Parts: []octavustest.Part{
					octavustest.Reasoning("w"), octavustest.Text("found"), octavustest.Source("https://go.dev", "Go"),
					octavustest.File("image/png", "https://f/x.png", "x.png"), octavustest.Todos(octavustest.TodoItem{Content: "sub"}),
				}},
			octavustest.WorkerExecution{ID: "w2", Slug: "finder", Open: true, Parts: []octavustest.Part{
				octavustest.ProviderMetadata(meta, octavustest.ToolCall{ID: "c1", Name: "search", Display: "title", Title: "Search", Thread: "t"}),
			}},
			octavustest.ToolCall{ID: "c2", Name: "lookup", Source: "llm", OutputVariable: "V", BlockIndex: new(int)},
			octavustest.Usage(octavustest.UsageInfo{ProviderFee: 1, TotalFee: 1, EstimatedProviderFee: &fee, InputTokens: 3, OutputTokens: 4}),
		),
		octavustest.Stream(
			octavustest.WorkerExecution{ID: "w2", Slug: "finder", Error: "failed", Parts: []octavustest.Part{octavustest.Text("no")}},
			octavustest.Text("Done"),
		),
	}})
	cut := srv.AddSession(octavustest.Session{Script: []octavustest.Turn{
		octavustest.Stream(octavustest.Text("first")),
		octavustest.Events(
			octavustest.Event(map[string]any{"type": "start", "messageId": "m9"}),
			octavustest.WorkerExecution{ID: "w9", Slug: "s", Open: true, Parts: []octavustest.Part{octavustest.Text("half")}},
			octavustest.Event(map[string]any{"type": "tool-input-start", "toolCallId": "c9", "toolName": "t"}),
			octavustest.Event(map[string]any{"type": "block-start", "blockId": "b9", "blockName": "Save", "blockType": "set-resource", "display": "name"}),
			octavustest.Cut(),
		),
	}})

	var events []map[string]any
	add := func(evs []map[string]any) { events = append(events, evs...) }
	evs, _ := trigger(t, srv, full, `{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"},"sender":{"id":"u1","name":"Ada"}}`)
	add(evs)
	evs, _ = trigger(t, srv, full, `{"executionId":"exec_1","toolResults":[{"toolCallId":"c1","toolName":"search","result":[1],"thread":"t","workerId":"w2"},
		{"toolCallId":"c2","toolName":"lookup","error":"nope","outputVariable":"V","blockIndex":0}]}`)
	add(evs)
	evs, _ = trigger(t, srv, cut, userMessage)
	add(evs)
	// The cut stream: its body ends early, the history is complete once served.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+triggerPath(cut), bytes.NewBufferString(userMessage))
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	if resp, err := srv.Client().Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body) // unexpected EOF: the cut
		resp.Body.Close()
	}
	if _, err := srv.WaitDone(testCtx(t), 4); err != nil {
		t.Fatal(err)
	}

	in, err := json.Marshal(map[string]any{"baseUrl": srv.URL, "apiKey": srv.APIKey, "events": events,
		"sessions": []string{full, cut}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), node, "--input-type=module", "-e", oracleScript)
	cmd.Env = append(os.Environ(), "OCTAVUS_ORACLE="+oracle)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var out struct{ Events, Sessions []string }
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("node said %s: %v", outb, err)
	}
	if len(out.Events) != len(events) || len(out.Sessions) != 4 {
		t.Fatalf("the oracle checked %d events and %d loads: %s", len(out.Events), len(out.Sessions), outb)
	}
	for i, r := range out.Events {
		if r != "ok" {
			t.Errorf("event %d: %s", i, r)
		}
	}
	for _, r := range out.Sessions {
		if r != "ok" {
			t.Errorf("%s", r)
		}
	}
}
