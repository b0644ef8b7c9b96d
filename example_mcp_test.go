package octavus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// MCPTool makes a tool from a typed Go function: the JSON Schema the
// platform receives is generated from the argument type, and arguments that
// do not fit it fail the call, naming each field, before the function runs.
func ExampleMCPTool() {
	type prArgs struct {
		Owner      string   `json:"owner" jsonschema:"the repository owner"`
		Repo       string   `json:"repo"`
		PullNumber int      `json:"pullNumber"`
		Labels     []string `json:"labels,omitempty"`
	}
	getPR := octavus.MCPTool("get-pr", "Get a pull request", func(ctx context.Context, in prArgs) (string, error) {
		return fmt.Sprintf("%s/%s#%d is open", in.Owner, in.Repo, in.PullNumber), nil
	})
	github, err := octavus.NewInlineMCPServer("github", getPR)
	if err != nil {
		panic(err)
	}
	schema := github.ToolSchemas()[0]
	fmt.Println(schema.Name)
	fmt.Println(string(schema.InputSchema))

	// Execute calls the handler with the platform's arguments.
	h := github.ToolHandlers()["github__get-pr"]
	out, err := h(context.Background(), map[string]any{"owner": "octavus-ai", "repo": "agent-sdk", "pullNumber": 42})
	fmt.Println(out, err)
	_, err = h(context.Background(), map[string]any{"owner": 1, "pullNumber": 4.5})
	fmt.Println(err)
	var ve *octavus.MCPValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Issues[0].Path)
	}
	// Output:
	// github__get-pr
	// {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"owner":{"type":"string","description":"the repository owner"},"repo":{"type":"string"},"pullNumber":{"type":"integer"},"labels":{"type":["null","array"],"items":{"type":"string"}}},"required":["owner","repo","pullNumber"],"additionalProperties":false}
	// octavus-ai/agent-sdk#42 is open <nil>
	// Invalid arguments for "github__get-pr": owner: Invalid input: expected string, received number; repo: Invalid input: expected string, received undefined; pullNumber: Invalid input: expected int, received number
	// owner
}

// MCPToolWithOutput also declares the result's schema (sent as
// outputSchema) and checks each result against it.
func ExampleMCPToolWithOutput() {
	type overview struct {
		Title string   `json:"title"`
		Files []string `json:"files,omitempty"`
	}
	tool := octavus.MCPToolWithOutput("overview", "Summarise a pull request", func(ctx context.Context, in struct {
		Number int `json:"number"`
	}) (overview, error) {
		return overview{Title: fmt.Sprint("PR ", in.Number)}, nil
	})
	github, err := octavus.NewInlineMCPServer("github", tool)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(github.ToolSchemas()[0].OutputSchema))
	out, err := github.ToolHandlers()["github__overview"](context.Background(), map[string]any{"number": 7})
	fmt.Println(string(out.(json.RawMessage)), err)
	// Output:
	// {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"title":{"type":"string"},"files":{"type":["null","array"],"items":{"type":"string"}}},"required":["title"],"additionalProperties":false}
	// {"title":"PR 7"} <nil>
}

// RawMCPTool takes a JSON Schema of your own, sent as written; the
// arguments are still validated against it.
func ExampleRawMCPTool() {
	search := octavus.RawMCPTool("search", "Search the knowledge base",
		json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","minLength":3}},"required":["query"]}`),
		nil,
		func(ctx context.Context, args map[string]any) (any, error) {
			return []string{"result for " + args["query"].(string)}, nil
		})
	kb, err := octavus.NewInlineMCPServer("kb", search)
	if err != nil {
		panic(err)
	}
	h := kb.ToolHandlers()["kb__search"]
	fmt.Println(h(context.Background(), map[string]any{"query": "refunds"}))
	_, err = h(context.Background(), map[string]any{"query": "a"})
	fmt.Println(err)
	// Output:
	// [result for refunds] <nil>
	// Invalid arguments for "kb__search": query: Too small: expected string to have >=3 characters
}

// An inline MCP server attached to a session: its schemas ride the
// dynamicToolSchemas of every request, and when the agent calls
// "namespace__tool" the typed function runs here.
func ExampleNewInlineMCPServer() {
	type weatherArgs struct {
		City string `json:"city"`
	}
	weather, err := octavus.NewInlineMCPServer("weather",
		octavus.MCPTool("forecast", "Tomorrow's forecast for a city", func(ctx context.Context, in weatherArgs) (map[string]any, error) {
			return map[string]any{"city": in.City, "sky": "sunny"}, nil
		}),
	)
	if err != nil {
		panic(err)
	}

	platform := octavustest.NewServer(octavustest.WithScript(
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			fmt.Println("the platform sees:", req.DynamicToolSchemas[0].Name)
			return octavustest.Stream(octavustest.ToolCall{Name: "weather__forecast", Args: map[string]any{"city": "Lisbon"}})
		}),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			return octavustest.Stream(octavustest.Text("It will be sunny."))
		}),
	))
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	sessionID := platform.AddSession(octavustest.Session{})

	session := client.AgentSessions.Attach(sessionID, octavus.AttachOptions{
		MCPServers: []octavus.MCPServer{weather},
	})
	for ev := range session.Execute(context.Background(), octavus.TriggerRequest{TriggerName: "user-message"}) {
		switch ev := ev.(type) {
		case *octavus.ToolOutputAvailableEvent:
			fmt.Println("tool:", string(ev.Output))
		case *octavus.TextDeltaEvent:
			fmt.Println("text:", ev.Delta)
		}
	}
	// Output:
	// the platform sees: weather__forecast
	// tool: {"city":"Lisbon","sky":"sunny"}
	// text: It will be sunny.
}
