package octavus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/octavus-go/octavus/internal/wire"
)

// StreamEvent is one event of an agent's stream. Every event type of the
// protocol is its own pointer type: [*StartEvent], [*FinishEvent],
// [*ErrorEvent], [*TextStartEvent], [*TextDeltaEvent], [*TextEndEvent],
// [*ReasoningStartEvent], [*ReasoningDeltaEvent], [*ReasoningEndEvent],
// [*ToolInputStartEvent], [*ToolInputDeltaEvent], [*ToolInputEndEvent],
// [*ToolInputAvailableEvent], [*ToolOutputAvailableEvent],
// [*ToolOutputErrorEvent], [*SourceURLEvent], [*SourceDocumentEvent],
// [*BlockStartEvent], [*BlockEndEvent], [*ResourceUpdateEvent],
// [*ToolRequestEvent], [*ClientToolRequestEvent] and [*FileAvailableEvent].
// Use a type switch to tell them apart.
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

// DisplayMode says how the browser shows an execution block.
type DisplayMode string

// The display modes of a block.
const (
	DisplayHidden      DisplayMode = "hidden"
	DisplayName        DisplayMode = "name"
	DisplayDescription DisplayMode = "description"
	DisplayStream      DisplayMode = "stream"
)

// StartEvent opens a stream (and, with ExecutionID, names the execution the
// SDK continues with tool results).
type StartEvent struct {
	MessageID   string `json:"messageId,omitempty"`
	ExecutionID string `json:"executionId,omitempty"`

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

	extra extras
}

// TextDeltaEvent carries a piece of text of the part ID.
type TextDeltaEvent struct {
	ID    string `json:"id"`
	Delta string `json:"delta"`
}

// TextEndEvent closes a text part.
type TextEndEvent struct {
	ID string `json:"id"`
}

// ReasoningStartEvent opens a reasoning part.
type ReasoningStartEvent struct {
	ID string `json:"id"`
}

// ReasoningDeltaEvent carries a piece of reasoning of the part ID.
type ReasoningDeltaEvent struct {
	ID    string `json:"id"`
	Delta string `json:"delta"`
}

// ReasoningEndEvent closes a reasoning part.
type ReasoningEndEvent struct {
	ID string `json:"id"`
}

// ToolInputStartEvent says the model started writing a tool call's input.
type ToolInputStartEvent struct {
	ToolCallID string `json:"toolCallId"`
	ToolName   string `json:"toolName"`
	Title      string `json:"title,omitempty"`

	extra extras
}

// ToolInputDeltaEvent carries a piece of a tool call's input JSON text.
type ToolInputDeltaEvent struct {
	ToolCallID     string `json:"toolCallId"`
	InputTextDelta string `json:"inputTextDelta"`
}

// ToolInputEndEvent says a tool call's input is complete.
type ToolInputEndEvent struct {
	ToolCallID string `json:"toolCallId"`
}

// ToolInputAvailableEvent carries a tool call's parsed input.
type ToolInputAvailableEvent struct {
	ToolCallID string `json:"toolCallId"`
	ToolName   string `json:"toolName"`
	// Input is any JSON value; nil leaves the key out.
	Input json.RawMessage `json:"input,omitempty"`
}

// ToolOutputAvailableEvent carries a tool call's result.
type ToolOutputAvailableEvent struct {
	ToolCallID string `json:"toolCallId"`
	// Output is any JSON value; nil leaves the key out ("no result").
	Output json.RawMessage `json:"output,omitempty"`
}

// ToolOutputErrorEvent says a tool call failed.
type ToolOutputErrorEvent struct {
	ToolCallID string `json:"toolCallId"`
	Error      string `json:"error"`
}

// SourceURLEvent cites a web page (a "source" event with sourceType "url").
type SourceURLEvent struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`

	extra extras
}

// SourceDocumentEvent cites a document (a "source" event with sourceType
// "document").
type SourceDocumentEvent struct {
	ID        string `json:"id"`
	MediaType string `json:"mediaType"`
	Title     string `json:"title"`
	Filename  string `json:"filename,omitempty"`

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

	extra extras
}

// BlockEndEvent says an execution block ended.
type BlockEndEvent struct {
	BlockID string `json:"blockId"`
	Summary string `json:"summary,omitempty"`

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

	extra extras
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
	if e != nil {
		return marshalFlat(e), nil
	}
	type plain TextDeltaEvent
	return marshalTagged(`"text-delta"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *TextEndEvent) MarshalJSON() ([]byte, error) {
	if e != nil {
		return marshalFlat(e), nil
	}
	type plain TextEndEvent
	return marshalTagged(`"text-end"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *ReasoningStartEvent) MarshalJSON() ([]byte, error) {
	if e != nil {
		return marshalFlat(e), nil
	}
	type plain ReasoningStartEvent
	return marshalTagged(`"reasoning-start"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *ReasoningDeltaEvent) MarshalJSON() ([]byte, error) {
	if e != nil {
		return marshalFlat(e), nil
	}
	type plain ReasoningDeltaEvent
	return marshalTagged(`"reasoning-delta"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *ReasoningEndEvent) MarshalJSON() ([]byte, error) {
	if e != nil {
		return marshalFlat(e), nil
	}
	type plain ReasoningEndEvent
	return marshalTagged(`"reasoning-end"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolInputStartEvent) MarshalJSON() ([]byte, error) {
	type plain ToolInputStartEvent
	return marshalTagged(`"tool-input-start"`, (*plain)(e), e.extra)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolInputDeltaEvent) MarshalJSON() ([]byte, error) {
	if e != nil {
		return marshalFlat(e), nil
	}
	type plain ToolInputDeltaEvent
	return marshalTagged(`"tool-input-delta"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolInputEndEvent) MarshalJSON() ([]byte, error) {
	if e != nil {
		return marshalFlat(e), nil
	}
	type plain ToolInputEndEvent
	return marshalTagged(`"tool-input-end"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolInputAvailableEvent) MarshalJSON() ([]byte, error) {
	type plain ToolInputAvailableEvent
	return marshalTagged(`"tool-input-available"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolOutputAvailableEvent) MarshalJSON() ([]byte, error) {
	type plain ToolOutputAvailableEvent
	return marshalTagged(`"tool-output-available"`, (*plain)(e), nil)
}

// MarshalJSON encodes the event with its "type".
func (e *ToolOutputErrorEvent) MarshalJSON() ([]byte, error) {
	if e != nil {
		return marshalFlat(e), nil
	}
	type plain ToolOutputErrorEvent
	return marshalTagged(`"tool-output-error"`, (*plain)(e), nil)
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
	return marshalTagged(`"tool-request"`, (*plain)(&c), nil)
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
// against the protocol's schema exactly as the reference SDK does: an
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
		return e
	case EventTextDelta:
		return &TextDeltaEvent{ID: o.String("id"), Delta: o.String("delta")}
	case EventTextEnd:
		return &TextEndEvent{ID: o.String("id")}
	case EventReasoningStart:
		return &ReasoningStartEvent{ID: o.String("id")}
	case EventReasoningDelta:
		return &ReasoningDeltaEvent{ID: o.String("id"), Delta: o.String("delta")}
	case EventReasoningEnd:
		return &ReasoningEndEvent{ID: o.String("id")}
	case EventToolInputStart:
		e := &ToolInputStartEvent{ToolCallID: o.String("toolCallId"), ToolName: o.String("toolName")}
		e.Title = e.extra.str(o, "title")
		return e
	case EventToolInputDelta:
		return &ToolInputDeltaEvent{ToolCallID: o.String("toolCallId"), InputTextDelta: o.String("inputTextDelta")}
	case EventToolInputEnd:
		return &ToolInputEndEvent{ToolCallID: o.String("toolCallId")}
	case EventToolInputAvailable:
		return &ToolInputAvailableEvent{ToolCallID: o.String("toolCallId"), ToolName: o.String("toolName"), Input: o.Present("input")}
	case EventToolOutputAvail:
		return &ToolOutputAvailableEvent{ToolCallID: o.String("toolCallId"), Output: o.Present("output")}
	case EventToolOutputError:
		return &ToolOutputErrorEvent{ToolCallID: o.String("toolCallId"), Error: o.String("error")}
	case EventSource:
		switch o.Enum("sourceType", "url", "document") {
		case "url":
			e := &SourceURLEvent{ID: o.String("id"), URL: o.String("url")}
			e.Title = e.extra.str(o, "title")
			return e
		default:
			e := &SourceDocumentEvent{ID: o.String("id"), MediaType: o.String("mediaType"), Title: o.String("title")}
			e.Filename = e.extra.str(o, "filename")
			return e
		}
	case EventBlockStart:
		e := &BlockStartEvent{
			BlockID:   o.String("blockId"),
			BlockName: o.String("blockName"),
			BlockType: o.String("blockType"),
			Display:   DisplayMode(o.Enum("display", "hidden", "name", "description", "stream")),
		}
		e.Description = e.extra.str(o, "description")
		if b, ok := o.OptBool("outputToChat"); ok {
			e.OutputToChat = &b
		}
		e.Thread = e.extra.str(o, "thread")
		return e
	case EventBlockEnd:
		e := &BlockEndEvent{BlockID: o.String("blockId")}
		e.Summary = e.extra.str(o, "summary")
		return e
	case EventResourceUpdate:
		return &ResourceUpdateEvent{Name: o.String("name"), Value: o.Present("value")}
	case EventToolRequest:
		return &ToolRequestEvent{ToolCalls: pendingToolCallsFrom(o, o.Array("toolCalls"))}
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
		return e
	}
	return nil
}

func pendingToolCallsFrom(parent *wire.Object, items []*wire.Object) []PendingToolCall {
	calls := make([]PendingToolCall, 0, len(items))
	for _, it := range items {
		calls = append(calls, pendingToolCallFrom(it))
		parent.Adopt(it)
	}
	return calls
}
