package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExampleRunsTheWorker runs the example as `go run` would, against the
// built-in fake platform, and checks the progress it prints: the worker
// starting, its text, the web-search call the SDK ran and its result, the
// output, the finish, and at the end the cost and tokens of the last usage
// event (the fake platform sends one after each leg's finish).
func TestExampleRunsTheWorker(t *testing.T) {
	t.Setenv("OCTAVUS_API_URL", "")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), "sea otters", &out))

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.NotEmpty(t, lines)
	assert.Regexp(t, `^No OCTAVUS_API_URL set: using a scripted fake platform at http://127\.0\.0\.1:\d+$`, lines[0])
	summary := "2 facts found; the best: Sea otters hold hands while they sleep."
	assert.Equal(t, []string{
		"▶ worker research-assistant started (worker_research)",
		"Searching the web for sea otters.",
		`→ web-search {"query":"sea otters"}`,
		`← {"hits":["Sea otters hold hands while they sleep","Otters use rocks as tools"],"query":"sea otters"}`,
		summary,
		`✓ output: {"summary":"` + summary + `"}`,
		"■ finished (stop)",
		"$ cost USD 0.0015 (bandwidth 0.0003 + provider 0.0012), tokens 120 in + 30 out = 150",
	}, lines[1:])
}

// TestExampleAgainstAPlatform takes the OCTAVUS_* variables as it would
// for the real platform (here another fake platform, whose worker fails):
// it runs that agent and returns the worker's error.
func TestExampleAgainstAPlatform(t *testing.T) {
	fake := octavustest.NewServer()
	defer fake.Close()
	agentID := fake.AddAgent(octavustest.Agent{Name: "Failing worker", Format: "worker", Script: []octavustest.Turn{
		octavustest.Stream(octavustest.Event(map[string]any{
			"type": "error", "errorType": "rate_limit_error", "message": "Provider rate limit reached",
			"retryable": true, "source": "provider",
		})),
	}})
	t.Setenv("OCTAVUS_API_URL", fake.URL)
	t.Setenv("OCTAVUS_API_KEY", fake.APIKey)
	t.Setenv("OCTAVUS_AGENT_ID", agentID)

	var out bytes.Buffer
	err := run(context.Background(), "anything", &out)
	require.EqualError(t, err, "the worker failed: Provider rate limit reached")
	assert.NotContains(t, out.String(), "fake platform", "OCTAVUS_API_URL is set: no built-in fake")
	assert.Contains(t, out.String(), "✗ error: Provider rate limit reached\n")
}

// TestExampleNeedsAnAgent refuses to run against a platform without
// OCTAVUS_AGENT_ID.
func TestExampleNeedsAnAgent(t *testing.T) {
	t.Setenv("OCTAVUS_API_URL", "http://127.0.0.1:1")
	t.Setenv("OCTAVUS_AGENT_ID", "")
	err := run(context.Background(), "x", &bytes.Buffer{})
	require.EqualError(t, err, "set OCTAVUS_AGENT_ID to the worker agent to run")
}

// TestPrintProgress feeds printProgress every kind of event it renders,
// as the SDK hands them over, and checks each line, with text deltas run
// together on one line.
func TestPrintProgress(t *testing.T) {
	fee := 0.0021
	events := make(chan octavus.StreamEvent, 16)
	for _, ev := range []octavus.StreamEvent{
		&octavus.StartEvent{ExecutionID: "exec_1"},
		&octavus.WorkerStartEvent{WorkerID: "w1", WorkerSlug: "writer"},
		&octavus.TextDeltaEvent{ID: "t1", Delta: "Hello, "},
		&octavus.TextDeltaEvent{ID: "t1", Delta: "world."},
		&octavus.ToolInputAvailableEvent{ToolCallID: "c1", ToolName: "lookup", Input: json.RawMessage(`{ "id": 7 }`)},
		&octavus.ToolOutputErrorEvent{ToolCallID: "c1", Error: "not found"},
		&octavus.ToolOutputAvailableEvent{ToolCallID: "c2"},
		&octavus.ClientToolRequestEvent{ExecutionID: "exec_1", ToolCalls: []octavus.PendingToolCall{{ToolName: "ask-user"}, {ToolName: "pick-file"}}},
		&octavus.WorkerResultEvent{WorkerID: "w1", Error: "no output"},
		&octavus.FinishEvent{FinishReason: "client-tool-calls"},
		&octavus.UsageEvent{Cost: octavus.UsageCost{Currency: "USD"}}, // an earlier leg's: the last one counts
		&octavus.UsageEvent{
			Cost:   octavus.UsageCost{Currency: "USD", BandwidthFee: 0.0004, TotalFee: 0.0004, BYOK: true, EstimatedProviderFee: &fee},
			Tokens: octavus.UsageTokens{InputTokens: 1500, OutputTokens: 250, TotalTokens: 1750},
		},
	} {
		events <- ev
	}
	close(events)
	var out bytes.Buffer
	require.NoError(t, printProgress(&out, events))
	assert.Equal(t, strings.Join([]string{
		"▶ worker writer started (w1)",
		"Hello, world.",
		`→ lookup {"id":7}`,
		"← error: not found",
		"← (none)",
		"⏸ the worker asks for tools without a handler here: ask-user, pick-file (continue execution exec_1 with Workers.Continue)",
		"✗ worker failed: no output",
		"■ finished (client-tool-calls)",
		"$ cost USD 0.0004 (bandwidth 0.0004 + provider 0.0000), tokens 1500 in + 250 out = 1750",
	}, "\n")+"\n", out.String())

	// A stream that ends in an error event makes printProgress fail;
	// text still open at the end gets its newline.
	events = make(chan octavus.StreamEvent, 2)
	events <- &octavus.ErrorEvent{Message: "boom"}
	events <- &octavus.TextDeltaEvent{Delta: "partial"}
	close(events)
	out.Reset()
	require.EqualError(t, printProgress(&out, events), "the worker failed: boom")
	assert.Equal(t, "✗ error: boom\npartial\n", out.String())
}
