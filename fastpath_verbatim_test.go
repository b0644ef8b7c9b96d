package octavus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// The verbatim path (flatVerbatim, lineReader.nextVerbatim) forwards a
// platform line as it came, in place of decoding and encoding it: it must
// take a line only when both paths would write exactly those bytes, and
// should take every such line.

// checkVerbatim checks flatVerbatim and nextVerbatim on line against the
// fast decoder, the fast encoder and the general path.
func checkVerbatim(t testing.TB, line []byte) {
	t.Helper()
	ok := flatVerbatim(line)
	fast := decodeFlat(line, nil)
	canonical := false
	if fast != nil {
		enc, _ := appendFlat(nil, fast)
		canonical = bytes.Equal(enc, line)
	}
	if ok {
		if fast == nil {
			t.Fatalf("%q: verbatim, yet the fast decoder refuses it", line)
		}
		general, err := parseGeneral(line)
		if err != nil {
			t.Fatalf("%q: verbatim, yet the general path refuses it: %v", line, err)
		}
		if enc := generalJSON(t, general); !bytes.Equal(enc, line) {
			t.Fatalf("%q: verbatim, yet the general encoder writes %s", line, enc)
		}
	}
	if end, fast := verbatimTextDelta(line); fast {
		if end2, ok2 := flatVerbatimObject(line); !ok2 || end2 != end {
			t.Fatalf("%q: verbatimTextDelta takes it (end %d), flatVerbatimObject says %v, %d", line, end, ok2, end2)
		}
	}
	if ok != canonical {
		t.Fatalf("%q: flatVerbatim %v, but the encoder writing the line back is %v", line, ok, canonical)
	}
	// The reader's one-pass version: the line inside a stream, after a
	// first line (a comment), with the empty line that ends the event.
	if bytes.ContainsAny(line, "\r\n") {
		return
	}
	stream := ": c\n" + "data: " + string(line) + "\n\n" + "data: [DONE]\n\n"
	lr := newLineReader(strings.NewReader(stream), defaultMaxEventSize)
	var got []string
	for {
		if v, whole := lr.nextVerbatim(); v != nil {
			if !whole {
				t.Fatalf("%q: the block was taken, but not whole", line)
			}
			got = append(got, "verbatim "+string(v))
			continue
		}
		l, err := lr.next()
		if err != nil {
			break
		}
		if v, isData := dataField(l); isData && len(v) > 0 {
			got = append(got, "line "+string(v))
		}
	}
	want := []string{"line " + string(line), "line [DONE]"}
	if ok {
		want[0] = "verbatim " + string(line)
	}
	if len(line) == 0 {
		want = want[1:] // an empty data line is no event
	}
	if fmt.Sprint(got) == fmt.Sprint(want) {
		return
	}
	// nextVerbatim takes only a block that is whole in the buffer. A stream
	// longer than the reader's first buffer arrives in pieces, and next
	// may then read the block as a line (decoded and encoded again: the
	// same bytes, only slower).
	if ok && len(stream) > lineBufMin {
		asLine := []string{"line " + string(line), "line [DONE]"}
		if fmt.Sprint(got) == fmt.Sprint(asLine) {
			return
		}
	}
	t.Fatalf("%q: the reader gave %q, want %q", line, got, want)
}

// workerLine builds a flat event line of kind k (modulo the flat kinds)
// with the given raw string contents (put between quotes as they are, so
// escapes and bad bytes come through), the workerId at position pos of
// the keys (modulo their count plus one: past the end leaves it out).
func workerLine(k uint8, v0, v1, worker string, pos uint8) []byte {
	kind := flatKinds[int(k)%len(flatKinds)]
	type kv struct{ k, v string }
	var pairs []kv
	vals := []string{v0, v1}
	for i, key := range kind.keys {
		pairs = append(pairs, kv{key, vals[i]})
	}
	if kind.worker {
		at := int(pos) % (len(pairs) + 2)
		if at <= len(pairs) {
			pairs = append(pairs[:at], append([]kv{{flatWorkerKey, worker}}, pairs[at:]...)...)
		}
	}
	var b strings.Builder
	b.WriteString(`{"type":"` + kind.typ + `"`)
	for _, p := range pairs {
		b.WriteString(`,"` + p.k + `":"` + p.v + `"`)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// FuzzFlatDecodeWorker checks the fast paths against the general path on
// the events of a worker: every flat kind with a workerId, in the
// canonical place and elsewhere, with any string contents.
func FuzzFlatDecodeWorker(f *testing.F) {
	for _, c := range []struct {
		k         uint8
		v0, v1, w string
		pos       uint8
	}{
		{flatTextDelta, "text_1", "Hello there", "worker_1", 2},
		{flatTextDelta, "text_1", "Hello there", "worker_1", 0},
		{flatTextDelta, "t", "x", "", 2},
		{flatTextDelta, "t", `line\n\"q\" caf\u00e9`, `w\u0001`, 2},
		{flatReasoningDelta, "r", "why", "w", 1},
		{flatToolInputDelta, "c", `{\"city\":`, "w", 2},
		{flatTextEnd, "t", "", "w", 1},
		{flatReasoningStart, "r", "", `\ud83d`, 1},
		{flatToolOutputError, "c", "boom", "w\xff", 2},
		{flatWorkerInputDelta, "w", `{\"q\":`, "", 0},
		{flatTextDelta, "t", "\u2028 é", `w\/x`, 9},
	} {
		f.Add(c.k, c.v0, c.v1, c.w, c.pos)
	}
	f.Fuzz(func(t *testing.T, k uint8, v0, v1, worker string, pos uint8) {
		line := workerLine(k, v0, v1, worker, pos)
		checkFlatDecode(t, line)
		// Contents as encoding/json writes them: the canonical line, which
		// the verbatim path must take whole.
		enc := func(s string) string {
			b, _ := marshalJSON(s)
			return string(b[1 : len(b)-1])
		}
		if worker == "" {
			worker = "w"
		}
		kind := flatKinds[int(k)%len(flatKinds)]
		line = workerLine(k, enc(v0), enc(v1), enc(worker), uint8(len(kind.keys)))
		checkFlatDecode(t, line)
		valid := utf8.ValidString(v0) && utf8.ValidString(v1) && utf8.ValidString(worker)
		if kind.worker && valid && !flatVerbatim(line) {
			// (Invalid UTF-8 is written as \ufffd, which decodes to a
			// U+FFFD that is written as itself: not a fixed point.)
			t.Fatalf("%q: a canonical worker event is not taken verbatim", line)
		}
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("%q: not JSON: %v", line, err)
		}
	})
}
