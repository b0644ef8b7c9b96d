package octavustest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/octavus-go/octavus/octavustest"
)

// send is an HTTP request with a bearer key; it returns the status and body.
func send(srv *octavustest.Server, key, method, path, body string) (int, string) {
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// printEvents prints each event of a stream on one line.
func printEvents(stream string) {
	sc := bufio.NewScanner(strings.NewReader(stream))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			fmt.Println(line)
		}
	}
}

// A worker agent runs through POST /api/agents/{id}/execute: the start
// leg asks for a tool, the continue leg carries its result and the worker
// returns its output. Every finished leg ends with usage.
func Example_workerAgent() {
	srv := octavustest.NewServer()
	defer srv.Close()
	agentID := srv.AddAgent(octavustest.Agent{Name: "Titles", Format: "worker", Script: []octavustest.Turn{
		octavustest.Stream(octavustest.ToolCall{Name: "lookup", Args: map[string]any{"q": "go"}}),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			return octavustest.Stream(
				octavustest.WorkerExecution{Slug: "titles", Output: fmt.Sprint("Title: ", req.ToolResults[0].Result)},
				octavustest.Usage(octavustest.UsageInfo{BandwidthFee: 0.001, TotalFee: 0.001, InputTokens: 50, OutputTokens: 8}),
			)
		}),
	}})
	path := "/api/agents/" + agentID + "/execute"
	_, stream := send(srv, srv.APIKey, "POST", path, `{"type":"start","input":{"TOPIC":"go"}}`)
	printEvents(stream)
	_, stream = send(srv, srv.APIKey, "POST", path,
		`{"type":"continue","executionId":"exec_1","toolResults":[{"toolCallId":"call_1","toolName":"lookup","result":"Go"}]}`)
	printEvents(stream)
	// Output:
	// {"type":"start","executionId":"exec_1","messageId":"msg_1"}
	// {"type":"tool-input-start","toolCallId":"call_1","toolName":"lookup"}
	// {"type":"tool-input-delta","inputTextDelta":"{\"q\":\"go\"}","toolCallId":"call_1"}
	// {"type":"tool-input-end","toolCallId":"call_1"}
	// {"type":"tool-input-available","input":{"q":"go"},"toolCallId":"call_1","toolName":"lookup"}
	// {"type":"tool-request","toolCalls":[{"args":{"q":"go"},"toolCallId":"call_1","toolName":"lookup"}]}
	// {"type":"finish","executionId":"exec_1","finishReason":"tool-calls"}
	// [DONE]
	// {"type":"start","executionId":"exec_1","lastMessageId":"msg_1","messageId":"msg_2"}
	// {"type":"worker-start","workerId":"worker_1","workerSlug":"titles"}
	// {"type":"worker-result","output":"Title: Go","workerId":"worker_1"}
	// {"type":"finish","executionId":"exec_1","finishReason":"stop"}
	// {"type":"usage","cost":{"bandwidthFee":0.001,"byok":false,"currency":"USD","providerFee":0,"totalFee":0.001},"tokens":{"inputTokens":50,"outputTokens":8,"totalTokens":58}}
	// [DONE]
}

// A workforce thread moves through its statuses, one step per GET, and its
// messages grow as the agent works. The workforce endpoints take the
// agent's own key.
func ExampleThreadStep() {
	srv := octavustest.NewServer()
	defer srv.Close()
	agentID := srv.AddAgent(octavustest.Agent{Name: "Ops", ThreadSteps: []octavustest.ThreadStep{
		{Status: "queued"},
		{Status: "running", Parts: []octavustest.Part{octavustest.Text("Reading the report.")}},
		{Status: "completed", Parts: []octavustest.Part{octavustest.Text("Sales grew 4%.")}},
	}})
	key, _ := srv.AgentKey(agentID)
	threads := "/api/v1/workforce/agents/" + agentID + "/threads"
	status, body := send(srv, key, "POST", threads, `{"message":"Summarize the latest sales report"}`)
	fmt.Println(status, body)
	for {
		_, body = send(srv, key, "GET", threads+"/thread_1", "")
		var th struct {
			Status   string
			Messages []struct {
				Role  string
				Parts []struct{ Type, Text string }
			}
		}
		_ = json.Unmarshal([]byte(body), &th)
		var texts []string
		for _, m := range th.Messages {
			for _, p := range m.Parts {
				if p.Type == "text" {
					texts = append(texts, m.Role+": "+p.Text)
				}
			}
		}
		fmt.Printf("%s %q\n", th.Status, texts)
		if th.Status == "completed" || th.Status == "failed" || th.Status == "cancelled" {
			break
		}
	}
	fmt.Println(send(srv, srv.APIKey, "GET", threads+"/thread_1", ""))
	// Output:
	// 201 {"status":"queued","threadId":"thread_1"}
	// running ["user: Summarize the latest sales report" "assistant: Reading the report."]
	// completed ["user: Summarize the latest sales report" "assistant: Reading the report." "assistant: Sales grew 4%."]
	// 403 {"code":"FORBIDDEN","error":"The key is not authorized for this agent"}
}

// A deferred start creates the session and runs its first turn in one
// POST; the same idempotencyKey finds the same session again.
func ExampleServer_StartedSession() {
	srv := octavustest.NewServer(octavustest.WithScript(octavustest.Repeat(octavustest.Stream(octavustest.Text("Hi!")))))
	defer srv.Close()
	agentID := srv.AddAgent(octavustest.Agent{Name: "Support"})
	body := `{"agentId":"` + agentID + `","trigger":{"triggerName":"user-message","input":{"USER_MESSAGE":"Hello"}},"idempotencyKey":"k-42"}`
	resp, err := post(context.Background(), srv, "/api/agent-sessions/start", body)
	if err != nil {
		fmt.Println(err)
		return
	}
	stream, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("X-Octavus-Session-Id:", resp.Header.Get("X-Octavus-Session-Id"))
	fmt.Println(strings.SplitN(string(stream), "\n", 2)[0])
	id, ok := srv.StartedSession("k-42")
	fmt.Println(id, ok)
	// Output:
	// X-Octavus-Session-Id: sess_1
	// data: {"type":"start","executionId":"exec_1","messageId":"msg_2","sessionId":"sess_1"}
	// sess_1 true
}

// A minted token works as a key for its agent's sessions until it is
// revoked or expires.
func Example_ephemeralTokens() {
	srv := octavustest.NewServer()
	defer srv.Close()
	agentID := srv.AddAgent(octavustest.Agent{Name: "Support"})
	_, minted := send(srv, srv.APIKey, "POST", "/api/tokens", `{"agentId":"`+agentID+`","ttlSeconds":600}`)
	var tok struct{ Token, Jti string }
	_ = json.Unmarshal([]byte(minted), &tok)
	fmt.Println(tok.Token, tok.Jti)
	fmt.Println(send(srv, tok.Token, "POST", "/api/agent-sessions", `{"agentId":"`+agentID+`"}`))
	fmt.Println(send(srv, tok.Token, "GET", "/api/agents", ""))
	fmt.Println(send(srv, srv.APIKey, "POST", "/api/tokens/revoke", `{"token":"`+tok.Token+`"}`))
	fmt.Println(send(srv, tok.Token, "POST", "/api/agent-sessions", `{"agentId":"`+agentID+`"}`))
	// Output:
	// oct_et_test_1 jti_1
	// 201 {"sessionId":"sess_1"}
	// 403 {"code":"FORBIDDEN","error":"An ephemeral token cannot call this endpoint"}
	// 200 {"jti":"jti_1","revoked":true}
	// 401 {"code":"UNAUTHORIZED","error":"Token revoked"}
}

// The execution log is built from what happened; AddLogEntries adds
// entries the fake does not write itself.
func ExampleServer_AddLogEntries() {
	srv := octavustest.NewServer(octavustest.WithClock(fixedClock),
		octavustest.WithScript(octavustest.Stream(octavustest.Text("Hi"))))
	defer srv.Close()
	sessionID := srv.AddSession(octavustest.Session{AgentID: "agent_1"})
	postBody(srv, "/api/agent-sessions/"+sessionID+"/trigger", `{"triggerName":"user-message","input":{"USER_MESSAGE":"Hello"}}`)
	srv.AddLogEntries(sessionID, map[string]any{"type": "step-stats", "stepStats": map[string]any{"provider": "p"}})
	_, logs := send(srv, srv.APIKey, "GET", "/api/agent-sessions/"+sessionID+"/logs?excludeModelRequests=true", "")
	var out struct {
		Entries []map[string]any
		Total   int
	}
	_ = json.Unmarshal([]byte(logs), &out)
	for _, e := range out.Entries {
		fmt.Println(e["sequence"], e["type"], e["content"])
	}
	fmt.Println("total", out.Total)
	fmt.Println(send(srv, srv.APIKey, "DELETE", "/api/agent-sessions/"+sessionID, ""))
	// Output:
	// 1 trigger <nil>
	// 2 message Hello
	// 4 message Hi
	// 5 step-stats <nil>
	// total 4
	// 200 {"cleared":true,"sessionId":"sess_1"}
}

// CancelThread ends a thread's run as a user does from the dashboard.
func ExampleServer_CancelThread() {
	srv := octavustest.NewServer()
	defer srv.Close()
	agentID := srv.AddAgent(octavustest.Agent{})
	key, _ := srv.AgentKey(agentID)
	threads := "/api/v1/workforce/agents/" + agentID + "/threads"
	fmt.Println(send(srv, key, "POST", threads, `{"message":"Long task"}`))
	fmt.Println(srv.CancelThread("thread_1"))
	_, body := send(srv, key, "GET", threads+"/thread_1", "")
	var th struct{ Status string }
	_ = json.Unmarshal([]byte(body), &th)
	fmt.Println(th.Status)
	// Output:
	// 201 {"status":"queued","threadId":"thread_1"}
	// true
	// cancelled
}

// A blocked agent answers dispatches with 402.
func ExampleServer_SetBlocked() {
	srv := octavustest.NewServer()
	defer srv.Close()
	agentID := srv.AddAgent(octavustest.Agent{})
	key, _ := srv.AgentKey(agentID)
	srv.SetBlocked(agentID, true)
	fmt.Println(send(srv, key, "POST", "/api/v1/workforce/agents/"+agentID+"/threads", `{"message":"x"}`))
	// Output:
	// 402 {"code":"PAYMENT_REQUIRED","error":"The agent is blocked by a usage or spending limit"}
}
