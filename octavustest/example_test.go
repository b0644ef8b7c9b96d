package octavustest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/octavus-go/octavus/octavustest"
)

// post sends an authenticated POST with plain net/http, as the SDK would.
func post(ctx context.Context, srv *octavustest.Server, path, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	return srv.Client().Do(req)
}

// postBody is post that returns the whole answer body.
func postBody(srv *octavustest.Server, path, body string) string {
	resp, err := post(context.Background(), srv, path, body)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A trigger round trip: the scripted agent streams a text answer.
func Example() {
	srv := octavustest.NewServer(octavustest.WithScript(
		octavustest.Stream(octavustest.Text("Hello", " there!")),
	))
	defer srv.Close()
	agentID := srv.AddAgent(octavustest.Agent{Name: "Support Chat"})

	// Create a session through the API, then trigger it.
	var created struct{ SessionID string }
	_ = json.Unmarshal([]byte(postBody(srv, "/api/agent-sessions", `{"agentId":"`+agentID+`"}`)), &created)
	fmt.Print(postBody(srv, "/api/agent-sessions/"+created.SessionID+"/trigger",
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}`))
	// Output:
	// data: {"type":"start","executionId":"exec_1","messageId":"msg_2"}
	//
	// data: {"type":"text-start","id":"text_1"}
	//
	// data: {"type":"text-delta","delta":"Hello","id":"text_1"}
	//
	// data: {"type":"text-delta","delta":" there!","id":"text_1"}
	//
	// data: {"type":"text-end","id":"text_1"}
	//
	// data: {"type":"finish","executionId":"exec_1","finishReason":"stop"}
	//
	// data: [DONE]
}

// A tool round: the first POST asks for a tool, the continuation carries its
// result, and the next turn answers with it. The session history then holds
// the user message and one assistant message with the tool call and its result.
func ExampleRespond() {
	srv := octavustest.NewServer(octavustest.WithScript(
		octavustest.Stream(octavustest.ToolCall{Name: "get-user", Args: map[string]any{"userId": "u1"}}),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			user := req.ToolResults[0].Result.(map[string]any)
			return octavustest.Stream(octavustest.Text(fmt.Sprintf("You are %s.", user["name"])))
		}),
	))
	defer srv.Close()
	sessionID := srv.AddSession(octavustest.Session{AgentID: "agent_1"})
	trigger := "/api/agent-sessions/" + sessionID + "/trigger"

	for _, line := range strings.Split(postBody(srv, trigger, `{"triggerName":"user-message","input":{"USER_MESSAGE":"Who am I?"}}`), "\n") {
		if strings.Contains(line, "tool-request") || strings.Contains(line, "finish") {
			fmt.Println(line)
		}
	}
	// A continuation that misses a result is refused.
	fmt.Println(postBody(srv, trigger, `{"executionId":"exec_1","toolResults":[]}`))
	// The right one streams the answer.
	for _, line := range strings.Split(postBody(srv, trigger,
		`{"executionId":"exec_1","toolResults":[{"toolCallId":"call_1","toolName":"get-user","result":{"name":"Ada"}}]}`), "\n") {
		if strings.Contains(line, "text-delta") {
			fmt.Println(line)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/agent-sessions/"+sessionID+"?format=ui", nil)
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var state struct {
		Messages []struct {
			Role  string
			Parts []map[string]any
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&state)
	for _, m := range state.Messages {
		for _, p := range m.Parts {
			fmt.Println(m.Role, p["type"], p["text"], p["result"])
		}
	}
	// Output:
	// data: {"type":"tool-request","toolCalls":[{"args":{"userId":"u1"},"toolCallId":"call_1","toolName":"get-user"}]}
	// data: {"type":"finish","executionId":"exec_1","finishReason":"tool-calls"}
	// {"code":"VALIDATION_ERROR","error":"Invalid toolResults: missing toolResult for toolCallId \"call_1\""}
	// data: {"type":"text-delta","delta":"You are Ada.","id":"text_1"}
	// user text Who am I? <nil>
	// assistant step-start <nil> <nil>
	// assistant tool-call <nil> map[name:Ada]
	// assistant step-start <nil> <nil>
	// assistant text You are Ada. <nil>
}

// A scripted failure: the platform answers a trigger with 429 and Retry-After.
func ExampleFailure() {
	srv := octavustest.NewServer(octavustest.WithScript(
		octavustest.Failure{Status: http.StatusTooManyRequests, RetryAfter: "2",
			Body: `{"error":"Too many requests","code":"RATE_LIMITED"}`},
	))
	defer srv.Close()
	sessionID := srv.AddSession(octavustest.Session{})

	resp, err := post(context.Background(), srv, "/api/agent-sessions/"+sessionID+"/trigger", `{"triggerName":"user-message"}`)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), string(b))
	// Output:
	// 429 2 {"error":"Too many requests","code":"RATE_LIMITED"}
}

// A stalled stream and a client that gives up: WaitDone reports the request
// aborted, which is how a test checks that the SDK cancelled the platform call.
func ExampleStall() {
	srv := octavustest.NewServer(octavustest.WithScript(
		octavustest.Stream(octavustest.Text("Thinking..."), octavustest.Stall(nil)),
	))
	defer srv.Close()
	sessionID := srv.AddSession(octavustest.Session{})

	ctx, cancel := context.WithCancel(context.Background())
	resp, err := post(ctx, srv, "/api/agent-sessions/"+sessionID+"/trigger", `{"triggerName":"user-message"}`)
	if err != nil {
		panic(err)
	}
	// Read up to the last text event, then give up.
	buf := make([]byte, 0, 1024)
	for !strings.Contains(string(buf), "text-end") {
		chunk := make([]byte, 512)
		n, err := resp.Body.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err != nil {
			break
		}
	}
	cancel()
	resp.Body.Close()

	req, _ := srv.WaitDone(context.Background(), 1)
	fmt.Println(req.Method, req.Path, "aborted:", req.Aborted)
	// Output:
	// POST /api/agent-sessions/sess_1/trigger aborted: true
}

// An agent that answers forever, with a tool round on every user message:
// Repeat keeps the script on one Respond turn, which looks at the request to
// decide whether to call the tool or to answer with its result. This suits a
// demo program run against the fake instead of the platform.
func ExampleRepeat() {
	srv := octavustest.NewServer(octavustest.WithScript(octavustest.Repeat(
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			if len(req.ToolResults) == 0 {
				return octavustest.Stream(octavustest.ToolCall{Name: "get-time"})
			}
			return octavustest.Stream(octavustest.Text(fmt.Sprintf("It is %v.", req.ToolResults[0].Result)))
		}),
	)))
	defer srv.Close()
	sessionID := srv.AddSession(octavustest.Session{})
	trigger := "/api/agent-sessions/" + sessionID + "/trigger"

	for i, clock := range []string{"noon", "midnight"} {
		postBody(srv, trigger, `{"triggerName":"user-message","input":{"USER_MESSAGE":"Time?"}}`)
		answer := postBody(srv, trigger, fmt.Sprintf(
			`{"executionId":"exec_%d","toolResults":[{"toolCallId":"call_%d","result":%q}]}`, i+1, i+1, clock))
		for _, line := range strings.Split(answer, "\n") {
			if strings.Contains(line, "text-delta") {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// data: {"type":"text-delta","delta":"It is noon.","id":"text_1"}
	// data: {"type":"text-delta","delta":"It is midnight.","id":"text_2"}
}

// getUI fetches a session's history as UIMessages and prints its JSON.
func getUI(srv *octavustest.Server, sessionID string) {
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/agent-sessions/"+sessionID+"?format=ui", nil)
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var state struct{ Messages []map[string]any }
	_ = json.NewDecoder(resp.Body).Decode(&state)
	for _, m := range state.Messages {
		b, _ := json.Marshal(m["parts"])
		fmt.Println(m["role"], string(b))
	}
}

// A worker execution inside the agent's turn: the worker's events carry its
// workerId, and the history keeps them nested in a worker part.
func ExampleWorker() {
	srv := octavustest.NewServer(octavustest.WithScript(octavustest.Stream(
		octavustest.Worker("researcher", octavustest.Text("Go was released in 2009.")),
		octavustest.Text("Done."),
	)))
	defer srv.Close()
	sessionID := srv.AddSession(octavustest.Session{})
	fmt.Print(postBody(srv, "/api/agent-sessions/"+sessionID+"/trigger", `{"triggerName":"user-message","input":{"USER_MESSAGE":"When?"}}`))
	getUI(srv, sessionID)
	// Output:
	// data: {"type":"start","executionId":"exec_1","messageId":"msg_2"}
	//
	// data: {"type":"worker-start","workerId":"worker_1","workerSlug":"researcher"}
	//
	// data: {"type":"text-start","id":"text_1","workerId":"worker_1"}
	//
	// data: {"type":"text-delta","delta":"Go was released in 2009.","id":"text_1","workerId":"worker_1"}
	//
	// data: {"type":"text-end","id":"text_1","workerId":"worker_1"}
	//
	// data: {"type":"worker-result","workerId":"worker_1"}
	//
	// data: {"type":"text-start","id":"text_2"}
	//
	// data: {"type":"text-delta","delta":"Done.","id":"text_2"}
	//
	// data: {"type":"text-end","id":"text_2"}
	//
	// data: {"type":"finish","executionId":"exec_1","finishReason":"stop"}
	//
	// data: [DONE]
	//
	// user [{"status":"done","text":"When?","type":"text"}]
	// assistant [{"type":"step-start"},{"parts":[{"status":"done","text":"Go was released in 2009.","type":"text"}],"status":"done","type":"worker","workerId":"worker_1","workerSlug":"researcher"},{"status":"done","text":"Done.","type":"text"}]
}

// A todo list the agent keeps up to date: each todo-update replaces the
// list, and the history holds the last one.
func ExampleTodos() {
	srv := octavustest.NewServer(octavustest.WithScript(octavustest.Stream(
		octavustest.Todos(octavustest.TodoItem{Content: "Read the issue", Status: "in_progress"},
			octavustest.TodoItem{Content: "Fix it"}),
		octavustest.Todos(octavustest.TodoItem{Content: "Read the issue", Status: "completed"},
			octavustest.TodoItem{Content: "Fix it", Status: "in_progress"}),
	)))
	defer srv.Close()
	sessionID := srv.AddSession(octavustest.Session{})
	fmt.Print(postBody(srv, "/api/agent-sessions/"+sessionID+"/trigger", `{"triggerName":"go"}`))
	getUI(srv, sessionID)
	// Output:
	// data: {"type":"start","executionId":"exec_1","messageId":"msg_1"}
	//
	// data: {"type":"todo-update","todos":[{"content":"Read the issue","id":"todo_1","status":"in_progress"},{"content":"Fix it","id":"todo_2","status":"pending"}]}
	//
	// data: {"type":"todo-update","todos":[{"content":"Read the issue","id":"todo_1","status":"completed"},{"content":"Fix it","id":"todo_2","status":"in_progress"}]}
	//
	// data: {"type":"finish","executionId":"exec_1","finishReason":"stop"}
	//
	// data: [DONE]
	//
	// assistant [{"type":"step-start"},{"status":"done","todos":[{"content":"Read the issue","id":"todo_1","status":"completed"},{"content":"Fix it","id":"todo_2","status":"in_progress"}],"type":"todo"}]
}

// Usage comes after finish, as the platform writes it for a worker.
func ExampleUsage() {
	srv := octavustest.NewServer(octavustest.WithScript(octavustest.Stream(
		octavustest.Usage(octavustest.UsageInfo{ProviderFee: 0.002, TotalFee: 0.002, InputTokens: 120, OutputTokens: 30}),
		octavustest.Text("Hi"),
	)))
	defer srv.Close()
	sessionID := srv.AddSession(octavustest.Session{})
	body := postBody(srv, "/api/agent-sessions/"+sessionID+"/trigger", `{"triggerName":"go"}`)
	lines := strings.Split(strings.TrimSpace(body), "\n\n")
	fmt.Println(strings.Join(lines[len(lines)-3:], "\n"))
	// Output:
	// data: {"type":"finish","executionId":"exec_1","finishReason":"stop"}
	// data: {"type":"usage","cost":{"bandwidthFee":0,"byok":false,"currency":"USD","providerFee":0.002,"totalFee":0.002},"tokens":{"inputTokens":120,"outputTokens":30,"totalTokens":150}}
	// data: [DONE]
}
