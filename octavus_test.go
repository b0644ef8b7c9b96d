package octavus

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestToolResultUnmarshal(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want ToolResult
	}{
		{
			name: "full",
			in:   `{"toolCallId":"c1","toolName":"get_weather","result":{"temp":21},"error":"partial","outputVariable":"w","blockIndex":2}`,
			want: ToolResult{ToolCallID: "c1", ToolName: "get_weather", Result: json.RawMessage(`{"temp":21}`), Error: "partial", OutputVariable: "w", BlockIndex: evtPtr(2)},
		},
		{name: "min", in: `{"toolCallId":"c1"}`, want: ToolResult{ToolCallID: "c1"}},
		{name: "result null", in: `{"toolCallId":"c1","result":null}`, want: ToolResult{ToolCallID: "c1", Result: json.RawMessage(`null`)}},
		{name: "result big number", in: `{"toolCallId":"c1","result":12345678901234567890}`, want: ToolResult{ToolCallID: "c1", Result: json.RawMessage(`12345678901234567890`)}},
		{name: "result precise decimal", in: `{"toolCallId":"c1","result":0.10000000000000000001}`, want: ToolResult{ToolCallID: "c1", Result: json.RawMessage(`0.10000000000000000001`)}},
		{name: "result string", in: `{"toolCallId":"c1","result":"ok"}`, want: ToolResult{ToolCallID: "c1", Result: json.RawMessage(`"ok"`)}},
		{name: "result false", in: `{"toolCallId":"c1","result":false}`, want: ToolResult{ToolCallID: "c1", Result: json.RawMessage(`false`)}},
		{name: "result array", in: `{"toolCallId":"c1","result":[1,"a",null]}`, want: ToolResult{ToolCallID: "c1", Result: json.RawMessage(`[1,"a",null]`)}},
		{name: "block index zero", in: `{"toolCallId":"c1","blockIndex":0}`, want: ToolResult{ToolCallID: "c1", BlockIndex: evtPtr(0)}},
		{name: "error only", in: `{"toolCallId":"c1","error":"Tool execution failed"}`, want: ToolResult{ToolCallID: "c1", Error: "Tool execution failed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tr ToolResult
			require.NoError(t, json.Unmarshal([]byte(tc.in), &tr))
			require.Equal(t, tc.want, tr)
			b, err := json.Marshal(tr)
			require.NoError(t, err)
			require.JSONEq(t, tc.in, string(b))
		})
	}

	// Numbers keep their digits on the way back out.
	var tr ToolResult
	require.NoError(t, json.Unmarshal([]byte(`{"toolCallId":"c","result":{"id":12345678901234567890}}`), &tr))
	b, err := json.Marshal(tr)
	require.NoError(t, err)
	require.Equal(t, `{"toolCallId":"c","result":{"id":12345678901234567890}}`, string(b))

	// Absent result stays absent; null stays null.
	var absent, null ToolResult
	require.NoError(t, json.Unmarshal([]byte(`{"toolCallId":"c"}`), &absent))
	require.NoError(t, json.Unmarshal([]byte(`{"toolCallId":"c","result":null}`), &null))
	require.Nil(t, absent.Result)
	require.Equal(t, json.RawMessage("null"), null.Result)
	b, err = json.Marshal(absent)
	require.NoError(t, err)
	require.Equal(t, `{"toolCallId":"c"}`, string(b))
	b, err = json.Marshal(null)
	require.NoError(t, err)
	require.Equal(t, `{"toolCallId":"c","result":null}`, string(b))

	// Decoding into a slice, as a continue request's toolResults.
	var list []ToolResult
	require.NoError(t, json.Unmarshal([]byte(`[{"toolCallId":"a","result":1},{"toolCallId":"b","extra":true}]`), &list))
	require.Len(t, list, 2)
	require.Equal(t, json.RawMessage(`1`), list[0].Result)
	b, err = json.Marshal(list)
	require.NoError(t, err)
	require.JSONEq(t, `[{"toolCallId":"a","result":1},{"toolCallId":"b","extra":true}]`, string(b))
}

// A browser's tool result reaches the platform as 6.4.0 passes it: the
// result verbatim (the reference does not parse it), files with every key
// they had, width and height included, thread and workerId echoed.
func TestToolResultFromBrowserKeepsFilesVerbatim(t *testing.T) {
	in := `{"toolCallId":"c1","toolName":"screenshot","result":{"ok":true},"files":[{"id":"f1","mediaType":"image/png","url":"https://cdn.example.com/f1.png","filename":"shot.png","size":2048,"width":640,"height":480,"alt":"a page"},{"id":"f2","mediaType":"text/plain","url":"u2","filename":""}],"outputVariable":"shot","blockIndex":1,"thread":"research","workerId":"w1","isError":false}`
	var tr ToolResult
	require.NoError(t, json.Unmarshal([]byte(in), &tr))
	require.Equal(t, "research", tr.Thread)
	require.Equal(t, "w1", tr.WorkerID)
	require.Len(t, tr.Files, 2)
	require.Equal(t, "f1", tr.Files[0].ID)
	require.Equal(t, "image/png", tr.Files[0].MediaType)
	require.Equal(t, "shot.png", tr.Files[0].Filename)
	require.Equal(t, evtPtr(2048.0), tr.Files[0].Size)
	require.Equal(t, "", tr.Files[1].Filename)
	b, err := tr.MarshalJSON()
	require.NoError(t, err)
	// Known keys in the schema's order, then the unknown ones, sorted.
	require.Equal(t, `{"toolCallId":"c1","toolName":"screenshot","result":{"ok":true},"files":[`+
		`{"id":"f1","mediaType":"image/png","url":"https://cdn.example.com/f1.png","filename":"shot.png","size":2048,"alt":"a page","height":480,"width":640},`+
		`{"id":"f2","mediaType":"text/plain","url":"u2","filename":""}],`+
		`"outputVariable":"shot","blockIndex":1,"thread":"research","workerId":"w1","isError":false}`, string(b))
	require.JSONEq(t, in, string(b))

	// Present empty strings and an empty files array are kept.
	in = `{"toolCallId":"c","files":[],"thread":"","workerId":""}`
	require.NoError(t, json.Unmarshal([]byte(in), &tr))
	b, err = tr.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, in, string(b))
}

// In a platform event (client-tool-request.serverToolResults) the schema
// strips: unknown keys of the result and of its files (width, height).
func TestToolResultFromPlatformStripsFiles(t *testing.T) {
	ev, err := ParseStreamEvent([]byte(`{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":[{"toolCallId":"c1","files":[{"id":"f1","mediaType":"image/png","url":"u","width":640,"height":480}],"thread":"t","workerId":"w","isError":false}]}`))
	require.NoError(t, err)
	res := ev.(*ClientToolRequestEvent).ServerToolResults
	require.Equal(t, []ToolResult{{ToolCallID: "c1", Files: []FileReference{{ID: "f1", MediaType: "image/png", URL: "u"}}, Thread: "t", WorkerID: "w"}}, res)
	b, err := res[0].MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, `{"toolCallId":"c1","files":[{"id":"f1","mediaType":"image/png","url":"u"}],"thread":"t","workerId":"w"}`, string(b))
}

func TestToolResultUnmarshalRejects(t *testing.T) {
	for _, in := range []string{
		`null`, `[]`, `"c"`, `1`,
		`{}`,
		`{"toolName":"t"}`,
		`{"toolCallId":null}`,
		`{"toolCallId":1}`,
		`{"toolCallId":"c","toolName":null}`,
		`{"toolCallId":"c","toolName":1}`,
		`{"toolCallId":"c","error":null}`,
		`{"toolCallId":"c","error":{"message":"x"}}`,
		`{"toolCallId":"c","outputVariable":false}`,
		`{"toolCallId":"c","blockIndex":"1"}`,
		`{"toolCallId":"c","blockIndex":null}`,
		`{"toolCallId":"c","blockIndex":1e400}`,
		`{"toolCallId":"c","files":null}`,
		`{"toolCallId":"c","files":{}}`,
		`{"toolCallId":"c","files":[null]}`,
		`{"toolCallId":"c","files":[{"id":"f","mediaType":"m"}]}`,
		`{"toolCallId":"c","files":[{"id":"f","mediaType":"m","url":"u","size":"1"}]}`,
		`{"toolCallId":"c","thread":null}`,
		`{"toolCallId":"c","workerId":1}`,
	} {
		var tr ToolResult
		require.Error(t, json.Unmarshal([]byte(in), &tr), in)
	}
	// The error names the field.
	var tr ToolResult
	err := json.Unmarshal([]byte(`{"toolCallId":"c","toolName":5}`), &tr)
	require.ErrorContains(t, err, "toolName")
}

func TestToolResultMarshal(t *testing.T) {
	cases := []struct {
		name string
		tr   ToolResult
		want string
	}{
		{"min", ToolResult{ToolCallID: "c"}, `{"toolCallId":"c"}`},
		{"nil result omitted", ToolResult{ToolCallID: "c", ToolName: "t", Result: nil}, `{"toolCallId":"c","toolName":"t"}`},
		{"raw null", ToolResult{ToolCallID: "c", Result: json.RawMessage("null")}, `{"toolCallId":"c","result":null}`},
		{"go value", ToolResult{ToolCallID: "c", Result: map[string]any{"b": []int{1, 2}, "a": "x"}}, `{"toolCallId":"c","result":{"a":"x","b":[1,2]}}`},
		{"zero values kept", ToolResult{ToolCallID: "c", Result: 0}, `{"toolCallId":"c","result":0}`},
		{"empty string result kept", ToolResult{ToolCallID: "c", Result: ""}, `{"toolCallId":"c","result":""}`},
		{"false result kept", ToolResult{ToolCallID: "c", Result: false}, `{"toolCallId":"c","result":false}`},
		{"error", ToolResult{ToolCallID: "c", ToolName: "t", Error: "boom"}, `{"toolCallId":"c","toolName":"t","error":"boom"}`},
		{
			"full",
			ToolResult{ToolCallID: "c", ToolName: "t", Result: json.RawMessage(`{"k":1}`), OutputVariable: "v", BlockIndex: evtPtr(0)},
			`{"toolCallId":"c","toolName":"t","result":{"k":1},"outputVariable":"v","blockIndex":0}`,
		},
		{"html not escaped", ToolResult{ToolCallID: "<c>", Result: "a&b"}, `{"toolCallId":"<c>","result":"a&b"}`},
		{
			// The 6.4.0 echo of the call's thread and worker, files after error.
			"thread, worker and files",
			ToolResult{ToolCallID: "c", ToolName: "t", Result: 1, Error: "e", Files: []FileReference{{ID: "f", MediaType: "m", URL: "u", Size: evtPtr(1.5)}},
				OutputVariable: "v", BlockIndex: evtPtr(2), Thread: "th", WorkerID: "w"},
			`{"toolCallId":"c","toolName":"t","result":1,"error":"e","files":[{"id":"f","mediaType":"m","url":"u","size":1.5}],"outputVariable":"v","blockIndex":2,"thread":"th","workerId":"w"}`,
		},
		{"empty files omitted", ToolResult{ToolCallID: "c", Files: []FileReference{}}, `{"toolCallId":"c"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.tr.MarshalJSON()
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
			b, err = json.Marshal(&tc.tr)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(b))
		})
	}

	// Extra keys of a decoded result come after the known ones.
	var tr ToolResult
	require.NoError(t, json.Unmarshal([]byte(`{"zeta":1,"toolCallId":"c","alpha":"a","result":null}`), &tr))
	b, err := tr.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, `{"toolCallId":"c","result":null,"alpha":"a","zeta":1}`, string(b))

	// A result that cannot be encoded is an error, not a panic.
	_, err = json.Marshal(ToolResult{ToolCallID: "c", Result: func() {}})
	require.Error(t, err)
}

func TestIsFileReference(t *testing.T) {
	yes := []any{
		map[string]any{"id": "f", "mediaType": "image/png", "url": "https://x/f.png"},
		map[string]any{"id": "f", "mediaType": "image/png", "url": "u", "filename": "f.png", "size": 12},
		map[string]any{"id": "f", "mediaType": "image/png", "url": "u", "size": 1.5, "extra": []int{1}},
		map[string]any{"id": "", "mediaType": "", "url": ""},
		map[string]string{"id": "f", "mediaType": "m", "url": "u"},
		FileReference{ID: "f", MediaType: "m", URL: "u"},
		FileReference{ID: "f", MediaType: "m", URL: "u", Filename: "a", Size: evtPtr(0.0)},
		&FileReference{ID: "f", MediaType: "m", URL: "u"},
		struct {
			ID   string `json:"id"`
			Type string `json:"mediaType"`
			Link string `json:"url"`
		}{"f", "m", "u"},
		json.RawMessage(`{"id":"f","mediaType":"m","url":"u"}`),
		[]byte(` {"id":"f","mediaType":"m","url":"u","size":-0} `),
		json.RawMessage(`{"id":"f","mediaType":"m","url":"u","url":"v"}`),
	}
	for i, v := range yes {
		require.True(t, IsFileReference(v), "%d: %#v", i, v)
	}
	no := []any{
		nil,
		(*FileReference)(nil),
		"f",
		`{"id":"f","mediaType":"m","url":"u"}`, // a Go string is a JSON string, not an object
		42,
		true,
		[]any{},
		[]FileReference{{ID: "f", MediaType: "m", URL: "u"}},
		map[string]any{},
		map[string]any{"id": "f", "mediaType": "m"},
		map[string]any{"id": "f", "url": "u"},
		map[string]any{"mediaType": "m", "url": "u"},
		map[string]any{"id": 1, "mediaType": "m", "url": "u"},
		map[string]any{"id": nil, "mediaType": "m", "url": "u"},
		map[string]any{"ID": "f", "mediaType": "m", "url": "u"},
		map[string]any{"id": "f", "mediaType": "m", "url": "u", "size": "12"},
		map[string]any{"id": "f", "mediaType": "m", "url": "u", "size": nil},
		map[string]any{"id": "f", "mediaType": "m", "url": "u", "filename": nil},
		map[string]any{"id": "f", "mediaType": "m", "url": "u", "filename": 7},
		map[string]any{"id": "f", "mediaType": "m", "url": []string{"u"}},
		json.RawMessage(`null`),
		json.RawMessage(``),
		json.RawMessage(`[{"id":"f","mediaType":"m","url":"u"}]`),
		json.RawMessage(`{"id":"f","mediaType":"m","url":"u"`),
		json.RawMessage(`{"id":"f","mediaType":"m","url":"u","size":1e400}`),
		[]byte(`{"id":"f","mediaType":"m","url":"u"} trailing`),
		func() {},
		make(chan int),
	}
	for i, v := range no {
		require.False(t, IsFileReference(v), "%d: %#v", i, v)
	}
}

func TestIsFileReferenceArray(t *testing.T) {
	ref := map[string]any{"id": "f", "mediaType": "m", "url": "u"}
	yes := []any{
		[]any{},
		[]FileReference{},
		[]FileReference(nil),
		[]any(nil),
		[]map[string]any(nil),
		[]any{ref},
		[]any{ref, map[string]any{"id": "g", "mediaType": "m", "url": "v", "size": 3, "filename": "g"}},
		[]FileReference{{ID: "f", MediaType: "m", URL: "u"}, {ID: "g", MediaType: "m", URL: "v"}},
		[]*FileReference{{ID: "f", MediaType: "m", URL: "u"}},
		[2]FileReference{{ID: "f", MediaType: "m", URL: "u"}, {ID: "g", MediaType: "m", URL: "v"}},
		json.RawMessage(`[]`),
		json.RawMessage(` [ ] `),
		json.RawMessage(`[{"id":"f","mediaType":"m","url":"u"}]`),
		[]byte(`[{"id":"f","mediaType":"m","url":"u","extra":1},{"id":"g","mediaType":"n","url":"v"}]`),
	}
	for i, v := range yes {
		require.True(t, IsFileReferenceArray(v), "%d: %#v", i, v)
	}
	no := []any{
		nil,
		ref,
		FileReference{ID: "f", MediaType: "m", URL: "u"},
		"[]",
		0,
		[]any{nil},
		[]any{ref, nil},
		[]any{ref, map[string]any{"id": "g"}},
		[]any{ref, "f"},
		[]any{[]any{ref}},
		[]*FileReference{nil},
		json.RawMessage(`null`),
		json.RawMessage(``),
		json.RawMessage(`{}`),
		json.RawMessage(`[null]`),
		json.RawMessage(`[1]`),
		json.RawMessage(`[[]]`),
		json.RawMessage(`[{"id":"f","mediaType":"m","url":"u"},{"id":"g","mediaType":"m","url":1}]`),
		json.RawMessage(`[{"id":"f","mediaType":"m","url":"u"}`),
		json.RawMessage(`[{"id":"f","mediaType":"m","url":"u","size":null}]`),
		[]byte(nil),
		json.RawMessage(nil),
	}
	for i, v := range no {
		require.False(t, IsFileReferenceArray(v), "%d: %#v", i, v)
	}
}

func TestThreadHelpers(t *testing.T) {
	require.Equal(t, "main", MainThread)

	require.Equal(t, "main", ResolveThread(""))
	require.Equal(t, "main", ResolveThread("main"))
	require.Equal(t, "research", ResolveThread("research"))
	require.Equal(t, "Main", ResolveThread("Main"))

	require.True(t, IsMainThread(""))
	require.True(t, IsMainThread("main"))
	require.False(t, IsMainThread("Main"))
	require.False(t, IsMainThread("research"))
	require.False(t, IsMainThread(" main"))

	require.Equal(t, "", ThreadForPart(""))
	require.Equal(t, "", ThreadForPart("main"))
	require.Equal(t, "research", ThreadForPart("research"))
	require.Equal(t, "MAIN", ThreadForPart("MAIN"))

	require.False(t, IsOtherThread(""))
	require.False(t, IsOtherThread("main"))
	require.True(t, IsOtherThread("research"))
	require.True(t, IsOtherThread("main2"))
}

func TestSkillTools(t *testing.T) {
	require.Equal(t, "octavus_skill_read", SkillToolRead)
	require.Equal(t, "octavus_skill_list", SkillToolList)
	require.Equal(t, "octavus_skill_run", SkillToolRun)
	require.Equal(t, "octavus_code_run", SkillToolCodeRun)
	require.Equal(t, "octavus_file_write", SkillToolFileWrite)
	require.Equal(t, "octavus_file_read", SkillToolFileRead)

	for _, name := range []string{"octavus_skill_read", "octavus_skill_list", "octavus_skill_run", "octavus_code_run", "octavus_file_write", "octavus_file_read"} {
		require.True(t, IsOctavusSkillTool(name), name)
	}
	for _, name := range []string{"", "octavus_skill", "octavus_skill_write", "OCTAVUS_SKILL_READ", "octavus_skill_read ", "get_weather", "octavus_file_delete"} {
		require.False(t, IsOctavusSkillTool(name), name)
	}

	require.Equal(t, "pdf", SkillSlugFromToolCall("octavus_skill_read", map[string]any{"skill": "pdf"}))
	require.Equal(t, "xlsx", SkillSlugFromToolCall("octavus_code_run", map[string]any{"skill": "xlsx", "code": "print(1)"}))
	require.Equal(t, "", SkillSlugFromToolCall("octavus_skill_read", map[string]any{"skill": ""}))
	require.Equal(t, "", SkillSlugFromToolCall("get_weather", map[string]any{"skill": "pdf"}))
	require.Equal(t, "", SkillSlugFromToolCall("octavus_skill_run", map[string]any{"skill": 1}))
	require.Equal(t, "", SkillSlugFromToolCall("octavus_skill_run", map[string]any{"skill": nil}))
	require.Equal(t, "", SkillSlugFromToolCall("octavus_skill_run", map[string]any{"Skill": "pdf"}))
	require.Equal(t, "", SkillSlugFromToolCall("octavus_skill_list", map[string]any{}))
	require.Equal(t, "", SkillSlugFromToolCall("octavus_skill_list", nil))
}

func TestGenerateID(t *testing.T) {
	re := regexp.MustCompile(`^\d+-[0-9a-z]{7}$`)
	before := time.Now().UnixMilli()
	seen := make(map[string]bool)
	for range 1000 {
		id := GenerateID()
		require.Regexp(t, re, id)
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
	after := time.Now().UnixMilli()

	ms, err := strconv.ParseInt(strings.SplitN(GenerateID(), "-", 2)[0], 10, 64)
	require.NoError(t, err)
	require.GreaterOrEqual(t, ms, before)
	require.LessOrEqual(t, ms, time.Now().UnixMilli())
	require.GreaterOrEqual(t, time.Now().UnixMilli(), after)

	// The suffixes use more than a handful of characters.
	chars := make(map[rune]bool)
	for id := range seen {
		for _, c := range id[strings.IndexByte(id, '-')+1:] {
			chars[c] = true
		}
	}
	require.Greater(t, len(chars), 30)
}
