package octavus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/octavus-go/octavus/internal/wire"
)

// ExecutionLogs is a session's execution log, as AgentSessions.GetLogs
// returns it: the chronological trace of what its executions did (triggers,
// messages, tool calls and results, model requests, workers, errors). For
// an expired session only SessionID, AgentID, Status and CreatedAt are set
// and there are no entries; check Status (or Expired).
type ExecutionLogs struct {
	SessionID string
	// Entries are the log's entries, oldest first. The platform returns at
	// most the 3000 most recent ones (see Truncated).
	Entries []ExecutionLogEntry
	// Total, when the platform says, is how many entries the session has
	// on the platform; it may exceed len(Entries) when the answer was
	// capped.
	Total *int
	// Truncated is true when the answer was capped and holds only the
	// most recent entries.
	Truncated bool

	// Status is SessionActive, or SessionExpired when the session's state
	// has expired (its logs are gone with it).
	Status SessionStatus
	// AgentID and CreatedAt are set for an expired session only.
	AgentID   string
	CreatedAt string
}

// Expired reports whether the session has expired: there are no entries.
func (l *ExecutionLogs) Expired() bool { return l.Status == SessionExpired }

// MarshalJSON encodes the logs in the platform's shape: {sessionId,
// entries, total?, truncated?} for an active session (each entry as it was
// received, see ExecutionLogEntry), {sessionId, agentId, status:
// "expired", createdAt} for an expired one.
func (l ExecutionLogs) MarshalJSON() ([]byte, error) {
	if l.Expired() {
		return json.Marshal(struct {
			SessionID string        `json:"sessionId"`
			AgentID   string        `json:"agentId"`
			Status    SessionStatus `json:"status"`
			CreatedAt string        `json:"createdAt"`
		}{l.SessionID, l.AgentID, l.Status, l.CreatedAt})
	}
	entries := l.Entries
	if entries == nil {
		entries = []ExecutionLogEntry{}
	}
	return json.Marshal(struct {
		SessionID string              `json:"sessionId"`
		Entries   []ExecutionLogEntry `json:"entries"`
		Total     *int                `json:"total,omitempty"`
		Truncated bool                `json:"truncated,omitempty"`
	}{l.SessionID, entries, l.Total, l.Truncated})
}

// checkExecutionLogs checks an active session's logs as the reference's
// executionLogsResponseSchema: each entry needs only its id, timestamp and
// type, so entries of types (and fields) added later pass.
func checkExecutionLogs(o *wire.Object) error {
	o.String("sessionId")
	for _, e := range o.Array("entries") {
		if err := checkLogEntry(e); err != nil {
			return err
		}
	}
	if f, ok := o.OptNumber("total"); ok && (f != math.Trunc(f) || f < 0 || f > 1<<53) {
		return fmt.Errorf(`field "total": %v is not a count`, f)
	}
	o.OptBool("truncated")
	return o.Err()
}

func checkLogEntry(o *wire.Object) error {
	o.String("id")
	o.String("timestamp")
	o.String("type")
	return o.Err()
}

// LogEntryType is the kind of an execution log entry.
type LogEntryType string

// The entry types of 6.4.0. The platform may add others: an entry of
// another type is kept (see ExecutionLogEntry.Decode).
const (
	LogEntryTrigger           LogEntryType = "trigger"
	LogEntryMessage           LogEntryType = "message"
	LogEntryToolCall          LogEntryType = "tool-call"
	LogEntryToolResult        LogEntryType = "tool-result"
	LogEntryLLMToolRequest    LogEntryType = "llm-tool-request"
	LogEntryLLMResponse       LogEntryType = "llm-response"
	LogEntryReasoning         LogEntryType = "reasoning"
	LogEntryThreadCreated     LogEntryType = "thread-created"
	LogEntryBlockOperation    LogEntryType = "block-operation"
	LogEntryModelRequest      LogEntryType = "model-request"
	LogEntryStepStats         LogEntryType = "step-stats"
	LogEntryWorkerExecution   LogEntryType = "worker-execution"
	LogEntryWorkerOutput      LogEntryType = "worker-output"
	LogEntryCompaction        LogEntryType = "compaction"
	LogEntryToolOutputBounded LogEntryType = "tool-output-bounded"
	LogEntryImageAdapted      LogEntryType = "image-adapted"
	LogEntryAbort             LogEntryType = "abort"
	LogEntryError             LogEntryType = "error"
)

// LogEntryBase holds the fields every execution log entry has.
type LogEntryBase struct {
	ID        string       `json:"id"`
	Timestamp string       `json:"timestamp"`
	Type      LogEntryType `json:"type"`
	// Sequence orders the entries of one execution.
	Sequence *int `json:"sequence,omitempty"`
	// Thread names the thread of a thread-scoped operation.
	Thread    string `json:"thread,omitempty"`
	BlockName string `json:"blockName,omitempty"`
	Model     string `json:"model,omitempty"`
	// WorkerID groups the entries of one worker invocation.
	WorkerID   string `json:"workerId,omitempty"`
	WorkerSlug string `json:"workerSlug,omitempty"`
	// Trimmed is true when heavy fields of the entry were cut to a preview
	// (a TrimmedValue) or dropped to fit the platform's storage cap.
	Trimmed bool `json:"trimmed,omitempty"`
}

// Base returns the fields every entry has; it makes each entry type a
// LogEntry.
func (b *LogEntryBase) Base() *LogEntryBase { return b }

// LogEntry is a decoded execution log entry: one of *TriggerLogEntry,
// *MessageLogEntry, *ToolCallLogEntry, *ToolResultLogEntry,
// *LLMToolRequestLogEntry, *LLMResponseLogEntry, *ReasoningLogEntry,
// *ThreadCreatedLogEntry, *BlockOperationLogEntry, *ModelRequestLogEntry,
// *StepStatsLogEntry, *WorkerExecutionLogEntry, *WorkerOutputLogEntry,
// *CompactionLogEntry, *ToolOutputBoundedLogEntry, *ImageAdaptedLogEntry,
// *AbortLogEntry and *ErrorLogEntry, or *ExecutionLogEntry for a type
// octavus-go does not know. Switch on its type, with a default case: the
// platform adds entry types.
type LogEntry interface {
	Base() *LogEntryBase
}

// ExecutionLogEntry is one entry of a session's execution log: the fields
// every entry has, and the whole entry as the platform sent it, so that an
// entry of a type the platform adds later is passed on, not lost. Decode
// gives the entry's typed form.
type ExecutionLogEntry struct {
	LogEntryBase
	// Raw is the entry as it was received. json.Marshal writes it as it
	// is (or, when Raw is empty, the base fields).
	Raw json.RawMessage
}

// MarshalJSON writes the entry as it was received.
func (e ExecutionLogEntry) MarshalJSON() ([]byte, error) {
	if len(e.Raw) > 0 {
		return e.Raw, nil
	}
	return json.Marshal(e.LogEntryBase)
}

// UnmarshalJSON decodes an entry: its id, timestamp and type must be
// strings, as the reference checks; every other field is free (a base
// field of the wrong type is left zero here, and Decode reports it).
func (e *ExecutionLogEntry) UnmarshalJSON(data []byte) error {
	o, err := wire.Decode(data)
	if err != nil {
		return err
	}
	var base LogEntryBase
	base.ID = o.String("id")
	base.Timestamp = o.String("timestamp")
	base.Type = LogEntryType(o.String("type"))
	if err := o.Err(); err != nil {
		return err
	}
	var full LogEntryBase
	if json.Unmarshal(data, &full) == nil {
		base = full
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return err
	}
	*e = ExecutionLogEntry{LogEntryBase: base, Raw: buf.Bytes()}
	return nil
}

// Decode returns the entry's typed form, decoded from Raw: a
// *TriggerLogEntry for a "trigger" entry, and so on (see LogEntry); for a
// type octavus-go does not know, a copy of e itself. An error says a field
// does not have the type 6.4.0 gives it; Raw still holds the entry.
func (e ExecutionLogEntry) Decode() (LogEntry, error) {
	var v LogEntry
	switch e.Type {
	case LogEntryTrigger:
		v = new(TriggerLogEntry)
	case LogEntryMessage:
		v = new(MessageLogEntry)
	case LogEntryToolCall:
		v = new(ToolCallLogEntry)
	case LogEntryToolResult:
		v = new(ToolResultLogEntry)
	case LogEntryLLMToolRequest:
		v = new(LLMToolRequestLogEntry)
	case LogEntryLLMResponse:
		v = new(LLMResponseLogEntry)
	case LogEntryReasoning:
		v = new(ReasoningLogEntry)
	case LogEntryThreadCreated:
		v = new(ThreadCreatedLogEntry)
	case LogEntryBlockOperation:
		v = new(BlockOperationLogEntry)
	case LogEntryModelRequest:
		v = new(ModelRequestLogEntry)
	case LogEntryStepStats:
		v = new(StepStatsLogEntry)
	case LogEntryWorkerExecution:
		v = new(WorkerExecutionLogEntry)
	case LogEntryWorkerOutput:
		v = new(WorkerOutputLogEntry)
	case LogEntryCompaction:
		v = new(CompactionLogEntry)
	case LogEntryToolOutputBounded:
		v = new(ToolOutputBoundedLogEntry)
	case LogEntryImageAdapted:
		v = new(ImageAdaptedLogEntry)
	case LogEntryAbort:
		v = new(AbortLogEntry)
	case LogEntryError:
		v = new(ErrorLogEntry)
	default:
		c := e
		return &c, nil
	}
	if len(e.Raw) == 0 {
		*v.Base() = e.LogEntryBase
		return v, nil
	}
	if err := json.Unmarshal(e.Raw, v); err != nil {
		return nil, fmt.Errorf("octavus: decoding %q log entry %s: %w", e.Type, e.ID, err)
	}
	return v, nil
}

// LogEntryFile is a file attached to a logged message.
type LogEntryFile struct {
	ID        string `json:"id"`
	MediaType string `json:"mediaType"`
	URL       string `json:"url"`
	Filename  string `json:"filename,omitempty"`
	Size      *int64 `json:"size,omitempty"`
}

// LoggedToolCall is one tool call the model asked for.
type LoggedToolCall struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// TriggerLogEntry records a trigger that started an execution.
type TriggerLogEntry struct {
	LogEntryBase
	TriggerName  string         `json:"triggerName,omitempty"`
	TriggerInput map[string]any `json:"triggerInput,omitempty"`
}

// MessageLogEntry records a message added to a thread.
type MessageLogEntry struct {
	LogEntryBase
	Role    MessageRole `json:"role"`
	Content string      `json:"content,omitempty"`
	Visible *bool       `json:"visible,omitempty"`
	// ResponseType, when set, says the message is a structured (JSON)
	// response of that type.
	ResponseType string         `json:"responseType,omitempty"`
	Files        []LogEntryFile `json:"files,omitempty"`
}

// ToolCallLogEntry records a tool call. ToolArguments may be a
// TrimmedValue (see IsTrimmedValue).
type ToolCallLogEntry struct {
	LogEntryBase
	ToolName        string         `json:"toolName,omitempty"`
	ToolDescription string         `json:"toolDescription,omitempty"`
	ToolArguments   map[string]any `json:"toolArguments,omitempty"`
}

// ToolResultLogEntry records a tool's result: any JSON value, or a
// TrimmedValue (see IsTrimmedValue).
type ToolResultLogEntry struct {
	LogEntryBase
	ToolName   string `json:"toolName,omitempty"`
	ToolResult any    `json:"toolResult,omitempty"`
}

// LLMToolRequestLogEntry records a model answer that asked for tools.
type LLMToolRequestLogEntry struct {
	LogEntryBase
	Response  string           `json:"response,omitempty"`
	ToolCalls []LoggedToolCall `json:"toolCalls,omitempty"`
}

// LLMResponseLogEntry records a model's text answer.
type LLMResponseLogEntry struct {
	LogEntryBase
	Response string `json:"response,omitempty"`
}

// ReasoningLogEntry records a model's reasoning.
type ReasoningLogEntry struct {
	LogEntryBase
	ReasoningContent string `json:"reasoningContent,omitempty"`
}

// ThreadCreatedLogEntry records a new thread and its system prompt.
type ThreadCreatedLogEntry struct {
	LogEntryBase
	SystemPrompt string `json:"systemPrompt,omitempty"`
}

// BlockOperationLogEntry records a protocol block's operation.
type BlockOperationLogEntry struct {
	LogEntryBase
	OperationType        string         `json:"operationType,omitempty"`
	OperationDescription string         `json:"operationDescription,omitempty"`
	OperationInput       map[string]any `json:"operationInput,omitempty"`
	OperationResult      any            `json:"operationResult,omitempty"`
}

// ModelRequestType is the kind of a model request.
type ModelRequestType string

// The model request types.
const (
	ModelRequestLLM           ModelRequestType = "llm"
	ModelRequestImage         ModelRequestType = "image"
	ModelRequestVideo         ModelRequestType = "video"
	ModelRequestSpeech        ModelRequestType = "speech"
	ModelRequestTranscription ModelRequestType = "transcription"
)

// ModelRequestTrace is a request made to a model provider. RequestBody, the
// provider's request body, is there only when the session's client set
// ClientOptions.TraceModelRequests.
type ModelRequestTrace struct {
	RequestType ModelRequestType `json:"requestType"`
	Provider    string           `json:"provider"`
	Model       string           `json:"model"`
	RequestBody any              `json:"requestBody,omitempty"`
	Prompt      string           `json:"prompt,omitempty"`
	// AspectRatio is an image or video generation's (e.g. "16:9").
	AspectRatio string `json:"aspectRatio,omitempty"`
	// Resolution is an image generation's (e.g. "2K").
	Resolution string `json:"resolution,omitempty"`
	// DurationSeconds is a video generation's clip length.
	DurationSeconds *float64 `json:"durationSeconds,omitempty"`
	// GenerateAudio says whether a video generation asked for sound.
	GenerateAudio      *bool `json:"generateAudio,omitempty"`
	HasReferenceImages *bool `json:"hasReferenceImages,omitempty"`
	// Voice and AudioFormat are a speech generation's (e.g. "marin", "mp3").
	Voice       string `json:"voice,omitempty"`
	AudioFormat string `json:"audioFormat,omitempty"`
	// Language is a speech or transcription request's hint (e.g. "en").
	Language string `json:"language,omitempty"`
}

// ModelRequestLogEntry records a model request.
type ModelRequestLogEntry struct {
	LogEntryBase
	ModelRequest *ModelRequestTrace `json:"modelRequest,omitempty"`
}

// StepUsage is the tokens of one model step.
type StepUsage struct {
	InputTokens           int64 `json:"inputTokens"`
	CachedInputTokens     int64 `json:"cachedInputTokens"`
	CachedWriteTokens     int64 `json:"cachedWriteTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	ReasoningOutputTokens int64 `json:"reasoningOutputTokens"`
}

// StepStatsTrace is the token usage of a finished model step.
type StepStatsTrace struct {
	RequestType ModelRequestType `json:"requestType"`
	Provider    string           `json:"provider"`
	Model       string           `json:"model"`
	Usage       StepUsage        `json:"usage"`
	// CacheMode is the prompt caching the provider applied: "auto",
	// "extended" or "off"; empty when none applies.
	CacheMode string `json:"cacheMode,omitempty"`
	// Speed is "fast" or "standard"; empty means standard.
	Speed string `json:"speed,omitempty"`
}

// StepStatsLogEntry records a model step's token usage.
type StepStatsLogEntry struct {
	LogEntryBase
	StepStats *StepStatsTrace `json:"stepStats,omitempty"`
}

// WorkerExecutionLogEntry records a worker's start and input.
type WorkerExecutionLogEntry struct {
	LogEntryBase
	WorkerInput map[string]any `json:"workerInput,omitempty"`
}

// WorkerOutputLogEntry records a worker's output.
type WorkerOutputLogEntry struct {
	LogEntryBase
	WorkerOutput any `json:"workerOutput,omitempty"`
}

// CompactionLogEntry records a compaction of the context window. The
// summarizer's run is logged as worker entries, linked by
// SummarizerWorkerID.
type CompactionLogEntry struct {
	LogEntryBase
	// CompactionTrigger is "proactive" (a budget was crossed) or
	// "reactive" (an overflow was caught).
	CompactionTrigger  string   `json:"compactionTrigger,omitempty"`
	Reason             string   `json:"reason,omitempty"`
	WatermarkFrom      string   `json:"watermarkFrom,omitempty"`
	WatermarkTo        string   `json:"watermarkTo,omitempty"`
	TurnsSummarized    *int     `json:"turnsSummarized,omitempty"`
	Passes             *int     `json:"passes,omitempty"`
	TokensBefore       *int64   `json:"tokensBefore,omitempty"`
	TokensAfter        *int64   `json:"tokensAfter,omitempty"`
	LayersApplied      []string `json:"layersApplied,omitempty"`
	SummarizerWorkerID string   `json:"summarizerWorkerId,omitempty"`
}

// ToolOutputBoundedLogEntry records a tool result cut to a preview for the
// model (the full result stays in its tool-result entry).
type ToolOutputBoundedLogEntry struct {
	LogEntryBase
	ToolCallID          string `json:"toolCallId,omitempty"`
	ToolName            string `json:"toolName,omitempty"`
	OriginalChars       int64  `json:"originalChars"`
	MaxToolOutputTokens int64  `json:"maxToolOutputTokens"`
}

// ImageAdaptedLogEntry records an image adapted before the model saw it
// (stored files keep the original).
type ImageAdaptedLogEntry struct {
	LogEntryBase
	// Source is "declared-cap" or "reactive-recovery".
	Source string `json:"source"`
	// Adaptation is "downscaled" or "count-elided".
	Adaptation        string `json:"adaptation"`
	OriginalWidth     *int   `json:"originalWidth,omitempty"`
	OriginalHeight    *int   `json:"originalHeight,omitempty"`
	DeliveredWidth    *int   `json:"deliveredWidth,omitempty"`
	DeliveredHeight   *int   `json:"deliveredHeight,omitempty"`
	MaxImageDimension *int   `json:"maxImageDimension,omitempty"`
	ImagesElided      *int   `json:"imagesElided,omitempty"`
	Constraint        string `json:"constraint,omitempty"`
	Attempts          *int   `json:"attempts,omitempty"`
}

// AbortLogEntry records an aborted execution.
type AbortLogEntry struct {
	LogEntryBase
	AbortedAtBlock string `json:"abortedAtBlock,omitempty"`
}

// ExecutionLogError is a logged error (without its stack trace).
type ExecutionLogError struct {
	Type       ErrorType          `json:"type"`
	Message    string             `json:"message"`
	Source     ErrorSource        `json:"source"`
	Retryable  *bool              `json:"retryable,omitempty"`
	RetryAfter *float64           `json:"retryAfter,omitempty"`
	Code       string             `json:"code,omitempty"`
	Provider   *ProviderErrorInfo `json:"provider,omitempty"`
	Tool       *ToolErrorInfo     `json:"tool,omitempty"`
}

// ErrorLogEntry records an error.
type ErrorLogEntry struct {
	LogEntryBase
	Error *ExecutionLogError `json:"error,omitempty"`
}

// TrimmedValue stands for a log field too large to store: the middle was
// dropped and Preview keeps the head and tail of its JSON text.
type TrimmedValue struct {
	// Trimmed is always true ("__trimmed" in JSON).
	Trimmed bool `json:"__trimmed"`
	// OriginalBytes is the UTF-8 length of the original JSON text.
	OriginalBytes int64 `json:"originalBytes"`
	// KeptBytes is the UTF-8 length of Preview.
	KeptBytes int64  `json:"keptBytes"`
	Preview   string `json:"preview"`
}

// IsTrimmedValue reports whether v, a log payload (a decoded JSON value
// such as ToolResultLogEntry.ToolResult, a map[string]any such as
// ToolCallLogEntry.ToolArguments, or raw JSON), is a TrimmedValue: an
// object whose "__trimmed" is true, as the reference's isTrimmedValue
// decides.
func IsTrimmedValue(v any) bool {
	_, ok := AsTrimmedValue(v)
	return ok
}

// AsTrimmedValue returns v as a TrimmedValue when IsTrimmedValue(v).
func AsTrimmedValue(v any) (TrimmedValue, bool) {
	var tv TrimmedValue
	switch x := v.(type) {
	case TrimmedValue:
		return x, x.Trimmed
	case *TrimmedValue:
		if x == nil {
			return tv, false
		}
		return *x, x.Trimmed
	case map[string]any:
		if x["__trimmed"] != true {
			return tv, false
		}
		tv.Trimmed = true
		tv.OriginalBytes = int64(number(x["originalBytes"]))
		tv.KeptBytes = int64(number(x["keptBytes"]))
		tv.Preview, _ = x["preview"].(string)
		return tv, true
	case json.RawMessage:
		return trimmedFromJSON(x)
	case []byte:
		return trimmedFromJSON(x)
	}
	return tv, false
}

func trimmedFromJSON(b []byte) (TrimmedValue, bool) {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return TrimmedValue{}, false
	}
	return AsTrimmedValue(m)
}

// number returns a decoded JSON number, or 0.
func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case json.Number:
		f, _ := n.Float64()
		return f
	}
	return 0
}
