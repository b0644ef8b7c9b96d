package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// This file holds the conformance runner for workers and the deferred
// start (issue 11): client.workers.execute / continue / generate against
// POST /api/agents/{id}/execute, and client.agentSessions.start followed by
// session.execute against POST /api/agent-sessions/start then /trigger.
//
// A worker scenario (worker-scenarios/<name>.json) is played through the
// 6.4.0 oracle (node/run-worker.mjs) and through octavus-go
// (worker_gosdk_test.go), each against its own fresh scripted platform, and
// the runner compares:
//
//  1. each stream's SSE payloads (as JSON) and whether it ended with
//     data: [DONE] (execute and continue: one stream; start: one per request);
//  2. every request the SDK sent: method, path and JSON body, in order (the
//     path shows which endpoint, and which learned session id, a leg used);
//  3. the facts: generate's result or WorkerError (name, message, sessionId,
//     details), and for a start the ids passed to OnSessionCreated and the
//     session id after each request.
//
// The oracle's outcome is recorded in recorded-worker/<name>.json, checked
// against the live oracle when it is there (a stale recording fails) and
// used alone when it is not, so that a clone without ../shared still
// checks 6.4.0. -update-recordings rewrites the recordings.

// Kinds of worker scenario.
const (
	kindWorkerExecute  = "worker-execute"
	kindWorkerContinue = "worker-continue"
	kindWorkerGenerate = "worker-generate"
	kindStart          = "start"
)

const (
	// workerScenarioDir holds the built-in worker and start scenarios.
	workerScenarioDir = "worker-scenarios"
	// recordedWorkerDir holds the 6.4.0 oracle's outcome of each.
	recordedWorkerDir = "recorded-worker"
	// regenerateWorker is the command that rewrites those recordings.
	regenerateWorker = "go test ./conformance -run 'TestWorkerConformance' -update-recordings"
)

// workerScenario is one worker-scenarios/*.json file. Tools, retries and
// legs mean what they mean in a /trigger scenario (FORMAT.md); a leg
// answers the SDK's next POST, whatever its path.
type workerScenario struct {
	Name  string `json:"name"`
	About string `json:"about"`
	// Kind is worker-execute, worker-continue, worker-generate or start.
	Kind string `json:"kind"`
	// AgentID is the worker agent (worker kinds) or the agent the session
	// is started for (start).
	AgentID string `json:"agentId"`
	// Input is the worker's input (worker-execute, worker-generate), or
	// the session input of a start (optional there).
	Input json.RawMessage `json:"input,omitempty"`
	// ExecutionID and ToolResults are what worker-continue passes.
	ExecutionID string          `json:"executionId,omitempty"`
	ToolResults json.RawMessage `json:"toolResults,omitempty"`
	// DynamicToolSchemas are the worker options' dynamicToolSchemas.
	DynamicToolSchemas json.RawMessage `json:"dynamicToolSchemas,omitempty"`
	// IdempotencyKey is the start's key, fixed so that bodies compare.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// Requests are the session requests a start executes, in turn.
	Requests []json.RawMessage   `json:"requests,omitempty"`
	Tools    map[string]toolSpec `json:"tools,omitempty"`
	Retries  int                 `json:"retries,omitempty"`
	Legs     []leg               `json:"legs"`

	file string
}

// loadWorkerScenarios reads every *.json file of dir, sorted by name.
func loadWorkerScenarios(dir string) ([]*workerScenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*workerScenario
	for _, f := range files {
		var sc workerScenario
		if err := decodeFile(f, &sc); err != nil {
			return nil, err
		}
		sc.file = f
		if err := sc.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if want := sc.Name + ".json"; filepath.Base(f) != want {
			return nil, fmt.Errorf("%s: file name should be %s", f, want)
		}
		out = append(out, &sc)
	}
	return out, nil
}

// isJSONObject reports whether raw is a JSON object.
func isJSONObject(raw json.RawMessage) bool {
	var m map[string]any
	return json.Unmarshal(raw, &m) == nil && m != nil
}

// isJSONArray reports whether raw is a JSON array.
func isJSONArray(raw json.RawMessage) bool {
	var a []any
	return json.Unmarshal(raw, &a) == nil && a != nil
}

// check reports what makes a worker scenario unusable.
func (sc *workerScenario) check() error {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	checkNameAbout(bad, sc.Name, sc.About)
	if sc.AgentID == "" {
		bad("agentId is empty")
	}
	if sc.Input != nil && !isJSONObject(sc.Input) {
		bad("input is not a JSON object")
	}
	worker := sc.Kind == kindWorkerExecute || sc.Kind == kindWorkerContinue || sc.Kind == kindWorkerGenerate
	switch sc.Kind {
	case kindWorkerExecute, kindWorkerGenerate:
		if sc.Input == nil {
			bad("%s needs an input", sc.Kind)
		}
	case kindWorkerContinue:
		if sc.ExecutionID == "" {
			bad("worker-continue needs an executionId")
		}
		if !isJSONArray(sc.ToolResults) {
			bad("worker-continue needs toolResults, a JSON array")
		}
		if sc.Input != nil {
			bad("worker-continue takes no input")
		}
	case kindStart:
		if sc.IdempotencyKey == "" {
			bad("start needs an idempotencyKey, fixed so that the bodies compare")
		}
		if len(sc.Requests) == 0 {
			bad("start needs requests")
		}
		for i, r := range sc.Requests {
			var req struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(r, &req); err != nil || (req.Type != "trigger" && req.Type != "continue") {
				bad("requests[%d] is not a trigger or continue request", i)
			}
		}
	default:
		bad("kind %q is not %s, %s, %s or %s", sc.Kind, kindWorkerExecute, kindWorkerContinue, kindWorkerGenerate, kindStart)
	}
	if sc.Kind != kindWorkerContinue && sc.ExecutionID != "" {
		bad("executionId is only for worker-continue")
	}
	if sc.Kind != kindWorkerContinue && sc.ToolResults != nil {
		bad("toolResults are only for worker-continue")
	}
	if sc.Kind != kindStart && (sc.IdempotencyKey != "" || sc.Requests != nil) {
		bad("idempotencyKey and requests are only for start")
	}
	if sc.DynamicToolSchemas != nil && (!worker || !isJSONArray(sc.DynamicToolSchemas)) {
		bad("dynamicToolSchemas is a JSON array, for the worker kinds")
	}
	if sc.Retries < 0 {
		bad("negative retries")
	}
	checkToolsAndLegs(bad, sc.Tools, sc.Legs)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// workerInputsDigest is the SHA-256 of everything of a worker scenario the
// oracle's run depends on (not its name or about).
func workerInputsDigest(sc *workerScenario) string {
	c := *sc
	c.Name, c.About = "", ""
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// post is one request an SDK sent to the scripted platform.
type post struct {
	method, path string
	body         []byte
}

// workerPlatform is a scripted platform for workers and deferred starts:
// it answers every POST to /api/agents/{id}/execute,
// /api/agent-sessions/start or /api/agent-sessions/{id}/trigger with the
// next leg, and records every request whatever its path, so that a wrong
// path shows up as a difference.
type workerPlatform struct {
	legServer

	posts []post // guarded by mu
}

// workerPaths are the paths the scripted platform answers.
var workerPaths = regexp.MustCompile(`^/api/(agents/[^/]+/execute|agent-sessions/start|agent-sessions/[^/]+/trigger)$`)

// newWorkerPlatform starts a fresh scripted platform, closed when the test
// ends.
func newWorkerPlatform(t *testing.T, legs []leg) *workerPlatform {
	t.Helper()
	p := &workerPlatform{}
	p.start(t, legs, p.serveHTTP)
	return p
}

func (p *workerPlatform) requests() []post {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]post(nil), p.posts...)
}

func (p *workerPlatform) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		p.logf("%s %s: reading body: %v", r.Method, r.URL, err)
		writeJSONError(w, http.StatusBadRequest, "unreadable body")
		return
	}
	p.mu.Lock()
	p.posts = append(p.posts, post{method: r.Method, path: r.URL.RequestURI(), body: body})
	p.mu.Unlock()
	if r.Method != http.MethodPost || !workerPaths.MatchString(r.URL.Path) {
		p.logf("%s %s: unknown endpoint -> 404", r.Method, r.URL)
		writeJSONError(w, http.StatusNotFound, "not found")
		return
	}
	p.serveNextLeg(w, r, body)
}

// workerRun is what one SDK did in one worker scenario.
type workerRun struct {
	streams [][]byte // the SSE bytes of each stream
	posts   []post
	facts   json.RawMessage // {"generate", "sessionCreated", "sessionIds"}, absent keys when not there
	log     []string
	stderr  string
}

// streamOutcome is one stream in the form the comparison uses.
type streamOutcome struct {
	payloads []jsonValue
	done     bool
}

// workerOutcome is one run in the form the comparison uses.
type workerOutcome struct {
	streams []streamOutcome
	posts   []jsonValue // {"method", "path", "body"}
	facts   jsonValue
}

// postValue renders one request for the comparison.
func postValue(p post) jsonValue {
	body := decodeJSON(string(p.body))
	var b any = map[string]any{"$raw": string(p.body)}
	if body.valid {
		b = body.v
	}
	return jsonValue{v: map[string]any{"method": p.method, "path": p.path, "body": b}, valid: true}
}

func workerOutcomeOf(r workerRun) workerOutcome {
	var out workerOutcome
	for _, s := range r.streams {
		st := parseSSE(s)
		out.streams = append(out.streams, streamOutcome{payloads: decodeAll(st.payloads), done: st.done})
	}
	for _, p := range r.posts {
		out.posts = append(out.posts, postValue(p))
	}
	facts := r.facts
	if facts == nil {
		facts = json.RawMessage(`{}`)
	}
	out.facts = decodeJSON(string(facts))
	return out
}

// diffWorkerOutcomes lists how got differs from want.
func diffWorkerOutcomes(wantLabel string, want workerOutcome, gotLabel string, got workerOutcome) []string {
	var problems []string
	if len(want.streams) != len(got.streams) {
		problems = append(problems, fmt.Sprintf("streams: %s has %d, %s %d", wantLabel, len(want.streams), gotLabel, len(got.streams)))
	}
	for i := 0; i < min(len(want.streams), len(got.streams)); i++ {
		w, g := want.streams[i], got.streams[i]
		if !listsEqual(w.payloads, g.payloads) {
			problems = append(problems, fmt.Sprintf("stream %d: SSE payloads differ:\n", i+1)+
				renderDiff(wantLabel+" payloads", w.payloads, gotLabel+" payloads", g.payloads))
		}
		if w.done != g.done {
			problems = append(problems, fmt.Sprintf("stream %d ends with data: [DONE]: %s %v, %s %v", i+1, wantLabel, w.done, gotLabel, g.done))
		}
	}
	if !listsEqual(want.posts, got.posts) {
		problems = append(problems, "requests (method, path, body) differ:\n"+
			renderDiff(wantLabel+" requests", want.posts, gotLabel+" requests", got.posts))
	}
	if !want.facts.equal(got.facts) {
		problems = append(problems, "facts (generate's outcome, session ids) differ:\n  "+
			strings.Join(jsonPathDiff("$", want.facts, got.facts), "\n  ")+"\n")
	}
	return problems
}

// workerNodeJob is what node/run-worker.mjs reads on stdin.
type workerNodeJob struct {
	SDK                string              `json:"sdk"`
	BaseURL            string              `json:"baseUrl"`
	APIKey             string              `json:"apiKey"`
	MaxRetries         int                 `json:"maxRetries"`
	Kind               string              `json:"kind"`
	AgentID            string              `json:"agentId"`
	Input              json.RawMessage     `json:"input,omitempty"`
	ExecutionID        string              `json:"executionId,omitempty"`
	ToolResults        json.RawMessage     `json:"toolResults,omitempty"`
	DynamicToolSchemas json.RawMessage     `json:"dynamicToolSchemas,omitempty"`
	IdempotencyKey     string              `json:"idempotencyKey,omitempty"`
	Requests           []json.RawMessage   `json:"requests,omitempty"`
	Tools              map[string]toolSpec `json:"tools"`
}

// runNodeWorker plays the scenario through the 6.4.0 oracle at sdk.
func runNodeWorker(t *testing.T, sc *workerScenario, sdk string) workerRun {
	t.Helper()
	p := newWorkerPlatform(t, sc.Legs)
	tools := sc.Tools
	if tools == nil {
		tools = map[string]toolSpec{}
	}
	job, err := json.Marshal(workerNodeJob{
		SDK: sdk, BaseURL: p.URL(), APIKey: apiKey, MaxRetries: sc.Retries,
		Kind: sc.Kind, AgentID: sc.AgentID, Input: sc.Input,
		ExecutionID: sc.ExecutionID, ToolResults: sc.ToolResults, DynamicToolSchemas: sc.DynamicToolSchemas,
		IdempotencyKey: sc.IdempotencyKey, Requests: sc.Requests, Tools: tools,
	})
	if err != nil {
		t.Fatalf("encoding the Node job: %v", err)
	}
	ctx, cancel := contextWithRunTimeout(t)
	defer cancel()
	stdout, stderr, err := runNodeScript(ctx, "node/run-worker.mjs", job)
	if ctx.Err() != nil {
		t.Fatalf("the 6.4.0 oracle did not finish within %v\nstdout so far:\n%s\nstderr:\n%s\nplatform log:\n%s",
			runTimeout, stdout.Bytes(), stderr.Bytes(), joinLines(p.requestLog()))
	}
	if err != nil {
		t.Fatalf("the 6.4.0 oracle failed: %v\nstderr:\n%s\nplatform log:\n%s", err, stderr.Bytes(), joinLines(p.requestLog()))
	}
	var out struct {
		Streams        []string        `json:"streams"`
		Generate       json.RawMessage `json:"generate,omitempty"`
		SessionCreated json.RawMessage `json:"sessionCreated,omitempty"`
		SessionIDs     json.RawMessage `json:"sessionIds,omitempty"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("the 6.4.0 oracle's output is not the JSON run-worker.mjs writes: %v\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	facts := map[string]json.RawMessage{}
	if out.Generate != nil {
		facts["generate"] = out.Generate
	}
	if out.SessionCreated != nil {
		facts["sessionCreated"] = out.SessionCreated
	}
	if out.SessionIDs != nil {
		facts["sessionIds"] = out.SessionIDs
	}
	factsJSON, _ := json.Marshal(facts)
	r := workerRun{posts: p.requests(), facts: factsJSON, log: p.requestLog(), stderr: stderr.String()}
	for _, s := range out.Streams {
		r.streams = append(r.streams, []byte(s))
	}
	return r
}

// workerRecording is the 6.4.0 oracle's outcome of one worker scenario, as
// stored in recorded-worker/<name>.json.
type workerRecording struct {
	Scenario string            `json:"scenario"`
	Oracle   string            `json:"oracle"`
	Inputs   string            `json:"inputs"`
	Streams  []recordedStream  `json:"streams"`
	Requests []json.RawMessage `json:"requests"`
	Facts    json.RawMessage   `json:"facts"`
}

type recordedStream struct {
	Payloads []json.RawMessage `json:"payloads"`
	Done     bool              `json:"done"`
}

func workerRecordingPath(sc *workerScenario) string {
	return filepath.Join(recordedWorkerDir, sc.Name+".json")
}

// writeWorkerRecording stores an oracle outcome as the scenario's recording.
func writeWorkerRecording(path string, sc *workerScenario, out workerOutcome) error {
	rec := workerRecording{Scenario: sc.Name, Oracle: recordedOracle, Inputs: workerInputsDigest(sc), Streams: []recordedStream{}, Requests: []json.RawMessage{}}
	item := func(v jsonValue) (json.RawMessage, error) {
		s, err := recordItem(v)
		return json.RawMessage(s), err
	}
	for _, s := range out.streams {
		rs := recordedStream{Payloads: []json.RawMessage{}, Done: s.done}
		for _, p := range s.payloads {
			raw, err := item(p)
			if err != nil {
				return err
			}
			rs.Payloads = append(rs.Payloads, raw)
		}
		rec.Streams = append(rec.Streams, rs)
	}
	for _, p := range out.posts {
		raw, err := item(p)
		if err != nil {
			return err
		}
		rec.Requests = append(rec.Requests, raw)
	}
	facts, err := item(out.facts)
	if err != nil {
		return err
	}
	rec.Facts = facts
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rec); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// loadWorkerRecording reads the recording of a scenario and checks that it
// was made from the scenario as it is now.
func loadWorkerRecording(path string, sc *workerScenario) (workerOutcome, error) {
	var rec workerRecording
	if err := decodeFile(path, &rec); err != nil {
		return workerOutcome{}, err
	}
	if rec.Scenario != sc.Name {
		return workerOutcome{}, fmt.Errorf("%s: recording of scenario %q, want %q", path, rec.Scenario, sc.Name)
	}
	if d := workerInputsDigest(sc); rec.Inputs != d {
		return workerOutcome{}, fmt.Errorf("%s is stale: it was made from other scenario inputs (%s) than %s has now (%s)",
			path, rec.Inputs, sc.file, d)
	}
	var out workerOutcome
	for i, s := range rec.Streams {
		so := streamOutcome{done: s.Done}
		for _, p := range s.Payloads {
			v, err := recordedValue(p)
			if err != nil {
				return workerOutcome{}, fmt.Errorf("%s: streams[%d]: %w", path, i, err)
			}
			so.payloads = append(so.payloads, v)
		}
		out.streams = append(out.streams, so)
	}
	for _, r := range rec.Requests {
		v, err := recordedValue(r)
		if err != nil {
			return workerOutcome{}, fmt.Errorf("%s: requests: %w", path, err)
		}
		out.posts = append(out.posts, v)
	}
	var err error
	if out.facts, err = recordedValue(rec.Facts); err != nil {
		return workerOutcome{}, fmt.Errorf("%s: facts: %w", path, err)
	}
	return out, nil
}

// TestWorkerConformance plays every worker and deferred-start scenario
// through octavus-go and compares it with the recording of the 6.4.0
// oracle, and with the live oracle when it is there (which must still
// produce the recording). Under CI=true a missing node or oracle fails.
func TestWorkerConformance(t *testing.T) {
	scenarios, err := loadWorkerScenarios(workerScenarioDir)
	if err != nil {
		t.Fatalf("loading the worker scenarios: %v", err)
	}
	if len(scenarios) == 0 {
		t.Fatalf("no scenarios in conformance/%s", workerScenarioDir)
	}
	oracle, why := findOracle()
	if oracle != "" {
		requireNode(t)
	} else {
		if os.Getenv("CI") == "true" || *updateRecordings {
			t.Fatal(why + " (CI=true or -update-recordings: not skipping)")
		}
		t.Logf("%s: comparing with the recordings only", why)
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			path := workerRecordingPath(sc)
			var live *workerRun
			if oracle != "" {
				r := runNodeWorker(t, sc, oracle)
				live = &r
			}
			var want workerOutcome
			label := "recorded 6.4.0 oracle"
			if *updateRecordings {
				want = workerOutcomeOf(*live)
				label = "6.4.0 oracle"
				if err := writeWorkerRecording(path, sc, want); err != nil {
					t.Fatalf("writing %s: %v", path, err)
				}
			} else {
				rec, err := loadWorkerRecording(path, sc)
				if err != nil {
					t.Fatalf("%v\nregenerate the recordings with: %s", err, regenerateWorker)
				}
				if live != nil {
					if problems := diffWorkerOutcomes("recording", rec, "live 6.4.0 oracle", workerOutcomeOf(*live)); len(problems) > 0 {
						t.Errorf("%s is stale: the 6.4.0 oracle no longer produces it; regenerate the recordings with:\n  %s\n%s",
							path, regenerateWorker, joinLines(problems))
					}
				}
				want = rec
			}
			gosdk := runGoWorker(t, sc)
			problems := diffWorkerOutcomes(label, want, "octavus-go", workerOutcomeOf(gosdk))
			if len(problems) == 0 {
				return
			}
			var b strings.Builder
			fmt.Fprintf(&b, "scenario %s (%s): %s\ncompared with: %s\n", sc.Name, sc.file, sc.About, label)
			for _, p := range problems {
				b.WriteString("\n" + strings.TrimSuffix(p, "\n") + "\n")
			}
			if live != nil {
				for i, s := range live.streams {
					fmt.Fprintf(&b, "\nraw 6.4.0 oracle SSE, stream %d:\n%s\n", i+1, indentRaw(s))
				}
			}
			for i, s := range gosdk.streams {
				fmt.Fprintf(&b, "raw octavus-go SSE, stream %d:\n%s\n", i+1, indentRaw(s))
			}
			if live != nil {
				fmt.Fprintf(&b, "platform log, 6.4.0 oracle run:\n%s", joinLines(live.log))
				if live.stderr != "" {
					fmt.Fprintf(&b, "6.4.0 oracle stderr:\n%s\n", live.stderr)
				}
			}
			fmt.Fprintf(&b, "platform log, octavus-go run:\n%s", joinLines(gosdk.log))
			t.Error(b.String())
		})
	}
}

// TestWorkerRecordings checks that every worker scenario has a recording
// and every recording a scenario.
func TestWorkerRecordings(t *testing.T) {
	if *updateRecordings {
		t.Skip("-update-recordings: TestWorkerConformance is rewriting the recordings")
	}
	scenarios, err := loadWorkerScenarios(workerScenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, sc := range scenarios {
		names[sc.Name] = true
		if _, err := loadWorkerRecording(workerRecordingPath(sc), sc); err != nil {
			t.Errorf("scenario %s: %v (regenerate with: %s)", sc.Name, err, regenerateWorker)
		}
	}
	files, err := filepath.Glob(filepath.Join(recordedWorkerDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !names[name] {
			t.Errorf("%s records no scenario of %s/: delete it", f, workerScenarioDir)
		}
	}
}

// TestWorkerScenarioChecks checks that malformed worker scenarios are
// refused.
func TestWorkerScenarioChecks(t *testing.T) {
	base := func() workerScenario {
		return workerScenario{
			Name: "x", About: "x", Kind: kindWorkerExecute, AgentID: "a",
			Input: json.RawMessage(`{}`),
			Legs:  []leg{{Events: []json.RawMessage{json.RawMessage(`{}`)}}},
		}
	}
	checkRefused(t, base, (*workerScenario).check, map[string]func(*workerScenario){
		"unknown kind":             func(sc *workerScenario) { sc.Kind = "worker" },
		"no agent":                 func(sc *workerScenario) { sc.AgentID = "" },
		"execute without input":    func(sc *workerScenario) { sc.Input = nil },
		"input not an object":      func(sc *workerScenario) { sc.Input = json.RawMessage(`[1]`) },
		"continue without results": func(sc *workerScenario) { sc.Kind, sc.Input, sc.ExecutionID = kindWorkerContinue, nil, "e" },
		"continue without id": func(sc *workerScenario) {
			sc.Kind, sc.Input, sc.ToolResults = kindWorkerContinue, nil, json.RawMessage(`[]`)
		},
		"start without key": func(sc *workerScenario) {
			sc.Kind, sc.Requests = kindStart, []json.RawMessage{json.RawMessage(`{"type":"trigger","triggerName":"t"}`)}
		},
		"start without requests": func(sc *workerScenario) { sc.Kind, sc.IdempotencyKey = kindStart, "k" },
		"start with bad request": func(sc *workerScenario) {
			sc.Kind, sc.IdempotencyKey, sc.Requests = kindStart, "k", []json.RawMessage{json.RawMessage(`{"type":"start"}`)}
		},
		"key on a worker":      func(sc *workerScenario) { sc.IdempotencyKey = "k" },
		"schemas on a start":   func(sc *workerScenario) { sc.Kind, sc.DynamicToolSchemas = kindStart, json.RawMessage(`[]`) },
		"schemas not an array": func(sc *workerScenario) { sc.DynamicToolSchemas = json.RawMessage(`{}`) },
		"negative retries":     func(sc *workerScenario) { sc.Retries = -1 },
		"no legs":              func(sc *workerScenario) { sc.Legs = nil },
		"tool result and error": func(sc *workerScenario) {
			e := "x"
			sc.Tools = map[string]toolSpec{"t": {Result: json.RawMessage(`1`), Error: &e}}
		},
	})
}

// contextWithRunTimeout bounds one SDK run of one scenario.
func contextWithRunTimeout(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), runTimeout)
}
