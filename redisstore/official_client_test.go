package redisstore_test

// The browser is the official client: OctavusChat 6.4.0 with
// createPollingTransport (conformance/node/polling-driver.mjs) against two
// replicas behind a load balancer in this process, which sends the trigger
// to replica A and the polls to replica B (or, across a page refresh, the
// first page's polls to A and the new page's observe() to B). Both must end
// with the same UIMessages as the same client's plain SSE chat
// (createHttpTransport, conformance/node/chat-client-6.4.mjs) on replica A,
// which it talks to directly: the long SSE response does not go through
// the test's httputil.ReverseProxy.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testproc"
	"github.com/octavus-go/octavus/octavustest"
)

const (
	pollingDriver = "../conformance/node/polling-driver.mjs"
	chatClient64  = "../conformance/node/chat-client-6.4.mjs"
	// driverTimeout is the drivers' own deadline; they print their state
	// when they give up.
	driverTimeout = 30 * time.Second
)

// requireOfficialClient returns the folder of the official SDKs 6.4.0
// (OCTAVUS_ORACLE_DIR, else ../shared/oracle beside the repository), or
// skips t without them or node (fails under CI=true).
func requireOfficialClient(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OCTAVUS_ORACLE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "oracle")
	}
	dir, _ = filepath.Abs(dir)
	_, statErr := os.Stat(filepath.Join(dir, "client-sdk-6.4.0.mjs"))
	_, nodeErr := exec.LookPath("node")
	if statErr == nil && nodeErr == nil {
		return dir
	}
	msg := fmt.Sprintf("the official client 6.4.0 (OCTAVUS_ORACLE_DIR or ../shared/oracle: %v) or node (%v) is missing", statErr, nodeErr)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	t.Skip(msg)
	return ""
}

// officialScript: reasoning and the record tool (run on the server: it
// answers {"name": "Ada"}), then an answer that stalls halfway until
// release is closed.
func officialScript(release <-chan struct{}) []octavustest.Turn {
	return []octavustest.Turn{
		octavustest.Stream(octavustest.Reasoning("Let me ", "look you up."), octavustest.ToolCall{ID: "call_1", Name: "record", Args: map[string]any{"id": "u1"}}),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			name := fmt.Sprint(req.ToolResults[0].Result.(map[string]any)["name"])
			return octavustest.Stream(octavustest.Text("Hello ", name, ", "), octavustest.Stall(release), octavustest.Text("how ", "can I help?"))
		}),
	}
}

const officialAnswer = "Hello Ada, how can I help?"

// balancer is the load balancer in front of the replicas: POST
// /api/sessions it answers itself (a session of the fake platform with
// officialScript); the rest it sends where route says.
type balancer struct {
	c       *cluster
	srv     *httptest.Server
	route   func(r *http.Request) *replica
	release chan struct{}
	once    sync.Once
	// releaseOn, when set, closes release once a poll it matches was
	// answered "streaming".
	releaseOn func(r *http.Request) bool

	mu       sync.Mutex
	sessions []string
	served   map[string]int // requests per replica
}

func newBalancer(c *cluster, gated bool, route func(r *http.Request) *replica) *balancer {
	lb := &balancer{c: c, route: route, release: make(chan struct{}), served: map[string]int{}}
	if !gated {
		close(lb.release)
	}
	lb.srv = httptest.NewServer(http.HandlerFunc(lb.serve))
	c.t.Cleanup(lb.srv.Close)
	return lb
}

func (lb *balancer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/api/sessions" {
		id := lb.c.platform.AddSession(octavustest.Session{AgentID: lb.c.agentID})
		lb.c.platform.SetScript(id, officialScript(lb.release)...)
		lb.mu.Lock()
		lb.sessions = append(lb.sessions, id)
		lb.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"sessionId": id})
		return
	}
	to := lb.route(r)
	lb.mu.Lock()
	lb.served[to.Name]++
	lb.mu.Unlock()

	target, err := url.Parse(to.URL)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = lb.c.http.Transport
	proxy.FlushInterval = -1
	if lb.releaseOn != nil && lb.releaseOn(r) {
		proxy.ModifyResponse = func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			var res pollResult
			if json.Unmarshal(body, &res) == nil && res.Status == "streaming" {
				lb.once.Do(func() { close(lb.release) })
			}
			return nil
		}
	}
	proxy.ServeHTTP(w, r)
}

// platformLog lists the platform's requests, for failure reports.
func platformLog(c *cluster) string {
	var b strings.Builder
	for _, r := range c.platform.Requests() {
		fmt.Fprintf(&b, "  #%d %s %s served=%v aborted=%v %s\n", r.Seq, r.Method, r.Path, r.Served, r.Aborted, r.Body)
	}
	return b.String()
}

// runDriver runs a node driver with job and returns what it printed.
func runDriver(t *testing.T, ctx context.Context, oracle, script string, job map[string]any, diag func() string) map[string]json.RawMessage {
	t.Helper()
	job["timeoutMs"] = driverTimeout.Milliseconds()
	in, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "OCTAVUS_ORACLE_DIR="+oracle)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s\n%s", script, err, testproc.Indent(stdout.String()), testproc.Indent(stderr.String()), diag())
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%s printed no result: %v\n%s", script, err, stdout.String())
	}
	return out
}

// endState is the comparable end of a chat: its status, error and
// messages, with the messages' ids numbered in order of appearance and
// their createdAt checked and dropped.
func endState(t *testing.T, out map[string]json.RawMessage) any {
	t.Helper()
	var msgs []map[string]any
	if err := json.Unmarshal(out["messages"], &msgs); err != nil {
		t.Fatalf("messages: %v in %s", err, out["messages"])
	}
	ids := map[string]string{}
	for i, m := range msgs {
		id, _ := m["id"].(string)
		if id == "" {
			t.Fatalf("messages[%d] has no id", i)
		}
		if _, seen := ids[id]; !seen {
			ids[id] = fmt.Sprintf("msg-%d", len(ids)+1)
		}
		m["id"] = ids[id]
		created, _ := m["createdAt"].(string)
		if _, err := time.Parse(time.RFC3339Nano, created); err != nil {
			t.Fatalf("messages[%d].createdAt %q: %v", i, created, err)
		}
		delete(m, "createdAt")
	}
	var status string
	_ = json.Unmarshal(out["status"], &status)
	var errValue any
	_ = json.Unmarshal(out["error"], &errValue)
	return map[string]any{"status": status, "error": errValue, "messages": msgs}
}

func lastText(t *testing.T, out map[string]json.RawMessage) string {
	t.Helper()
	var msgs []struct {
		Parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(out["messages"], &msgs); err != nil || len(msgs) == 0 {
		t.Fatalf("messages %s: %v", out["messages"], err)
	}
	var b strings.Builder
	for _, p := range msgs[len(msgs)-1].Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func TestOfficialClientAcrossReplicas(t *testing.T) {
	oracle := requireOfficialClient(t)
	c := newCluster(t, 5*time.Second)
	// The plain SSE chat's sessions: replica A creates them, of an agent
	// whose script does not stall.
	ungated := make(chan struct{})
	close(ungated)
	plainAgent := c.platform.AddAgent(octavustest.Agent{Name: "Plain", Script: officialScript(ungated)})
	a, b := c.start("replica-a", "OCTAVUS_AGENT_ID="+plainAgent), c.start("replica-b")
	diag := func() string { return a.Logs() + b.Logs() }
	input := map[string]any{"USER_MESSAGE": "Who am I?"}

	// The plain SSE chat, straight to replica A.
	plainOut := runDriver(t, c.ctx, oracle, chatClient64, map[string]any{
		"url":   a.URL,
		"sends": []map[string]any{{"triggerName": "user-message", "input": input, "userMessage": "Who am I?"}},
	}, diag)
	plain := endState(t, plainOut)
	if got := lastText(t, plainOut); got != officialAnswer {
		raw, _ := json.Marshal(plainOut)
		t.Fatalf("the plain SSE chat's answer %q, want %q\n%s\n%s", got, officialAnswer, raw, platformLog(c))
	}

	isPoll := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/poll") }
	cases := []struct {
		name, mode string
		gated      bool
		route      func(r *http.Request) *replica
		releaseOn  func(r *http.Request) bool
	}{
		// The trigger goes to A, every poll to B.
		{"send", "send", false, func(r *http.Request) *replica {
			if isPoll(r) {
				return b
			}
			return a
		}, nil},
		// The first page triggers and polls on A; after the refresh, the
		// new page's observe() polls B. The answer goes on once B has
		// answered a poll "streaming".
		{"reload", "reload", true, func(r *http.Request) *replica {
			if isPoll(r) && r.URL.Query().Get("page") == "2" {
				return b
			}
			return a
		}, func(r *http.Request) bool { return isPoll(r) && r.URL.Query().Get("page") == "2" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(c.recorded())
			lb := newBalancer(c, tc.gated, tc.route)
			lb.releaseOn = tc.releaseOn
			out := runDriver(t, c.ctx, oracle, pollingDriver, map[string]any{
				"url": lb.srv.URL, "mode": tc.mode, "triggerName": "user-message", "input": input, "userMessage": "Who am I?",
			}, diag)
			if got := endState(t, out); !reflect.DeepEqual(got, plain) {
				gotJSON, _ := json.MarshalIndent(got, "", "  ")
				plainJSON, _ := json.MarshalIndent(plain, "", "  ")
				t.Fatalf("the polling chat across replicas ends differently from the plain SSE chat:\npolling:\n%s\nplain:\n%s", gotJSON, plainJSON)
			}
			recs := c.recorded()[before:]
			if len(recs) != 1 || recs[0].Owner != "replica-a" {
				t.Fatalf("the tool ran %d times (%+v), want once, on replica-a", len(recs), recs)
			}
			lb.mu.Lock()
			servedB := lb.served["replica-b"]
			session := lb.sessions[0]
			lb.mu.Unlock()
			if servedB == 0 {
				t.Fatal("replica B answered no poll")
			}
			if n := len(c.triggerPOSTs(session)); n != 2 {
				t.Fatalf("%d trigger POSTs on the platform, want 2 (the trigger and its continuation)", n)
			}
			if tc.mode == "reload" {
				var polls map[string][]int
				if err := json.Unmarshal(out["polls"], &polls); err != nil {
					t.Fatal(err)
				}
				if p2 := polls["2"]; len(p2) == 0 || p2[0] != 0 {
					t.Fatalf("the new page's polls: %v, want them from cursor 0", p2)
				}
				if strings.Contains(string(out["firstPageMessages"]), "can I help") {
					t.Fatalf("the first page saw the whole answer: %s", out["firstPageMessages"])
				}
			}
		})
	}
}
