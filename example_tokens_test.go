package octavus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/octavus-go/octavus"
)

// newRESTPlatform answers each "METHOD /path" with its JSON body, and
// prints the method, path and body of every request it receives.
func newRESTPlatform(routes map[string]string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(strings.TrimSpace(fmt.Sprintln("platform got:", r.Method, r.URL.RequestURI(), strings.TrimSpace(string(body)))))
		answer, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
}

// Mint a token bound to one session for a runner that must not hold the
// long-lived key, and hand the runner a Client of its own.
func ExampleTokensAPI_Mint() {
	platform := newRESTPlatform(map[string]string{
		"POST /api/tokens": `{"token":"oct_et_2f9c","jti":"tok_81","expiresAt":"2026-12-03T10:00:00.000Z"}`,
	})
	defer platform.Close()

	control, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: "oct_sk_long_lived"})
	if err != nil {
		panic(err)
	}
	minted, err := control.Tokens.Mint(context.Background(), octavus.MintTokenRequest{
		AgentID:    "agent_1",
		SessionID:  "sess_1",
		TTLSeconds: 3600,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("jti:", minted.JTI, "expires:", minted.ExpiresAt.Format("15:04 MST"))

	// The runner can drive only sess_1, and only until the token expires.
	runner, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: minted.Token})
	if err != nil {
		panic(err)
	}
	_ = runner
	// Output:
	// platform got: POST /api/tokens {"agentId":"agent_1","sessionId":"sess_1","ttlSeconds":3600}
	// jti: tok_81 expires: 10:00 UTC
}

// Revoke a token before it expires, for instance when the runner is done.
func ExampleTokensAPI_Revoke() {
	platform := newRESTPlatform(map[string]string{
		"POST /api/tokens/revoke": `{"revoked":true,"jti":"tok_81"}`,
	})
	defer platform.Close()

	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: "oct_sk_long_lived"})
	if err != nil {
		panic(err)
	}
	res, err := client.Tokens.Revoke(context.Background(), "oct_et_2f9c")
	if err != nil {
		panic(err)
	}
	fmt.Println("revoked:", res.Revoked, res.JTI)
	// Output:
	// platform got: POST /api/tokens/revoke {"token":"oct_et_2f9c"}
	// revoked: true tok_81
}

// Clear a session's state on the platform, for instance when the user
// starts over; Restore brings it back from the messages you stored.
func ExampleAgentSessionsAPI_Clear() {
	platform := newRESTPlatform(map[string]string{
		"DELETE /api/agent-sessions/sess_1": `{"sessionId":"sess_1","cleared":true}`,
	})
	defer platform.Close()

	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: "oct_sk_key"})
	if err != nil {
		panic(err)
	}
	res, err := client.AgentSessions.Clear(context.Background(), "sess_1")
	if err != nil {
		panic(err)
	}
	fmt.Println("cleared:", res.SessionID, res.Cleared)
	// Output:
	// platform got: DELETE /api/agent-sessions/sess_1
	// cleared: sess_1 true
}

// Read a session's execution log: switch on each entry's typed form, with
// a default case for entry types added after 6.4.0 (kept whole in Raw).
func ExampleAgentSessionsAPI_GetLogs() {
	platform := newRESTPlatform(map[string]string{
		"GET /api/agent-sessions/sess_1/logs": `{"sessionId":"sess_1","entries":[
			{"id":"l1","timestamp":"2026-12-03T09:00:00.000Z","type":"trigger","triggerName":"user-message"},
			{"id":"l2","timestamp":"2026-12-03T09:00:01.000Z","type":"tool-call","toolName":"get-user","toolArguments":{"id":"u1"}},
			{"id":"l3","timestamp":"2026-12-03T09:00:02.000Z","type":"tool-result","toolName":"get-user","toolResult":{"__trimmed":true,"originalBytes":90000,"keptBytes":512,"preview":"..."}},
			{"id":"l4","timestamp":"2026-12-03T09:00:03.000Z","type":"step-stats","stepStats":{"requestType":"llm","provider":"anthropic","model":"claude-sonnet-4-5","usage":{"inputTokens":1200,"cachedInputTokens":1000,"cachedWriteTokens":0,"outputTokens":42,"reasoningOutputTokens":0}}},
			{"id":"l5","timestamp":"2026-12-03T09:00:04.000Z","type":"future-kind","detail":1}
		],"total":5}`,
	})
	defer platform.Close()

	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: "oct_sk_key"})
	if err != nil {
		panic(err)
	}
	logs, err := client.AgentSessions.GetLogs(context.Background(), "sess_1", octavus.GetLogsOptions{ExcludeModelRequests: true})
	if err != nil {
		panic(err)
	}
	if logs.Expired() {
		fmt.Println("expired")
		return
	}
	for _, entry := range logs.Entries {
		decoded, err := entry.Decode()
		if err != nil {
			panic(err)
		}
		switch e := decoded.(type) {
		case *octavus.TriggerLogEntry:
			fmt.Println("trigger", e.TriggerName)
		case *octavus.ToolCallLogEntry:
			fmt.Println("call", e.ToolName, e.ToolArguments)
		case *octavus.ToolResultLogEntry:
			if tv, ok := octavus.AsTrimmedValue(e.ToolResult); ok {
				fmt.Println("result", e.ToolName, "trimmed from", tv.OriginalBytes, "bytes")
			}
		case *octavus.StepStatsLogEntry:
			fmt.Println("step", e.StepStats.Model, e.StepStats.Usage.InputTokens, "tokens in")
		default:
			fmt.Println("other", entry.Type, string(entry.Raw))
		}
	}
	// Output:
	// platform got: GET /api/agent-sessions/sess_1/logs?excludeModelRequests=true
	// trigger user-message
	// call get-user map[id:u1]
	// result get-user trimmed from 90000 bytes
	// step claude-sonnet-4-5 1200 tokens in
	// other future-kind {"id":"l5","timestamp":"2026-12-03T09:00:04.000Z","type":"future-kind","detail":1}
}

// Present a rotating credential (a federated workload-identity token, say):
// APIKeyFunc is asked for each request and each retry, so the Client never
// holds a stale token.
func ExampleClientOptions_apiKeyFunc() {
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("platform got:", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"agents":[]}`)
	}))
	defer platform.Close()

	var generation atomic.Int64
	client, err := octavus.NewClient(octavus.ClientOptions{
		BaseURL: platform.URL,
		APIKeyFunc: func(ctx context.Context) (string, error) {
			// Fetch or refresh the current token here (cache it: this runs
			// for every request).
			return fmt.Sprintf("federated-token-%d", generation.Add(1)), nil
		},
		TraceModelRequests: true, // sends X-Octavus-Trace: true as well
	})
	if err != nil {
		panic(err)
	}
	for range 2 {
		if _, err := client.Agents.List(context.Background()); err != nil {
			panic(err)
		}
	}
	// Output:
	// platform got: Bearer federated-token-1
	// platform got: Bearer federated-token-2
}

func ExampleClient_SessionURL() {
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: "https://octavus.ai"})
	if err != nil {
		panic(err)
	}
	// Link the session's activity from your own admin view.
	fmt.Println(client.SessionURL("sess_1"))
	// Output: https://octavus.ai/platform/sessions/sess_1
}

func ExampleClient_AgentURL() {
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: "https://octavus.ai"})
	if err != nil {
		panic(err)
	}
	fmt.Println(client.AgentURL("agent_1"))
	// Output: https://octavus.ai/platform/agents/agent_1
}

// Tell the platform's own tools apart from yours in a stream.
func ExampleIsOctavusMCPTool() {
	for _, name := range []string{octavus.MCPToolActivate, octavus.SkillToolSetup, "get-user"} {
		fmt.Println(name, octavus.IsOctavusMCPTool(name), octavus.IsOctavusSkillTool(name))
	}
	// Output:
	// octavus_mcp_activate true false
	// octavus_skill_setup false true
	// get-user false false
}

// A minted token marshals in the platform's shape, expiresAt exactly as it
// was received: hand it on to a runner or a browser as JSON.
func ExampleMintTokenResponse_MarshalJSON() {
	var minted octavus.MintTokenResponse
	if err := json.Unmarshal([]byte(`{"token":"oct_et_2f9c","jti":"tok_81","expiresAt":"2026-12-03T10:00:00.000Z"}`), &minted); err != nil {
		panic(err)
	}
	b, err := json.Marshal(minted)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output: {"token":"oct_et_2f9c","jti":"tok_81","expiresAt":"2026-12-03T10:00:00.000Z"}
}
