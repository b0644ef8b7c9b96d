package conformance

// Infrastructure of TestClientChat: the two app servers (the Go example
// examples/nethttp and its Node port node/reference-server.mjs) run as real
// processes, and the official browser client driven by node/chat-client.mjs.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testproc"
	"github.com/octavus-go/octavus/octavustest"
)

const (
	// buildTimeout bounds `go build` of the example (a cold cache with
	// -race takes a while).
	buildTimeout = 5 * time.Minute
	// clientCaseTimeout bounds one case: both app servers, both chat
	// clients, and the platform checks.
	clientCaseTimeout = 60 * time.Second
	// chatClientTimeout is the chat client's own deadline; it prints its
	// state on stderr when it gives up, which says more than a kill.
	chatClientTimeout = 20 * time.Second
)

// buildExample builds the example program pkg (e.g. "examples/nethttp")
// into a temporary folder of t (the parent test, so that every case reuses
// the binary) and returns its path.
func buildExample(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	if err := testproc.Build(ctx, "..", "./"+pkg, bin); err != nil { // ".." is the module root
		t.Fatal(err)
	}
	return bin
}

// appServer is a running app server process with the HTTP-transport
// routes.
type appServer = testproc.Process

// startAppServer starts argv with env added to the environment and waits,
// at most until ctx is done, for its "Listening on <url>" line; it is
// stopped when t ends (testproc.Start).
func startAppServer(t *testing.T, ctx context.Context, name string, argv, env []string) *appServer {
	t.Helper()
	return testproc.Start(t, ctx, name, argv, env)
}

// chatJob is what node/chat-client.mjs reads on stdin.
type chatJob struct {
	URL          string                    `json:"url"`
	SessionInput map[string]any            `json:"sessionInput,omitempty"`
	Sends        []chatSend                `json:"sends"`
	ClientTools  map[string]clientToolSpec `json:"clientTools,omitempty"`
	// SessionID, when set, is the session id the chat uses in place of
	// the one POST /api/sessions gave.
	SessionID *string `json:"sessionId,omitempty"`
	// Transport is "http" (the default) or "socket"; only
	// node/chat-client-6.4.mjs reads it (the 2.0.0 drivers are one each).
	Transport string `json:"transport,omitempty"`
	TimeoutMs int64  `json:"timeoutMs"`
}

// chatSend is one chat.send(triggerName, input, {userMessage: {content}}).
// With StopOnFirstTextDelta, chat.stop() is called once the answer has
// some text. With Retry it is chat.retry() instead (6.4.0 client only).
type chatSend struct {
	TriggerName          string         `json:"triggerName,omitempty"`
	Input                map[string]any `json:"input,omitempty"`
	UserMessage          string         `json:"userMessage,omitempty"`
	StopOnFirstTextDelta bool           `json:"stopOnFirstTextDelta,omitempty"`
	Retry                bool           `json:"retry,omitempty"`
}

// clientToolSpec is a client tool. An automatic one throws Error when set,
// else returns Result. An Interactive one is the string 'interactive' in
// clientTools; its pending calls are cancelled with Error as the reason
// when set, else submitted with Result.
type clientToolSpec struct {
	Interactive bool    `json:"interactive,omitempty"`
	Result      any     `json:"result,omitempty"`
	Error       *string `json:"error,omitempty"`
}

// chatOutput is what node/chat-client.mjs prints: where the chat ended.
type chatOutput struct {
	SessionID       string          `json:"sessionId"`
	Status          string          `json:"status"`
	Error           json.RawMessage `json:"error"`
	Messages        json.RawMessage `json:"messages"`
	Statuses        []string        `json:"statuses"`
	Requests        json.RawMessage `json:"requests"`
	ClientToolCalls json.RawMessage `json:"clientToolCalls"`
	Callbacks       []string        `json:"callbacks"`
	Stopped         bool            `json:"stopped"`
	// CanRetry is chat.canRetry before each retry (6.4.0 client only).
	CanRetry []bool `json:"canRetry"`
}

// The chat client drivers: the 2.0.0 client from npm and the 6.4.0 oracle.
const (
	chatClient20 = "node/chat-client.mjs"
	chatClient64 = "node/chat-client-6.4.mjs"
)

// runChatClient runs the chat client driver (chatClient20 or chatClient64)
// with job and decodes its output. diag adds to a failure report.
func runChatClient(t *testing.T, ctx context.Context, driver string, job chatJob, diag func() string) (chatOutput, []byte) {
	t.Helper()
	job.TimeoutMs = chatClientTimeout.Milliseconds()
	in, err := json.Marshal(job)
	if err != nil {
		t.Fatalf("encoding the chat job: %v", err)
	}
	stdout, stderr, err := runNodeScript(ctx, driver, in)
	if ctx.Err() != nil {
		t.Fatalf("the chat client did not finish in time\nstdout:\n%s\nstderr:\n%s\n%s",
			testproc.Indent(stdout.String()), testproc.Indent(stderr.String()), diag())
	}
	if err != nil {
		t.Fatalf("the chat client failed: %v\nstdout:\n%s\nstderr:\n%s\n%s",
			err, testproc.Indent(stdout.String()), testproc.Indent(stderr.String()), diag())
	}
	var out chatOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("the chat client printed no result: %v\nstdout:\n%s\nstderr:\n%s\n%s",
			err, testproc.Indent(stdout.String()), testproc.Indent(stderr.String()), diag())
	}
	return out, stdout.Bytes()
}

// view is the comparable part of a chat's end state: everything the chat
// client reports except the session id, with the messages normalised.
func (o chatOutput) view() (jsonValue, error) {
	messages, err := normalizeMessages(o.Messages)
	if err != nil {
		return jsonValue{}, err
	}
	v := map[string]any{
		"status":          o.Status,
		"error":           rawOrNull(o.Error),
		"messages":        messages,
		"statuses":        o.Statuses,
		"requests":        rawOrNull(o.Requests),
		"clientToolCalls": rawOrNull(o.ClientToolCalls),
		"callbacks":       o.Callbacks,
		"stopped":         o.Stopped,
	}
	if len(o.CanRetry) > 0 {
		v["canRetry"] = o.CanRetry
	}
	b, err := json.Marshal(v)
	if err != nil {
		return jsonValue{}, err
	}
	return decodeJSON(string(b)), nil
}

func rawOrNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}

// requireOracle skips t when the official SDKs at 6.4.0 are not there
// (findOracle's folder; node/oracle.mjs finds it the same way), except under
// CI=true, where that is a failure.
func requireOracle(t *testing.T) {
	t.Helper()
	server, why := findOracle()
	if server != "" {
		client := filepath.Join(filepath.Dir(server), "client-sdk-6.4.0.mjs")
		if _, err := os.Stat(client); err != nil {
			why = fmt.Sprintf("the 6.4.0 oracle has no client SDK: %v; set %s to the folder that holds both bundles", err, oracleDirEnv)
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why + " (CI=true: not skipping)")
	}
	t.Skip(why)
}

// createdAtOK stands for a message's createdAt that is a valid time.
const createdAtOK = "(valid time)"

// normalizeMessages replaces what the client SDK makes up at random: each
// message id (generateId(): "<Date.now()>-<random>") becomes "msg-N" in
// order of first appearance, each createdAt (a Date, so an ISO time) becomes
// createdAtOK once checked. Part ids are left alone: in these cases they
// all come from the platform (toolCallId), which is deterministic.
func normalizeMessages(raw json.RawMessage) (any, error) {
	var msgs []map[string]any
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	ids := map[string]string{}
	for i, m := range msgs {
		id, ok := m["id"].(string)
		if !ok || id == "" {
			return nil, fmt.Errorf("messages[%d]: no string id", i)
		}
		if _, seen := ids[id]; !seen {
			ids[id] = fmt.Sprintf("msg-%d", len(ids)+1)
		}
		m["id"] = ids[id]
		created, ok := m["createdAt"].(string)
		if !ok {
			return nil, fmt.Errorf("messages[%d]: createdAt %v is not a string", i, m["createdAt"])
		}
		if _, err := time.Parse(time.RFC3339Nano, created); err != nil {
			return nil, fmt.Errorf("messages[%d]: createdAt: %w", i, err)
		}
		m["createdAt"] = createdAtOK
	}
	if len(ids) != len(msgs) {
		return nil, fmt.Errorf("%d messages share %d ids", len(msgs), len(ids))
	}
	return msgs, nil
}

// pretty renders a JSON value indented, keys sorted.
func pretty(v jsonValue) string {
	if !v.valid {
		return v.compact()
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(v.v); err != nil {
		return v.compact()
	}
	return "  " + b.String()
}

// triggerRequests waits until every trigger POST the platform received has
// been served and returns them in arrival order.
func triggerRequests(ctx context.Context, p *octavustest.Server) ([]octavustest.Request, error) {
	var out []octavustest.Request
	for _, r := range p.Requests() {
		if r.Method != "POST" || !strings.HasSuffix(r.Path, "/trigger") {
			continue
		}
		done, err := p.WaitDone(ctx, r.Seq)
		if err != nil {
			return nil, fmt.Errorf("trigger POST #%d (%s) is still open on the platform: the app server neither read it to the end nor aborted it (%w)", r.Seq, r.Path, err)
		}
		out = append(out, done)
	}
	return out, nil
}

// requestLog is one line per platform request, for failure reports.
func requestLog(p *octavustest.Server) []string {
	var lines []string
	for _, r := range p.Requests() {
		line := fmt.Sprintf("#%d %s %s", r.Seq, r.Method, r.Path)
		if r.RawQuery != "" {
			line += "?" + r.RawQuery
		}
		if len(r.Body) > 0 {
			line += " " + string(r.Body)
		}
		line += fmt.Sprintf(" (served %v, aborted %v)", r.Served, r.Aborted)
		lines = append(lines, line)
	}
	return lines
}
