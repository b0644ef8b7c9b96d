package octavus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fast path (fastpath.go) must give exactly what the general path
// gives: the same event from the same line, the same bytes from the same
// event. These tests and the fuzz targets compare the two.

// generalJSON is the general encoder's JSON of a flat event: what
// MarshalJSON wrote before the fast path (marshalTagged of the plain
// struct through encoding/json).
func generalJSON(t testing.TB, ev StreamEvent) []byte {
	t.Helper()
	var b []byte
	var err error
	switch e := ev.(type) {
	case *TextDeltaEvent:
		type plain TextDeltaEvent
		b, err = marshalTagged(`"text-delta"`, (*plain)(e), nil)
	case *ReasoningDeltaEvent:
		type plain ReasoningDeltaEvent
		b, err = marshalTagged(`"reasoning-delta"`, (*plain)(e), nil)
	case *ToolInputDeltaEvent:
		type plain ToolInputDeltaEvent
		b, err = marshalTagged(`"tool-input-delta"`, (*plain)(e), nil)
	case *TextEndEvent:
		type plain TextEndEvent
		b, err = marshalTagged(`"text-end"`, (*plain)(e), nil)
	case *ReasoningStartEvent:
		type plain ReasoningStartEvent
		b, err = marshalTagged(`"reasoning-start"`, (*plain)(e), nil)
	case *ReasoningEndEvent:
		type plain ReasoningEndEvent
		b, err = marshalTagged(`"reasoning-end"`, (*plain)(e), nil)
	case *ToolInputEndEvent:
		type plain ToolInputEndEvent
		b, err = marshalTagged(`"tool-input-end"`, (*plain)(e), nil)
	case *ToolOutputErrorEvent:
		type plain ToolOutputErrorEvent
		b, err = marshalTagged(`"tool-output-error"`, (*plain)(e), nil)
	case *WorkerInputDeltaEvent:
		type plain WorkerInputDeltaEvent
		b, err = marshalTagged(`"worker-input-delta"`, (*plain)(e), nil)
	default:
		b, err = marshalJSON(ev)
	}
	require.NoError(t, err)
	return b
}

// checkFlatDecode compares the fast decoder with the general path on line:
// whatever the fast path accepts, the general path accepts as the same
// event; a line already in canonical form (the bytes the encoder writes for
// its event) must be taken by the fast path.
func checkFlatDecode(t testing.TB, line []byte) {
	t.Helper()
	for _, a := range []*flatAlloc{nil, {}} {
		fast := decodeFlat(line, a)
		general, err := parseGeneral(line)
		if fast != nil {
			if err != nil {
				t.Fatalf("%q: fast path took it as %#v, the general path refuses it: %v", line, fast, err)
			}
			if !reflect.DeepEqual(fast, general) {
				t.Fatalf("%q: fast path %#v, general path %#v", line, fast, general)
			}
			if got, want := marshalFlat(fast), generalJSON(t, general); !bytes.Equal(got, want) {
				t.Fatalf("%q: fast encoder %s, general encoder %s", line, got, want)
			}
			continue
		}
		if err == nil {
			if enc, ok := appendFlat(nil, general); ok && bytes.Equal(enc, line) {
				t.Fatalf("%q: canonical flat event left to the general path", line)
			}
		}
	}
	checkVerbatim(t, line)
	// ParseStreamEvent is the fast path, then the general one.
	ev, err := ParseStreamEvent(line)
	general, gerr := parseGeneral(line)
	if (err == nil) != (gerr == nil) || !reflect.DeepEqual(ev, general) {
		t.Fatalf("%q: ParseStreamEvent %#v, %v; general path %#v, %v", line, ev, err, general, gerr)
	}
}

var flatDecodeCases = []string{
	// Canonical, every flat type.
	`{"type":"text-delta","id":"text_1","delta":"Hello there"}`,
	`{"type":"reasoning-delta","id":"r1","delta":"Thinking"}`,
	`{"type":"tool-input-delta","toolCallId":"call_1","inputTextDelta":"{\"city\":"}`,
	`{"type":"text-end","id":"t1"}`,
	`{"type":"reasoning-start","id":"r1"}`,
	`{"type":"reasoning-end","id":"r1"}`,
	`{"type":"tool-input-end","toolCallId":"c"}`,
	`{"type":"tool-output-error","toolCallId":"c","error":"boom"}`,
	`{"type":"text-delta","id":"","delta":""}`,
	// A worker's events: the optional workerId, canonical and not.
	`{"type":"text-delta","id":"text_1","delta":"Hello there","workerId":"worker_1"}`,
	`{"type":"reasoning-delta","id":"r1","delta":"Thinking","workerId":"w"}`,
	`{"type":"tool-input-delta","toolCallId":"call_1","inputTextDelta":"{\"city\":","workerId":"w"}`,
	`{"type":"text-end","id":"t1","workerId":"w"}`,
	`{"type":"reasoning-start","id":"r1","workerId":"w"}`,
	`{"type":"reasoning-end","id":"r1","workerId":"w"}`,
	`{"type":"tool-input-end","toolCallId":"c","workerId":"w"}`,
	`{"type":"tool-output-error","toolCallId":"c","error":"boom","workerId":"w"}`,
	`{"type":"worker-input-delta","workerId":"w","delta":"{\"q\":"}`,
	`{"type":"worker-input-delta","delta":"x","workerId":"w"}`,
	`{"type":"worker-input-delta","workerId":"w"}`,
	`{"type":"worker-input-delta","workerId":"w","delta":"x","workerId":"v"}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":""}`,
	`{"type":"text-end","id":"t","workerId":""}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":null}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":1}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":"w","workerId":"v"}`,
	`{"type":"text-delta","workerId":"w","id":"t","delta":"x"}`,
	`{"workerId":"w","type":"text-end","id":"t"}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":"w\n\u00e9"}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":"\ud83d"}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":"w","extra":"y"}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":"w",}`,
	`{"type":"text-delta","id":"t","delta":"x","workerId":"w"`,
	`{"type":"text-delta","id":"t","delta":"x","workerid":"w"}`,
	`{"type":"text-delta","id":"t","delta":"x","worker\u0049d":"w"}`,
	"{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"x\",\"workerId\":\"bad \xff\"}",
	// Escapes: the canonical ones and the others JSON allows.
	`{"type":"text-delta","id":"t","delta":"a\nb\tc\rd\"e\\f\bg\fh"}`,
	`{"type":"text-delta","id":"t","delta":"\u0000\u001f\u0001"}`,
	`{"type":"text-delta","id":"t","delta":"\/ \u0041 \u00e9 \u20ac \uFFFF"}`,
	`{"type":"text-delta","id":"t","delta":"\ud83d\ude00"}`, // a surrogate pair: general path
	`{"type":"text-delta","id":"t","delta":"\ud83d"}`,       // a lone surrogate: general path
	`{"type":"text-delta","id":"t","delta":"\ude00x"}`,
	`{"type":"text-delta","id":"t","delta":"\x"}`,
	`{"type":"text-delta","id":"t","delta":"\u12"}`,
	`{"type":"text-delta","id":"t","delta":"\u12G4"}`,
	`{"type":"text-delta","id":"t","delta":"ends in \"}`,
	// Non-ASCII, valid and not.
	"{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"café 你好 😀 \u2028\u2029 \u007f\"}",
	"{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"bad \xff utf8\"}",
	"{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"cut \xe2\x82\"}",
	"{\"type\":\"text-delta\",\"id\":\"\xc0\xaf\",\"delta\":\"x\"}",
	"{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"<b>&amp;</b>\"}",
	// Raw control characters are not JSON.
	"{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"tab\there\"}",
	"{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"nul\x00\"}",
	// Other key orders, unknown keys, duplicates.
	`{"id":"t","type":"text-delta","delta":"x"}`,
	`{"delta":"x","id":"t","type":"text-delta"}`,
	`{"type":"text-delta","id":"t","delta":"x","extra":"y"}`,
	`{"type":"text-delta","extra":"\ud800","id":"t","delta":"x"}`,
	`{"type":"text-delta","extra":"\q","id":"t","delta":"x"}`,
	`{"type":"text-delta","id":"t","delta":"x","id":"u"}`,
	`{"type":"text-delta","type":"text-end","id":"t","delta":"x"}`,
	`{"type":"text-delta","id":"t","delta":"x","extra":1}`,
	`{"type":"text-delta","i\u0064":"t","delta":"x"}`,
	`{"typ\u0065":"text-delta","id":"t","delta":"x"}`,
	`{"type":"text-delt\u0061","id":"t","delta":"x"}`,
	`{"type":"text-delta","id":"t","delta":"x","a":"1","b":"2","c":"3","d":"4"}`,
	// Missing or mistyped fields, other shapes.
	`{"type":"text-delta","id":"t"}`,
	`{"type":"text-delta","delta":"x"}`,
	`{"type":"text-delta","id":1,"delta":"x"}`,
	`{"type":"text-delta","id":null,"delta":"x"}`,
	`{"type":"text-delta","id":"t","delta":["x"]}`,
	`{"type":"text-start","id":"t"}`,
	`{"type":"start"}`,
	`{"type":"TEXT-DELTA","id":"t","delta":"x"}`,
	`{"type":"text-delta","id":"t","delta":"x"} `,
	` {"type":"text-delta","id":"t","delta":"x"}`,
	`{ "type":"text-delta","id":"t","delta":"x"}`,
	`{"type" : "text-delta","id":"t","delta":"x"}`,
	`{"type":"text-delta","id":"t","delta":"x"}}`,
	`{"type":"text-delta","id":"t","delta":"x"`,
	`{"type":"text-delta","id":"t","delta":"x",}`,
	`{"type":"text-delta","id":"t",,"delta":"x"}`,
	`{"type":"text-delta","id":"t""delta":"x"}`,
	`{"type":"text-delta","id":"t","delta":"x"}{}`,
	`{}`, `{"}`, `{"type"}`, `{"type":}`, `{"type":"`, `[]`, `null`, ``, `"x"`,
}

func TestFlatDecodeMatchesGeneralPath(t *testing.T) {
	for _, c := range flatDecodeCases {
		checkFlatDecode(t, []byte(c))
	}
	// Every event of the events test table, both paths.
	for _, c := range evtEventCases {
		checkFlatDecode(t, []byte(c.in))
	}
}

func TestFlatDecodeTakesTheHotEvents(t *testing.T) {
	for _, c := range []string{
		benchDelta, benchDeltaEscaped,
		`{"type":"text-delta","id":"t","delta":"x"}`,
		`{"delta":"x","type":"text-delta","id":"t"}`,
		`{"type":"text-delta","id":"t","delta":"x","providerMetadata":"y"}`,
		`{"type":"text-delta","id":"t","delta":"\u00e9\/"}`,
		`{"type":"tool-input-delta","toolCallId":"c","inputTextDelta":"{\"a\":1}"}`,
		benchWorkerDelta,
		`{"type":"text-delta","workerId":"w","id":"t","delta":"x"}`,
		`{"type":"reasoning-delta","id":"r","delta":"x","workerId":"w"}`,
		`{"type":"tool-input-delta","toolCallId":"c","inputTextDelta":"{","workerId":"w"}`,
		`{"type":"worker-input-delta","workerId":"w","delta":"{\"q\":"}`,
	} {
		assert.NotNil(t, decodeFlat([]byte(c), nil), c)
	}
}

// encodeCases are strings that exercise every branch of the JSON string
// encoder.
var encodeCases = []string{
	"", "plain", "Hello there, this is a token", "<b>&amp;</b>", "quote \" backslash \\ slash /",
	"\x00\x01\x07\b\t\n\v\f\r\x0e\x1f\x7f", "café 你好 😀", "\u2028\u2029 separators", "\ufffd",
	"bad \xff utf8", "cut \xe2\x82", "\xc0\xaf overlong", "\xed\xa0\x80 surrogate", strings.Repeat("long ", 100),
	"12345678\"12345678\\", "1234567\x80",
}

func TestAppendFlatMatchesEncodingJSON(t *testing.T) {
	for _, s := range encodeCases {
		for _, ev := range flatEventsOf(s) {
			got, ok := appendFlat(nil, ev)
			require.True(t, ok)
			want := generalJSON(t, ev)
			require.Equal(t, string(want), string(got), "%#v", ev)
			mj, err := ev.(json.Marshaler).MarshalJSON()
			require.NoError(t, err)
			require.Equal(t, string(want), string(mj))
			var buf bytes.Buffer
			require.NoError(t, appendSSEEvent(&buf, ev))
			require.Equal(t, "data: "+string(want)+"\n\n", buf.String())
		}
	}
}

// flatEventsOf returns one event of every flat type with s in each field.
func flatEventsOf(s string) []StreamEvent {
	return []StreamEvent{
		&TextDeltaEvent{ID: s, Delta: s}, &TextDeltaEvent{ID: "t", Delta: s},
		&ReasoningDeltaEvent{ID: s, Delta: s}, &ToolInputDeltaEvent{ToolCallID: s, InputTextDelta: s},
		&TextEndEvent{ID: s}, &ReasoningStartEvent{ID: s}, &ReasoningEndEvent{ID: s},
		&ToolInputEndEvent{ToolCallID: s}, &ToolOutputErrorEvent{ToolCallID: s, Error: s},
		&TextDeltaEvent{ID: "t", Delta: s, WorkerID: s}, &TextDeltaEvent{ID: "t", Delta: "d", WorkerID: "w" + s},
		&ReasoningDeltaEvent{ID: s, Delta: s, WorkerID: s}, &ToolInputDeltaEvent{ToolCallID: s, InputTextDelta: s, WorkerID: s},
		&TextEndEvent{ID: s, WorkerID: s}, &ReasoningStartEvent{ID: s, WorkerID: s}, &ReasoningEndEvent{ID: s, WorkerID: s},
		&ToolInputEndEvent{ToolCallID: s, WorkerID: s}, &ToolOutputErrorEvent{ToolCallID: s, Error: s, WorkerID: s},
		&WorkerInputDeltaEvent{WorkerID: s, Delta: s}, &WorkerInputDeltaEvent{WorkerID: "w", Delta: s},
	}
}

func TestAppendFlatLeavesOtherEvents(t *testing.T) {
	for _, ev := range []StreamEvent{&StartEvent{}, &TextStartEvent{ID: "t"}, (*TextDeltaEvent)(nil), nil} {
		_, ok := appendFlat(nil, ev)
		assert.False(t, ok, "%#v", ev)
	}
	// A nil event pointer is written as before: encoding/json's null.
	var buf bytes.Buffer
	require.NoError(t, appendSSEEvent(&buf, (*TextDeltaEvent)(nil)))
	assert.Equal(t, "data: null\n\n", buf.String())
}

// TestFlatAllocEventsAreIndependent checks that events and strings taken
// from a stream's slabs and arena stay as they were decoded while later
// events are decoded, across slab and arena boundaries, and that changing
// one event changes no other.
func TestFlatAllocEventsAreIndependent(t *testing.T) {
	var a flatAlloc
	var events []StreamEvent
	var want []string
	for i := range 3 * flatSlab * 10 {
		delta := fmt.Sprintf("delta %d %s", i, strings.Repeat("x", i%300))
		if i%97 == 0 {
			delta = strings.Repeat("y", flatArenaLarge+i) // its own allocation
		}
		line := fmt.Sprintf(`{"type":"%s","id":"id%d","delta":"%s"}`, []string{"text-delta", "reasoning-delta"}[i%2], i, delta)
		ev := decodeFlat([]byte(line), &a)
		require.NotNil(t, ev)
		events = append(events, ev)
		want = append(want, line)
	}
	for i, ev := range events {
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		require.Equal(t, want[i], string(b))
	}
	events[5].(*ReasoningDeltaEvent).Delta = "changed"
	events[6].(*TextDeltaEvent).ID = "changed"
	for i, ev := range events {
		if i == 5 || i == 6 {
			continue
		}
		b, _ := json.Marshal(ev)
		require.Equal(t, want[i], string(b))
	}
}

// TestEditedEventsAreWrittenAsEdited runs a stream through Execute, changes
// every delta on its way to ToSSEStream (as a filter between the two may),
// and checks that the browser gets the changed text: the writer encodes
// the event's fields, it never replays the platform's bytes.
func TestEditedEventsAreWrittenAsEdited(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"text-delta","id":"t","delta":"hello"}`,
		`{"type":"reasoning-delta","id":"r","delta":"why"}`,
		`{"type":"tool-input-delta","toolCallId":"c","inputTextDelta":"{}"}`,
		`{"type":"finish","finishReason":"stop"}`))
	events := f.client(t).AgentSessions.Attach("s", AttachOptions{}).Execute(context.Background(), userMessage)
	edited := make(chan StreamEvent)
	go func() {
		defer close(edited)
		for ev := range events {
			switch e := ev.(type) {
			case *TextDeltaEvent:
				e.Delta = strings.ToUpper(e.Delta) + "<&>"
			case *ReasoningDeltaEvent:
				e.ID = "r2"
			case *ToolInputDeltaEvent:
				e.InputTextDelta = "\n"
			}
			edited <- ev
		}
	}()
	rec := httptest.NewRecorder()
	ToSSEStream(edited).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	assert.Equal(t, "data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\n"+
		"data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"HELLO<&>\"}\n\n"+
		"data: {\"type\":\"reasoning-delta\",\"id\":\"r2\",\"delta\":\"why\"}\n\n"+
		"data: {\"type\":\"tool-input-delta\",\"toolCallId\":\"c\",\"inputTextDelta\":\"\\n\"}\n\n"+
		"data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n"+
		"data: [DONE]\n\n", rec.Body.String())
}

func FuzzFlatDecode(f *testing.F) {
	for _, c := range flatDecodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkFlatDecode(t, line)
	})
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range encodeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := marshalJSON(s)
		require.NoError(t, err)
		got := appendJSONString(nil, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, encoding/json %s", s, got, want)
		}
		// What the encoder writes, the fast decoder reads back (strings
		// that are not valid UTF-8 come back with U+FFFD, as from
		// encoding/json).
		line := append(append([]byte(`{"type":"text-delta","id":"t","delta":`), got...), '}')
		ev := decodeFlat(line, nil)
		require.NotNil(t, ev, "%s", line)
		if utf8.ValidString(s) {
			require.Equal(t, s, ev.(*TextDeltaEvent).Delta)
		}
	})
}
