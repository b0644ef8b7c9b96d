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
	Name       string              `json:"name"`
	About      string              `json:"about"`
	Request    json.RawMessage     `json:"request"`
	Tools      map[string]toolSpec `json:"tools"`
	Legs       []leg               `json:"legs"`
	Divergence *divergence         `json:"divergence,omitempty"`

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

// leg is the platform's answer to one POST to /trigger.
type leg struct {
	Status      int               `json:"status,omitempty"`
	Events      []json.RawMessage `json:"events,omitempty"`
	Done        *bool             `json:"done,omitempty"`
	SSE         *string           `json:"sse,omitempty"`
	Chunks      []json.RawMessage `json:"chunks,omitempty"`
	Body        *string           `json:"body,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
}

// divergence pins octavus-go's own expected payloads where it deliberately
// differs from the reference.
type divergence struct {
	Why      string            `json:"why"`
	GoEvents []json.RawMessage `json:"goEvents"`
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

// loadScenario reads and checks one scenario file. Unknown keys are errors,
// so that a misspelt field does not silently change a scenario.
func loadScenario(file string) (*scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sc scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the scenario object", file)
	}
	sc.file = file
	if err := sc.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &sc, nil
}

// check reports what makes a scenario unusable.
func (sc *scenario) check() error {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	if !kebabName.MatchString(sc.Name) {
		bad("name %q is not kebab-case", sc.Name)
	}
	if strings.TrimSpace(sc.About) == "" {
		bad("about is empty")
	}
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
	for name, tool := range sc.Tools {
		if tool.DelayMs < 0 {
			bad("tool %q: negative delayMs", name)
		}
		if tool.Error != nil && tool.Result != nil {
			bad("tool %q: both result and error", name)
		}
	}
	if len(sc.Legs) == 0 {
		bad("no legs")
	}
	for i, l := range sc.Legs {
		if err := l.check(); err != nil {
			bad("legs[%d]: %v", i, err)
		}
	}
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
