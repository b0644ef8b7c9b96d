package octavus

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// decodeLogsFixture decodes testdata/logs/active.json as GetLogs does.
func decodeLogsFixture(t *testing.T) (*ExecutionLogs, []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/logs/active.json")
	require.NoError(t, err)
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1/logs", jsonRoute(string(raw)))
	logs, err := f.client(t).AgentSessions.GetLogs(t.Context(), "sess_1", GetLogsOptions{})
	require.NoError(t, err)
	return logs, raw
}

func base(id, ts string, typ LogEntryType) LogEntryBase {
	return LogEntryBase{ID: id, Timestamp: "2026-12-03T09:00:00." + ts + "Z", Type: typ}
}

func withBase(b LogEntryBase, edit func(*LogEntryBase)) LogEntryBase {
	edit(&b)
	return b
}

// wantLogEntries are the typed entries of testdata/logs/active.json, field
// by field from the interfaces of @octavus/core 6.4.0's execution-log.ts.
func wantLogEntries() []LogEntry {
	f := func(v float64) *float64 { return &v }
	return []LogEntry{
		&TriggerLogEntry{LogEntryBase: withBase(base("l01", "000", LogEntryTrigger), func(b *LogEntryBase) { b.Sequence = ptr(0) }),
			TriggerName: "user-message", TriggerInput: map[string]any{"USER_MESSAGE": "hi"}},
		&ThreadCreatedLogEntry{LogEntryBase: withBase(base("l02", "010", LogEntryThreadCreated), func(b *LogEntryBase) { b.Sequence = ptr(1); b.Thread = "main" }),
			SystemPrompt: "You are helpful."},
		&MessageLogEntry{LogEntryBase: withBase(base("l03", "020", LogEntryMessage), func(b *LogEntryBase) { b.Sequence = ptr(2) }),
			Role: RoleUser, Content: "hi", Visible: ptr(true),
			Files: []LogEntryFile{{ID: "f1", MediaType: "image/png", URL: "https://cdn.example/f1.png", Filename: "a.png", Size: ptr(int64(1234))}}},
		&BlockOperationLogEntry{LogEntryBase: withBase(base("l04", "030", LogEntryBlockOperation), func(b *LogEntryBase) { b.BlockName = "respond" }),
			OperationType: "next-message", OperationDescription: "Generate a reply", OperationInput: map[string]any{"thread": "main"}, OperationResult: "ok"},
		&ModelRequestLogEntry{LogEntryBase: withBase(base("l05", "040", LogEntryModelRequest), func(b *LogEntryBase) { b.Model = "anthropic/claude-sonnet-4-5" }),
			ModelRequest: &ModelRequestTrace{RequestType: ModelRequestLLM, Provider: "anthropic", Model: "claude-sonnet-4-5",
				RequestBody: map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": float64(1024)}}},
		&ModelRequestLogEntry{LogEntryBase: base("l06", "050", LogEntryModelRequest),
			ModelRequest: &ModelRequestTrace{RequestType: ModelRequestImage, Provider: "google", Model: "imagen-4", Prompt: "a cat", AspectRatio: "16:9", Resolution: "2K", HasReferenceImages: ptr(false)}},
		&ModelRequestLogEntry{LogEntryBase: base("l07", "060", LogEntryModelRequest),
			ModelRequest: &ModelRequestTrace{RequestType: ModelRequestVideo, Provider: "google", Model: "veo-3", DurationSeconds: f(8), GenerateAudio: ptr(true)}},
		&ModelRequestLogEntry{LogEntryBase: base("l08", "070", LogEntryModelRequest),
			ModelRequest: &ModelRequestTrace{RequestType: ModelRequestSpeech, Provider: "openai", Model: "gpt-4o-mini-tts", Voice: "marin", AudioFormat: "mp3", Language: "en"}},
		&ReasoningLogEntry{LogEntryBase: base("l09", "080", LogEntryReasoning), ReasoningContent: "The user greets."},
		&LLMToolRequestLogEntry{LogEntryBase: base("l10", "090", LogEntryLLMToolRequest), Response: "Let me look.",
			ToolCalls: []LoggedToolCall{{ID: "c1", Name: "get-user", Arguments: map[string]any{"id": "u1"}}}},
		&ToolCallLogEntry{LogEntryBase: base("l11", "100", LogEntryToolCall), ToolName: "get-user", ToolDescription: "Looks a user up", ToolArguments: map[string]any{"id": "u1"}},
		&ToolResultLogEntry{LogEntryBase: withBase(base("l12", "110", LogEntryToolResult), func(b *LogEntryBase) { b.Trimmed = true }), ToolName: "get-user",
			ToolResult: map[string]any{"__trimmed": true, "originalBytes": float64(900000), "keptBytes": float64(16384), "preview": `{"name":"Ada"...}`}},
		&ToolOutputBoundedLogEntry{LogEntryBase: base("l13", "120", LogEntryToolOutputBounded), ToolCallID: "c1", ToolName: "get-user", OriginalChars: 900000, MaxToolOutputTokens: 4000},
		&ImageAdaptedLogEntry{LogEntryBase: base("l14", "130", LogEntryImageAdapted), Source: "declared-cap", Adaptation: "downscaled",
			OriginalWidth: ptr(4000), OriginalHeight: ptr(3000), DeliveredWidth: ptr(2000), DeliveredHeight: ptr(1500), MaxImageDimension: ptr(2000)},
		&ImageAdaptedLogEntry{LogEntryBase: base("l15", "140", LogEntryImageAdapted), Source: "reactive-recovery", Adaptation: "count-elided",
			ImagesElided: ptr(3), Constraint: "max 20 images", Attempts: ptr(1)},
		&WorkerExecutionLogEntry{LogEntryBase: withBase(base("l16", "150", LogEntryWorkerExecution), func(b *LogEntryBase) { b.WorkerID = "w1"; b.WorkerSlug = "summarizer" }),
			WorkerInput: map[string]any{"TEXT": "long"}},
		&WorkerOutputLogEntry{LogEntryBase: withBase(base("l17", "160", LogEntryWorkerOutput), func(b *LogEntryBase) { b.WorkerID = "w1"; b.WorkerSlug = "summarizer" }),
			WorkerOutput: "short"},
		&CompactionLogEntry{LogEntryBase: base("l18", "170", LogEntryCompaction), CompactionTrigger: "proactive", Reason: "820000 / 1000000 at 0.8",
			WatermarkFrom: "m1", WatermarkTo: "m180", TurnsSummarized: ptr(180), Passes: ptr(1), TokensBefore: ptr(int64(820000)), TokensAfter: ptr(int64(45000)),
			LayersApplied: []string{"reasoning-strip", "summarization"}, SummarizerWorkerID: "w1"},
		&StepStatsLogEntry{LogEntryBase: base("l19", "180", LogEntryStepStats), StepStats: &StepStatsTrace{RequestType: ModelRequestLLM, Provider: "anthropic", Model: "claude-sonnet-4-5",
			Usage:     StepUsage{InputTokens: 1200, CachedInputTokens: 1000, OutputTokens: 42, ReasoningOutputTokens: 7},
			CacheMode: "auto", Speed: "standard"}},
		&LLMResponseLogEntry{LogEntryBase: base("l20", "190", LogEntryLLMResponse), Response: "Hello, Ada!"},
		&MessageLogEntry{LogEntryBase: base("l21", "200", LogEntryMessage), Role: RoleAssistant, Content: `{"greeting":"Hello"}`, ResponseType: "Greeting"},
		&ErrorLogEntry{LogEntryBase: base("l22", "210", LogEntryError), Error: &ExecutionLogError{Type: ErrorTypeProviderOverloaded, Message: "Overloaded",
			Source: ErrorSourceProvider, Retryable: ptr(true), RetryAfter: f(5), Code: "overloaded",
			Provider: &ProviderErrorInfo{Name: "anthropic", Model: "claude-sonnet-4-5", StatusCode: f(529)}}},
		&ErrorLogEntry{LogEntryBase: base("l23", "220", LogEntryError), Error: &ExecutionLogError{Type: ErrorTypeTool, Message: "boom",
			Source: ErrorSourceTool, Tool: &ToolErrorInfo{Name: "get-user", CallID: "c1"}}},
		&AbortLogEntry{LogEntryBase: base("l24", "230", LogEntryAbort), AbortedAtBlock: "respond"},
		nil, // l25: a type 6.4.0 does not have, checked apart
		&ToolCallLogEntry{LogEntryBase: withBase(base("l26", "250", LogEntryToolCall), func(b *LogEntryBase) { b.Trimmed = true }), ToolName: "big",
			ToolArguments: map[string]any{"__trimmed": true, "originalBytes": float64(70000), "keptBytes": float64(1000), "preview": `{"a":...}`}},
	}
}

func TestLogEntriesDecodeTyped(t *testing.T) {
	logs, _ := decodeLogsFixture(t)
	want := wantLogEntries()
	require.Len(t, logs.Entries, len(want))
	seen := map[LogEntryType]bool{}
	for i, e := range logs.Entries {
		got, err := e.Decode()
		require.NoError(t, err, e.ID)
		require.Equal(t, e.LogEntryBase, *got.Base(), "the entry's base fields and its decoded base agree")
		seen[e.Type] = true
		if want[i] == nil {
			continue
		}
		require.Equal(t, want[i], got, e.ID)
	}
	for _, typ := range []LogEntryType{LogEntryTrigger, LogEntryMessage, LogEntryToolCall, LogEntryToolResult,
		LogEntryLLMToolRequest, LogEntryLLMResponse, LogEntryReasoning, LogEntryThreadCreated, LogEntryBlockOperation,
		LogEntryModelRequest, LogEntryStepStats, LogEntryWorkerExecution, LogEntryWorkerOutput, LogEntryCompaction,
		LogEntryToolOutputBounded, LogEntryImageAdapted, LogEntryAbort, LogEntryError} {
		require.True(t, seen[typ], "the fixture has a %q entry", typ)
	}
}

func TestLogEntryOfUnknownTypeKept(t *testing.T) {
	logs, _ := decodeLogsFixture(t)
	e := logs.Entries[24]
	require.Equal(t, LogEntryType("future-entry"), e.Type)
	require.Equal(t, ptr(99), e.Sequence)
	require.Equal(t, `{"id":"l25","timestamp":"2026-12-03T09:00:00.240Z","type":"future-entry","sequence":99,"somethingNew":{"nested":[1,2.50,1e3]}}`, string(e.Raw))
	got, err := e.Decode()
	require.NoError(t, err)
	self, ok := got.(*ExecutionLogEntry)
	require.True(t, ok, "%T", got)
	require.Equal(t, e, *self)
}

func TestExecutionLogsMarshalAsReceived(t *testing.T) {
	logs, raw := decodeLogsFixture(t)
	var want bytes.Buffer
	require.NoError(t, json.Compact(&want, raw))
	got, err := json.Marshal(logs)
	require.NoError(t, err)
	// Every entry, the unknown one included, is written back byte for byte
	// (numbers such as 2.50 and 1e3 too).
	require.Equal(t, want.String(), string(got))
}

func TestLogEntryDecodeWrongFieldType(t *testing.T) {
	var e ExecutionLogEntry
	require.NoError(t, json.Unmarshal([]byte(`{"id":"x","timestamp":"t","type":"message","role":"user","content":7,"sequence":"one"}`), &e),
		"only id, timestamp and type are checked, as the reference's looseObject")
	require.Equal(t, LogEntryBase{ID: "x", Timestamp: "t", Type: LogEntryMessage}, e.LogEntryBase, "a base field of the wrong type is left zero")
	_, err := e.Decode()
	require.ErrorContains(t, err, `"message" log entry x`)
}

func TestLogEntryUnmarshalEnvelope(t *testing.T) {
	for _, doc := range []string{
		`{"timestamp":"t","type":"message"}`,
		`{"id":"x","type":"message"}`,
		`{"id":"x","timestamp":"t"}`,
		`{"id":1,"timestamp":"t","type":"message"}`,
		`{"id":"x","timestamp":null,"type":"message"}`,
		`{"id":"x","timestamp":"t","type":["message"]}`,
		`[]`,
	} {
		var e ExecutionLogEntry
		require.Error(t, json.Unmarshal([]byte(doc), &e), doc)
	}
}

func TestLogEntryBuiltWithoutRaw(t *testing.T) {
	e := ExecutionLogEntry{LogEntryBase: LogEntryBase{ID: "x", Timestamp: "t", Type: LogEntryAbort}}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	require.Equal(t, `{"id":"x","timestamp":"t","type":"abort"}`, string(b))
	got, err := e.Decode()
	require.NoError(t, err)
	require.Equal(t, &AbortLogEntry{LogEntryBase: e.LogEntryBase}, got)
}

func TestIsTrimmedValue(t *testing.T) {
	logs, _ := decodeLogsFixture(t)
	res, err := logs.Entries[11].Decode()
	require.NoError(t, err)
	tr := res.(*ToolResultLogEntry)
	require.True(t, IsTrimmedValue(tr.ToolResult))
	tv, ok := AsTrimmedValue(tr.ToolResult)
	require.True(t, ok)
	require.Equal(t, TrimmedValue{Trimmed: true, OriginalBytes: 900000, KeptBytes: 16384, Preview: `{"name":"Ada"...}`}, tv)

	call, err := logs.Entries[25].Decode()
	require.NoError(t, err)
	require.True(t, IsTrimmedValue(call.(*ToolCallLogEntry).ToolArguments), "a map[string]any")

	// The reference's isTrimmedValue: an object whose __trimmed is true.
	for v, want := range map[string]bool{
		`{"__trimmed":true}`:                             true,
		`{"__trimmed":true,"preview":"p","keptBytes":1}`: true,
		`{"__trimmed":false}`:                            false,
		`{"__trimmed":"true"}`:                           false,
		`{"__trimmed":1}`:                                false,
		`{}`:                                             false,
		`[{"__trimmed":true}]`:                           false,
		`"__trimmed"`:                                    false,
		`null`:                                           false,
	} {
		require.Equal(t, want, IsTrimmedValue(json.RawMessage(v)), v)
		require.Equal(t, want, IsTrimmedValue([]byte(v)), v)
		var decoded any
		require.NoError(t, json.Unmarshal([]byte(v), &decoded))
		require.Equal(t, want, IsTrimmedValue(decoded), v)
	}
	require.True(t, IsTrimmedValue(TrimmedValue{Trimmed: true}))
	require.True(t, IsTrimmedValue(&TrimmedValue{Trimmed: true}))
	require.False(t, IsTrimmedValue((*TrimmedValue)(nil)))
	require.False(t, IsTrimmedValue(nil))
	require.False(t, IsTrimmedValue("x"))
}
