package octavus

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/octavus-go/octavus/internal/wire"
)

// MessageRole is the author of a message.
type MessageRole string

// The message roles. UI messages are only user or assistant.
const (
	RoleUser      MessageRole = "user"
	RoleAssistant MessageRole = "assistant"
	RoleSystem    MessageRole = "system"
)

// MessageSender is the author of a turn in a multi-user conversation
// (UIMessageSender in the reference). Every field is optional.
type MessageSender struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Image string `json:"image,omitempty"`
}

// UIMessage is a message as the browser shows it: the shape of
// GetMessages' answer and of Restore's input. Store these to restore an
// expired session later.
type UIMessage struct {
	ID    string          `json:"id"`
	Role  MessageRole     `json:"role"`
	Parts []UIMessagePart `json:"parts"`
	// Status is "streaming" or "done".
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
}

// jsISOTime is the layout of JavaScript's Date.prototype.toISOString.
const jsISOTime = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON encodes the message with CreatedAt as JavaScript writes a
// Date (UTC, milliseconds), and Parts as an array even when nil.
func (m UIMessage) MarshalJSON() ([]byte, error) {
	type plain UIMessage
	out := struct {
		plain
		CreatedAt string `json:"createdAt"`
	}{plain(m), m.CreatedAt.UTC().Format(jsISOTime)}
	if out.Parts == nil {
		out.Parts = []UIMessagePart{}
	}
	return marshalJSON(out)
}

// UnmarshalJSON decodes a message. createdAt may be an RFC 3339 string or
// milliseconds since the Unix epoch, as the reference's z.coerce.date()
// accepts.
func (m *UIMessage) UnmarshalJSON(data []byte) error {
	type plain UIMessage
	var in struct {
		plain
		CreatedAt json.RawMessage `json:"createdAt"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*m = UIMessage(in.plain)
	t, err := parseJSTime(in.CreatedAt)
	if err != nil {
		return fmt.Errorf("octavus: UIMessage %q createdAt: %w", m.ID, err)
	}
	m.CreatedAt = t
	return nil
}

// maxJSTime is the largest distance from the epoch, in milliseconds, that a
// JavaScript Date can hold.
const maxJSTime = 8.64e15

func parseJSTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 {
		return time.Time{}, nil
	}
	if string(raw) == "null" {
		// new Date(null) is the epoch.
		return time.UnixMilli(0).UTC(), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return time.Parse(time.RFC3339Nano, s)
	}
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return time.Time{}, fmt.Errorf("want a date string or milliseconds, got %s", raw)
	}
	if ms > maxJSTime || ms < -maxJSTime {
		return time.Time{}, fmt.Errorf("%s is out of a date's range", raw)
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}

// UIMessagePart is one part of a UIMessage. Type says which fields apply:
//
//   - "text", "reasoning": Text, Status ("streaming" or "done")
//   - "tool-call": ToolCallID, ToolName, DisplayName, Args, Result, Error,
//     Status ("pending", "running", "done", "error", "cancelled")
//   - "operation": OperationID, Name, OperationType, Status ("running", "done",
//     "cancelled")
//   - "source": SourceType ("url": ID, URL, Title; "document": ID,
//     MediaType, Title, Filename)
//   - "file": ID, MediaType, URL, Filename, Size, ToolCallID
//   - "object": ID, TypeName, Partial, Object, Status ("streaming", "done",
//     "error"), Error
//
// Thread, on any part, names a thread other than the main one.
type UIMessagePart struct {
	Type   string `json:"type"`
	Status string `json:"status,omitempty"`
	Thread string `json:"thread,omitempty"`

	Text string `json:"text,omitempty"`

	ToolCallID  string          `json:"toolCallId,omitempty"`
	ToolName    string          `json:"toolName,omitempty"`
	DisplayName string          `json:"displayName,omitempty"`
	Args        json.RawMessage `json:"args,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Error       string          `json:"error,omitempty"`

	OperationID   string `json:"operationId,omitempty"`
	Name          string `json:"name,omitempty"`
	OperationType string `json:"operationType,omitempty"`

	SourceType string   `json:"sourceType,omitempty"`
	ID         string   `json:"id,omitempty"`
	URL        string   `json:"url,omitempty"`
	Title      string   `json:"title,omitempty"`
	MediaType  string   `json:"mediaType,omitempty"`
	Filename   string   `json:"filename,omitempty"`
	Size       *float64 `json:"size,omitempty"`

	TypeName string          `json:"typeName,omitempty"`
	Partial  json.RawMessage `json:"partial,omitempty"`
	Object   json.RawMessage `json:"object,omitempty"`
}

// MarshalJSON writes the fields the part's Type requires even when they are
// empty (an empty text part keeps "text":""), and the others only when set.
func (p UIMessagePart) MarshalJSON() ([]byte, error) {
	type plain UIMessagePart
	b, err := marshalJSON(plain(p))
	if err != nil {
		return nil, err
	}
	var required []string
	switch p.Type {
	case "text", "reasoning":
		required = []string{"text", "status"}
	case "tool-call":
		required = []string{"toolCallId", "toolName", "args", "status"}
	case "operation":
		required = []string{"operationId", "name", "operationType", "status"}
	case "source":
		required = []string{"sourceType", "id"}
		if p.SourceType == "url" {
			required = append(required, "url")
		} else {
			required = append(required, "mediaType", "title")
		}
	case "file":
		required = []string{"id", "mediaType", "url"}
	case "object":
		required = []string{"id", "typeName", "status"}
	}
	if len(required) == 0 {
		return b, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			if k == "args" {
				m[k] = json.RawMessage("{}")
			} else {
				m[k] = json.RawMessage(`""`)
			}
		}
	}
	return marshalJSON(m)
}

// ChatMessage is a message of a session's full state ([SessionState]),
// hidden content included.
type ChatMessage struct {
	ID                 string         `json:"id"`
	Role               MessageRole    `json:"role"`
	Parts              []MessagePart  `json:"parts"`
	CreatedAt          string         `json:"createdAt"`
	Visible            *bool          `json:"visible,omitempty"`
	Content            string         `json:"content"`
	ToolCalls          []ToolCallInfo `json:"toolCalls,omitempty"`
	Reasoning          string         `json:"reasoning,omitempty"`
	ReasoningSignature string         `json:"reasoningSignature,omitempty"`
}

// MessagePart is one part of a ChatMessage. Type is "text", "reasoning",
// "tool-call", "source", "file" or "object"; the matching pointer field is set.
type MessagePart struct {
	Type     string        `json:"type"`
	Visible  bool          `json:"visible"`
	Content  string        `json:"content,omitempty"`
	ToolCall *ToolCallInfo `json:"toolCall,omitempty"`
	Source   *SourceInfo   `json:"source,omitempty"`
	File     *FileInfo     `json:"file,omitempty"`
	Object   *ObjectInfo   `json:"object,omitempty"`
	Thread   string        `json:"thread,omitempty"`
}

// ToolCallInfo is a tool call inside a ChatMessage.
type ToolCallInfo struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Arguments   json.RawMessage `json:"arguments"`
	// Status is "pending", "streaming", "available" or "error".
	Status string          `json:"status"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// SourceInfo is a cited source inside a ChatMessage. SourceType is "url"
// (URL, Title) or "document" (MediaType, Title, Filename).
type SourceInfo struct {
	SourceType string `json:"sourceType"`
	ID         string `json:"id"`
	URL        string `json:"url,omitempty"`
	Title      string `json:"title,omitempty"`
	MediaType  string `json:"mediaType,omitempty"`
	Filename   string `json:"filename,omitempty"`
}

// FileInfo is a file inside a ChatMessage.
type FileInfo struct {
	ID         string   `json:"id"`
	MediaType  string   `json:"mediaType"`
	URL        string   `json:"url"`
	Filename   string   `json:"filename,omitempty"`
	Size       *float64 `json:"size,omitempty"`
	ToolCallID string   `json:"toolCallId,omitempty"`
}

// ObjectInfo is a structured-output object inside a ChatMessage.
type ObjectInfo struct {
	ID       string          `json:"id"`
	TypeName string          `json:"typeName"`
	Value    json.RawMessage `json:"value,omitempty"`
}

// ParseUIMessage decodes one UIMessage (the reference's safeParseUIMessage).
// It fails when required fields are missing, of the wrong kind or outside
// their enumerations, in the message or in any of its parts. Unlike the
// reference's schema it accepts the status "cancelled" of tool-call and
// operation parts, which the browser's client SDK writes when the user stops
// an execution.
func ParseUIMessage(data []byte) (*UIMessage, error) {
	o, err := wire.Decode(data)
	if err == nil {
		err = checkUIMessage(o)
	}
	if err != nil {
		return nil, fmt.Errorf("octavus: invalid UI message: %w", err)
	}
	var m UIMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("octavus: invalid UI message: %w", err)
	}
	return &m, nil
}

// ParseUIMessages decodes a JSON array of UIMessages (the reference's
// safeParseUIMessages), checking each as ParseUIMessage does.
func ParseUIMessages(data []byte) ([]UIMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("octavus: invalid UI messages: %w", err)
	}
	if items == nil {
		return nil, fmt.Errorf("octavus: invalid UI messages: want an array")
	}
	ms := make([]UIMessage, len(items))
	for i, it := range items {
		o, err := wire.Decode(it)
		if err == nil {
			err = checkUIMessage(o)
		}
		if err == nil {
			err = json.Unmarshal(it, &ms[i])
		}
		if err != nil {
			return nil, fmt.Errorf("octavus: invalid UI messages: message %d: %w", i, err)
		}
	}
	return ms, nil
}

// checkUIMessage checks a UIMessage as the reference's uiMessageSchema.
func checkUIMessage(o *wire.Object) error {
	o.String("id")
	o.Enum("role", string(RoleUser), string(RoleAssistant))
	for i, p := range o.Array("parts") {
		if err := checkUIPart(p); err != nil {
			return fmt.Errorf("part %d: %w", i, err)
		}
	}
	o.Enum("status", "streaming", "done")
	raw := o.Unknown("createdAt")
	if err := o.Err(); err != nil {
		return err
	}
	// z.coerce.date(): new Date(value) must be a valid date.
	if raw == nil {
		return fmt.Errorf(`field "createdAt": required`)
	}
	if _, err := parseJSTime(raw); err != nil {
		return fmt.Errorf(`field "createdAt": %w`, err)
	}
	return nil
}

// checkUIPart checks one part of a UIMessage as the reference's
// uiMessagePartSchema (with "cancelled" accepted, see ParseUIMessage).
func checkUIPart(o *wire.Object) error {
	switch o.Enum("type", "text", "reasoning", "tool-call", "operation", "source", "file", "object") {
	case "text", "reasoning":
		o.String("text")
		o.Enum("status", "streaming", "done")
	case "tool-call":
		o.String("toolCallId")
		o.String("toolName")
		o.OptString("displayName")
		o.Record("args")
		o.Unknown("result")
		o.OptString("error")
		o.Enum("status", "pending", "running", "done", "error", "cancelled")
	case "operation":
		o.String("operationId")
		o.String("name")
		o.String("operationType")
		o.Enum("status", "running", "done", "cancelled")
	case "source":
		checkSource(o)
	case "file":
		checkFile(o)
	case "object":
		o.String("id")
		o.String("typeName")
		o.Unknown("partial")
		o.Unknown("object")
		o.Enum("status", "streaming", "done", "error")
		o.OptString("error")
	}
	o.OptString("thread")
	return o.Err()
}

// checkSource checks the fields of a url or document source.
func checkSource(o *wire.Object) {
	switch o.Enum("sourceType", "url", "document") {
	case "url":
		o.String("id")
		o.String("url")
		o.OptString("title")
	case "document":
		o.String("id")
		o.String("mediaType")
		o.String("title")
		o.OptString("filename")
	}
}

// checkFile checks the fields of a file part or file info.
func checkFile(o *wire.Object) {
	o.String("id")
	o.String("mediaType")
	o.String("url")
	o.OptString("filename")
	o.OptNumber("size")
	o.OptString("toolCallId")
}

// checkChatMessage checks a message of a session's full state as the
// reference's chatMessageSchema.
func checkChatMessage(o *wire.Object) error {
	o.String("id")
	o.Enum("role", string(RoleUser), string(RoleAssistant), string(RoleSystem))
	for _, p := range o.Array("parts") {
		if err := checkMessagePart(p); err != nil {
			return err
		}
	}
	o.String("createdAt")
	o.OptBool("visible")
	o.String("content")
	if tcs, ok := o.OptArray("toolCalls"); ok {
		for _, tc := range tcs {
			if err := checkToolCallInfo(tc); err != nil {
				return err
			}
		}
	}
	o.OptString("reasoning")
	o.OptString("reasoningSignature")
	return o.Err()
}

func checkMessagePart(o *wire.Object) error {
	o.Enum("type", "text", "reasoning", "tool-call", "source", "file", "object")
	o.Bool("visible")
	o.OptString("content")
	if tc := o.OptObject("toolCall"); tc != nil {
		if err := checkToolCallInfo(tc); err != nil {
			return err
		}
	}
	if src := o.OptObject("source"); src != nil {
		checkSource(src)
		o.Adopt(src)
	}
	if f := o.OptObject("file"); f != nil {
		checkFile(f)
		o.Adopt(f)
	}
	if obj := o.OptObject("object"); obj != nil {
		obj.String("id")
		obj.String("typeName")
		obj.Unknown("value")
		o.Adopt(obj)
	}
	o.OptString("thread")
	return o.Err()
}

func checkToolCallInfo(o *wire.Object) error {
	o.String("id")
	o.String("name")
	o.OptString("description")
	o.Record("arguments")
	o.Enum("status", "pending", "streaming", "available", "error")
	o.Unknown("result")
	o.OptString("error")
	return o.Err()
}
