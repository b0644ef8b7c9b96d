package octavus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/octavus-go/octavus/internal/wire"
)

// StreamEvent is one event of an agent's stream. Each of the 29 event types
// of the 6.4.0 protocol is its own pointer type ("source" has two, one per
// sourceType): [*StartEvent], [*FinishEvent],
// [*ErrorEvent], [*TextStartEvent], [*TextDeltaEvent], [*TextEndEvent],
// [*ReasoningStartEvent], [*ReasoningDeltaEvent], [*ReasoningEndEvent],
// [*ToolInputStartEvent], [*ToolInputDeltaEvent], [*ToolInputEndEvent],
// [*ToolInputAvailableEvent], [*ToolOutputAvailableEvent],
// [*ToolOutputErrorEvent], [*SourceURLEvent], [*SourceDocumentEvent],
// [*TodoUpdateEvent], [*BlockStartEvent], [*BlockEndEvent],
// [*ResourceUpdateEvent], [*ToolRequestEvent], [*ClientToolRequestEvent],
// [*FileAvailableEvent], [*WorkerStartEvent], [*WorkerResultEvent],
// [*WorkerInputStartEvent], [*WorkerInputDeltaEvent],
// [*WorkerInputReadyEvent] and [*UsageEvent]. Use a type switch to tell
// them apart.
//
// Events that a worker execution produced carry its WorkerID; the browser
// nests them under the worker's part.
//
// json.Marshal of an event gives its wire JSON, "type" included, with the
// optional fields that are unset left out.
type StreamEvent interface {
	// EventType is the event's "type" on the wire.
	EventType() EventType
	isStreamEvent()
}

// EventType is the "type" discriminator of a stream event.
type EventType string

// The event types of the protocol.
const (
	EventStart              EventType = "start"
	EventFinish             EventType = "finish"
	EventError              EventType = "error"
	EventTextStart          EventType = "text-start"
	EventTextDelta          EventType = "text-delta"
	EventTextEnd            EventType = "text-end"
	EventReasoningStart     EventType = "reasoning-start"
	EventReasoningDelta     EventType = "reasoning-delta"
	EventReasoningEnd       EventType = "reasoning-end"
	EventToolInputStart     EventType = "tool-input-start"
	EventToolInputDelta     EventType = "tool-input-delta"
	EventToolInputEnd       EventType = "tool-input-end"
	EventToolInputAvailable EventType = "tool-input-available"
	EventToolOutputAvail    EventType = "tool-output-available"
	EventToolOutputError    EventType = "tool-output-error"
	EventSource             EventType = "source"
	EventBlockStart         EventType = "block-start"
	EventBlockEnd           EventType = "block-end"
	EventResourceUpdate     EventType = "resource-update"
	EventToolRequest        EventType = "tool-request"
	EventClientToolRequest  EventType = "client-tool-request"
	EventFileAvailable      EventType = "file-available"
	EventTodoUpdate         EventType = "todo-update"
	EventWorkerStart        EventType = "worker-start"
	EventWorkerResult       EventType = "worker-result"
	EventWorkerInputStart   EventType = "worker-input-start"
	EventWorkerInputDelta   EventType = "worker-input-delta"
	EventWorkerInputReady   EventType = "worker-input-ready"
	EventUsage              EventType = "usage"
)

// FinishReason says why a stream finished.
type FinishReason string

// The finish reasons of the protocol.
const (
	FinishStop            FinishReason = "stop"
	FinishToolCalls       FinishReason = "tool-calls"
	FinishClientToolCalls FinishReason = "client-tool-calls"
	FinishLength          FinishReason = "length"
	FinishContentFilter   FinishReason = "content-filter"
	FinishError           FinishReason = "error"
	FinishOther           FinishReason = "other"
)

var finishReasons = []string{
	string(FinishStop), string(FinishToolCalls), string(FinishClientToolCalls),
	string(FinishLength), string(FinishContentFilter), string(FinishError), string(FinishOther),
}

// DisplayMode says how the browser shows an execution block or a tool call.
type DisplayMode string

// The display modes of a block or tool call.
const (
	DisplayHidden      DisplayMode = "hidden"
	DisplayName        DisplayMode = "name"
	DisplayDescription DisplayMode = "description"
	DisplayStream      DisplayMode = "stream"
	// DisplayTitle shows the block's or tool call's title.
	DisplayTitle DisplayMode = "title"
)

var displayModes = []string{
	string(DisplayHidden), string(DisplayName), string(DisplayDescription),
	string(DisplayStream), string(DisplayTitle),
}

// StartEvent opens a stream (and, with ExecutionID, names the execution the
// SDK continues with tool results).
type StartEvent struct {
	MessageID   string `json:"messageId,omitempty"`
	ExecutionID string `json:"executionId,omitempty"`
	// LastMessageID is the last message of the session before this
	// execution; the browser uses it as the anchor of a retry's rollback.
	LastMessageID string `json:"lastMessageId,omitempty"`
	// SessionID names the session, on a stream that created it.
	SessionID string `json:"sessionId,omitempty"`

	extra extras
}

// FinishEvent ends a stream.
type FinishEvent struct {
	FinishReason FinishReason `json:"finishReason"`
	ExecutionID  string       `json:"executionId,omitempty"`

	extra extras
}

// TextStartEvent opens a text part.
type TextStartEvent struct {
	ID           string `json:"id"`
	ResponseType string `json:"responseType,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// TextDeltaEvent carries a piece of text of the part ID.
type TextDeltaEvent struct {
	ID    string `json:"id"`
	Delta string `json:"delta"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// TextEndEvent closes a text part.
type TextEndEvent struct {
	ID string `json:"id"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ReasoningStartEvent opens a reasoning part.
type ReasoningStartEvent struct {
	ID string `json:"id"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ReasoningDeltaEvent carries a piece of reasoning of the part ID.
type ReasoningDeltaEvent struct {
	ID    string `json:"id"`
	Delta string `json:"delta"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ReasoningEndEvent closes a reasoning part.
type ReasoningEndEvent struct {
	ID string `json:"id"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ToolInputStartEvent says the model started writing a tool call's input.
type ToolInputStartEvent struct {
	ToolCallID string `json:"toolCallId"`
	ToolName   string `json:"toolName"`
	Title      string `json:"title,omitempty"`
	// Display says how the browser shows the call; empty leaves the
	// choice to the browser.
	Display DisplayMode `json:"display,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ToolInputDeltaEvent carries a piece of a tool call's input JSON text.
type ToolInputDeltaEvent struct {
	ToolCallID     string `json:"toolCallId"`
	InputTextDelta string `json:"inputTextDelta"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ToolInputEndEvent says a tool call's input is complete.
type ToolInputEndEvent struct {
	ToolCallID string `json:"toolCallId"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ToolInputAvailableEvent carries a tool call's parsed input.
type ToolInputAvailableEvent struct {
	ToolCallID string `json:"toolCallId"`
	ToolName   string `json:"toolName"`
	// Input is any JSON value; nil leaves the key out.
	Input json.RawMessage `json:"input,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ToolOutputAvailableEvent carries a tool call's result.
type ToolOutputAvailableEvent struct {
	ToolCallID string `json:"toolCallId"`
	// Output is any JSON value; nil leaves the key out ("no result").
	Output json.RawMessage `json:"output,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ToolOutputErrorEvent says a tool call failed.
type ToolOutputErrorEvent struct {
	ToolCallID string `json:"toolCallId"`
	Error      string `json:"error"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// SourceURLEvent cites a web page (a "source" event with sourceType "url").
type SourceURLEvent struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// SourceDocumentEvent cites a document (a "source" event with sourceType
// "document").
type SourceDocumentEvent struct {
	ID        string `json:"id"`
	MediaType string `json:"mediaType"`
	Title     string `json:"title"`
	Filename  string `json:"filename,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// BlockStartEvent says an execution block of the agent's protocol started.
type BlockStartEvent struct {
	BlockID      string      `json:"blockId"`
	BlockName    string      `json:"blockName"`
	BlockType    string      `json:"blockType"`
	Display      DisplayMode `json:"display"`
	Description  string      `json:"description,omitempty"`
	OutputToChat *bool       `json:"outputToChat,omitempty"`
	Thread       string      `json:"thread,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// BlockEndEvent says an execution block ended.
type BlockEndEvent struct {
	BlockID string `json:"blockId"`
	Summary string `json:"summary,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ResourceUpdateEvent says the agent changed a resource. The SDK calls the
// attached [Resource] of that name, then forwards the event.
type ResourceUpdateEvent struct {
	Name string `json:"name"`
	// Value is any JSON value; nil leaves the key out.
	Value json.RawMessage `json:"value,omitempty"`
}

// ToolRequestEvent is the platform asking for tool calls to be run. The SDK
// consumes it: it never reaches the channel Execute returns.
type ToolRequestEvent struct {
	ToolCalls []PendingToolCall `json:"toolCalls"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// ClientToolRequestEvent hands the tools the server has no handler for to
// the browser. The browser runs them and sends a continue request with
// ExecutionID and the results of these calls and of ServerToolResults.
type ClientToolRequestEvent struct {
	ExecutionID       string            `json:"executionId"`
	ToolCalls         []PendingToolCall `json:"toolCalls"`
	ServerToolResults []ToolResult      `json:"serverToolResults,omitempty"`
}

// FileAvailableEvent says a file (generated or uploaded) can be fetched.
type FileAvailableEvent struct {
	ID         string   `json:"id"`
	MediaType  string   `json:"mediaType"`
	URL        string   `json:"url"`
	Filename   string   `json:"filename,omitempty"`
	Size       *float64 `json:"size,omitempty"`
	ToolCallID string   `json:"toolCallId,omitempty"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// TodoStatus is the state of one item of an agent's todo list.
type TodoStatus string

// The states of a todo item.
const (
	TodoPending    TodoStatus = "pending"
	TodoInProgress TodoStatus = "in_progress"
	TodoCompleted  TodoStatus = "completed"
	TodoCancelled  TodoStatus = "cancelled"
)

var todoStatuses = []string{string(TodoPending), string(TodoInProgress), string(TodoCompleted), string(TodoCancelled)}

// TodoItem is one item of an agent's todo list.
type TodoItem struct {
	ID      string     `json:"id"`
	Content string     `json:"content"`
	Status  TodoStatus `json:"status"`
}

// TodoUpdateEvent carries the agent's whole todo list, each time it changes.
type TodoUpdateEvent struct {
	Todos []TodoItem `json:"todos"`
	// WorkerID is set on the events of a worker execution.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

// WorkerStartEvent says a worker execution started: the events that carry
// its WorkerID follow, until its [WorkerResultEvent].
type WorkerStartEvent struct {
	WorkerID    string `json:"workerId"`
	WorkerSlug  string `json:"workerSlug"`
	Description string `json:"description,omitempty"`
	// Input is the worker's input, a JSON object; nil leaves the key out.
	Input json.RawMessage `json:"input,omitempty"`

	extra extras
}

// WorkerResultEvent ends a worker execution with its output or its error.
type WorkerResultEvent struct {
	WorkerID string `json:"workerId"`
	// Output is any JSON value; nil leaves the key out.
	Output json.RawMessage `json:"output,omitempty"`
	Error  string          `json:"error,omitempty"`

	extra extras
}

// WorkerInputStartEvent says the model started writing the input of a
// worker call.
type WorkerInputStartEvent struct {
	WorkerID    string `json:"workerId"`
	WorkerSlug  string `json:"workerSlug"`
	Description string `json:"description,omitempty"`

	extra extras
}

// WorkerInputDeltaEvent carries a piece of a worker call's input JSON text.
type WorkerInputDeltaEvent struct {
	WorkerID string `json:"workerId"`
	Delta    string `json:"delta"`
}

// WorkerInputReadyEvent carries a worker call's complete input.
type WorkerInputReadyEvent struct {
	WorkerID string `json:"workerId"`
	// Input is a JSON object; nil is written as {}.
	Input json.RawMessage `json:"input"`
}

// UsageEvent reports what an execution cost. A worker execution sends it
// after its finish event, just before the stream ends.
type UsageEvent struct {
	Cost   UsageCost   `json:"cost"`
	Tokens UsageTokens `json:"tokens"`
}

// UsageCost is the cost part of a [UsageEvent]. Amounts are float64, which
// holds every JSON number the platform writes exactly as it wrote it.
type UsageCost struct {
	Currency     string  `json:"currency"`
	BandwidthFee float64 `json:"bandwidthFee"`
	ProviderFee  float64 `json:"providerFee"`
	TotalFee     float64 `json:"totalFee"`
	// BYOK is true when the model ran on the customer's own provider key.
	BYOK bool `json:"byok"`
	// EstimatedProviderFee is what the provider would have cost without
	// BYOK, when the platform knows it.
	EstimatedProviderFee *float64 `json:"estimatedProviderFee,omitempty"`
}

// UsageTokens is the token count of a [UsageEvent]. The counts are float64
// so that any JSON number passes through unchanged.
type UsageTokens struct {
	InputTokens  float64 `json:"inputTokens"`
	OutputTokens float64 `json:"outputTokens"`
	TotalTokens  float64 `json:"totalTokens"`
}

func (*StartEvent) EventType() EventType               { return EventStart }
func (*FinishEvent) EventType() EventType              { return EventFinish }
func (*ErrorEvent) EventType() EventType               { return EventError }
func (*TextStartEvent) EventType() EventType           { return EventTextStart }
func (*TextDeltaEvent) EventType() EventType           { return EventTextDelta }
func (*TextEndEvent) EventType() EventType             { return EventTextEnd }
func (*ReasoningStartEvent) EventType() EventType      { return EventReasoningStart }
func (*ReasoningDeltaEvent) EventType() EventType      { return EventReasoningDelta }
func (*ReasoningEndEvent) EventType() EventType        { return EventReasoningEnd }
func (*ToolInputStartEvent) EventType() EventType      { return EventToolInputStart }
func (*ToolInputDeltaEvent) EventType() EventType      { return EventToolInputDelta }
func (*ToolInputEndEvent) EventType() EventType        { return EventToolInputEnd }
func (*ToolInputAvailableEvent) EventType() EventType  { return EventToolInputAvailable }
func (*ToolOutputAvailableEvent) EventType() EventType { return EventToolOutputAvail }
func (*ToolOutputErrorEvent) EventType() EventType     { return EventToolOutputError }
func (*SourceURLEvent) EventType() EventType           { return EventSource }
func (*SourceDocumentEvent) EventType() EventType      { return EventSource }
func (*BlockStartEvent) EventType() EventType          { return EventBlockStart }
func (*BlockEndEvent) EventType() EventType            { return EventBlockEnd }
func (*ResourceUpdateEvent) EventType() EventType      { return EventResourceUpdate }
func (*ToolRequestEvent) EventType() EventType         { return EventToolRequest }
func (*ClientToolRequestEvent) EventType() EventType   { return EventClientToolRequest }
func (*FileAvailableEvent) EventType() EventType       { return EventFileAvailable }
func (*TodoUpdateEvent) EventType() EventType          { return EventTodoUpdate }
func (*WorkerStartEvent) EventType() EventType         { return EventWorkerStart }
func (*WorkerResultEvent) EventType() EventType        { return EventWorkerResult }
func (*WorkerInputStartEvent) EventType() EventType    { return EventWorkerInputStart }
func (*WorkerInputDeltaEvent) EventType() EventType    { return EventWorkerInputDelta }
func (*WorkerInputReadyEvent) EventType() EventType    { return EventWorkerInputReady }
func (*UsageEvent) EventType() EventType               { return EventUsage }

func (*StartEvent) isStreamEvent()               {}
func (*FinishEvent) isStreamEvent()              {}
func (*ErrorEvent) isStreamEvent()               {}
func (*TextStartEvent) isStreamEvent()           {}
func (*TextDeltaEvent) isStreamEvent()           {}
func (*TextEndEvent) isStreamEvent()             {}
func (*ReasoningStartEvent) isStreamEvent()      {}
func (*ReasoningDeltaEvent) isStreamEvent()      {}
func (*ReasoningEndEvent) isStreamEvent()        {}
func (*ToolInputStartEvent) isStreamEvent()      {}
func (*ToolInputDeltaEvent) isStreamEvent()      {}
func (*ToolInputEndEvent) isStreamEvent()        {}
func (*ToolInputAvailableEvent) isStreamEvent()  {}
func (*ToolOutputAvailableEvent) isStreamEvent() {}
func (*ToolOutputErrorEvent) isStreamEvent()     {}
func (*SourceURLEvent) isStreamEvent()           {}
func (*SourceDocumentEvent) isStreamEvent()      {}
func (*BlockStartEvent) isStreamEvent()          {}
func (*BlockEndEvent) isStreamEvent()            {}
func (*ResourceUpdateEvent) isStreamEvent()      {}
func (*ToolRequestEvent) isStreamEvent()         {}
func (*ClientToolRequestEvent) isStreamEvent()   {}
func (*FileAvailableEvent) isStreamEvent()       {}
func (*TodoUpdateEvent) isStreamEvent()          {}
func (*WorkerStartEvent) isStreamEvent()         {}
func (*WorkerResultEvent) isStreamEvent()        {}
func (*WorkerInputStartEvent) isStreamEvent()    {}
func (*WorkerInputDeltaEvent) isStreamEvent()    {}
func (*WorkerInputReadyEvent) isStreamEvent()    {}
func (*UsageEvent) isStreamEvent()               {}

// MarshalJSON encodes the event with its "type".
func (e *StartEvent) MarshalJSON() ([]byte, error) {
	type plain StartEvent
	return marshalTagged(`"start"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *FinishEvent) MarshalJSON() ([]byte, error) {
	type plain FinishEvent
	return marshalTagged(`"finish"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *TextStartEvent) MarshalJSON() ([]byte, error) {
	type plain TextStartEvent
	return marshalTagged(`"text-start"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *TextDeltaEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	if e.extra == nil {
		return marshalFlat(e), nil
	}
	type plain TextDeltaEvent
	return marshalTagged(`"text-delta"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *TextEndEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	if e.extra == nil {
		return marshalFlat(e), nil
	}
	type plain TextEndEvent
	return marshalTagged(`"text-end"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ReasoningStartEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	if e.extra == nil {
		return marshalFlat(e), nil
	}
	type plain ReasoningStartEvent
	return marshalTagged(`"reasoning-start"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ReasoningDeltaEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	if e.extra == nil {
		return marshalFlat(e), nil
	}
	type plain ReasoningDeltaEvent
	return marshalTagged(`"reasoning-delta"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ReasoningEndEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	if e.extra == nil {
		return marshalFlat(e), nil
	}
	type plain ReasoningEndEvent
	return marshalTagged(`"reasoning-end"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolInputStartEvent) MarshalJSON() ([]byte, error) {
	type plain ToolInputStartEvent
	return marshalTagged(`"tool-input-start"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolInputDeltaEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	if e.extra == nil {
		return marshalFlat(e), nil
	}
	type plain ToolInputDeltaEvent
	return marshalTagged(`"tool-input-delta"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolInputEndEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	if e.extra == nil {
		return marshalFlat(e), nil
	}
	type plain ToolInputEndEvent
	return marshalTagged(`"tool-input-end"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolInputAvailableEvent) MarshalJSON() ([]byte, error) {
	type plain ToolInputAvailableEvent
	return marshalTagged(`"tool-input-available"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolOutputAvailableEvent) MarshalJSON() ([]byte, error) {
	type plain ToolOutputAvailableEvent
	return marshalTagged(`"tool-output-available"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolOutputErrorEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	if e.extra == nil {
		return marshalFlat(e), nil
	}
	type plain ToolOutputErrorEvent
	return marshalTagged(`"tool-output-error"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type" and "sourceType".
func (e *SourceURLEvent) MarshalJSON() ([]byte, error) {
	type plain SourceURLEvent
	return marshalTagged(`"source","sourceType":"url"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type" and "sourceType".
func (e *SourceDocumentEvent) MarshalJSON() ([]byte, error) {
	type plain SourceDocumentEvent
	return marshalTagged(`"source","sourceType":"document"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *BlockStartEvent) MarshalJSON() ([]byte, error) {
	type plain BlockStartEvent
	return marshalTagged(`"block-start"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *BlockEndEvent) MarshalJSON() ([]byte, error) {
	type plain BlockEndEvent
	return marshalTagged(`"block-end"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ResourceUpdateEvent) MarshalJSON() ([]byte, error) {
	type plain ResourceUpdateEvent
	return marshalTagged(`"resource-update"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type". A nil ToolCalls is written
// as an empty array.
func (e *ToolRequestEvent) MarshalJSON() ([]byte, error) {
	type plain ToolRequestEvent
	c := *e
	if c.ToolCalls == nil {
		c.ToolCalls = []PendingToolCall{}
	}
	return marshalTagged(`"tool-request"`, (*plain)(&c), c.extra)
}

// MarshalJSON encodes the event with its "type". A nil ToolCalls is written
// as an empty array; an empty ServerToolResults is left out.
func (e *ClientToolRequestEvent) MarshalJSON() ([]byte, error) {
	type plain ClientToolRequestEvent
	c := *e
	if c.ToolCalls == nil {
		c.ToolCalls = []PendingToolCall{}
	}
	return marshalTagged(`"client-tool-request"`, (*plain)(&c), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *FileAvailableEvent) MarshalJSON() ([]byte, error) {
	type plain FileAvailableEvent
	return marshalTagged(`"file-available"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type". A nil Todos is written as
// an empty array.
func (e *TodoUpdateEvent) MarshalJSON() ([]byte, error) {
	type plain TodoUpdateEvent
	c := *e
	if c.Todos == nil {
		c.Todos = []TodoItem{}
	}
	return marshalTagged(`"todo-update"`, (*plain)(&c), c.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *WorkerStartEvent) MarshalJSON() ([]byte, error) {
	type plain WorkerStartEvent
	return marshalTagged(`"worker-start"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *WorkerResultEvent) MarshalJSON() ([]byte, error) {
	type plain WorkerResultEvent
	return marshalTagged(`"worker-result"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *WorkerInputStartEvent) MarshalJSON() ([]byte, error) {
	type plain WorkerInputStartEvent
	return marshalTagged(`"worker-input-start"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *WorkerInputDeltaEvent) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	return marshalFlat(e), nil
}

// MarshalJSON encodes the event with its "type"; a nil Input is written as {}.
func (e *WorkerInputReadyEvent) MarshalJSON() ([]byte, error) {
	type plain WorkerInputReadyEvent
	c := *e
	if c.Input == nil {
		c.Input = json.RawMessage("{}")
	}
	return marshalTagged(`"worker-input-ready"`, (*plain)(&c), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *UsageEvent) MarshalJSON() ([]byte, error) {
	type plain UsageEvent
	return marshalTagged(`"usage"`, (*plain)(e), nil)
}

// MarshalJSON encodes the call; a nil Args is written as {}.
func (tc PendingToolCall) MarshalJSON() ([]byte, error) {
	type plain PendingToolCall
	if tc.Args == nil {
		tc.Args = json.RawMessage("{}")
	}
	return marshalWithExtra((*plain)(&tc), tc.extra)
}

// marshalTagged encodes v (a struct without a MarshalJSON method) and puts
// `"type":<tag>` first. tag is the raw JSON after the colon. extra is
// merged in (see mergeExtra).
func marshalTagged(tag string, v any, extra extras) ([]byte, error) {
	body, err := marshalWithExtra(v, extra)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(tag)+9)
	out = append(out, `{"type":`...)
	out = append(out, tag...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// marshalJSON is json.Marshal without HTML escaping, as JSON.stringify does.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return unescapeLineSeparators(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})), nil
}

// unescapeLineSeparators writes U+2028 and U+2029 as themselves, as
// JSON.stringify does: encoding/json always escapes them as \u2028 and
// \u2029. b must be valid JSON, where a backslash only occurs inside a string
// and is always followed by the rest of its escape.
func unescapeLineSeparators(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u202`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		if i+5 < len(b) && string(b[i+1:i+5]) == "u202" && (b[i+5] == '8' || b[i+5] == '9') {
			out = append(out, 0xE2, 0x80, 0xA8+b[i+5]-'8')
			i += 5
			continue
		}
		out = append(out, c, b[i+1])
		i++
	}
	return out
}

// ErrInvalidEvent is matched (with errors.Is) by every error of
// ParseStreamEvent.
var ErrInvalidEvent = errors.New("octavus: invalid stream event")

// ParseStreamEvent decodes one event of the wire protocol and checks it
// against the protocol's schema exactly as the reference SDK does (the zod
// streamEventSchema of @octavus/core 6.4.0, not its TS types): an
// unknown "type", a missing required field, a field of the wrong type
// (null included, for optional fields) or a value outside an enumeration is
// an error matching ErrInvalidEvent. Keys the schema does not know are
// dropped.
func ParseStreamEvent(data []byte) (StreamEvent, error) {
	if ev := decodeFlat(data, nil); ev != nil {
		return ev, nil
	}
	return parseGeneral(data)
}

// parseGeneral is ParseStreamEvent without the fast path (fastpath.go):
// every event through the schema checks of internal/wire.
func parseGeneral(data []byte) (StreamEvent, error) {
	o, err := wire.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	typ := o.String("type")
	if o.Err() != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, o.Err())
	}
	ev := decodeEvent(EventType(typ), o)
	if ev == nil {
		return nil, fmt.Errorf("%w: unknown type %q", ErrInvalidEvent, typ)
	}
	if o.Err() != nil {
		return nil, fmt.Errorf("%w: %q event: %v", ErrInvalidEvent, typ, o.Err())
	}
	return ev, nil
}

// decodeEvent builds the event of type typ from o; errors are left in o. It
// returns nil for an unknown type.
func decodeEvent(typ EventType, o *wire.Object) StreamEvent {
	switch typ {
	case EventStart:
		e := &StartEvent{}
		e.MessageID = e.extra.str(o, "messageId")
		e.ExecutionID = e.extra.str(o, "executionId")
		e.LastMessageID = e.extra.str(o, "lastMessageId")
		e.SessionID = e.extra.str(o, "sessionId")
		return e
	case EventFinish:
		e := &FinishEvent{FinishReason: FinishReason(o.Enum("finishReason", finishReasons...))}
		e.ExecutionID = e.extra.str(o, "executionId")
		return e
	case EventError:
		return errorEventFrom(o)
	case EventTextStart:
		e := &TextStartEvent{ID: o.String("id")}
		e.ResponseType = e.extra.str(o, "responseType")
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventTextDelta:
		e := &TextDeltaEvent{ID: o.String("id"), Delta: o.String("delta")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventTextEnd:
		e := &TextEndEvent{ID: o.String("id")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventReasoningStart:
		e := &ReasoningStartEvent{ID: o.String("id")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventReasoningDelta:
		e := &ReasoningDeltaEvent{ID: o.String("id"), Delta: o.String("delta")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventReasoningEnd:
		e := &ReasoningEndEvent{ID: o.String("id")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventToolInputStart:
		e := &ToolInputStartEvent{ToolCallID: o.String("toolCallId"), ToolName: o.String("toolName")}
		e.Title = e.extra.str(o, "title")
		e.Display = DisplayMode(o.OptEnum("display", displayModes...))
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventToolInputDelta:
		e := &ToolInputDeltaEvent{ToolCallID: o.String("toolCallId"), InputTextDelta: o.String("inputTextDelta")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventToolInputEnd:
		e := &ToolInputEndEvent{ToolCallID: o.String("toolCallId")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventToolInputAvailable:
		e := &ToolInputAvailableEvent{ToolCallID: o.String("toolCallId"), ToolName: o.String("toolName"), Input: o.Present("input")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventToolOutputAvail:
		e := &ToolOutputAvailableEvent{ToolCallID: o.String("toolCallId"), Output: o.Present("output")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventToolOutputError:
		e := &ToolOutputErrorEvent{ToolCallID: o.String("toolCallId"), Error: o.String("error")}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventSource:
		switch o.Enum("sourceType", "url", "document") {
		case "url":
			e := &SourceURLEvent{ID: o.String("id"), URL: o.String("url")}
			e.Title = e.extra.str(o, "title")
			e.WorkerID = e.extra.str(o, "workerId")
			return e
		default:
			e := &SourceDocumentEvent{ID: o.String("id"), MediaType: o.String("mediaType"), Title: o.String("title")}
			e.Filename = e.extra.str(o, "filename")
			e.WorkerID = e.extra.str(o, "workerId")
			return e
		}
	case EventTodoUpdate:
		items := o.Array("todos")
		e := &TodoUpdateEvent{Todos: make([]TodoItem, 0, len(items))}
		for _, it := range items {
			e.Todos = append(e.Todos, TodoItem{
				ID:      it.String("id"),
				Content: it.String("content"),
				Status:  TodoStatus(it.Enum("status", todoStatuses...)),
			})
			o.Adopt(it)
		}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventBlockStart:
		e := &BlockStartEvent{
			BlockID:   o.String("blockId"),
			BlockName: o.String("blockName"),
			BlockType: o.String("blockType"),
			Display:   DisplayMode(o.Enum("display", displayModes...)),
		}
		e.Description = e.extra.str(o, "description")
		if b, ok := o.OptBool("outputToChat"); ok {
			e.OutputToChat = &b
		}
		e.Thread = e.extra.str(o, "thread")
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventBlockEnd:
		e := &BlockEndEvent{BlockID: o.String("blockId")}
		e.Summary = e.extra.str(o, "summary")
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventResourceUpdate:
		return &ResourceUpdateEvent{Name: o.String("name"), Value: o.Present("value")}
	case EventToolRequest:
		e := &ToolRequestEvent{ToolCalls: pendingToolCallsFrom(o, o.Array("toolCalls"))}
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventClientToolRequest:
		e := &ClientToolRequestEvent{ExecutionID: o.String("executionId")}
		e.ToolCalls = pendingToolCallsFrom(o, o.Array("toolCalls"))
		if items, ok := o.OptArray("serverToolResults"); ok {
			e.ServerToolResults = make([]ToolResult, 0, len(items))
			for _, it := range items {
				tr, _ := toolResultFrom(it, false)
				o.Adopt(it)
				e.ServerToolResults = append(e.ServerToolResults, tr)
			}
		}
		return e
	case EventFileAvailable:
		e := &FileAvailableEvent{ID: o.String("id"), MediaType: o.String("mediaType"), URL: o.String("url")}
		e.Filename = e.extra.str(o, "filename")
		if f, ok := o.OptNumber("size"); ok {
			e.Size = &f
		}
		e.ToolCallID = e.extra.str(o, "toolCallId")
		e.WorkerID = e.extra.str(o, "workerId")
		return e
	case EventWorkerStart:
		e := &WorkerStartEvent{WorkerID: o.String("workerId"), WorkerSlug: o.String("workerSlug")}
		e.Description = e.extra.str(o, "description")
		e.Input = o.OptRecord("input")
		return e
	case EventWorkerResult:
		// The TS type's "cancelled" is not in the schema: it is dropped
		// with the other unknown keys.
		e := &WorkerResultEvent{WorkerID: o.String("workerId"), Output: o.Unknown("output")}
		e.Error = e.extra.str(o, "error")
		return e
	case EventWorkerInputStart:
		e := &WorkerInputStartEvent{WorkerID: o.String("workerId"), WorkerSlug: o.String("workerSlug")}
		e.Description = e.extra.str(o, "description")
		return e
	case EventWorkerInputDelta:
		return &WorkerInputDeltaEvent{WorkerID: o.String("workerId"), Delta: o.String("delta")}
	case EventWorkerInputReady:
		return &WorkerInputReadyEvent{WorkerID: o.String("workerId"), Input: o.Record("input")}
	case EventUsage:
		return usageEventFrom(o)
	}
	return nil
}

func usageEventFrom(o *wire.Object) *UsageEvent {
	e := &UsageEvent{}
	if c := o.Object("cost"); c != nil {
		e.Cost = UsageCost{
			Currency:     c.String("currency"),
			BandwidthFee: c.Number("bandwidthFee"),
			ProviderFee:  c.Number("providerFee"),
			TotalFee:     c.Number("totalFee"),
			BYOK:         c.Bool("byok"),
		}
		if f, ok := c.OptNumber("estimatedProviderFee"); ok {
			e.Cost.EstimatedProviderFee = &f
		}
		o.Adopt(c)
	}
	if t := o.Object("tokens"); t != nil {
		e.Tokens = UsageTokens{
			InputTokens:  t.Number("inputTokens"),
			OutputTokens: t.Number("outputTokens"),
			TotalTokens:  t.Number("totalTokens"),
		}
		o.Adopt(t)
	}
	return e
}

func pendingToolCallsFrom(parent *wire.Object, items []*wire.Object) []PendingToolCall {
	calls := make([]PendingToolCall, 0, len(items))
	for _, it := range items {
		calls = append(calls, pendingToolCallFrom(it))
		parent.Adopt(it)
	}
	return calls
}
