package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// scenarioDirEnv names the environment variable that adds a folder of
// scenarios to the built-in ones.
const scenarioDirEnv = "OCTAVUS_CONFORMANCE_DIR"

// scenario is one conformance scenario file (see README.md and FORMAT.md).
type scenario struct {
	Name  string `json:"name"`
	About string `json:"about"`
	// Versions lists the reference SDK versions the scenario is played
	// through; absent means 6.4.0 only. A scenario lists 2.0.0 too when
	// both versions give the same outcome.
	Versions []string            `json:"versions,omitempty"`
	Request  json.RawMessage     `json:"request"`
	Tools    map[string]toolSpec `json:"tools"`
	// DynamicTools are set on the session before the request runs
	// (setDynamicTools / SetDynamicTools): their schemas ride every leg's
	// dynamicToolSchemas and their handlers run like server tools.
	DynamicTools []dynamicToolSpec `json:"dynamicTools,omitempty"`
	// Sender is set on a trigger request on the server side (Node: the
	// request's sender; Go: TriggerRequest.Sender), as an app does from
	// its signed-in user.
	Sender json.RawMessage `json:"sender,omitempty"`
	// RejectClientTools answers tool calls without a handler with a tool
	// error instead of a client-tool-request (Node rejectClientToolCalls,
	// Go AttachOptions.RejectClientTools).
	RejectClientTools bool `json:"rejectClientTools,omitempty"`
	// Retries is the number of retries of a platform request, the same on
	// both sides (Node maxRetries, Go MaxRetries); 0 turns retries off.
	Retries    int         `json:"retries,omitempty"`
	Legs       []leg       `json:"legs"`
	Divergence *divergence `json:"divergence,omitempty"`

	// file is the path the scenario was read from.
	file string
}

// toolSpec describes one server tool handler.
type toolSpec struct {
	// Result is the raw JSON result: nil when the key is absent ("returns
	// nothing"), the bytes `null` when it is null.
	Result json.RawMessage `json:"result,omitempty"`
	// Error, when set, is the message the handler fails with.
	Error *string `json:"error,omitempty"`
	// DelayMs is how long the handler waits before answering.
	DelayMs int `json:"delayMs,omitempty"`
}

// dynamicToolSpec is one dynamic tool: the schema sent to the platform and
// the handler that runs its calls.
type dynamicToolSpec struct {
	Schema  json.RawMessage `json:"schema"`
	Handler toolSpec        `json:"handler"`
}

// leg is the platform's answer to one POST to /trigger.
type leg struct {
	Status      int               `json:"status,omitempty"`
	Events      []json.RawMessage `json:"events,omitempty"`
	Done        *bool             `json:"done,omitempty"`
	SSE         *string           `json:"sse,omitempty"`
	Chunks      []json.RawMessage `json:"chunks,omitempty"`
	Body        *string           `json:"body,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	// Headers are extra response headers (Retry-After, say).
	Headers map[string]string `json:"headers,omitempty"`
	// Drop closes the connection without any answer, as a network error
	// before the headers does.
	Drop bool `json:"drop,omitempty"`
	// Cut, with events, closes the connection after them without ending
	// the chunked body: the stream is cut mid-way.
	Cut bool `json:"cut,omitempty"`
}

// divergence pins octavus-go's own expected payloads where it deliberately
// differs from the reference.
type divergence struct {
	Why      string            `json:"why"`
	GoEvents []json.RawMessage `json:"goEvents"`
	// GoDone, when set, is whether octavus-go's stream ends with
	// data: [DONE]; unset, it must end as the reference's does.
	GoDone *bool `json:"goDone,omitempty"`
}

var kebabName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// loadScenarios reads every *.json file of dir, sorted by file name.
func loadScenarios(dir string) ([]*scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*scenario
	seen := map[string]string{}
	for _, f := range files {
		sc, err := loadScenario(f)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[sc.Name]; ok {
			return nil, fmt.Errorf("%s: scenario name %q is already used by %s", f, sc.Name, prev)
		}
		seen[sc.Name] = f
		out = append(out, sc)
	}
	return out, nil
}

// decodeFile decodes the one JSON object of file (a scenario or a
// recording) into v. Unknown keys are errors, so that a misspelt field
// does not silently change the file, and so is data after the object.
func decodeFile(file string, v any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: trailing data after the object", file)
	}
	return nil
}

// loadScenario reads and checks one scenario file (see decodeFile).
func loadScenario(file string) (*scenario, error) {
	var sc scenario
	if err := decodeFile(file, &sc); err != nil {
		return nil, err
	}
	sc.file = file
	if err := sc.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := sc.expand(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &sc, nil
}

// Reference SDK versions a scenario can be played through.
const (
	version20 = "2.0.0"
	version64 = "6.4.0"
)

// versions returns the reference versions the scenario is played through.
func (sc *scenario) versions() []string {
	if len(sc.Versions) == 0 {
		return []string{version64}
	}
	return sc.Versions
}

// runsOn reports whether the scenario is played through version v.
func (sc *scenario) runsOn(v string) bool {
	for _, x := range sc.versions() {
		if x == v {
			return true
		}
	}
	return false
}

// expand replaces every {"$repeat": {"unit": "x", "times": n}} in the
// request, the tool results and the platform's events with the string unit
// repeated n times, so that a scenario can describe a result of megabytes
// in one line. Both runners get the expanded values.
func (sc *scenario) expand() error {
	var err error
	ex := func(raw json.RawMessage, what string) json.RawMessage {
		if err != nil || raw == nil {
			return raw
		}
		out, e := expandRepeat(raw)
		if e != nil {
			err = fmt.Errorf("%s: %w", what, e)
		}
		return out
	}
	sc.Request = ex(sc.Request, "request")
	for name, tool := range sc.Tools {
		tool.Result = ex(tool.Result, "tools."+name+".result")
		sc.Tools[name] = tool
	}
	for i := range sc.DynamicTools {
		sc.DynamicTools[i].Handler.Result = ex(sc.DynamicTools[i].Handler.Result, fmt.Sprintf("dynamicTools[%d].handler.result", i))
	}
	for i := range sc.Legs {
		for j := range sc.Legs[i].Events {
			sc.Legs[i].Events[j] = ex(sc.Legs[i].Events[j], fmt.Sprintf("legs[%d].events[%d]", i, j))
		}
	}
	return err
}

// expandRepeat expands the $repeat macros of one JSON value. A value
// without one is returned as it is, byte for byte.
func expandRepeat(raw json.RawMessage) (json.RawMessage, error) {
	if !bytes.Contains(raw, []byte(`"$repeat"`)) {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch x := v.(type) {
		case map[string]any:
			if spec, ok := x["$repeat"]; ok {
				if len(x) != 1 {
					return nil, errors.New("$repeat must be the only key of its object")
				}
				return repeatString(spec)
			}
			for k, e := range x {
				r, err := walk(e)
				if err != nil {
					return nil, err
				}
				x[k] = r
			}
		case []any:
			for i, e := range x {
				r, err := walk(e)
				if err != nil {
					return nil, err
				}
				x[i] = r
			}
		}
		return v, nil
	}
	v, err := walk(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes())), nil
}

// repeatString builds the string a $repeat macro stands for.
func repeatString(spec any) (string, error) {
	m, ok := spec.(map[string]any)
	if !ok || len(m) != 2 {
		return "", errors.New(`$repeat wants {"unit": "<text>", "times": <n>}`)
	}
	unit, ok := m["unit"].(string)
	if !ok || unit == "" {
		return "", errors.New("$repeat.unit must be a non-empty string")
	}
	num, ok := m["times"].(json.Number)
	if !ok {
		return "", errors.New("$repeat.times must be a number")
	}
	times, err := num.Int64()
	if err != nil || times < 0 || times > 64<<20 {
		return "", fmt.Errorf("$repeat.times %s is not an integer in [0, 64Mi]", num)
	}
	return strings.Repeat(unit, int(times)), nil
}

// check reports what makes a scenario unusable.
func (sc *scenario) check() error {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	checkNameAbout(bad, sc.Name, sc.About)
	var req struct {
		Type string `json:"type"`
	}
	if len(sc.Request) == 0 {
		bad("request is missing")
	} else if err := json.Unmarshal(sc.Request, &req); err != nil {
		bad("request is not a JSON object: %v", err)
	} else if req.Type != "trigger" && req.Type != "continue" {
		bad("request.type is %q, want trigger or continue", req.Type)
	}
	if sc.Versions != nil && len(sc.Versions) == 0 {
		bad("versions is empty: list %q and/or %q, or leave it out for %q only", version20, version64, version64)
	}
	seenVersion := map[string]bool{}
	for _, v := range sc.Versions {
		if v != version20 && v != version64 {
			bad("versions: unknown version %q (want %q or %q)", v, version20, version64)
		}
		if seenVersion[v] {
			bad("versions: %q twice", v)
		}
		seenVersion[v] = true
	}
	if sc.Retries < 0 {
		bad("negative retries")
	}
	if sc.Sender != nil {
		var m map[string]any
		if err := json.Unmarshal(sc.Sender, &m); err != nil {
			bad("sender is not a JSON object: %v", err)
		}
		if req.Type != "trigger" {
			bad("sender is only meaningful with a trigger request")
		}
	}
	for i, dt := range sc.DynamicTools {
		var s struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(dt.Schema, &s); err != nil || s.Name == "" {
			bad("dynamicTools[%d].schema needs a name", i)
		}
		if dt.Handler.Error != nil && dt.Handler.Result != nil {
			bad("dynamicTools[%d].handler: both result and error", i)
		}
	}
	checkToolsAndLegs(bad, sc.Tools, sc.Legs)
	if d := sc.Divergence; d != nil {
		if strings.TrimSpace(d.Why) == "" {
			bad("divergence.why is empty")
		}
		if d.GoEvents == nil {
			bad("divergence.goEvents is missing")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// checkNameAbout reports (through bad) what is wrong with a scenario's
// name and about, the same in both kinds of scenario.
func checkNameAbout(bad func(format string, args ...any), name, about string) {
	if !kebabName.MatchString(name) {
		bad("name %q is not kebab-case", name)
	}
	if strings.TrimSpace(about) == "" {
		bad("about is empty")
	}
}

// checkToolsAndLegs reports (through bad) what is wrong with a scenario's
// server tools and legs, the same in both kinds of scenario.
func checkToolsAndLegs(bad func(format string, args ...any), tools map[string]toolSpec, legs []leg) {
	for name, tool := range tools {
		if tool.DelayMs < 0 {
			bad("tool %q: negative delayMs", name)
		}
		if tool.Error != nil && tool.Result != nil {
			bad("tool %q: both result and error", name)
		}
	}
	if len(legs) == 0 {
		bad("no legs")
	}
	for i, l := range legs {
		if err := l.check(); err != nil {
			bad("legs[%d]: %v", i, err)
		}
	}
}

// check reports what makes a leg unusable.
func (l *leg) check() error {
	kinds := 0
	if l.Events != nil {
		kinds++
	}
	if l.SSE != nil {
		kinds++
	}
	if l.Chunks != nil {
		kinds++
	}
	if l.Body != nil {
		kinds++
	}
	if kinds > 1 {
		return errors.New("set only one of events, sse, chunks and body")
	}
	if l.Drop && (kinds > 0 || l.Status != 0 || l.Headers != nil || l.ContentType != "") {
		return errors.New("drop answers nothing: it takes no other key")
	}
	if l.Cut && l.Events == nil {
		return errors.New("cut is only meaningful with events")
	}
	if l.Cut && l.Done != nil && *l.Done {
		return errors.New("a cut stream has no [DONE]")
	}
	if l.Status != 0 && (l.Status < 200 || l.Status > 599) {
		return fmt.Errorf("status %d is out of range", l.Status)
	}
	if l.Done != nil && l.Events == nil {
		return errors.New("done is only meaningful with events")
	}
	for i, ev := range l.Events {
		if !json.Valid(ev) {
			return fmt.Errorf("events[%d] is not valid JSON", i)
		}
	}
	if l.Chunks != nil {
		if _, err := decodeChunks(l.Chunks); err != nil {
			return err
		}
	}
	return nil
}

// loadAllScenarios returns the built-in scenarios plus those of
// $OCTAVUS_CONFORMANCE_DIR.
func loadAllScenarios(t *testing.T) []*scenario {
	t.Helper()
	scenarios, err := loadScenarios("scenarios")
	if err != nil {
		t.Fatalf("loading scenarios: %v", err)
	}
	if len(scenarios) == 0 {
		t.Fatal("no scenarios in conformance/scenarios")
	}
	if dir := os.Getenv(scenarioDirEnv); dir != "" {
		extra, err := loadScenarios(dir)
		if err != nil {
			t.Fatalf("loading scenarios of %s=%s: %v", scenarioDirEnv, dir, err)
		}
		if len(extra) == 0 {
			t.Fatalf("%s=%s holds no *.json scenario", scenarioDirEnv, dir)
		}
		scenarios = append(scenarios, extra...)
	}
	return scenarios
}

// TestScenarioFiles checks that every scenario loads and that built-in
// scenario files are named after their scenario.
func TestScenarioFiles(t *testing.T) {
	scenarios := loadAllScenarios(t)
	for _, sc := range scenarios {
		if filepath.Dir(sc.file) != "scenarios" {
			continue
		}
		if want := sc.Name + ".json"; filepath.Base(sc.file) != want {
			t.Errorf("%s: file name should be %s", sc.file, want)
		}
	}
}

// TestExpandRepeat checks the $repeat macro: expanded anywhere in a value,
// a value without it left byte for byte, a malformed one refused.
func TestExpandRepeat(t *testing.T) {
	raw := json.RawMessage(`{"a": [1, {"$repeat": {"unit": "ab", "times": 3}}], "b": {"c": {"$repeat": {"unit": "é", "times": 2}}}, "n": 1.50}`)
	got, err := expandRepeat(raw)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("expanded value is not JSON: %v: %s", err, got)
	}
	if a := v["a"].([]any); a[1] != "ababab" {
		t.Errorf("a[1] = %v, want ababab", a[1])
	}
	if c := v["b"].(map[string]any)["c"]; c != "éé" {
		t.Errorf("b.c = %v, want éé", c)
	}
	if !strings.Contains(string(got), `"n":1.50`) {
		t.Errorf("a number's text changed: %s", got)
	}

	plain := json.RawMessage(`{ "z": 1,  "a": "x" }`)
	if out, err := expandRepeat(plain); err != nil || string(out) != string(plain) {
		t.Errorf("a value without $repeat became %s (err %v)", out, err)
	}

	for _, bad := range []string{
		`{"$repeat": {"unit": "x"}}`,
		`{"$repeat": {"unit": "", "times": 2}}`,
		`{"$repeat": {"unit": "x", "times": -1}}`,
		`{"$repeat": {"unit": "x", "times": 1.5}}`,
		`{"$repeat": {"unit": "x", "times": 2}, "other": 1}`,
		`{"$repeat": "x"}`,
	} {
		if _, err := expandRepeat(json.RawMessage(bad)); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}

// TestScenarioChecks checks that malformed scenario fields are refused.
func TestScenarioChecks(t *testing.T) {
	base := func() scenario {
		return scenario{
			Name:    "x",
			About:   "x",
			Request: json.RawMessage(`{"type":"trigger","triggerName":"t"}`),
			Legs:    []leg{{Events: []json.RawMessage{json.RawMessage(`{}`)}}},
		}
	}
	yes := true
	checkRefused(t, base, (*scenario).check, map[string]func(*scenario){
		"unknown version":   func(sc *scenario) { sc.Versions = []string{"3.0.0"} },
		"empty versions":    func(sc *scenario) { sc.Versions = []string{} },
		"version twice":     func(sc *scenario) { sc.Versions = []string{version64, version64} },
		"negative retries":  func(sc *scenario) { sc.Retries = -1 },
		"sender not object": func(sc *scenario) { sc.Sender = json.RawMessage(`"ada"`) },
		"sender on continue": func(sc *scenario) {
			sc.Request = json.RawMessage(`{"type":"continue","executionId":"e","toolResults":[]}`)
			sc.Sender = json.RawMessage(`{"id":"u"}`)
		},
		"dynamic tool without name": func(sc *scenario) {
			sc.DynamicTools = []dynamicToolSpec{{Schema: json.RawMessage(`{"description":"d"}`)}}
		},
		"drop with status":   func(sc *scenario) { sc.Legs = []leg{{Drop: true, Status: 500}} },
		"cut without events": func(sc *scenario) { sc.Legs = []leg{{Cut: true, SSE: new(string)}} },
		"cut with done":      func(sc *scenario) { sc.Legs[0].Cut = true; sc.Legs[0].Done = &yes },
	})
}

// checkRefused checks that the scenario base() passes check, and that
// each of mutations, applied to base(), makes check fail.
func checkRefused[S any](t *testing.T, base func() S, check func(*S) error, mutations map[string]func(*S)) {
	t.Helper()
	for name, mutate := range mutations {
		sc := base()
		if err := check(&sc); err != nil {
			t.Fatalf("the base scenario is refused: %v", err)
		}
		mutate(&sc)
		if err := check(&sc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
