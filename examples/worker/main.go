// Command worker runs a worker agent and shows its progress on the
// terminal as it streams: the worker starting, its text as it is written,
// each tool call and result, its output, and what the execution cost.
//
//	go run ./examples/worker -topic "sea otters"
//
// With OCTAVUS_API_URL unset it runs against a built-in scripted fake
// platform (octavustest) whose research worker searches the web with the
// server tool web-search, so it works with no account. Set
// OCTAVUS_API_URL, OCTAVUS_API_KEY and OCTAVUS_AGENT_ID (a worker agent,
// input TOPIC) to run a worker of the real platform.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

func main() {
	topic := flag.String("topic", "sea otters", "the TOPIC input of the worker")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *topic, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run executes the worker once with input {TOPIC: topic} and writes its
// progress to out.
func run(ctx context.Context, topic string, out io.Writer) error {
	baseURL := os.Getenv("OCTAVUS_API_URL")
	apiKey := os.Getenv("OCTAVUS_API_KEY")
	agentID := os.Getenv("OCTAVUS_AGENT_ID")
	if baseURL == "" {
		fake := startFakePlatform()
		defer fake.Close()
		baseURL, apiKey = fake.URL, fake.APIKey
		agentID = fake.AddAgent(octavustest.Agent{
			Name:   "Research assistant",
			Format: "worker",
			Script: []octavustest.Turn{researchScript()},
		})
		fmt.Fprintf(out, "No OCTAVUS_API_URL set: using a scripted fake platform at %s\n", fake.URL)
	}
	if agentID == "" {
		return errors.New("set OCTAVUS_AGENT_ID to the worker agent to run")
	}
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: baseURL, APIKey: apiKey})
	if err != nil {
		return err
	}

	events := client.Workers.Execute(ctx, agentID, map[string]any{"TOPIC": topic}, octavus.WorkerOptions{
		Tools: octavus.ToolHandlers{
			// A server tool: it runs here, and the SDK sends its result
			// back to the worker and streams on.
			"web-search": func(ctx context.Context, args map[string]any) (any, error) {
				return searchWeb(args["query"])
			},
		},
	})
	return printProgress(out, events)
}

// printProgress writes each event of a worker's stream as a line of
// progress (text deltas run on, as they are written), then the cost and
// tokens of the execution, and returns the stream's error, if it ended
// with one.
func printProgress(out io.Writer, events <-chan octavus.StreamEvent) error {
	var failure error
	var usage *octavus.UsageEvent
	inText := false
	line := func(format string, args ...any) {
		if inText {
			fmt.Fprintln(out)
			inText = false
		}
		fmt.Fprintf(out, format+"\n", args...)
	}
	for ev := range events {
		switch e := ev.(type) {
		case *octavus.WorkerStartEvent:
			line("▶ worker %s started (%s)", e.WorkerSlug, e.WorkerID)
		case *octavus.TextDeltaEvent:
			fmt.Fprint(out, e.Delta)
			inText = true
		case *octavus.ToolInputAvailableEvent:
			line("→ %s %s", e.ToolName, compact(e.Input))
		case *octavus.ToolOutputAvailableEvent:
			line("← %s", compact(e.Output))
		case *octavus.ToolOutputErrorEvent:
			line("← error: %s", e.Error)
		case *octavus.ClientToolRequestEvent:
			names := make([]string, 0, len(e.ToolCalls))
			for _, c := range e.ToolCalls {
				names = append(names, c.ToolName)
			}
			line("⏸ the worker asks for tools without a handler here: %s (continue execution %s with Workers.Continue)",
				strings.Join(names, ", "), e.ExecutionID)
		case *octavus.WorkerResultEvent:
			if e.Error != "" {
				line("✗ worker failed: %s", e.Error)
			} else {
				line("✓ output: %s", compact(e.Output))
			}
		case *octavus.ErrorEvent:
			line("✗ error: %s", e.Message)
			failure = fmt.Errorf("the worker failed: %s", e.Message)
		case *octavus.FinishEvent:
			line("■ finished (%s)", e.FinishReason)
		case *octavus.UsageEvent:
			// The execution's usage is the last usage event, as
			// Workers.Generate (and 6.4.0's generate) takes it.
			usage = e
		}
	}
	if usage != nil {
		line("$ cost %s %.4f (bandwidth %.4f + provider %.4f), tokens %.0f in + %.0f out = %.0f",
			usage.Cost.Currency, usage.Cost.TotalFee, usage.Cost.BandwidthFee, usage.Cost.ProviderFee,
			usage.Tokens.InputTokens, usage.Tokens.OutputTokens, usage.Tokens.TotalTokens)
	}
	if inText {
		fmt.Fprintln(out)
	}
	return failure
}

// compact renders a JSON value on one line.
func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "(none)"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// searchWeb is the demo's web search: canned hits for any query.
func searchWeb(query any) (any, error) {
	q, _ := query.(string)
	if q == "" {
		return nil, errors.New("web-search needs a query")
	}
	return map[string]any{"query": q, "hits": []string{
		"Sea otters hold hands while they sleep",
		"Otters use rocks as tools",
	}}, nil
}

// startFakePlatform starts the built-in scripted platform.
func startFakePlatform() *octavustest.Server {
	return octavustest.NewServer()
}

// researchScript is the fake worker: it searches the web for its TOPIC,
// then writes a summary and returns it as its output, and reports usage.
func researchScript() octavustest.Turn {
	return octavustest.Repeat(octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
		if len(req.ToolResults) == 0 {
			topic, _ := req.Input["TOPIC"].(string)
			return octavustest.Stream(
				octavustest.Event(map[string]any{"type": "worker-start", "workerId": "worker_research", "workerSlug": "research-assistant"}),
				octavustest.Text("Searching the web for ", topic, "."),
				octavustest.ToolCall{Name: "web-search", Args: map[string]any{"query": topic}},
			)
		}
		summary := "Two facts found."
		if hits, ok := req.ToolResults[0].Result.(map[string]any)["hits"].([]any); ok && len(hits) > 0 {
			summary = fmt.Sprintf("%d facts found; the best: %v.", len(hits), hits[0])
		}
		return octavustest.Stream(
			octavustest.Text(summary),
			octavustest.Event(map[string]any{"type": "worker-result", "workerId": "worker_research", "output": map[string]any{"summary": summary}}),
			octavustest.Usage(octavustest.UsageInfo{BandwidthFee: 0.0003, ProviderFee: 0.0012, TotalFee: 0.0015, InputTokens: 120, OutputTokens: 30}),
		)
	}))
}
