package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// updateRecordings rewrites recorded/<name>.json from the live 6.4.0 oracle.
var updateRecordings = flag.Bool("update-recordings", false,
	"rewrite conformance/recorded/*.json from the live 6.4.0 oracle instead of checking them")

const (
	// recordedDir holds one recording of the 6.4.0 oracle per built-in scenario.
	recordedDir = "recorded"
	// recordedOracle names what a recording was made with.
	recordedOracle = "@octavus/server-sdk 6.4.0 (d304930)"
	// digestOver is the size from which a payload or body is recorded as
	// its SHA-256 instead of in full, so that a scenario about a result of
	// megabytes does not put megabytes in the repository.
	digestOver = 64 << 10
	// regenerate is the command that rewrites the recordings.
	regenerate = "go test ./conformance -run 'TestConformance' -update-recordings"
)

// recording is the 6.4.0 oracle's outcome of one scenario, as stored in
// recorded/<name>.json.
type recording struct {
	Scenario string `json:"scenario"`
	Oracle   string `json:"oracle"`
	// Inputs is the digest of what the oracle was given (inputsDigest), so
	// that a scenario edited without regenerating fails even where the
	// oracle is not there to notice.
	Inputs   string            `json:"inputs"`
	Payloads []json.RawMessage `json:"payloads"`
	Done     bool              `json:"done"`
	Bodies   []json.RawMessage `json:"bodies"`
}

// recordingPath is where a scenario's recording lives; "" for a scenario
// of $OCTAVUS_CONFORMANCE_DIR, which has none.
func recordingPath(sc *scenario) string {
	if filepath.Dir(sc.file) != "scenarios" {
		return ""
	}
	return filepath.Join(recordedDir, sc.Name+".json")
}

// inputsDigest is the SHA-256 of everything of a scenario the oracle's
// run depends on (not its name, about, versions or divergence).
func inputsDigest(sc *scenario) string {
	b, _ := json.Marshal(struct {
		Request           json.RawMessage     `json:"request"`
		Tools             map[string]toolSpec `json:"tools"`
		DynamicTools      []dynamicToolSpec   `json:"dynamicTools"`
		Sender            json.RawMessage     `json:"sender"`
		RejectClientTools bool                `json:"rejectClientTools"`
		Retries           int                 `json:"retries"`
		Legs              []leg               `json:"legs"`
	}{sc.Request, sc.Tools, sc.DynamicTools, sc.Sender, sc.RejectClientTools, sc.Retries, sc.Legs})
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// loadRecording reads the recording of a scenario and checks that it was
// made from the scenario as it is now.
func loadRecording(path string, sc *scenario) (outcome, error) {
	var rec recording
	if err := decodeFile(path, &rec); err != nil {
		return outcome{}, err
	}
	want := strings.TrimSuffix(filepath.Base(path), ".json")
	if rec.Scenario != want {
		return outcome{}, fmt.Errorf("%s: recording of scenario %q, want %q", path, rec.Scenario, want)
	}
	if d := inputsDigest(sc); rec.Inputs != d {
		return outcome{}, fmt.Errorf("%s is stale: it was made from other scenario inputs (%s) than scenarios/%s.json has now (%s)",
			path, rec.Inputs, want, d)
	}
	out := outcome{done: rec.Done}
	for _, p := range rec.Payloads {
		v, err := recordedValue(p)
		if err != nil {
			return outcome{}, fmt.Errorf("%s: payload: %w", path, err)
		}
		out.payloads = append(out.payloads, v)
	}
	for _, b := range rec.Bodies {
		v, err := recordedValue(b)
		if err != nil {
			return outcome{}, fmt.Errorf("%s: body: %w", path, err)
		}
		out.bodies = append(out.bodies, v)
	}
	return out, nil
}

// recordedValue reads one recorded payload or body: a JSON value, a
// {"$digest", "$bytes"} stand-in for a large one, or {"$raw": text} for
// one that was not JSON.
func recordedValue(raw json.RawMessage) (jsonValue, error) {
	var marker struct {
		Digest *string `json:"$digest"`
		Bytes  int     `json:"$bytes"`
		Raw    *string `json:"$raw"`
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`{"$`)) {
		if err := json.Unmarshal(raw, &marker); err != nil {
			return jsonValue{}, err
		}
		switch {
		case marker.Digest != nil:
			return jsonValue{digest: *marker.Digest, size: marker.Bytes, valid: true}, nil
		case marker.Raw != nil:
			return jsonValue{raw: *marker.Raw}, nil
		}
	}
	v := decodeJSON(string(raw))
	if !v.valid {
		return jsonValue{}, errors.New("not JSON")
	}
	return v, nil
}

// recordItem renders one payload or body for a recording.
func recordItem(v jsonValue) (string, error) {
	if !v.valid {
		b, err := json.Marshal(map[string]string{"$raw": v.raw})
		return string(b), err
	}
	b, err := canonicalJSON(v.v)
	if err != nil {
		return "", err
	}
	if len(b) > digestOver {
		return jsonValue{digest: v.sum(), size: len(b)}.compact(), nil
	}
	return string(b), nil
}

// writeRecording stores an oracle outcome as the scenario's recording, one
// payload or body per line so that a change reads well in a diff.
func writeRecording(path string, sc *scenario, out outcome) error {
	var b strings.Builder
	name, _ := json.Marshal(sc.Name)
	oracle, _ := json.Marshal(recordedOracle)
	fmt.Fprintf(&b, "{\n  \"scenario\": %s,\n  \"oracle\": %s,\n  \"inputs\": %q,\n", name, oracle, inputsDigest(sc))
	list := func(key string, items []jsonValue) error {
		if len(items) == 0 {
			fmt.Fprintf(&b, "  %q: [],\n", key)
			return nil
		}
		fmt.Fprintf(&b, "  %q: [\n", key)
		for i, v := range items {
			s, err := recordItem(v)
			if err != nil {
				return err
			}
			sep := ","
			if i == len(items)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, "    %s%s\n", s, sep)
		}
		b.WriteString("  ],\n")
		return nil
	}
	if err := list("payloads", out.payloads); err != nil {
		return err
	}
	fmt.Fprintf(&b, "  \"done\": %v,\n", out.done)
	if err := list("bodies", out.bodies); err != nil {
		return err
	}
	text := strings.TrimSuffix(b.String(), ",\n") + "\n}\n"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// TestRecordings checks that every built-in scenario has a recording and
// every recording a scenario, and that each recording reads back.
func TestRecordings(t *testing.T) {
	if *updateRecordings {
		t.Skip("-update-recordings: TestConformance is rewriting the recordings")
	}
	scenarios, err := loadScenarios("scenarios")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, sc := range scenarios {
		if !sc.runsOn(version64) {
			continue // compared with 2.0.0 only: nothing to record
		}
		names[sc.Name] = true
		if _, err := loadRecording(recordingPath(sc), sc); err != nil {
			t.Errorf("scenario %s: %v (regenerate with: %s)", sc.Name, err, regenerate)
		}
	}
	files, err := filepath.Glob(filepath.Join(recordedDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !names[name] {
			t.Errorf("%s records no scenario of scenarios/ that runs on 6.4.0: delete it", f)
		}
	}
}

// TestRecordingValues checks the recorded forms: a large value is stored
// as a digest that still compares equal, a small one in full.
func TestRecordingValues(t *testing.T) {
	big := decodeJSON(`{"type":"tool-output-available","output":"` + strings.Repeat("x", digestOver) + `"}`)
	s, err := recordItem(big)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, `{"$digest":"sha256:`) {
		t.Fatalf("a value over %d bytes was recorded as %.80s", digestOver, s)
	}
	back, err := recordedValue(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	if !back.equal(big) || !big.equal(back) {
		t.Error("the digest of a value does not compare equal to it")
	}
	other := decodeJSON(`{"type":"tool-output-available","output":"` + strings.Repeat("y", digestOver) + `"}`)
	if back.equal(other) {
		t.Error("the digest compares equal to a different value")
	}
	small := decodeJSON(`{"b":1,"a":"<&>"}`)
	s, err = recordItem(small)
	if err != nil {
		t.Fatal(err)
	}
	if s != `{"a":"<&>","b":1}` {
		t.Errorf("small value recorded as %s", s)
	}
}
