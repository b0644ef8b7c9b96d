package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// stream is an SSE byte stream split the way FORMAT.md compares it.
type stream struct {
	payloads []string // the data: payloads, [DONE] excluded
	done     bool     // the last data: payload was [DONE]
}

// parseSSE splits SSE bytes into lines and keeps the `data:` payloads.
// Comment lines (":") and other fields are ignored. A final [DONE] is not
// a payload but sets done; a [DONE] anywhere else stays a payload, so that
// it shows up as a difference.
func parseSSE(b []byte) stream {
	var s stream
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(rest, " ")
		s.payloads = append(s.payloads, rest)
	}
	if n := len(s.payloads); n > 0 && s.payloads[n-1] == "[DONE]" {
		s.done = true
		s.payloads = s.payloads[:n-1]
	}
	return s
}

// jsonValue is a payload or body decoded for semantic comparison; raw holds
// the text when it is not JSON.
type jsonValue struct {
	v     any
	raw   string
	valid bool
	// digest, when set, stands for a value too large to record in full:
	// "sha256:<hex of its canonical form>" (see recording_test.go).
	digest string
	size   int // the canonical form's length in bytes, with digest
}

func decodeJSON(s string) jsonValue {
	var v any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return jsonValue{raw: s}
	}
	return jsonValue{v: normalizeNumbers(v), raw: s, valid: true}
}

// normalizeNumbers turns json.Number into float64 so that 1 and 1.0 compare
// equal, as they do in JavaScript.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
		return x
	default:
		return v
	}
}

func (j jsonValue) equal(o jsonValue) bool {
	if j.digest != "" || o.digest != "" {
		return j.sum() == o.sum()
	}
	if j.valid != o.valid {
		return false
	}
	if !j.valid {
		return j.raw == o.raw
	}
	return reflect.DeepEqual(j.v, o.v)
}

// compact renders a value on one line with sorted keys.
func (j jsonValue) compact() string {
	if j.digest != "" {
		return fmt.Sprintf(`{"$digest":%q,"$bytes":%d}`, j.digest, j.size)
	}
	if !j.valid {
		return fmt.Sprintf("(not JSON) %q", j.raw)
	}
	b, err := canonicalJSON(j.v)
	if err != nil {
		return fmt.Sprintf("(unprintable) %q", j.raw)
	}
	return string(b)
}

// canonicalJSON renders a decoded value on one line with sorted keys and
// no HTML escaping: the form recordings hold and digests are taken of.
func canonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// sum is the digest of a value: its recorded digest, or the SHA-256 of its
// canonical form.
func (j jsonValue) sum() string {
	if j.digest != "" {
		return j.digest
	}
	if !j.valid {
		return "raw:" + j.raw
	}
	b, err := canonicalJSON(j.v)
	if err != nil {
		return "raw:" + j.raw
	}
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

func decodeAll(items []string) []jsonValue {
	out := make([]jsonValue, len(items))
	for i, s := range items {
		out[i] = decodeJSON(s)
	}
	return out
}

func rawStrings(items []json.RawMessage) []string {
	out := make([]string, len(items))
	for i, r := range items {
		out[i] = string(r)
	}
	return out
}

func byteStrings(items [][]byte) []string {
	out := make([]string, len(items))
	for i, b := range items {
		out[i] = string(b)
	}
	return out
}

func listsEqual(a, b []jsonValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// diffOp is one line of a list diff.
type diffOp struct {
	kind byte // ' ' in both, '-' only in the expected list, '+' only in octavus-go's
	a, b int  // 1-based positions in each list, 0 when absent
	v    jsonValue
}

// diffLists aligns two lists on their longest common subsequence.
func diffLists(a, b []jsonValue) []diffOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i].equal(b[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i].equal(b[j]):
			ops = append(ops, diffOp{' ', i + 1, j + 1, a[i]})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', i + 1, 0, a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', 0, j + 1, b[j]})
			j++
		}
	}
	return ops
}

// renderDiff prints a list diff with every element of both lists, then,
// for each run of removed elements followed by as many added ones, the
// JSON paths where each pair differs.
func renderDiff(wantLabel string, want []jsonValue, gotLabel string, got []jsonValue) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  (-) %s: %d, (+) %s: %d\n", wantLabel, len(want), gotLabel, len(got))
	ops := diffLists(want, got)
	pos := func(n int) string {
		if n == 0 {
			return "  "
		}
		return fmt.Sprintf("%2d", n)
	}
	for _, op := range ops {
		fmt.Fprintf(&b, "  %c %s %s  %s\n", op.kind, pos(op.a), pos(op.b), shorten(op.v.compact()))
	}
	for k := 0; k < len(ops); {
		if ops[k].kind != '-' {
			k++
			continue
		}
		r := k
		for r < len(ops) && ops[r].kind == '-' {
			r++
		}
		s := r
		for s < len(ops) && ops[s].kind == '+' {
			s++
		}
		for p := 0; p < r-k && p < s-r; p++ {
			x, y := ops[k+p], ops[r+p]
			paths := jsonPathDiff("$", x.v, y.v)
			fmt.Fprintf(&b, "  - %d vs + %d:\n", x.a, y.b)
			for _, line := range paths {
				fmt.Fprintf(&b, "      %s\n", shorten(line))
			}
		}
		k = s
	}
	return b.String()
}

// shorten cuts a line of a report that would run to megabytes (the size
// scenarios carry results of megabytes).
func shorten(s string) string {
	const keep = 2000
	if len(s) <= keep {
		return s
	}
	return fmt.Sprintf("%s...(%d bytes in all)", s[:keep], len(s))
}

// jsonPathDiff lists where two values differ, one line per JSON path.
func jsonPathDiff(path string, a, b jsonValue) []string {
	if !a.valid || !b.valid || a.digest != "" || b.digest != "" {
		return []string{fmt.Sprintf("%s: %s vs %s", path, a.compact(), b.compact())}
	}
	var out []string
	var walk func(path string, x, y any, hasX, hasY bool)
	show := func(v any, has bool) string {
		if !has {
			return "(absent)"
		}
		return jsonValue{v: v, valid: true}.compact()
	}
	walk = func(path string, x, y any, hasX, hasY bool) {
		if hasX && hasY {
			if mx, ok := x.(map[string]any); ok {
				if my, ok := y.(map[string]any); ok {
					keys := map[string]bool{}
					for k := range mx {
						keys[k] = true
					}
					for k := range my {
						keys[k] = true
					}
					sorted := make([]string, 0, len(keys))
					for k := range keys {
						sorted = append(sorted, k)
					}
					sort.Strings(sorted)
					for _, k := range sorted {
						vx, okx := mx[k]
						vy, oky := my[k]
						walk(path+"."+k, vx, vy, okx, oky)
					}
					return
				}
			}
			if ax, ok := x.([]any); ok {
				if ay, ok := y.([]any); ok {
					for i := 0; i < max(len(ax), len(ay)); i++ {
						var vx, vy any
						if i < len(ax) {
							vx = ax[i]
						}
						if i < len(ay) {
							vy = ay[i]
						}
						walk(fmt.Sprintf("%s[%d]", path, i), vx, vy, i < len(ax), i < len(ay))
					}
					return
				}
			}
			if reflect.DeepEqual(x, y) {
				return
			}
		}
		out = append(out, fmt.Sprintf("%s: %s vs %s", path, show(x, hasX), show(y, hasY)))
	}
	walk(path, a.v, b.v, true, true)
	return out
}

func joinLines(lines []string) string {
	if len(lines) == 0 {
		return "  (none)\n"
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  ")
		b.WriteString(l)
		b.WriteString("\n")
	}
	return b.String()
}

// outcome is what one run produced, in the form the comparison uses.
type outcome struct {
	payloads []jsonValue // the data: payloads, [DONE] excluded
	done     bool        // the stream ended with data: [DONE]
	bodies   []jsonValue // the /trigger POST bodies, in order
}

// outcomeOf splits a run's SSE bytes and decodes its bodies.
func outcomeOf(r run) outcome {
	st := parseSSE(r.sse)
	return outcome{payloads: decodeAll(st.payloads), done: st.done, bodies: decodeAll(byteStrings(r.bodies))}
}

// diffOutcomes lists how got differs from want: payloads (against
// wantPayloads, which is want's own unless a divergence pins octavus-go's),
// the final [DONE] and the bodies.
func diffOutcomes(wantLabel string, want outcome, wantPayloads []jsonValue, payloadsLabel, gotLabel string, got outcome) []string {
	var problems []string
	if !listsEqual(wantPayloads, got.payloads) {
		problems = append(problems, "SSE payloads differ:\n"+
			renderDiff(payloadsLabel, wantPayloads, gotLabel+" payloads", got.payloads))
	}
	if want.done != got.done {
		problems = append(problems, fmt.Sprintf("ends with data: [DONE]: %s %v, %s %v", wantLabel, want.done, gotLabel, got.done))
	}
	if !listsEqual(want.bodies, got.bodies) {
		problems = append(problems, "trigger POST bodies differ:\n"+
			renderDiff(wantLabel+" bodies", want.bodies, gotLabel+" bodies", got.bodies))
	}
	return problems
}

// reference is what octavus-go is compared against: a live run of a
// reference SDK, or the recording of the 6.4.0 oracle.
type reference struct {
	label string  // "reference 2.0.0 (Node)", "recorded 6.4.0 oracle", ...
	out   outcome // its outcome
	run   *run    // the live run, nil for a recording
}

// compareRuns checks octavus-go's run against the reference as FORMAT.md
// says, and fails the test with both sides in full on a difference.
func compareRuns(t *testing.T, sc *scenario, ref reference, gosdk run) {
	t.Helper()
	got := outcomeOf(gosdk)
	wantPayloads := ref.out.payloads
	payloadsLabel := ref.label + " payloads"
	if sc.Divergence != nil {
		payloadsLabel = "expected octavus-go payloads (divergence.goEvents)"
		wantPayloads = decodeAll(rawStrings(sc.Divergence.GoEvents))
	}
	want := ref.out
	if sc.Divergence != nil && sc.Divergence.GoDone != nil {
		want.done = *sc.Divergence.GoDone
	}
	problems := diffOutcomes(ref.label, want, wantPayloads, payloadsLabel, "octavus-go", got)
	if len(problems) == 0 {
		return
	}

	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s (%s): %s\n", sc.Name, sc.file, sc.About)
	fmt.Fprintf(&b, "compared with: %s\n", ref.label)
	if sc.Divergence != nil {
		fmt.Fprintf(&b, "divergence: %s\n", sc.Divergence.Why)
	}
	for _, p := range problems {
		b.WriteString("\n")
		b.WriteString(p)
		if !strings.HasSuffix(p, "\n") {
			b.WriteString("\n")
		}
	}
	if sc.Divergence != nil {
		fmt.Fprintf(&b, "\n%s payloads, for information:\n", ref.label)
		for i, v := range ref.out.payloads {
			fmt.Fprintf(&b, "     %2d  %s\n", i+1, shorten(v.compact()))
		}
	}
	if ref.run != nil {
		fmt.Fprintf(&b, "\nraw %s SSE:\n%s\n", ref.label, indentRaw(ref.run.sse))
	}
	fmt.Fprintf(&b, "raw octavus-go SSE:\n%s\n", indentRaw(gosdk.sse))
	if ref.run != nil {
		fmt.Fprintf(&b, "platform log, %s run:\n%s", ref.label, joinLines(ref.run.log))
	}
	fmt.Fprintf(&b, "platform log, octavus-go run:\n%s", joinLines(gosdk.log))
	if ref.run != nil && ref.run.stderr != "" {
		fmt.Fprintf(&b, "%s stderr:\n%s\n", ref.label, ref.run.stderr)
	}
	t.Error(b.String())
}

func indentRaw(b []byte) string {
	if len(b) == 0 {
		return "  (empty)"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	var out strings.Builder
	for _, l := range lines {
		if len(l) > 2000 {
			fmt.Fprintf(&out, "  %q... (%d bytes)\n", l[:2000], len(l))
			continue
		}
		fmt.Fprintf(&out, "  %q\n", l)
	}
	return strings.TrimRight(out.String(), "\n")
}

// TestParseSSE checks how SSE bytes are split into payloads.
func TestParseSSE(t *testing.T) {
	in := ": ping\n\ndata: {\"type\":\"start\"}\n\ndata:{\"a\":1}\r\n\r\ndata: [DONE]\n\n"
	s := parseSSE([]byte(in))
	if !s.done {
		t.Error("done = false, want true")
	}
	want := []string{`{"type":"start"}`, `{"a":1}`}
	if !reflect.DeepEqual(s.payloads, want) {
		t.Errorf("payloads = %q, want %q", s.payloads, want)
	}
	s = parseSSE([]byte("data: [DONE]\n\ndata: {}\n\n"))
	if s.done || len(s.payloads) != 2 {
		t.Errorf("a [DONE] in the middle: got %+v", s)
	}
	if !decodeJSON(`{"a":1,"b":[1.0]}`).equal(decodeJSON(`{"b":[1],"a":1}`)) {
		t.Error("semantically equal JSON compared unequal")
	}
	if decodeJSON(`{"a":null}`).equal(decodeJSON(`{}`)) {
		t.Error("null and absent compared equal")
	}
}

// TestRenderDiff checks the difference report.
func TestRenderDiff(t *testing.T) {
	want := decodeAll([]string{`{"type":"start"}`, `{"type":"x","a":[1,2]}`, `{"type":"finish"}`})
	got := decodeAll([]string{`{"type":"start"}`, `{"type":"x","a":[1,3],"b":null}`, `{"type":"finish"}`, `{"type":"extra"}`})
	out := renderDiff("want", want, "got", got)
	for _, s := range []string{
		`    1  1  {"type":"start"}`,
		`  -  2     {"a":[1,2],"type":"x"}`,
		`  +     2  {"a":[1,3],"b":null,"type":"x"}`,
		`  +     4  {"type":"extra"}`,
		`$.a[1]: 2 vs 3`,
		`$.b: (absent) vs null`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("diff lacks %q:\n%s", s, out)
		}
	}
}
