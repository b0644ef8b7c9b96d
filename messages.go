package octavus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
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
// GetMessages' answer and of Restore's input (wire version 4). Store these
// to restore an expired session later.
//
// A UIMessage decoded from JSON is written back as it was received: keys
// octavus-go has no field for (at any depth: message, parts, a worker's
// parts, todo items), optional strings present as "", numbers with their
// exact digits and a createdAt in any form the platform accepts. A field you
// change is written from its Go value; the rest stay as received.
type UIMessage struct {
	ID    string          `json:"id"`
	Role  MessageRole     `json:"role"`
	Parts []UIMessagePart `json:"parts"`
	// Status is "streaming" or "done".
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	// Sender is the author of a user turn in a multi-user conversation, as
	// the backend set it on the trigger ([TriggerRequest.Sender]).
	Sender *MessageSender `json:"sender,omitempty"`

	raw *rawKeys
}

// jsISOTime is the layout of JavaScript's Date.prototype.toISOString.
const jsISOTime = "2006-01-02T15:04:05.000Z07:00"

var uiMessageKeys = []string{"id", "role", "parts", "status", "createdAt", "sender"}

// MarshalJSON encodes the message with CreatedAt as JavaScript writes a
// Date (UTC, milliseconds), and Parts as an array even when nil. What a
// decoded message held beyond its fields is written back (see UIMessage).
func (m UIMessage) MarshalJSON() ([]byte, error) {
	b, err := m.typedJSON()
	if err != nil {
		return nil, err
	}
	return m.raw.apply(b)
}

func (m UIMessage) typedJSON() ([]byte, error) {
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
// accepts. It does not check the message against the schema: use
// ParseUIMessage for that.
func (m *UIMessage) UnmarshalJSON(data []byte) error {
	type plain UIMessage
	var in struct {
		plain
		CreatedAt json.RawMessage `json:"createdAt"`
	}
	all, keys, err := decodeKnown(data, fixedKeys(uiMessageKeys), &in)
	if err != nil || all == nil {
		return err
	}
	msg := UIMessage(in.plain)
	t, err := parseJSTime(in.CreatedAt)
	if err != nil {
		return fmt.Errorf("octavus: UIMessage %q createdAt: %w", msg.ID, err)
	}
	msg.CreatedAt = t
	spec := keepSpec{self: []string{"parts"}}
	// A createdAt other than the one MarshalJSON writes for t is kept.
	quick, ok := spec.unknownOnly(all, keys)
	if ok && in.CreatedAt != nil && string(in.CreatedAt) != `"`+t.UTC().Format(jsISOTime)+`"` {
		ok = false
	}
	if ok {
		msg.raw = quick.ptr()
	} else {
		shallow := msg
		shallow.Parts = nil
		typed, err := shallow.typedJSON()
		if err != nil {
			return err
		}
		msg.raw = keepRaw(all, typed, spec.self...).ptr()
	}
	*m = msg
	return nil
}

// maxJSTime is the largest distance from the epoch, in milliseconds, that a
// JavaScript Date can hold.
const maxJSTime = 8.64e15

// parseJSTime reads a createdAt as new Date(value) does: a date string,
// milliseconds since the epoch, null (the epoch) or a boolean (0 or 1 ms).
func parseJSTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 {
		return time.Time{}, nil
	}
	switch string(raw) {
	case "null", "false":
		// new Date(null) and new Date(false) are the epoch.
		return time.UnixMilli(0).UTC(), nil
	case "true":
		return time.UnixMilli(1).UTC(), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return parseJSDate(s)
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

// jsDateISO is ECMAScript's date time string format: a date (year, month,
// day, the later ones optional), then optionally a time of hours and
// minutes, optional seconds and fraction, and an optional zone.
var jsDateISO = regexp.MustCompile(`(?i)^([+-]\d{6}|\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?$`)

// parseJSDate parses the date strings V8's Date.parse reads that matter
// here: the ECMAScript date time string format (with V8's ranges, and
// lower-case T and Z) and the RFC 1123 form Date.prototype.toUTCString
// writes. A date-time without a zone is local time in JavaScript; it is
// read as UTC here (the platform runs in UTC). V8's legacy forms ("Jan 15
// 2024") are not read.
func parseJSDate(s string) (time.Time, error) {
	m := jsDateISO.FindStringSubmatch(s)
	if m == nil {
		for _, layout := range []string{time.RFC1123, time.RFC1123Z} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a date JavaScript reads", s)
	}
	num := func(x string, def int) int {
		if x == "" {
			return def
		}
		n, _ := strconv.Atoi(x)
		return n
	}
	year := num(strings.TrimPrefix(m[1], "+"), 0)
	if m[1] == "-000000" {
		return time.Time{}, fmt.Errorf("%q: year -000000 is not a date", s)
	}
	month, day := num(m[2], 1), num(m[3], 1)
	hour, minute, sec := num(m[4], 0), num(m[5], 0), num(m[6], 0)
	nsec := 0
	if f := m[7]; f != "" {
		f = (f + "000000000")[:9]
		nsec = num(f, 0)
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" && z != "z" {
		oh, om := num(z[1:3], 0), num(z[4:6], 0)
		if oh > 23 || om > 59 {
			return time.Time{}, fmt.Errorf("%q: bad zone", s)
		}
		off := oh*3600 + om*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	// V8's ranges: a day up to 31 in any month (February 30 is March 1),
	// hour 24 only as the end of the day.
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || sec > 59 ||
		(hour == 24 && (minute != 0 || sec != 0 || nsec != 0)) {
		return time.Time{}, fmt.Errorf("%q is not a valid date", s)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if ms := t.UnixMilli(); ms > maxJSTime || ms < -maxJSTime {
		return time.Time{}, fmt.Errorf("%q is out of a date's range", s)
	}
	return t.UTC(), nil
}

// UIMessagePart is one part of a UIMessage. Type says which fields apply:
//
//   - "text": Text, Status ("streaming" or "done")
//   - "reasoning": Text, Status ("streaming" or "done"), ProviderMetadata
//   - "tool-call": ToolCallID, ToolName, DisplayName, Args, Result, Error,
//     Display, ProviderMetadata, Status ("pending", "running", "done",
//     "error", "cancelled")
//   - "operation": OperationID, Name, OperationType, Status ("running",
//     "done", "cancelled")
//   - "source": SourceType ("url": ID, URL, Title; "document": ID,
//     MediaType, Title, Filename)
//   - "file": ID, MediaType, URL, Filename, Size, ToolCallID
//   - "object": ID, TypeName, Partial, Object, Status ("streaming", "done",
//     "error"), Error
//   - "todo": Todos, Status ("streaming" or "done")
//   - "worker": WorkerID, WorkerSlug, Description, Input, Parts (the
//     worker's own parts, of any type but "worker"), Output, Error, Status
//     ("running", "done", "error", "cancelled")
//   - "step-start": no field; it marks where a model step began, so that
//     the platform rebuilds one model message per step on Restore
//
// Thread, on any part but a worker's, names a thread other than the main one.
// A decoded part keeps what it held beyond the fields of its type (see
// UIMessage).
type UIMessagePart struct {
	Type   string `json:"type"`
	Status string `json:"status,omitempty"`
	Thread string `json:"thread,omitempty"`

	Text string `json:"text,omitempty"`
	// ProviderMetadata is the model provider's data on a reasoning or
	// tool-call part (a JSON object), such as the reasoning signatures the
	// provider needs to continue the conversation after a Restore.
	ProviderMetadata json.RawMessage `json:"providerMetadata,omitempty"`

	ToolCallID  string          `json:"toolCallId,omitempty"`
	ToolName    string          `json:"toolName,omitempty"`
	DisplayName string          `json:"displayName,omitempty"`
	Args        json.RawMessage `json:"args,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Error       string          `json:"error,omitempty"`
	// Display is how the browser shows a tool call.
	Display DisplayMode `json:"display,omitempty"`

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

	Todos []UITodoItem `json:"todos,omitempty"`

	WorkerID    string `json:"workerId,omitempty"`
	WorkerSlug  string `json:"workerSlug,omitempty"`
	Description string `json:"description,omitempty"`
	// Input is the worker's input (a JSON object).
	Input json.RawMessage `json:"input,omitempty"`
	// Parts are the parts a worker produced.
	Parts  []UIMessagePart `json:"parts,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`

	raw *rawKeys
}

// UITodoItem is one entry of a todo part's list (and of a ChatMessage's
// [TodoInfo]): the shape of [TodoItem], which todo-update events carry, as
// the reference has both. A decoded item keeps the keys it has no field for.
type UITodoItem struct {
	ID      string     `json:"id"`
	Content string     `json:"content"`
	Status  TodoStatus `json:"status"`

	raw *rawKeys
}

var todoItemKeys = []string{"id", "content", "status"}

// MarshalJSON encodes the item, with what a decoded item held beyond its fields.
func (t UITodoItem) MarshalJSON() ([]byte, error) {
	type plain UITodoItem
	return marshalKept(plain(t), t.raw)
}

// UnmarshalJSON decodes an item, keeping the keys it has no field for.
func (t *UITodoItem) UnmarshalJSON(data []byte) error {
	type plain UITodoItem
	var p plain
	return unmarshalKept(data, fixedKeys(todoItemKeys), &p, func() json.Marshaler {
		*t = UITodoItem(p)
		return t
	}, &t.raw, keepSpec{})
}

// uiPartKeys are the keys each part type's schema knows. Keys outside them
// are not decoded into the fields (zod strips them; a key of another type
// with a value of the wrong kind must not fail the part) but kept raw.
var uiPartKeys = map[string][]string{
	"text":       {"type", "text", "status", "thread"},
	"reasoning":  {"type", "text", "status", "thread", "providerMetadata"},
	"tool-call":  {"type", "toolCallId", "toolName", "displayName", "args", "result", "error", "status", "display", "thread", "providerMetadata"},
	"operation":  {"type", "operationId", "name", "operationType", "status", "thread"},
	"source":     {"type", "sourceType", "id", "url", "title", "thread"},
	"document":   {"type", "sourceType", "id", "mediaType", "title", "filename", "thread"},
	"file":       {"type", "id", "mediaType", "url", "filename", "size", "toolCallId", "thread"},
	"object":     {"type", "id", "typeName", "partial", "object", "status", "error", "thread"},
	"todo":       {"type", "todos", "status", "thread"},
	"worker":     {"type", "workerId", "workerSlug", "description", "input", "parts", "output", "error", "status"},
	"step-start": {"type"},
}

func uiPartKnown(all map[string]json.RawMessage) []string {
	typ := rawString(all["type"])
	if typ == "source" && rawString(all["sourceType"]) == "document" {
		typ = "document"
	}
	if keys, ok := uiPartKeys[typ]; ok {
		return keys
	}
	// A part type octavus-go does not know: only its type is decoded, the
	// rest is kept as received.
	return []string{"type"}
}

// MarshalJSON writes the fields the part's Type requires even when they are
// empty (an empty text part keeps "text":""), and the others only when set.
// What a decoded part held beyond its fields is written back (see UIMessage).
func (p UIMessagePart) MarshalJSON() ([]byte, error) {
	b, err := p.typedJSON()
	if err != nil {
		return nil, err
	}
	return p.raw.apply(b)
}

func (p UIMessagePart) typedJSON() ([]byte, error) {
	type plain UIMessagePart
	b, err := marshalJSON(plain(p))
	if err != nil {
		return nil, err
	}
	// The keys omitempty left out that the type requires, with the value
	// an empty field stands for.
	var add []string
	need := func(key string, empty bool, zero string) {
		if empty {
			add = append(add, `"`+key+`":`+zero)
		}
	}
	const str = `""`
	switch p.Type {
	case "text", "reasoning":
		need("text", p.Text == "", str)
		need("status", p.Status == "", str)
	case "tool-call":
		need("toolCallId", p.ToolCallID == "", str)
		need("toolName", p.ToolName == "", str)
		need("args", len(p.Args) == 0, "{}")
		need("status", p.Status == "", str)
	case "operation":
		need("operationId", p.OperationID == "", str)
		need("name", p.Name == "", str)
		need("operationType", p.OperationType == "", str)
		need("status", p.Status == "", str)
	case "source":
		need("sourceType", p.SourceType == "", str)
		need("id", p.ID == "", str)
		if p.SourceType == "url" {
			need("url", p.URL == "", str)
		} else {
			need("mediaType", p.MediaType == "", str)
			need("title", p.Title == "", str)
		}
	case "file":
		need("id", p.ID == "", str)
		need("mediaType", p.MediaType == "", str)
		need("url", p.URL == "", str)
	case "object":
		need("id", p.ID == "", str)
		need("typeName", p.TypeName == "", str)
		need("status", p.Status == "", str)
	case "todo":
		need("todos", len(p.Todos) == 0, "[]")
		need("status", p.Status == "", str)
	case "worker":
		need("workerId", p.WorkerID == "", str)
		need("workerSlug", p.WorkerSlug == "", str)
		need("parts", len(p.Parts) == 0, "[]")
		need("status", p.Status == "", str)
	}
	if len(add) == 0 {
		return b, nil
	}
	out := append(make([]byte, 0, len(b)+16*len(add)), b[:len(b)-1]...)
	for _, kv := range add {
		out = append(out, ',')
		out = append(out, kv...)
	}
	return append(out, '}'), nil
}

// UnmarshalJSON decodes a part: the fields its type knows, and the rest
// kept as received. It does not check the part against the schema.
func (p *UIMessagePart) UnmarshalJSON(data []byte) error {
	type plain UIMessagePart
	var in plain
	return unmarshalKept(data, uiPartKnown, &in, func() json.Marshaler {
		*p = UIMessagePart(in)
		shallow := *p
		shallow.Parts, shallow.Todos = nil, nil
		return shallow
	}, &p.raw, keepSpec{self: []string{"parts", "todos"}, verbatim: []string{"providerMetadata", "args", "result", "partial", "object", "input", "output"}})
}

// ChatMessage is a message of a session's full state ([SessionState]),
// hidden content included (wire version 4). Like UIMessage, a decoded
// ChatMessage is written back as it was received, keys octavus-go has no
// field for included.
type ChatMessage struct {
	ID        string         `json:"id"`
	Role      MessageRole    `json:"role"`
	Parts     []MessagePart  `json:"parts"`
	CreatedAt string         `json:"createdAt"`
	Content   string         `json:"content"`
	ToolCalls []ToolCallInfo `json:"toolCalls,omitempty"`
	// Sender is the author of a user turn, as the backend set it.
	Sender *MessageSender `json:"sender,omitempty"`

	raw *rawKeys
}

var chatMessageKeys = []string{"id", "role", "parts", "createdAt", "content", "toolCalls", "sender"}

// MarshalJSON encodes the message (Parts as an array even when nil), with
// what a decoded message held beyond its fields.
func (m ChatMessage) MarshalJSON() ([]byte, error) {
	type plain ChatMessage
	if m.Parts == nil {
		m.Parts = []MessagePart{}
	}
	return marshalKept(plain(m), m.raw)
}

// UnmarshalJSON decodes a message, keeping the keys it has no field for.
func (m *ChatMessage) UnmarshalJSON(data []byte) error {
	type plain ChatMessage
	var p plain
	return unmarshalKept(data, fixedKeys(chatMessageKeys), &p, func() json.Marshaler {
		*m = ChatMessage(p)
		shallow := *m
		shallow.Parts, shallow.ToolCalls = nil, nil
		return shallow
	}, &m.raw, keepSpec{self: []string{"parts", "toolCalls"}})
}

// MessagePart is one part of a ChatMessage. Type is "text", "reasoning",
// "tool-call", "step-start", "operation", "source", "file", "object",
// "worker" or "todo"; for the types with a payload the matching pointer
// field is set (ToolCall, Operation, Source, File, Object, Worker, Todo).
type MessagePart struct {
	Type      string         `json:"type"`
	Visible   bool           `json:"visible"`
	Content   string         `json:"content,omitempty"`
	ToolCall  *ToolCallInfo  `json:"toolCall,omitempty"`
	Operation *OperationInfo `json:"operation,omitempty"`
	Source    *SourceInfo    `json:"source,omitempty"`
	File      *FileInfo      `json:"file,omitempty"`
	Object    *ObjectInfo    `json:"object,omitempty"`
	Worker    *WorkerInfo    `json:"worker,omitempty"`
	Todo      *TodoInfo      `json:"todo,omitempty"`
	Thread    string         `json:"thread,omitempty"`
	// ProviderMetadata is the model provider's data on the part: a JSON
	// object of JSON objects, keyed by provider.
	ProviderMetadata json.RawMessage `json:"providerMetadata,omitempty"`

	raw *rawKeys
}

var messagePartKeys = []string{"type", "visible", "content", "toolCall", "operation", "source", "file", "object", "worker", "todo", "thread", "providerMetadata"}

// MarshalJSON encodes the part, with what a decoded part held beyond its fields.
func (p MessagePart) MarshalJSON() ([]byte, error) {
	type plain MessagePart
	return marshalKept(plain(p), p.raw)
}

// UnmarshalJSON decodes a part, keeping the keys it has no field for.
func (p *MessagePart) UnmarshalJSON(data []byte) error {
	return p.decode(data, messagePartKeys)
}

// nestedPartKeys are the keys of a worker's nested part: its schema has
// no worker field (zod strips one), so a "worker" key is kept raw.
var nestedPartKeys = slices.DeleteFunc(slices.Clone(messagePartKeys), func(k string) bool { return k == "worker" })

func (p *MessagePart) decode(data []byte, keys []string) error {
	type plain MessagePart
	var in plain
	return unmarshalKept(data, fixedKeys(keys), &in, func() json.Marshaler {
		*p = MessagePart(in)
		return MessagePart{Type: p.Type, Visible: p.Visible, Content: p.Content, Thread: p.Thread, ProviderMetadata: p.ProviderMetadata}
	}, &p.raw, keepSpec{self: []string{"toolCall", "operation", "source", "file", "object", "worker", "todo"}, verbatim: []string{"providerMetadata"}})
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
	// Display is how the browser shows the call.
	Display DisplayMode `json:"display,omitempty"`

	raw *rawKeys
}

var toolCallInfoKeys = []string{"id", "name", "description", "arguments", "status", "result", "error", "display"}

// MarshalJSON encodes the call ({} for nil Arguments), with what a decoded
// call held beyond its fields.
func (t ToolCallInfo) MarshalJSON() ([]byte, error) {
	type plain ToolCallInfo
	if t.Arguments == nil {
		t.Arguments = json.RawMessage("{}")
	}
	return marshalKept(plain(t), t.raw)
}

// UnmarshalJSON decodes a call, keeping the keys it has no field for.
func (t *ToolCallInfo) UnmarshalJSON(data []byte) error {
	type plain ToolCallInfo
	var p plain
	return unmarshalKept(data, fixedKeys(toolCallInfoKeys), &p, func() json.Marshaler {
		*t = ToolCallInfo(p)
		return t
	}, &t.raw, keepSpec{verbatim: []string{"arguments", "result"}})
}

// OperationInfo is an operation (a block of the agent's protocol that is
// not a model call, such as a summary) inside a ChatMessage.
type OperationInfo struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	OperationType string `json:"operationType"`

	raw *rawKeys
}

var operationInfoKeys = []string{"id", "name", "operationType"}

// MarshalJSON encodes the operation, with what a decoded one held beyond its fields.
func (o OperationInfo) MarshalJSON() ([]byte, error) {
	type plain OperationInfo
	return marshalKept(plain(o), o.raw)
}

// UnmarshalJSON decodes an operation, keeping the keys it has no field for.
func (o *OperationInfo) UnmarshalJSON(data []byte) error {
	type plain OperationInfo
	var p plain
	return unmarshalKept(data, fixedKeys(operationInfoKeys), &p, func() json.Marshaler {
		*o = OperationInfo(p)
		return o
	}, &o.raw, keepSpec{})
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

	raw *rawKeys
}

func sourceInfoKnown(all map[string]json.RawMessage) []string {
	if rawString(all["sourceType"]) == "document" {
		return []string{"sourceType", "id", "mediaType", "title", "filename"}
	}
	return []string{"sourceType", "id", "url", "title"}
}

// MarshalJSON encodes the source, with what a decoded one held beyond its fields.
func (s SourceInfo) MarshalJSON() ([]byte, error) {
	type plain SourceInfo
	return marshalKept(plain(s), s.raw)
}

// UnmarshalJSON decodes a source, keeping the keys it has no field for.
func (s *SourceInfo) UnmarshalJSON(data []byte) error {
	type plain SourceInfo
	var p plain
	return unmarshalKept(data, sourceInfoKnown, &p, func() json.Marshaler {
		*s = SourceInfo(p)
		return s
	}, &s.raw, keepSpec{})
}

// FileInfo is a file inside a ChatMessage.
type FileInfo struct {
	ID         string   `json:"id"`
	MediaType  string   `json:"mediaType"`
	URL        string   `json:"url"`
	Filename   string   `json:"filename,omitempty"`
	Size       *float64 `json:"size,omitempty"`
	ToolCallID string   `json:"toolCallId,omitempty"`

	raw *rawKeys
}

var fileInfoKeys = []string{"id", "mediaType", "url", "filename", "size", "toolCallId"}

// MarshalJSON encodes the file, with what a decoded one held beyond its fields.
func (f FileInfo) MarshalJSON() ([]byte, error) {
	type plain FileInfo
	return marshalKept(plain(f), f.raw)
}

// UnmarshalJSON decodes a file, keeping the keys it has no field for.
func (f *FileInfo) UnmarshalJSON(data []byte) error {
	type plain FileInfo
	var p plain
	return unmarshalKept(data, fixedKeys(fileInfoKeys), &p, func() json.Marshaler {
		*f = FileInfo(p)
		return f
	}, &f.raw, keepSpec{})
}

// ObjectInfo is a structured-output object inside a ChatMessage.
type ObjectInfo struct {
	ID       string          `json:"id"`
	TypeName string          `json:"typeName"`
	Value    json.RawMessage `json:"value,omitempty"`

	raw *rawKeys
}

var objectInfoKeys = []string{"id", "typeName", "value"}

// MarshalJSON encodes the object, with what a decoded one held beyond its fields.
func (o ObjectInfo) MarshalJSON() ([]byte, error) {
	type plain ObjectInfo
	return marshalKept(plain(o), o.raw)
}

// UnmarshalJSON decodes an object, keeping the keys it has no field for.
func (o *ObjectInfo) UnmarshalJSON(data []byte) error {
	type plain ObjectInfo
	var p plain
	return unmarshalKept(data, fixedKeys(objectInfoKeys), &p, func() json.Marshaler {
		*o = ObjectInfo(p)
		return o
	}, &o.raw, keepSpec{verbatim: []string{"value"}})
}

// WorkerInfo is a worker's execution inside a ChatMessage: the worker it
// ran, its input and the parts it produced (NestedParts, of any type but
// "worker" and "step-start"), and how it ended (Output, Error, Cancelled).
type WorkerInfo struct {
	WorkerID    string `json:"workerId"`
	WorkerSlug  string `json:"workerSlug"`
	Description string `json:"description,omitempty"`
	// Input is the worker's input (a JSON object).
	Input       json.RawMessage `json:"input,omitempty"`
	NestedParts []MessagePart   `json:"nestedParts"`
	Output      json.RawMessage `json:"output,omitempty"`
	Error       string          `json:"error,omitempty"`
	Cancelled   *bool           `json:"cancelled,omitempty"`

	raw *rawKeys
}

var workerInfoKeys = []string{"workerId", "workerSlug", "description", "input", "nestedParts", "output", "error", "cancelled"}

// MarshalJSON encodes the worker (NestedParts as an array even when nil),
// with what a decoded one held beyond its fields.
func (w WorkerInfo) MarshalJSON() ([]byte, error) {
	type plain WorkerInfo
	if w.NestedParts == nil {
		w.NestedParts = []MessagePart{}
	}
	return marshalKept(plain(w), w.raw)
}

// UnmarshalJSON decodes a worker, keeping the keys it has no field for.
func (w *WorkerInfo) UnmarshalJSON(data []byte) error {
	type plain WorkerInfo
	var p plain
	keys := slices.DeleteFunc(slices.Clone(workerInfoKeys), func(k string) bool { return k == "nestedParts" })
	all, _, err := decodeKnown(data, fixedKeys(keys), &p)
	if err != nil || all == nil {
		return err
	}
	if raw, ok := all["nestedParts"]; ok {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("octavus: worker nestedParts: %w", err)
		}
		if items != nil {
			p.NestedParts = make([]MessagePart, len(items))
		}
		for i, it := range items {
			if err := p.NestedParts[i].decode(it, nestedPartKeys); err != nil {
				return err
			}
		}
	}
	*w = WorkerInfo(p)
	spec := keepSpec{self: []string{"nestedParts"}, verbatim: []string{"input", "output"}}
	if quick, ok := spec.unknownOnly(all, workerInfoKeys); ok {
		w.raw = quick.ptr()
		return nil
	}
	shallow := *w
	shallow.NestedParts = nil
	typed, err := shallow.MarshalJSON()
	if err != nil {
		return err
	}
	w.raw = keepRaw(all, typed, spec.self...).ptr()
	return nil
}

// TodoInfo is a todo list inside a ChatMessage.
type TodoInfo struct {
	Todos []UITodoItem `json:"todos"`

	raw *rawKeys
}

// MarshalJSON encodes the list (Todos as an array even when nil), with what
// a decoded one held beyond its fields.
func (t TodoInfo) MarshalJSON() ([]byte, error) {
	type plain TodoInfo
	if t.Todos == nil {
		t.Todos = []UITodoItem{}
	}
	return marshalKept(plain(t), t.raw)
}

// UnmarshalJSON decodes a list, keeping the keys it has no field for.
func (t *TodoInfo) UnmarshalJSON(data []byte) error {
	type plain TodoInfo
	var p plain
	return unmarshalKept(data, fixedKeys([]string{"todos"}), &p, func() json.Marshaler {
		*t = TodoInfo(p)
		return TodoInfo{}
	}, &t.raw, keepSpec{self: []string{"todos"}})
}

// rawKeys is what a decoded value held that its typed fields do not write
// back as received: keys with no field, optional strings present as "",
// numbers whose digits differ from Go's, a null where Go writes nothing.
// A value holds it by pointer, nil for a value its fields express exactly:
// a value built by hand and the same value decoded compare equal, and the
// types that were comparable with == stay so.
type rawKeys map[string]rawKey

// ptr returns a pointer to k, or nil when k is empty.
func (k rawKeys) ptr() *rawKeys {
	if len(k) == 0 {
		return nil
	}
	return &k
}

// rawKey is one key as received (orig) and as the typed fields wrote it
// right after decoding (typed; nil when they left it out).
type rawKey struct{ orig, typed json.RawMessage }

// fixedKeys returns a known-keys function for a type whose keys do not
// depend on the value.
func fixedKeys(keys []string) func(map[string]json.RawMessage) []string {
	return func(map[string]json.RawMessage) []string { return keys }
}

// firstNonSpace returns the first byte of raw that is not JSON white space.
func firstNonSpace(raw []byte) byte {
	for _, c := range raw {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// rawString returns raw as a string, or "" when it is not one.
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// decodeKnown decodes into the known keys of data (a JSON object), matched
// exactly (encoding/json alone would match them case-insensitively and
// fail on a key of another part type). It returns every key of data, or
// nil for JSON null, which it leaves as a no-op as encoding/json does.
func decodeKnown(data []byte, known func(map[string]json.RawMessage) []string, into any) (all map[string]json.RawMessage, keys []string, err error) {
	if string(bytes.TrimSpace(data)) == "null" {
		return nil, nil, nil
	}
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, nil, err
	}
	keys = known(all)
	if len(all) <= len(keys) {
		exact := true
		for k := range all {
			if !slices.Contains(keys, k) {
				exact = false
				break
			}
		}
		if exact {
			// Only known keys, each spelled exactly: decode data itself.
			return all, keys, json.Unmarshal(data, into)
		}
	}
	sub := make(map[string]json.RawMessage, len(keys))
	for _, k := range keys {
		if v, ok := all[k]; ok {
			sub[k] = v
		}
	}
	b, err := json.Marshal(sub)
	if err != nil {
		return nil, nil, err
	}
	return all, keys, json.Unmarshal(b, into)
}

// unmarshalKept decodes data into plain through decodeKnown; set stores the
// decoded value in its destination (with no raw keys yet) and returns it
// without the fields named by selfKept (values that keep their own raw
// keys), so that its encoding can be compared with data; raw receives the
// keys that encoding does not write back as received.
func unmarshalKept(data []byte, known func(map[string]json.RawMessage) []string, plain any, set func() json.Marshaler, raw **rawKeys, spec keepSpec) error {
	all, keys, err := decodeKnown(data, known, plain)
	if err != nil || all == nil {
		return err
	}
	v := set()
	if quick, ok := spec.unknownOnly(all, keys); ok {
		*raw = quick.ptr()
		return nil
	}
	typed, err := v.MarshalJSON()
	if err != nil {
		return err
	}
	// A self-kept key keeps its own raw keys only where it is one of this
	// object's fields: the same key on a part of another type (a text
	// part's "todos") is not decoded there, so it is kept as received.
	var self []string
	for _, k := range spec.self {
		if slices.Contains(keys, k) {
			self = append(self, k)
		}
	}
	*raw = keepRaw(all, typed, self...).ptr()
	return nil
}

// keepSpec says which fields of a type need no comparison with what was
// received: self are values (objects, arrays of them) that keep their own
// raw keys, verbatim are json.RawMessage fields, written as received.
type keepSpec struct{ self, verbatim []string }

// unknownOnly returns the raw keys of a decoded object (all) when only its
// unknown keys (those not among known) need keeping, and ok false when a
// known key may not be written back as received (an empty string omitempty
// drops, a number whose digits may change, a null, a nested value without
// raw keys of its own): then the typed encoding must be compared.
func (sp keepSpec) unknownOnly(all map[string]json.RawMessage, known []string) (rawKeys, bool) {
	var keep rawKeys
	for k, v := range all {
		if !slices.Contains(known, k) {
			var c bytes.Buffer
			if json.Compact(&c, v) != nil {
				return nil, false
			}
			if keep == nil {
				keep = make(rawKeys)
			}
			keep[k] = rawKey{orig: c.Bytes()}
			continue
		}
		if slices.Contains(sp.verbatim, k) {
			continue
		}
		switch c := firstNonSpace(v); c {
		case '"':
			if len(v) == 2 {
				return nil, false
			}
		case 't', 'f':
		case '{', '[':
			if !slices.Contains(sp.self, k) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return keep, true
}

// marshalKept encodes plain (a struct without a MarshalJSON method) and
// puts back what raw kept.
func marshalKept(plain any, raw *rawKeys) ([]byte, error) {
	b, err := marshalJSON(plain)
	if err != nil {
		return nil, err
	}
	return raw.apply(b)
}

// keepRaw compares every key of a decoded object (all) with the typed
// fields' encoding of it (typed) and keeps those that differ. The keys in
// selfKept hold values (objects or arrays of them) that keep their own raw
// keys and so are written back as received: they are left out of typed and
// not compared, which keeps decoding linear in the depth of the value.
func keepRaw(all map[string]json.RawMessage, typed []byte, selfKept ...string) rawKeys {
	var t map[string]json.RawMessage
	if json.Unmarshal(typed, &t) != nil {
		return nil
	}
	var keep rawKeys
	for k, orig := range all {
		if c := firstNonSpace(orig); (c == '{' || c == '[') && slices.Contains(selfKept, k) {
			continue
		}
		tv, ok := t[k]
		if ok && sameJSON(orig, tv) {
			continue
		}
		if keep == nil {
			keep = make(rawKeys)
		}
		var c bytes.Buffer
		if json.Compact(&c, orig) != nil {
			continue
		}
		e := rawKey{orig: c.Bytes()}
		if ok {
			e.typed = tv
		}
		keep[k] = e
	}
	return keep
}

// sameJSON reports whether a and b are the same JSON value: equal objects
// in any key order, numbers with the same digits.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, oka := decodeAny(a)
	vb, okb := decodeAny(b)
	return oka && okb && reflect.DeepEqual(va, vb)
}

func decodeAny(raw json.RawMessage) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	return v, d.Decode(&v) == nil
}

// apply writes out (the typed fields' encoding, a JSON object) with what
// k kept: a key whose typed encoding is unchanged since decoding is written
// as received, a key the typed fields leave out is added as received. A key
// whose field was cleared since decoding stays out.
func (kp *rawKeys) apply(out []byte) ([]byte, error) {
	if kp == nil || len(*kp) == 0 {
		return out, nil
	}
	k := *kp
	d := json.NewDecoder(bytes.NewReader(out))
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	buf := []byte{'{'}
	seen := make(map[string]bool, len(k))
	add := func(key string, v json.RawMessage) {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		kb, _ := marshalJSON(key)
		buf = append(buf, kb...)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		seen[key] = true
		if e, ok := k[key]; ok && e.typed != nil && bytes.Equal(e.typed, v) {
			v = e.orig
		}
		add(key, v)
	}
	rest := make([]string, 0, len(k))
	for key, e := range k {
		if !seen[key] && e.typed == nil {
			rest = append(rest, key)
		}
	}
	sort.Strings(rest)
	for _, key := range rest {
		add(key, k[key].orig)
	}
	return append(buf, '}'), nil
}

// ParseUIMessage decodes one UIMessage (the reference's safeParseUIMessage).
// It fails when required fields are missing, of the wrong kind or outside
// their enumerations, in the message or in any of its parts, as the
// 6.4.0 schema does. Unlike the reference it keeps the keys the schema does
// not know, so that the message is written back as received.
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
		if err := checkUIPart(p, true); err != nil {
			return fmt.Errorf("part %d: %w", i, err)
		}
	}
	o.Enum("status", "streaming", "done")
	raw := o.Unknown("createdAt")
	checkSender(o)
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

// checkSender checks an optional sender {id?, name?, image?}.
func checkSender(o *wire.Object) {
	if s := o.OptObject("sender"); s != nil {
		s.OptString("id")
		s.OptString("name")
		s.OptString("image")
		o.Adopt(s)
	}
}

// checkUIPart checks one part of a UIMessage as the reference's
// uiMessagePartSchema; withWorker false is its base schema (a worker's own
// parts), which has no worker part.
func checkUIPart(o *wire.Object, withWorker bool) error {
	types := []string{"text", "reasoning", "tool-call", "operation", "source", "file", "object", "todo", "step-start"}
	if withWorker {
		types = append(types, "worker")
	}
	thread := true
	switch o.Enum("type", types...) {
	case "text":
		o.String("text")
		o.Enum("status", "streaming", "done")
	case "reasoning":
		o.String("text")
		o.Enum("status", "streaming", "done")
		optRecord(o, "providerMetadata")
	case "tool-call":
		o.String("toolCallId")
		o.String("toolName")
		o.OptString("displayName")
		o.Record("args")
		o.Unknown("result")
		o.OptString("error")
		o.Enum("status", "pending", "running", "done", "error", "cancelled")
		o.OptEnum("display", displayModes...)
		optRecord(o, "providerMetadata")
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
	case "todo":
		checkTodos(o)
		o.Enum("status", "streaming", "done")
	case "worker":
		thread = false
		o.String("workerId")
		o.String("workerSlug")
		o.OptString("description")
		optRecord(o, "input")
		for i, p := range o.Array("parts") {
			if err := checkUIPart(p, false); err != nil {
				return fmt.Errorf("worker part %d: %w", i, err)
			}
		}
		o.Unknown("output")
		o.OptString("error")
		o.Enum("status", "running", "done", "error", "cancelled")
	case "step-start":
		thread = false
	}
	if thread {
		o.OptString("thread")
	}
	return o.Err()
}

// optRecord checks an optional JSON object of any values.
func optRecord(o *wire.Object, key string) {
	if o.Has(key) {
		o.Record(key)
	}
}

// checkTodos checks a required list of todo items.
func checkTodos(o *wire.Object) {
	for _, t := range o.Array("todos") {
		t.String("id")
		t.String("content")
		t.Enum("status", "pending", "in_progress", "completed", "cancelled")
		o.Adopt(t)
	}
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
		if err := checkMessagePart(p, true); err != nil {
			return err
		}
	}
	o.String("createdAt")
	o.String("content")
	if tcs, ok := o.OptArray("toolCalls"); ok {
		for _, tc := range tcs {
			if err := checkToolCallInfo(tc); err != nil {
				return err
			}
		}
	}
	checkSender(o)
	return o.Err()
}

// checkMessagePart checks a part of a ChatMessage as the reference's
// messagePartSchema; withWorker false is its base schema (a worker's
// nested parts), whose type has neither "worker" nor "step-start" and
// which has no worker field.
func checkMessagePart(o *wire.Object, withWorker bool) error {
	types := []string{"text", "reasoning", "tool-call", "operation", "source", "file", "object", "todo"}
	if withWorker {
		types = append(types, "step-start", "worker")
	}
	o.Enum("type", types...)
	o.Bool("visible")
	o.OptString("content")
	if tc := o.OptObject("toolCall"); tc != nil {
		if err := checkToolCallInfo(tc); err != nil {
			return err
		}
	}
	if op := o.OptObject("operation"); op != nil {
		op.String("id")
		op.String("name")
		op.String("operationType")
		o.Adopt(op)
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
		obj.Present("value")
		o.Adopt(obj)
	}
	if withWorker {
		if w := o.OptObject("worker"); w != nil {
			if err := checkWorkerInfo(w); err != nil {
				return err
			}
		}
	}
	if td := o.OptObject("todo"); td != nil {
		checkTodos(td)
		o.Adopt(td)
	}
	o.OptString("thread")
	checkProviderMetadata(o)
	return o.Err()
}

func checkWorkerInfo(o *wire.Object) error {
	o.String("workerId")
	o.String("workerSlug")
	o.OptString("description")
	optRecord(o, "input")
	for _, p := range o.Array("nestedParts") {
		if err := checkMessagePart(p, false); err != nil {
			return err
		}
	}
	o.Unknown("output")
	o.OptString("error")
	o.OptBool("cancelled")
	return o.Err()
}

// checkProviderMetadata checks an optional providerMetadata: a JSON object
// whose every value is a JSON object.
func checkProviderMetadata(o *wire.Object) {
	pm := o.OptObject("providerMetadata")
	if pm == nil {
		return
	}
	for k := range pm.Unread() {
		pm.Record(k)
	}
	o.Adopt(pm)
}

func checkToolCallInfo(o *wire.Object) error {
	o.String("id")
	o.String("name")
	o.OptString("description")
	o.Record("arguments")
	o.Enum("status", "pending", "streaming", "available", "error")
	o.Unknown("result")
	o.OptString("error")
	o.OptEnum("display", displayModes...)
	return o.Err()
}
