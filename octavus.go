// Package octavus is the Go server SDK for the Octavus agent platform
// (https://octavus.ai).
//
// A Go backend uses it to create and attach to agent sessions, run the
// platform's tool-continuation loop with its own Go tool handlers, hand the
// tools it has no handler for to the browser, and stream everything to the
// browser as Server-Sent Events that the official @octavus/client-sdk
// understands. It speaks the protocol of the official TypeScript
// @octavus/server-sdk 6.4.0 (wire version 4), checked scenario by scenario
// against that release.
//
// # Getting started
//
// Make one [Client] with [NewClient] and share it; create a session on the
// server with [AgentSessionsAPI.Create] before the chat renders, and serve
// the route the browser's HTTP transport posts to with
// [AgentSessionsAPI.Handler]:
//
//	client, err := octavus.NewClient(octavus.ClientOptions{
//		BaseURL: os.Getenv("OCTAVUS_API_URL"),
//		APIKey:  os.Getenv("OCTAVUS_API_KEY"),
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("POST /api/trigger", client.AgentSessions.Handler(octavus.HandlerOptions{
//		Tools: octavus.ToolHandlers{"get-user-account": octavus.Tool(getUserAccount)},
//	}))
//
// When the tools depend on the request, the same route is three lines:
//
//	sessionID, req, err := octavus.ReadRequest(r)          // the browser's JSON (on error: WriteRequestError)
//	session := client.AgentSessions.Attach(sessionID, opts) // your tools
//	octavus.ToSSEStream(session.Execute(r.Context(), req)).ServeHTTP(w, r)
//
// Pass the request's context to [AgentSession.Execute]: when the browser goes
// away the execution stops, the platform request is cancelled and running
// tool handlers see their context cancelled. The README's quick start is a
// whole program (examples/quickstart in the repository).
//
// # The services
//
// A [Client] holds one value per part of the platform API:
//
//   - [AgentSessionsAPI]: sessions (Create, Get, GetMessages, Restore,
//     Clear, GetLogs), Attach to run them, Start for a session created by
//     its first trigger, and Handler, the ready-made HTTP route.
//   - [WorkersAPI]: worker agents, streamed (Execute, Continue) or awaited
//     (Generate).
//   - [WorkforceAPI]: workforce threads (Dispatch, GetThread, FollowUp,
//     WaitForCompletion, Run).
//   - [TokensAPI]: short-lived, scoped tokens for browsers (Mint, Revoke).
//   - [AgentsAPI] and [FilesAPI]: agent definitions and upload URLs.
//
// The socket transport (createSocketTransport in the browser) is served by
// [ServeSocket] over any message connection ([SocketConn]), so this package
// carries no WebSocket dependency.
//
// # Tools
//
// A [ToolHandler] runs a server tool; [Tool] makes one from a function of
// typed arguments and result. Tools without a handler go to the browser as
// client tools. Inline MCP servers ([NewInlineMCPServer], [MCPTool]) and
// dynamic tools ([AgentSession.SetDynamicTools]) add tools per session.
//
// # Events and errors
//
// Execute returns a channel of [StreamEvent] values. Each event type of the
// protocol is its own pointer type ([*StartEvent], [*TextDeltaEvent],
// [*ErrorEvent], ...; use a type switch); json.Marshal of an event gives the
// wire JSON, "type" included. REST calls return [*APIError] on a non-2xx
// answer; [OctavusError] and the guards ([IsRateLimitError],
// [IsRetryableError], ...) classify both.
//
// Retries, timeouts and size limits are on by default; [ClientOptions],
// [AttachOptions] and [HandlerOptions] change them, and a zero field means
// its default.
//
// # Scaling out
//
// By default an execution lives as long as the request that started it.
// [Executions] runs executions detached from the request, logged event by
// event in an [ExecutionStore] ([NewMemoryStore] in one process, package
// github.com/octavus-go/octavus/redisstore across replicas), so a browser can
// reload or reach another replica and read on; [NewPollingHandler] serves it
// to the browser's polling transport.
//
// # Testing
//
// Package github.com/octavus-go/octavus/octavustest is a fake platform over
// real HTTP, the way net/http/httptest serves net/http: point a Client at
// it, script the agent turn by turn, and check the requests your handlers
// caused.
package octavus

import (
	"bytes"
	"encoding/json"
	"reflect"

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
