// Command quickstart is the README's quick start, whole: a net/http server
// with the two routes of the Octavus HTTP transport and one tool in Go.
//
//	go run ./examples/quickstart
//
// With OCTAVUS_API_URL unset it starts a scripted fake platform
// (octavustest) in the same process, so it runs without an account. Set
// OCTAVUS_API_URL, OCTAVUS_API_KEY and OCTAVUS_AGENT_ID to use a real agent,
// and ADDR to listen elsewhere than localhost:8080.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "localhost:8080"
	}
	baseURL, apiKey, agentID := os.Getenv("OCTAVUS_API_URL"), os.Getenv("OCTAVUS_API_KEY"), os.Getenv("OCTAVUS_AGENT_ID")
	if baseURL == "" {
		// The fake platform runs until the program exits.
		platform, id := fakePlatform()
		baseURL, apiKey, agentID = platform.URL, platform.APIKey, id
		fmt.Println("No OCTAVUS_API_URL set: using a scripted fake platform at", baseURL)
	}
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: baseURL, APIKey: apiKey})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	fmt.Printf("Listening on %[1]s. Try:\n"+
		"  curl -X POST %[1]s/api/sessions\n"+
		"  curl -N %[1]s/api/trigger -H 'Content-Type: application/json' -d '{\"sessionId\":\"<its sessionId>\",\"type\":\"trigger\",\"triggerName\":\"user-message\",\"input\":{\"USER_MESSAGE\":\"Who am I?\"}}'\n", url)
	srv := &http.Server{Handler: routes(client, agentID), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// routes are the app's two routes: the server creates a session before the
// chat renders, and the browser's @octavus/client-sdk posts each message
// (and each tool result of the browser) to /api/trigger.
func routes(client *octavus.Client, agentID string) http.Handler {
	mux := http.NewServeMux()
	// POST /api/sessions -> {"sessionId": "..."}
	mux.HandleFunc("POST /api/sessions", func(w http.ResponseWriter, r *http.Request) {
		sessionID, err := client.AgentSessions.Create(r.Context(), agentID, map[string]any{"COMPANY_NAME": "Acme Corp"})
		if err != nil {
			log.Printf("creating a session: %v", err)
			http.Error(w, "could not create a session", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"sessionId": sessionID})
	})
	// POST /api/trigger {sessionId, type, ...} -> the agent's answer as Server-Sent Events
	mux.Handle("POST /api/trigger", client.AgentSessions.Handler(octavus.HandlerOptions{
		Tools: octavus.ToolHandlers{
			// Tool decodes the call's arguments into accountArgs (a mistyped
			// field becomes a tool error the model can act on) and encodes
			// the result.
			"get-user-account": octavus.Tool(getUserAccount),
		},
		// Check that the signed-in user owns the session before anything
		// reaches the platform.
		Authorize: func(r *http.Request, sessionID string) error { return nil },
	}))
	return mux
}

type accountArgs struct {
	UserID string `json:"userId"`
}

type account struct {
	Name string `json:"name"`
	Plan string `json:"plan"`
}

// getUserAccount is a server tool: it runs here, and its result goes back
// to the agent without a round trip to the browser.
func getUserAccount(ctx context.Context, args accountArgs) (account, error) {
	return account{Name: "Demo User", Plan: "pro"}, nil
}

// fakePlatform starts a scripted platform with one agent, which looks the
// user up with get-user-account and answers with what it found.
func fakePlatform() (*octavustest.Server, string) {
	platform := octavustest.NewServer()
	agentID := platform.AddAgent(octavustest.Agent{Name: "Quick start", Script: []octavustest.Turn{
		octavustest.Repeat(octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			if len(req.ToolResults) == 0 {
				return octavustest.Stream(octavustest.Text("Let me look you up."), octavustest.ToolCall{Name: "get-user-account"})
			}
			found, _ := req.ToolResults[0].Result.(map[string]any)
			return octavustest.Stream(octavustest.Text(fmt.Sprintf("You are %v, on the %v plan.", found["name"], found["plan"])))
		})),
	}})
	return platform, agentID
}
