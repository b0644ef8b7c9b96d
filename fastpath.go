package octavus

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// The fast path: a hand-written decoder and encoder for the events that
// carry nothing but strings: one or two required ones, and for most the
// optional workerId (the delta events above all, which are almost all of a
// stream, a worker's too). They give exactly what the general path
// (ParseStreamEvent and encoding/json) gives, or decline and leave the
// event to it; fastpath_test.go and FuzzFlatDecode check that.

// flatKind describes one event type of the fast path: its "type", its
// required string fields in wire order, and whether an optional workerId
// may follow them.
type flatKind struct {
	typ  string
	keys []string
	// worker is true when the schema has an optional workerId string
	// after keys.
	worker bool
	// names are keys, then workerId when worker is set.
	names []string
	// heads are the keys as the canonical layout writes them:
	// `,"key":"`.
	heads []string
	// prefix is the canonical layout up to the first value:
	// `{"type":"<typ>","<key1>":"`.
	prefix string
}

// flatWorkerKey and flatWorkerHead are the optional key of the flat kinds
// and its head in the canonical layout.
const (
	flatWorkerKey  = "workerId"
	flatWorkerHead = `,"workerId":"`
)

// The flat kinds, by index.
const (
	flatTextDelta = iota
	flatReasoningDelta
	flatToolInputDelta
	flatTextEnd
	flatReasoningStart
	flatReasoningEnd
	flatToolInputEnd
	flatToolOutputError
	flatWorkerInputDelta
)

var flatKinds = func() []flatKind {
	k := []flatKind{
		flatTextDelta:        {typ: "text-delta", keys: []string{"id", "delta"}, worker: true},
		flatReasoningDelta:   {typ: "reasoning-delta", keys: []string{"id", "delta"}, worker: true},
		flatToolInputDelta:   {typ: "tool-input-delta", keys: []string{"toolCallId", "inputTextDelta"}, worker: true},
		flatTextEnd:          {typ: "text-end", keys: []string{"id"}, worker: true},
		flatReasoningStart:   {typ: "reasoning-start", keys: []string{"id"}, worker: true},
		flatReasoningEnd:     {typ: "reasoning-end", keys: []string{"id"}, worker: true},
		flatToolInputEnd:     {typ: "tool-input-end", keys: []string{"toolCallId"}, worker: true},
		flatToolOutputError:  {typ: "tool-output-error", keys: []string{"toolCallId", "error"}, worker: true},
		flatWorkerInputDelta: {typ: "worker-input-delta", keys: []string{"workerId", "delta"}},
	}
	for i := range k {
		for _, key := range k[i].keys {
			k[i].heads = append(k[i].heads, `,"`+key+`":"`)
		}
		k[i].prefix = `{"type":"` + k[i].typ + `"` + k[i].heads[0]
		k[i].names = k[i].keys
		if k[i].worker {
			k[i].names = append(append([]string(nil), k[i].keys...), flatWorkerKey)
		}
	}
	return k
}()

// flatKindOf returns the index of the flat kind whose "type" is t, or -1.
func flatKindOf(t []byte) int {
	switch string(t) {
	case "text-delta":
		return flatTextDelta
	case "reasoning-delta":
		return flatReasoningDelta
	case "tool-input-delta":
		return flatToolInputDelta
	case "text-end":
		return flatTextEnd
	case "reasoning-start":
		return flatReasoningStart
	case "reasoning-end":
		return flatReasoningEnd
	case "tool-input-end":
		return flatToolInputEnd
	case "tool-output-error":
		return flatToolOutputError
	case "worker-input-delta":
		return flatWorkerInputDelta
	}
	return -1
}

// buildFlat makes the event of kind k from its field values: v0 and v1
// are the required ones (v1 empty for a kind with one), w the workerId.
func buildFlat(a *flatAlloc, k int, v0, v1, w string) StreamEvent {
	switch k {
	case flatTextDelta:
		e := a.textDelta()
		e.ID, e.Delta, e.WorkerID = v0, v1, w
		return e
	case flatReasoningDelta:
		e := a.reasoningDelta()
		e.ID, e.Delta, e.WorkerID = v0, v1, w
		return e
	case flatToolInputDelta:
		e := a.toolInputDelta()
		e.ToolCallID, e.InputTextDelta, e.WorkerID = v0, v1, w
		return e
	case flatTextEnd:
		return &TextEndEvent{ID: v0, WorkerID: w}
	case flatReasoningStart:
		return &ReasoningStartEvent{ID: v0, WorkerID: w}
	case flatReasoningEnd:
		return &ReasoningEndEvent{ID: v0, WorkerID: w}
	case flatToolInputEnd:
		return &ToolInputEndEvent{ToolCallID: v0, WorkerID: w}
	case flatToolOutputError:
		return &ToolOutputErrorEvent{ToolCallID: v0, Error: v1, WorkerID: w}
	case flatWorkerInputDelta:
		return &WorkerInputDeltaEvent{WorkerID: v0, Delta: v1}
	}
	return nil
}

// flatAlloc hands out the memory of decoded events. A nil *flatAlloc
// allocates each event and its strings on their own (two allocations). A
// stream's flatAlloc (readLeg has one) takes the delta events from slabs
// and their strings from a string arena, so that a stream of deltas costs
// an allocation per slab or arena, not per event.
//
// The arena is a strings.Builder: its String is not a copy, and it only
// ever appends, so the strings cut from it never change. A slab or arena
// stays in memory while any event or string taken from it is referenced;
// the SDK forwards an event and drops it, so that is a few KiB per stream.
type flatAlloc struct {
	arena     strings.Builder
	text      []TextDeltaEvent
	reasoning []ReasoningDeltaEvent
	toolInput []ToolInputDeltaEvent
}

const (
	flatSlab       = 32      // events per slab
	flatArena      = 4 << 10 // bytes per string arena
	flatArenaLarge = 1 << 10 // strings longer than this get their own allocation
)

func (a *flatAlloc) textDelta() *TextDeltaEvent {
	if a == nil {
		return new(TextDeltaEvent)
	}
	if len(a.text) == 0 {
		a.text = make([]TextDeltaEvent, flatSlab)
	}
	e := &a.text[0]
	a.text = a.text[1:]
	return e
}

func (a *flatAlloc) reasoningDelta() *ReasoningDeltaEvent {
	if a == nil {
		return new(ReasoningDeltaEvent)
	}
	if len(a.reasoning) == 0 {
		a.reasoning = make([]ReasoningDeltaEvent, flatSlab)
	}
	e := &a.reasoning[0]
	a.reasoning = a.reasoning[1:]
	return e
}

func (a *flatAlloc) toolInputDelta() *ToolInputDeltaEvent {
	if a == nil {
		return new(ToolInputDeltaEvent)
	}
	if len(a.toolInput) == 0 {
		a.toolInput = make([]ToolInputDeltaEvent, flatSlab)
	}
	e := &a.toolInput[0]
	a.toolInput = a.toolInput[1:]
	return e
}

// builder returns the arena with room for size more bytes, or nil for a
// nil a and for long strings (the caller uses a fresh builder then).
func (a *flatAlloc) builder(size int) *strings.Builder {
	if a == nil || size > flatArenaLarge {
		return nil
	}
	if a.arena.Cap()-a.arena.Len() < size {
		a.arena = strings.Builder{}
		a.arena.Grow(flatArena)
	}
	return &a.arena
}

// maxFlatPairs bounds the keys of an object the fast decoder takes; more
// go to the general path.
const maxFlatPairs = 6

// flatString is one string of a flat object: its raw bytes between the
// quotes (line[lo:hi]), and what decoding them needs.
type flatString struct {
	lo, hi   int32
	escaped  bool // holds a backslash escape
	nonASCII bool // holds a byte >= 0x80
}

// strPlain is true for the bytes a JSON string holds as themselves and that
// encoding/json writes as themselves: ASCII from space up, except '"' and
// '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// swarSpecial returns a word with the high bit set in the first byte of w
// (in memory order) that strPlain refuses, and possibly in later bytes; 0
// when all eight are plain.
func swarSpecial(w uint64) uint64 {
	ctl := (w - swarOnes*0x20) &^ w // a byte < 0x20 (or >= 0x80)
	q := w ^ (swarOnes * '"')       // a zero byte where w has '"'
	bs := w ^ (swarOnes * '\\')     // a zero byte where w has '\\'
	return (ctl | (q-swarOnes)&^q | (bs-swarOnes)&^bs | w) & swarHigh
}

// plainPrefixString returns how many bytes from the start of s are plain.
func plainPrefixString(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if m := swarSpecial(w); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s) && strPlain[s[i]]; i++ {
	}
	return i
}

// scanString reads the JSON string that starts after the quote at b[i-1].
// It returns the string and the index after its closing quote, or ok false
// when it is not a well-formed JSON string.
func scanString(b []byte, i int) (s flatString, next int, ok bool) {
	s.lo = int32(i)
	for {
		// Skip plain bytes, eight at a time.
		for i+8 <= len(b) {
			m := swarSpecial(binary.LittleEndian.Uint64(b[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return s, 0, false
		}
		switch c := b[i]; {
		case c == '"':
			s.hi = int32(i)
			return s, i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return s, 0, false
			}
			s.escaped = true
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return s, 0, false
				}
				i += 6
			default:
				return s, 0, false
			}
		case c < 0x20:
			return s, 0, false
		default: // >= 0x80
			s.nonASCII = true
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) rune {
	switch {
	case c <= '9':
		return rune(c - '0')
	case c >= 'a':
		return rune(c - 'a' + 10)
	}
	return rune(c - 'A' + 10)
}

func hex4(b []byte) rune {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}

// decodedLen is an upper bound of the decoded length of s (escapes only
// shrink), or -1 when the fast path does not decode it: invalid UTF-8 or a
// surrogate escape, which encoding/json replaces by U+FFFD or pairs up.
func (s flatString) decodedLen(line []byte) int {
	raw := line[s.lo:s.hi]
	if s.nonASCII && !utf8.Valid(raw) {
		return -1
	}
	if s.escaped {
		for i := 0; i < len(raw); i++ {
			if raw[i] != '\\' {
				continue
			}
			if raw[i+1] == 'u' {
				if r := hex4(raw[i+2:]); 0xD800 <= r && r < 0xE000 {
					return -1
				}
				i += 5
				continue
			}
			i++
		}
	}
	return len(raw)
}

// writeDecoded appends the decoded string to sb. s passed decodedLen.
func (s flatString) writeDecoded(line []byte, sb *strings.Builder) {
	raw := line[s.lo:s.hi]
	if !s.escaped {
		sb.Write(raw)
		return
	}
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\\')
		if i < 0 {
			sb.Write(raw)
			return
		}
		sb.Write(raw[:i])
		switch c := raw[i+1]; c {
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			sb.WriteRune(hex4(raw[i+2:]))
			raw = raw[i+6:]
			continue
		default: // '"', '\\', '/'
			sb.WriteByte(c)
		}
		raw = raw[i+2:]
	}
}

// flatVals are the values of a flat object: the required fields in the
// kind's order, then the workerId when present.
type flatVals struct {
	v [3]flatString
	n int // how many of v are set
}

// decodeFlat decodes line when it is a JSON object of string values only,
// without white space, of one of the flatKinds, with its fields present
// once each. It returns nil for anything else (the general path decides).
// The event's memory comes from a (see flatAlloc).
func decodeFlat(line []byte, a *flatAlloc) StreamEvent {
	k, fv, ok := parseCanonical(line)
	if !ok {
		if k, fv, ok = parseAnyOrder(line); !ok {
			return nil
		}
	}
	req := len(flatKinds[k].keys)
	n := fv.n
	vals := &fv.v
	if n > req && vals[req].hi == vals[req].lo {
		// A present empty workerId: the general path remembers it.
		return nil
	}
	size := 0
	for f := range n {
		l := int(vals[f].hi - vals[f].lo)
		if vals[f].escaped || vals[f].nonASCII {
			if l = vals[f].decodedLen(line); l < 0 {
				return nil
			}
		}
		size += l
	}
	var own strings.Builder
	sb := a.builder(size)
	if sb == nil {
		own.Grow(size)
		sb = &own
	}
	var cut [4]int
	cut[0] = sb.Len()
	for f := range n {
		if v := vals[f]; v.escaped {
			v.writeDecoded(line, sb)
		} else {
			sb.Write(line[v.lo:v.hi])
		}
		cut[f+1] = sb.Len()
	}
	all := sb.String()
	var strs [3]string
	for f := range n {
		strs[f] = all[cut[f]:cut[f+1]]
	}
	if req == 1 {
		// One required field: the workerId, if any, is the second value.
		return buildFlat(a, k, strs[0], "", strs[1])
	}
	return buildFlat(a, k, strs[0], strs[1], strs[2])
}

// parseCanonical reads line when it has the layout the reference and the
// platform write: {"type":"<type>","<key1>":"...","<key2>":"..."}, keys in
// the kind's order, then optionally "workerId":"...". It returns the kind
// and the field values.
func parseCanonical(line []byte) (k int, fv flatVals, ok bool) {
	k, end, ok := parseCanonicalObject(line, &fv)
	return k, fv, ok && end == len(line)-1
}

// parseCanonicalObject is parseCanonical for line holding the object and
// then possibly more: end is the index of the object's closing brace. The
// values are put in fv.
func parseCanonicalObject(line []byte, fv *flatVals) (k, end int, ok bool) {
	vals := &fv.v
	const head = `{"type":"`
	if len(line) < len(head)+2 || string(line[:len(head)]) != head {
		return 0, 0, false
	}
	k = -1
	for j := range flatKinds {
		p := flatKinds[j].prefix
		if len(line) > len(p) && string(line[:len(p)]) == p {
			k = j
			break
		}
	}
	if k < 0 {
		return 0, 0, false
	}
	kind := &flatKinds[k]
	v, i, ok := scanString(line, len(kind.prefix))
	if !ok {
		return 0, 0, false
	}
	vals[0] = v
	fv.n = 1
	if len(kind.heads) == 2 {
		h := kind.heads[1]
		if len(line)-i < len(h) || string(line[i:i+len(h)]) != h {
			return 0, 0, false
		}
		if vals[1], i, ok = scanString(line, i+len(h)); !ok {
			return 0, 0, false
		}
		fv.n = 2
	}
	if kind.worker && len(line)-i > len(flatWorkerHead) && string(line[i:i+len(flatWorkerHead)]) == flatWorkerHead {
		if vals[fv.n], i, ok = scanString(line, i+len(flatWorkerHead)); !ok {
			return 0, 0, false
		}
		fv.n++
	}
	if i >= len(line) || line[i] != '}' {
		return 0, 0, false
	}
	return k, i, true
}

// parseAnyOrder reads line when it is a flat object of string values, keys
// in any order, unknown keys (which the general path drops too) included.
func parseAnyOrder(line []byte) (k int, fv flatVals, ok bool) {
	vals := &fv.v
	if len(line) < 2 || len(line) > 1<<30 || line[0] != '{' || line[len(line)-1] != '}' {
		return 0, fv, false
	}
	var keys, vs [maxFlatPairs]flatString
	n := 0
	typ := -1
	for i := 1; ; {
		if n == maxFlatPairs || i >= len(line) || line[i] != '"' {
			return 0, fv, false
		}
		key, next, ok := scanString(line, i+1)
		// Keys are compared as raw bytes: a key written with escapes
		// goes to the general path.
		if !ok || key.escaped || next+1 >= len(line) || line[next] != ':' || line[next+1] != '"' {
			return 0, fv, false
		}
		v, next, ok := scanString(line, next+2)
		if !ok || next >= len(line) {
			return 0, fv, false
		}
		if string(line[key.lo:key.hi]) == "type" {
			if typ >= 0 {
				return 0, fv, false // a key twice: the general path keeps the last
			}
			typ = n
		}
		keys[n], vs[n] = key, v
		n++
		if line[next] == '}' {
			if next != len(line)-1 {
				return 0, fv, false
			}
			break
		}
		if line[next] != ',' {
			return 0, fv, false
		}
		i = next + 1
	}
	if typ < 0 || vs[typ].escaped {
		return 0, fv, false
	}
	k = flatKindOf(line[vs[typ].lo:vs[typ].hi])
	if k < 0 {
		return 0, fv, false
	}
	for f, name := range flatKinds[k].names {
		at := -1
		for j := range n {
			if string(line[keys[j].lo:keys[j].hi]) != name {
				continue
			}
			if at >= 0 {
				return 0, fv, false
			}
			at = j
		}
		if at < 0 {
			if f < len(flatKinds[k].keys) {
				return 0, fv, false // required: the general path reports it
			}
			break
		}
		vals[f] = vs[at]
		fv.n = f + 1
	}
	return k, fv, true
}

// appendFlat appends the JSON of ev when it is one of the flat event types,
// exactly as its MarshalJSON writes it. ok is false for other events, nil
// pointers and decoded events that remember a present empty workerId.
func appendFlat(dst []byte, ev StreamEvent) (out []byte, ok bool) {
	switch e := ev.(type) {
	case *TextDeltaEvent:
		if e == nil || e.extra != nil {
			return dst, false
		}
		return appendFlat2(dst, `{"type":"text-delta","id":`, e.ID, `,"delta":`, e.Delta, e.WorkerID), true
	case *ReasoningDeltaEvent:
		if e == nil || e.extra != nil {
			return dst, false
		}
		return appendFlat2(dst, `{"type":"reasoning-delta","id":`, e.ID, `,"delta":`, e.Delta, e.WorkerID), true
	case *ToolInputDeltaEvent:
		if e == nil || e.extra != nil {
			return dst, false
		}
		return appendFlat2(dst, `{"type":"tool-input-delta","toolCallId":`, e.ToolCallID, `,"inputTextDelta":`, e.InputTextDelta, e.WorkerID), true
	case *TextEndEvent:
		if e == nil || e.extra != nil {
			return dst, false
		}
		return appendFlat1(dst, `{"type":"text-end","id":`, e.ID, e.WorkerID), true
	case *ReasoningStartEvent:
		if e == nil || e.extra != nil {
			return dst, false
		}
		return appendFlat1(dst, `{"type":"reasoning-start","id":`, e.ID, e.WorkerID), true
	case *ReasoningEndEvent:
		if e == nil || e.extra != nil {
			return dst, false
		}
		return appendFlat1(dst, `{"type":"reasoning-end","id":`, e.ID, e.WorkerID), true
	case *ToolInputEndEvent:
		if e == nil || e.extra != nil {
			return dst, false
		}
		return appendFlat1(dst, `{"type":"tool-input-end","toolCallId":`, e.ToolCallID, e.WorkerID), true
	case *ToolOutputErrorEvent:
		if e == nil || e.extra != nil {
			return dst, false
		}
		return appendFlat2(dst, `{"type":"tool-output-error","toolCallId":`, e.ToolCallID, `,"error":`, e.Error, e.WorkerID), true
	case *WorkerInputDeltaEvent:
		if e == nil {
			return dst, false
		}
		return appendFlat2(dst, `{"type":"worker-input-delta","workerId":`, e.WorkerID, `,"delta":`, e.Delta, ""), true
	}
	return dst, false
}

// appendFlat1 appends an event of one required string; worker, when not
// empty, is written as its workerId.
func appendFlat1(dst []byte, head, v, worker string) []byte {
	dst = append(dst, head...)
	dst = appendJSONString(dst, v)
	return appendFlatEnd(dst, worker)
}

// appendFlat2 appends an event of two required strings; worker, when not
// empty, is written as its workerId.
func appendFlat2(dst []byte, head, v1, mid, v2, worker string) []byte {
	dst = append(dst, head...)
	dst = appendJSONString(dst, v1)
	dst = append(dst, mid...)
	dst = appendJSONString(dst, v2)
	return appendFlatEnd(dst, worker)
}

func appendFlatEnd(dst []byte, worker string) []byte {
	if worker != "" {
		dst = append(dst, `,"workerId":`...)
		dst = appendJSONString(dst, worker)
	}
	return append(dst, '}')
}

// marshalFlat is MarshalJSON for the flat event types.
func marshalFlat(ev StreamEvent) []byte {
	b, _ := appendFlat(make([]byte, 0, 64), ev)
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as marshalJSON writes
// it: encoding/json without HTML escaping (\b, \f, \n, \r, \t and \u00xx
// for the other control characters, invalid UTF-8 as \ufffd), with U+2028
// and U+2029 left as themselves, as JSON.stringify does.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		i += plainPrefixString(s[i:])
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// flatVerbatim reports whether line is a flat event exactly as the encoder
// writes the event it decodes to (appendFlat of decodeFlat's event), so
// that its bytes can be forwarded as they came: the canonical layout
// (parseCanonical), no present empty workerId, valid UTF-8, and no escape
// but those appendJSONString writes (\", \\, \b, \f, \n, \r, \t and \u00xx
// in lower case for the other control characters). The platform writes its
// deltas so, with JSON.stringify.
func flatVerbatim(line []byte) bool {
	end, ok := flatVerbatimObject(line)
	return ok && end == len(line)-1
}

// flatVerbatimObject is flatVerbatim for line holding the object and then
// possibly more: end is the index of the object's closing brace.
func flatVerbatimObject(line []byte) (end int, ok bool) {
	var fv flatVals
	k, end, ok := parseCanonicalObject(line, &fv)
	if !ok || !verbatimValues(line, k, &fv) {
		return 0, false
	}
	return end, true
}

// verbatimValues reports whether the values of a canonical flat object are
// as appendJSONString writes them.
func verbatimValues(line []byte, k int, fv *flatVals) bool {
	if fv.n > len(flatKinds[k].keys) && fv.v[fv.n-1].hi == fv.v[fv.n-1].lo {
		return false
	}
	for f := range fv.n {
		v := fv.v[f]
		if v.nonASCII && !utf8.Valid(line[v.lo:v.hi]) {
			return false
		}
		if v.escaped && !canonicalEscapes(line[v.lo:v.hi]) {
			return false
		}
	}
	return true
}

// canonicalEscapes reports whether every escape in raw, the bytes of a
// well-formed JSON string between its quotes, is the one appendJSONString
// writes for its character.
func canonicalEscapes(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		switch raw[i+1] {
		case '"', '\\', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			h := raw[i+2 : i+6]
			if h[0] != '0' || h[1] != '0' || (h[2] != '0' && h[2] != '1') || !isLowerHex(h[3]) {
				return false
			}
			switch c := hex4(h); c {
			case '\b', '\f', '\n', '\r', '\t':
				return false
			}
			i += 5
		default: // '/'
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// verbatimTextDelta is flatVerbatimObject for the event of almost every
// stream, a text-delta (a worker's too) whose strings are plain ASCII: the
// one check with constant keys, in one pass. ok false leaves the line to
// flatVerbatimObject (another event, escapes, non-ASCII text).
func verbatimTextDelta(b []byte) (end int, ok bool) {
	const (
		prefix = `{"type":"text-delta","id":"`
		mid    = `,"delta":"`
		worker = `,"workerId":"`
	)
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0, false
	}
	i, ok := plainString(b, len(prefix))
	if !ok || len(b)-i < len(mid) || string(b[i:i+len(mid)]) != mid {
		return 0, false
	}
	if i, ok = plainString(b, i+len(mid)); !ok || i >= len(b) {
		return 0, false
	}
	if b[i] == '}' {
		return i, true
	}
	if len(b)-i < len(worker) || string(b[i:i+len(worker)]) != worker {
		return 0, false
	}
	start := i + len(worker)
	if i, ok = plainString(b, start); !ok || i == start+1 || i >= len(b) || b[i] != '}' {
		return 0, false // an empty workerId is not written back
	}
	return i, true
}

// plainString reads the JSON string that starts at b[i] (after its opening
// quote) when it holds plain bytes only (strPlain): next is the index after
// its closing quote.
func plainString(b []byte, i int) (next int, ok bool) {
	for i+8 <= len(b) {
		if m := swarSpecial(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			return i + 1, b[i] == '"'
		}
		i += 8
	}
	for ; i < len(b); i++ {
		if !strPlain[b[i]] {
			return i + 1, b[i] == '"'
		}
	}
	return 0, false
}
