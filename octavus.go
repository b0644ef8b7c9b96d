// Package octavus is a Go server SDK for the Octavus agent platform.
//
// It speaks the protocol of the official TypeScript @octavus/server-sdk
// 6.4.0 (wire version 4): a Go backend creates and attaches to agent
// sessions (or starts them with their first trigger), runs the platform's
// tool-continuation loop with its own Go tool handlers, hands the tools it has
// no handler for to the browser, and streams everything to the browser as
// Server-Sent Events that the official @octavus/client-sdk understands. It
// also runs worker agents ([WorkersAPI]), workforce threads
// ([WorkforceAPI]), ephemeral tokens ([TokensAPI]), execution logs, dynamic
// tools and inline MCP servers with Go-typed tools.
//
// A typical HTTP route is three lines:
//
//	sessionID, req, err := octavus.ReadRequest(r)          // the browser's JSON
//	session := client.AgentSessions.Attach(sessionID, opts) // your tools
//	octavus.ToSSEStream(session.Execute(r.Context(), req)).ServeHTTP(w, r)
//
// or one, with [AgentSessionsAPI.Handler].
//
// Execute returns a channel of [StreamEvent] values. Each event type of the
// protocol is its own pointer type ([*StartEvent], [*TextDeltaEvent], ...);
// json.Marshal of an event gives exactly the wire JSON, "type" included.
//
// Pass the request's context to Execute: when the browser goes away the
// execution stops, the platform request is cancelled and running tool
// handlers see their context cancelled.
package octavus

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/octavus-go/octavus/internal/wire"
)

// ToolResult is the outcome of one tool call, sent back to the platform on
// the next leg of an execution (server tools) or by the browser in a
// continue request (client tools).
//
// Result holds the tool's return value. A nil Result is sent as "no result"
// (the key is omitted, like undefined in TypeScript); json.RawMessage("null")
// sends JSON null. When a ToolResult is decoded from JSON, a present
// "result" is kept as a json.RawMessage of its exact bytes.
type ToolResult struct {
	ToolCallID string `json:"toolCallId"`
	ToolName   string `json:"toolName,omitempty"`
	Result     any    `json:"result,omitempty"`
	Error      string `json:"error,omitempty"`
	// Files are files the result carries to the model (images it should
	// see, outputs to download); the platform emits file-available events
	// for them on the next leg.
	Files          []FileReference `json:"files,omitempty"`
	OutputVariable string          `json:"outputVariable,omitempty"`
	BlockIndex     *int            `json:"blockIndex,omitempty"`
	// Thread and WorkerID are copied from the call the result answers, so
	// the platform routes it to the thread or worker execution that asked.
	Thread   string `json:"thread,omitempty"`
	WorkerID string `json:"workerId,omitempty"`

	// extra holds what the fields cannot express: keys of a decoded result
	// that ToolResult has no field for (the reference passes the browser's
	// tool results to the platform verbatim), a present empty string, a
	// block index that is not a whole number.
	extra extras
}

var toolResultKeys = []string{"toolCallId", "toolName", "result", "error", "files", "outputVariable", "blockIndex", "thread", "workerId"}

// MarshalJSON encodes the result; keys of a decoded result that ToolResult
// has no field for are kept.
func (r ToolResult) MarshalJSON() ([]byte, error) {
	type plain ToolResult
	return marshalWithExtra(plain(r), r.extra)
}

// UnmarshalJSON decodes a ToolResult, keeping "result" as raw JSON so that a
// present null is told apart from an absent result and numbers keep their
// exact digits.
func (r *ToolResult) UnmarshalJSON(data []byte) error {
	o, err := wire.Decode(data)
	if err != nil {
		return err
	}
	tr, err := toolResultFrom(o, true)
	if err != nil {
		return err
	}
	*r = tr
	return nil
}

// toolResultFrom reads a tool result. keepExtra keeps unknown keys, in the
// result and in each of its files (a result from the browser, which the
// reference passes on verbatim); without it they are dropped (a result
// inside a platform event, which the reference's schema strips: the
// width and height of a file among them).
func toolResultFrom(o *wire.Object, keepExtra bool) (ToolResult, error) {
	tr := ToolResult{
		ToolCallID: o.String("toolCallId"),
	}
	tr.ToolName = tr.extra.str(o, "toolName")
	if raw := o.Unknown("result"); raw != nil {
		tr.Result = raw
	}
	tr.Error = tr.extra.str(o, "error")
	if items, ok := o.OptArray("files"); ok {
		tr.Files = make([]FileReference, 0, len(items))
		for _, it := range items {
			tr.Files = append(tr.Files, fileReferenceFrom(it, keepExtra))
			o.Adopt(it)
		}
		if len(items) == 0 && o.Err() == nil {
			tr.extra.set("files", json.RawMessage("[]"))
		}
	}
	tr.OutputVariable = tr.extra.str(o, "outputVariable")
	tr.BlockIndex = tr.extra.blockIndex(o, "blockIndex")
	tr.Thread = tr.extra.str(o, "thread")
	tr.WorkerID = tr.extra.str(o, "workerId")
	if keepExtra {
		for k, v := range o.Unread(toolResultKeys...) {
			tr.extra.set(k, v)
		}
	}
	return tr, o.Err()
}

// extras holds the keys of a decoded value that its typed fields cannot
// express, so that the value is written back as the reference would: an
// optional string present as "", a block index that is not a whole number
// (the reference accepts any number), unknown keys of a browser's tool
// result. A key is written back only while the typed fields leave it out.
type extras map[string]json.RawMessage

func (x *extras) set(key string, raw json.RawMessage) {
	if *x == nil {
		*x = make(extras, 1)
	}
	(*x)[key] = raw
}

// str reads an optional string, remembering a present "".
func (x *extras) str(o *wire.Object, key string) string {
	s, ok := o.OptString(key)
	if ok && s == "" && o.Err() == nil {
		x.set(key, json.RawMessage(`""`))
	}
	return s
}

// blockIndex reads an optional number as an int, remembering a number
// that is not a whole int as raw JSON.
func (x *extras) blockIndex(o *wire.Object, key string) *int {
	f, raw, ok := o.OptNumberRaw(key)
	if !ok || o.Err() != nil {
		return nil
	}
	if f == math.Trunc(f) && f <= math.MaxInt32 && f >= math.MinInt32 {
		n := int(f)
		return &n
	}
	// The reference writes the number back as JSON.stringify does (1e-3
	// as 0.001); encoding/json's float64 formatting is the same.
	if b, err := marshalJSON(f); err == nil {
		raw = b
	}
	x.set(key, raw)
	return nil
}

// marshalWithExtra encodes v (a struct, or a pointer to one, without a
// MarshalJSON method) and merges extra in.
func marshalWithExtra(v any, extra extras) ([]byte, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	if len(extra) == 0 {
		return b, nil
	}
	return mergeExtra(b, extra, jsonFieldOrder(reflect.TypeOf(v)))
}

// fieldOrders caches jsonFieldOrder by type.
var fieldOrders sync.Map // reflect.Type -> []string

// jsonFieldOrder returns the JSON keys of struct type t (or of the struct
// a pointer type points to), in field order.
func jsonFieldOrder(t reflect.Type) []string {
	if o, ok := fieldOrders.Load(t); ok {
		return o.([]string)
	}
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	var order []string
	if st.Kind() == reflect.Struct {
		for i := range st.NumField() {
			f := st.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			order = append(order, name)
		}
	}
	fieldOrders.Store(t, order)
	return order
}

// mergeExtra adds to body (a JSON object) the keys of extra it lacks. The
// keys of order (the struct's fields) come in that order, as the
// reference's schema writes them, a present empty string in its place;
// the other keys of extra (unknown keys of a browser's value) follow,
// sorted.
func mergeExtra(body []byte, extra extras, order []string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	added := false
	for k := range extra {
		if _, ok := fields[k]; !ok {
			added = true
			break
		}
	}
	if !added {
		return body, nil
	}
	out := make([]byte, 0, len(body)+64)
	out = append(out, '{')
	write := func(k string, v json.RawMessage) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		kb, _ := marshalJSON(k)
		out = append(out, kb...)
		out = append(out, ':')
		out = append(out, v...)
	}
	known := make(map[string]bool, len(order))
	for _, k := range order {
		known[k] = true
		if v, ok := fields[k]; ok {
			write(k, v)
		} else if v, ok := extra[k]; ok {
			write(k, v)
		}
	}
	// Keys of body outside order (none for the SDK's structs) keep their
	// place after the fields.
	var rest []string
	for k := range fields {
		if !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		write(k, fields[k])
	}
	rest = rest[:0]
	for k := range extra {
		if _, ok := fields[k]; !ok && !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		write(k, extra[k])
	}
	return append(out, '}'), nil
}

// PendingToolCall is a tool call the platform asks the SDK (or, through the
// SDK, the browser) to run.
type PendingToolCall struct {
	ToolCallID string `json:"toolCallId"`
	ToolName   string `json:"toolName"`
	// Args is the call's arguments: always a JSON object.
	Args json.RawMessage `json:"args"`
	// Source is "llm" or "block" when the platform says where the call came from.
	Source         string `json:"source,omitempty"`
	OutputVariable string `json:"outputVariable,omitempty"`
	BlockIndex     *int   `json:"blockIndex,omitempty"`
	// Thread is the thread the call came from, when not the main one.
	Thread string `json:"thread,omitempty"`
	// WorkerID is set when a worker execution made the call.
	WorkerID string `json:"workerId,omitempty"`

	extra extras
}

func pendingToolCallFrom(o *wire.Object) PendingToolCall {
	tc := PendingToolCall{
		ToolCallID: o.String("toolCallId"),
		ToolName:   o.String("toolName"),
		Args:       o.Record("args"),
		Source:     o.OptEnum("source", "llm", "block"),
	}
	tc.OutputVariable = tc.extra.str(o, "outputVariable")
	tc.BlockIndex = tc.extra.blockIndex(o, "blockIndex")
	tc.Thread = tc.extra.str(o, "thread")
	tc.WorkerID = tc.extra.str(o, "workerId")
	return tc
}

// FileReference points at a file uploaded to the platform (see
// [FilesAPI.GetUploadURLs]); pass it in a trigger's input.
type FileReference struct {
	ID        string   `json:"id"`
	MediaType string   `json:"mediaType"`
	URL       string   `json:"url"`
	Filename  string   `json:"filename,omitempty"`
	Size      *float64 `json:"size,omitempty"`

	// extra holds a present empty filename and, for a file of a browser's
	// tool result, the keys FileReference has no field for (width,
	// height, ...), which the reference passes on.
	extra extras
}

var fileReferenceKeys = []string{"id", "mediaType", "url", "filename", "size"}

// MarshalJSON encodes the reference; keys of a decoded reference that
// FileReference has no field for are kept.
func (f FileReference) MarshalJSON() ([]byte, error) {
	type plain FileReference
	return marshalWithExtra(plain(f), f.extra)
}

// fileReferenceFrom reads a file reference; keepExtra keeps its unknown keys.
func fileReferenceFrom(o *wire.Object, keepExtra bool) FileReference {
	f := FileReference{ID: o.String("id"), MediaType: o.String("mediaType"), URL: o.String("url")}
	f.Filename = f.extra.str(o, "filename")
	if n, ok := o.OptNumber("size"); ok {
		f.Size = &n
	}
	if keepExtra && o.Err() == nil {
		for k, v := range o.Unread(fileReferenceKeys...) {
			f.extra.set(k, v)
		}
	}
	return f
}

// IsFileReference reports whether v (a decoded JSON value, raw JSON bytes, or
// a FileReference) has the shape of a file reference: id, mediaType and url
// strings, optional filename string and size number.
func IsFileReference(v any) bool {
	raw, ok := toRaw(v)
	if !ok {
		return false
	}
	o, err := wire.Decode(raw)
	if err != nil {
		return false
	}
	return isFileReferenceObject(o)
}

func isFileReferenceObject(o *wire.Object) bool {
	o.String("id")
	o.String("mediaType")
	o.String("url")
	o.OptString("filename")
	o.OptNumber("size")
	return o.Err() == nil
}

// IsFileReferenceArray reports whether v is a JSON array whose every item is
// a file reference (an empty array counts, and so does a nil Go slice such
// as []FileReference(nil)).
func IsFileReferenceArray(v any) bool {
	switch v.(type) {
	case json.RawMessage, []byte:
	default:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
			return true
		}
	}
	raw, ok := toRaw(v)
	if !ok {
		return false
	}
	var items []json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return false
	}
	for _, it := range items {
		o, err := wire.Decode(it)
		if err != nil || !isFileReferenceObject(o) {
			return false
		}
	}
	return true
}

func toRaw(v any) ([]byte, bool) {
	switch x := v.(type) {
	case json.RawMessage:
		return x, true
	case []byte:
		return x, true
	}
	b, err := json.Marshal(v)
	return b, err == nil
}

// MainThread is the name of the main conversation thread. Message parts with
// no thread belong to it.
const MainThread = "main"

// ResolveThread returns thread, or MainThread when thread is empty.
func ResolveThread(thread string) string {
	if thread == "" {
		return MainThread
	}
	return thread
}

// IsMainThread reports whether thread names the main thread (empty counts).
func IsMainThread(thread string) bool { return thread == "" || thread == MainThread }

// ThreadForPart returns the value to store in a part's thread field: empty
// for the main thread, thread otherwise.
func ThreadForPart(thread string) string {
	if IsMainThread(thread) {
		return ""
	}
	return thread
}

// IsOtherThread reports whether a part with this thread belongs to a thread
// other than the main one.
func IsOtherThread(thread string) bool { return !IsMainThread(thread) }

// The built-in tools of Octavus skills (the reference's
// OCTAVUS_SKILL_TOOLS). The platform runs them itself, in a sandbox; they
// show up in streams as tool calls.
const (
	SkillToolRead       = "octavus_skill_read"
	SkillToolList       = "octavus_skill_list"
	SkillToolRun        = "octavus_skill_run"
	SkillToolSetup      = "octavus_skill_setup"
	SkillToolCodeRun    = "octavus_code_run"
	SkillToolFileWrite  = "octavus_file_write"
	SkillToolFileRead   = "octavus_file_read"
	SkillToolFileUpload = "octavus_file_upload"
)

// IsOctavusSkillTool reports whether toolName is one of the built-in skill
// tools (SkillToolRead and the others of that list).
func IsOctavusSkillTool(toolName string) bool {
	switch toolName {
	case SkillToolRead, SkillToolList, SkillToolRun, SkillToolSetup, SkillToolCodeRun,
		SkillToolFileWrite, SkillToolFileRead, SkillToolFileUpload:
		return true
	}
	return false
}

// The built-in tools of remote MCP integrations that the platform connects
// lazily (the reference's OCTAVUS_MCP_TOOLS): the agent lists the
// integrations and activates one at run time. The platform runs them
// itself; they show up in streams as tool calls.
const (
	MCPToolList     = "octavus_mcp_list"
	MCPToolActivate = "octavus_mcp_activate"
)

// IsOctavusMCPTool reports whether toolName is one of the built-in MCP
// management tools, MCPToolList or MCPToolActivate.
func IsOctavusMCPTool(toolName string) bool {
	return toolName == MCPToolList || toolName == MCPToolActivate
}

// SkillSlugFromToolCall returns the skill a built-in skill tool call is
// about (its "skill" argument), or "" when the call is not a skill tool or
// names no skill.
func SkillSlugFromToolCall(toolName string, args map[string]any) string {
	if !IsOctavusSkillTool(toolName) {
		return ""
	}
	s, _ := args["skill"].(string)
	return s
}

// GenerateID returns an id of the reference's form: the Unix time in
// milliseconds, a dash, and seven base-36 characters. It is for client-side
// ids (messages, parts); it is not a secret.
func GenerateID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [7]byte
	for i := range b {
		b[i] = digits[rand.IntN(len(digits))]
	}
	return strconv.FormatInt(time.Now().UnixMilli(), 10) + "-" + string(b[:])
}
