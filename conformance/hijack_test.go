package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// hijackApp is an in-process app server with the two routes of the HTTP
// transport (as examples/nethttp wires them), its trigger route a Handler
// with or without HandlerOptions.Hijack; hijacked counts the connections
// net/http handed over.
type hijackApp struct {
	srv      *httptest.Server
	hijacked atomic.Int32
}

func startHijackApp(t *testing.T, p *octavustest.Server, agentID string, hijack, retries bool) *hijackApp {
	t.Helper()
	maxRetries := -1
	if retries {
		maxRetries = 0 // the default
	}
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: p.URL, APIKey: p.APIKey, MaxRetries: maxRetries})
	if err != nil {
		t.Fatal(err)
	}
	tools := octavus.ToolHandlers{
		serverTool: func(context.Context, map[string]any) (any, error) { return account, nil },
	}
	trigger := client.AgentSessions.Handler(octavus.HandlerOptions{Tools: tools, Hijack: hijack})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/sessions", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Input map[string]any `json:"input"`
		}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				http.Error(w, `{"error":"body must be JSON"}`, http.StatusBadRequest)
				return
			}
		}
		id, err := client.AgentSessions.Create(r.Context(), agentID, body.Input)
		if err != nil {
			http.Error(w, `{"error":"could not create a session"}`, http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"sessionId": id})
	})
	mux.Handle("POST /api/trigger", trigger)
	app := &hijackApp{}
	app.srv = httptest.NewUnstartedServer(mux)
	app.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateHijacked {
			app.hijacked.Add(1)
		}
	}
	app.srv.Start()
	t.Cleanup(func() { // before the platform's cleanup, registered earlier
		app.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := trigger.Shutdown(ctx); err != nil {
			t.Errorf("hijacked streams still open at the end: %v", err)
		}
	})
	return app
}

// TestClientChatHijack plays conversations with the server tool through the
// official browser client 6.4.0 (OctavusChat over createHttpTransport,
// node/chat-client-6.4.mjs) against an app server whose Handler hijacks its
// streams (HandlerOptions.Hijack), and against the same app server with the
// usual Handler: both end with the case's end state (UIMessages, statuses,
// requests, callbacks), send the platform the same trigger bodies and
// abort the same platform requests.
//
// The stop cases are the browser's stop(): the hijacked stream must notice
// at once that the browser left (on Linux the Handler's epoll watcher; the
// default 15 s heartbeat would come too late), or stop-then-busy's
// platform, which runs the stopped execution on until the app server
// cancels it, answers SESSION_BUSY to every retry of the next send.
func TestClientChatHijack(t *testing.T) {
	requireNode(t)
	requireOracle(t)
	cases := map[string]chatCase{}
	for _, c := range clientChatCases64() {
		cases[c.name] = c
	}
	names := []string{"server-tool", "mixed-tools"}
	if runtime.GOOS == "linux" {
		names = append(names, "stop", "stop-then-busy")
	}
	for _, name := range names {
		c, ok := cases[name]
		if !ok {
			t.Fatalf("no chat case %q", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), clientCaseTimeout)
			defer cancel()
			run := func(hijack bool) (jsonValue, []octavustest.Request, int32) {
				label := fmt.Sprintf("Handler(HandlerOptions{Hijack: %v})", hijack)
				p, env := startCasePlatform(t, c.platform, c.script, c.scriptFor, c.retries)
				agentID := ""
				for _, kv := range env {
					if v, ok := strings.CutPrefix(kv, "OCTAVUS_AGENT_ID="); ok {
						agentID = v
					}
				}
				app := startHijackApp(t, p, agentID, hijack, c.retries)
				diag := func() string {
					return fmt.Sprintf("%s\nplatform requests:\n%s", label, joinLines(requestLog(p)))
				}
				job := c.job
				job.URL = app.srv.URL
				out, raw := runChatClient(t, ctx, chatClient64, job, diag)
				triggers, err := triggerRequests(ctx, p)
				if err != nil {
					t.Fatalf("%v\n%s", err, diag())
				}
				for _, problem := range abortedProblems(triggers, c.aborted) {
					t.Errorf("%s: %s\n%s", label, problem, diag())
				}
				if c.check != nil {
					if err := c.check(triggers); err != nil {
						t.Errorf("%s: %v\n%s", label, err, diag())
					}
				}
				v, err := out.view()
				if err != nil {
					t.Fatalf("%s: the chat's end state: %v\n%s\n%s", label, err, raw, diag())
				}
				return v, triggers, app.hijacked.Load()
			}
			usual, usualTriggers, usualHijacked := run(false)
			hijacked, hijackedTriggers, n := run(true)

			want := c.want.json(t)
			if c.wantGo != nil {
				want = c.wantGo.json(t)
			}
			if !usual.equal(want) {
				t.Errorf("the usual Handler does not end as expected:\n%s", pathDiff("expected", want, "usual", usual))
			}
			if !hijacked.equal(usual) {
				t.Errorf("the two runs end differently:\n%s\nhijacked, end state:\n%s", pathDiff("usual", usual, "hijacked", hijacked), pretty(hijacked))
			}
			if a, b := triggerBodyValues(usualTriggers), triggerBodyValues(hijackedTriggers); !listsEqual(a, b) {
				t.Errorf("the platform got different trigger bodies:\n%s", renderDiff("usual", a, "hijacked", b))
			}
			if usualHijacked != 0 {
				t.Errorf("the usual Handler hijacked %d connections", usualHijacked)
			}
			// One stream per trigger or continue the browser posted.
			if int(n) != len(c.want.requests) || n == 0 {
				t.Errorf("the Hijack Handler hijacked %d connections, want one per transport request (%d)", n, len(c.want.requests))
			}
		})
	}
}
