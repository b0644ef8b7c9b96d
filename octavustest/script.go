package octavustest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// Turn answers one trigger POST. A script is a list of turns; each session
// plays its script in order, one turn per POST, and answers 500
// {"code":"SCRIPT_EXHAUSTED"} when no turn is left.
//
// Turns are values: the same Turn may appear in several scripts and serve
// concurrent requests. Build them with Stream, Events, Respond, Repeat,
// Handler, or use a Failure.
type Turn interface {
	isTurn()
}

// Part is one piece of a streamed turn: some events, or a fault.
// Build parts with Text, Reasoning, ToolCall, Block, ExecutionBlock, Worker,
// WorkerExecution, Todos, Usage, ProviderMetadata, ResourceUpdate, Source,
// File, Event, Finish, and the faults Raw, Heartbeat, Cut, Stall, OmitDone.
type Part interface {
	run(st *streamer)
}

// TriggerRequest is what a streaming POST asked, as seen by a Respond func:
// a session's trigger, a deferred start's first leg, or a leg of a worker
// execution (Endpoint tells which).
type TriggerRequest struct {
	// Endpoint is EndpointTrigger, EndpointStart or EndpointExecute.
	Endpoint string
	// SessionID is the session the leg runs in: for a deferred start the
	// session it created, for a worker the execution's id (a worker
	// execution is its own session).
	SessionID   string
	AgentID     string
	TriggerName string         // empty on a browser's continue request
	Input       map[string]any // nil when the POST carried no input; a worker's start input
	// ExecutionID is the execution the POST continues; empty for a new trigger.
	ExecutionID string
	// ToolResults answers the tool calls the previous turn requested.
	ToolResults []ToolResult
	// Rollback is the body's rollbackAfterMessageId (a 6.4 browser's retry).
	Rollback Rollback
	// Sender is the body's sender, the author of the turn's user message;
	// nil when the body had none.
	Sender *Sender
	// DynamicToolSchemas are the body's dynamicToolSchemas: tools the agent
	// definition does not have, sent by the SDK on every leg.
	DynamicToolSchemas []ToolSchema
	// IdempotencyKey is a deferred start's idempotencyKey; empty otherwise.
	IdempotencyKey string
	// SDKVersion is the X-Octavus-Sdk-Version header ("4" for a 6.4 SDK);
	// empty when the request had none (a 2.0 SDK).
	SDKVersion string
	Header     http.Header // the request headers
	Body       []byte      // the raw request body
}

// Rollback is a trigger body's rollbackAfterMessageId, which has three
// states: absent (Present false), null (Present and Null: every message is
// removed before the trigger runs) and a message id (the messages after it
// are removed).
type Rollback struct {
	Present   bool   // the key was in the body
	Null      bool   // its value was null
	MessageID string // its value, when a string
}

// Sender is a trigger body's sender {id?, name?, image?}: the human author
// of the turn, stamped on its user message and served back as the message's
// sender.
type Sender struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Image string `json:"image,omitempty"`
}

// ToolSchema is one entry of a trigger body's dynamicToolSchemas.
type ToolSchema struct {
	Name         string
	Description  string
	InputSchema  map[string]any // a JSON Schema object
	OutputSchema map[string]any // nil when absent
}

// ToolResult is one entry of a continuation's toolResults.
type ToolResult struct {
	ToolCallID     string `json:"toolCallId"`
	ToolName       string `json:"toolName,omitempty"`
	Result         any    `json:"result,omitempty"` // decoded JSON; nil when absent or null
	Error          string `json:"error,omitempty"`
	OutputVariable string `json:"outputVariable,omitempty"`
	BlockIndex     *int   `json:"blockIndex,omitempty"`
	// Files are the result's files, each a FileReference {id, mediaType,
	// url, filename?, size?} as decoded JSON (further keys kept).
	Files    []map[string]any `json:"files,omitempty"`
	Thread   string           `json:"thread,omitempty"`   // the thread of the call
	WorkerID string           `json:"workerId,omitempty"` // the worker execution of the call
}

// streamTurn writes an event stream; framed adds start and finish.
type streamTurn struct {
	framed bool
	parts  []Part
}

func (streamTurn) isTurn() {}

// Stream answers 200 with an event stream: start {messageId, executionId},
// the parts in order, then any requested tools as one tool-request event and
// finish {finishReason, executionId} with reason "tool-calls" when ToolCall
// parts were streamed and "stop" otherwise (unless a finish event was already
// streamed, e.g. by Finish), then "data: [DONE]".
func Stream(parts ...Part) Turn {
	return streamTurn{framed: true, parts: append([]Part(nil), parts...)}
}

// Events answers 200 with an event stream of exactly the parts given, then
// "data: [DONE]": no start or finish is added. Use it to pin every event, e.g.
// a start without executionId, or to replay recorded platform answers. A
// ToolCall part still queues its tool-request, written just before the next
// finish event or at the end.
func Events(parts ...Part) Turn {
	return streamTurn{framed: false, parts: append([]Part(nil), parts...)}
}

type respondTurn func(TriggerRequest) Turn

func (respondTurn) isTurn() {}

// Respond builds the turn at request time from what the POST carried, e.g. to
// stream an answer made from the tool results of a continuation.
func Respond(f func(req TriggerRequest) Turn) Turn { return respondTurn(f) }

type repeatTurn struct{ t Turn }

func (repeatTurn) isTurn() {}

// Repeat answers this POST and every later one of the session with t: the
// script never moves past it. Repeat(Respond(...)) makes an agent that
// answers forever.
func Repeat(t Turn) Turn { return repeatTurn{t} }

type handlerTurn struct{ h http.Handler }

func (handlerTurn) isTurn() {}

// Handler answers the POST with h, for cases no builder covers. The request
// body can be read again. The session counts the trigger as accepted (user
// message added, pending tool calls answered) but does not follow what h writes.
func Handler(h http.Handler) Turn { return handlerTurn{h} }

func (Failure) isTurn() {}

// partFunc adapts a function to Part.
type partFunc func(st *streamer)

func (f partFunc) run(st *streamer) { f(st) }

// Text streams a text part: text-start, one text-delta per delta, text-end.
func Text(deltas ...string) Part {
	deltas = append([]string(nil), deltas...)
	return partFunc(func(st *streamer) { st.streamDeltas("text", st.s.nextID("text"), deltas) })
}

// Reasoning streams a reasoning part: reasoning-start, one reasoning-delta
// per delta, reasoning-end.
func Reasoning(deltas ...string) Part {
	deltas = append([]string(nil), deltas...)
	return partFunc(func(st *streamer) { st.streamDeltas("reasoning", st.s.nextID("reasoning"), deltas) })
}

// ToolCall is a Part: the model calls a tool. It streams tool-input-start,
// tool-input-delta (the args as JSON), tool-input-end and tool-input-available,
// and queues the call for the turn's tool-request event. Whether the SDK runs
// it as a server tool or hands it to the client is the SDK's business.
// Inside a Worker, every event and the pending call carry the worker's id.
type ToolCall struct {
	ID             string         // toolCallId; default "call_N"
	Name           string         // toolName
	Args           map[string]any // default {}
	Title          string         // tool-input-start title, when not empty
	Display        string         // tool-input-start display ("hidden", "name", "description", "stream", "title"), when not empty
	Source         string         // "llm" or "block", when not empty
	OutputVariable string         // when not empty
	BlockIndex     *int           // when not nil
	Thread         string         // the pending call's thread, when not empty
}

func (c ToolCall) run(st *streamer) {
	id := c.ID
	if id == "" {
		id = st.s.nextID("call")
	}
	args := any(c.Args)
	if c.Args == nil {
		args = map[string]any{}
	}
	argsJSON, err := marshal(args)
	if err != nil {
		panic(fmt.Sprintf("octavustest: ToolCall %q: args do not marshal: %v", c.Name, err))
	}
	start := map[string]any{"type": "tool-input-start", "toolCallId": id, "toolName": c.Name}
	if c.Title != "" {
		start["title"] = c.Title
	}
	if c.Display != "" {
		start["display"] = c.Display
	}
	st.emit(start)
	st.emit(map[string]any{"type": "tool-input-delta", "toolCallId": id, "inputTextDelta": string(argsJSON)})
	st.emit(map[string]any{"type": "tool-input-end", "toolCallId": id})
	st.emit(map[string]any{"type": "tool-input-available", "toolCallId": id, "toolName": c.Name, "input": args})
	pending := map[string]any{"toolCallId": id, "toolName": c.Name, "args": args}
	if c.Source != "" {
		pending["source"] = c.Source
	}
	if c.OutputVariable != "" {
		pending["outputVariable"] = c.OutputVariable
	}
	if c.BlockIndex != nil {
		pending["blockIndex"] = *c.BlockIndex
	}
	if c.Thread != "" {
		pending["thread"] = c.Thread
	}
	if st.workerID != "" {
		pending["workerId"] = st.workerID
	}
	st.toolCalls = append(st.toolCalls, pending)
}

// Block wraps parts in block-start/block-end of a "next-message" block named
// name, displayed as "stream" with outputToChat true. ExecutionBlock makes
// other blocks.
func Block(name string, parts ...Part) Part {
	return ExecutionBlock{Name: name, Parts: parts}
}

// ExecutionBlock is a Part: a protocol block, block-start {blockId,
// blockName, blockType, display, description?, outputToChat?, thread?}, its
// parts, then block-end {blockId}. Operation block types (set-resource,
// serialize-thread, generate-image) that are not hidden become operation
// parts in the history; parts of a hidden block that does not output to the
// chat are kept from the UI.
type ExecutionBlock struct {
	ID          string // blockId; default "block_N"
	Name        string // blockName
	Type        string // blockType; default "next-message"
	Display     string // "hidden", "name", "description", "stream" (default) or "title"
	Description string // when not empty
	// OutputToChat is the block's outputToChat; nil writes true.
	OutputToChat *bool
	Thread       string // the block's thread, when not empty
	Parts        []Part
}

func (b ExecutionBlock) run(st *streamer) {
	id := b.ID
	if id == "" {
		id = st.s.nextID("block")
	}
	typ, display, toChat := b.Type, b.Display, true
	if typ == "" {
		typ = "next-message"
	}
	if display == "" {
		display = "stream"
	}
	if b.OutputToChat != nil {
		toChat = *b.OutputToChat
	}
	ev := map[string]any{"type": "block-start", "blockId": id, "blockName": b.Name,
		"blockType": typ, "display": display, "outputToChat": toChat}
	if b.Description != "" {
		ev["description"] = b.Description
	}
	if b.Thread != "" {
		ev["thread"] = b.Thread
	}
	st.emit(ev)
	st.runParts(b.Parts)
	st.emit(map[string]any{"type": "block-end", "blockId": id})
}

// Worker runs a worker execution of the agent's worker slug: worker-start
// {workerId, workerSlug}, the parts (each event carrying the workerId, and
// kept as the worker part's nested parts in the history), then worker-result
// {workerId}. WorkerExecution sets the description, input, output or error,
// and streams the input.
func Worker(slug string, parts ...Part) Part {
	return WorkerExecution{Slug: slug, Parts: parts}
}

// WorkerExecution is a Part: a worker the agent runs inside its turn, shown
// by the 6.4 browser as a worker part with nested parts.
//
// With StreamInput it first streams the input as the model writes it:
// worker-input-start {workerId, workerSlug, description?}, one
// worker-input-delta {workerId, delta} with the input as JSON, and
// worker-input-ready {workerId, input}. Then worker-start {workerId,
// workerSlug, description?, input?}, the parts with workerId on every event
// that carries one (text, reasoning, tools, sources, files, blocks, todos,
// tool-request and its pending calls), and worker-result {workerId,
// output?, error?} unless Open is set.
//
// Open leaves the worker running, e.g. while one of its tool calls waits for
// the SDK's result: a later turn goes on with a WorkerExecution of the same
// ID, whose events the history adds to the same worker part.
type WorkerExecution struct {
	ID          string         // workerId; default "worker_N"
	Slug        string         // workerSlug
	Description string         // when not empty
	Input       map[string]any // when not nil
	StreamInput bool           // stream the input first (worker-input-*); Input nil streams {}
	Parts       []Part
	Output      any    // worker-result output, when not nil
	Error       string // worker-result error, when not empty
	Open        bool   // write no worker-result
}

func (w WorkerExecution) run(st *streamer) {
	id := w.ID
	if id == "" {
		id = st.s.nextID("worker")
	}
	if w.StreamInput {
		ev := map[string]any{"type": "worker-input-start", "workerId": id, "workerSlug": w.Slug}
		if w.Description != "" {
			ev["description"] = w.Description
		}
		st.emit(ev)
		input := w.Input
		if input == nil {
			input = map[string]any{}
		}
		b, err := marshal(input)
		if err != nil {
			panic(fmt.Sprintf("octavustest: WorkerExecution %q: input does not marshal: %v", w.Slug, err))
		}
		st.emit(map[string]any{"type": "worker-input-delta", "workerId": id, "delta": string(b)})
		st.emit(map[string]any{"type": "worker-input-ready", "workerId": id, "input": input})
	}
	start := map[string]any{"type": "worker-start", "workerId": id, "workerSlug": w.Slug}
	if w.Description != "" {
		start["description"] = w.Description
	}
	if w.Input != nil {
		start["input"] = w.Input
	}
	st.emit(start)
	outer := st.workerID
	st.workerID = id
	st.runParts(w.Parts)
	st.workerID = outer
	if w.Open {
		return
	}
	result := map[string]any{"type": "worker-result", "workerId": id}
	if w.Output != nil {
		result["output"] = w.Output
	}
	if w.Error != "" {
		result["error"] = w.Error
	}
	st.emit(result)
}

// TodoItem is one entry of a todo list.
type TodoItem struct {
	ID      string // default "todo_<position, from 1>", stable across updates
	Content string
	Status  string // "pending" (default), "in_progress", "completed" or "cancelled"
}

// Todos streams todo-update {todos}: the agent's whole todo list as it is
// now. The history keeps one todo part per message (or worker), replaced by
// each update as the 6.4 browser does. Inside a Worker the event carries the
// workerId.
func Todos(items ...TodoItem) Part {
	todos := make([]any, len(items))
	for i, it := range items {
		if it.ID == "" {
			it.ID = fmt.Sprintf("todo_%d", i+1)
		}
		if it.Status == "" {
			it.Status = "pending"
		}
		todos[i] = map[string]any{"id": it.ID, "content": it.Content, "status": it.Status}
	}
	return partFunc(func(st *streamer) {
		st.emit(map[string]any{"type": "todo-update", "todos": slices.Clone(todos)})
	})
}

// UsageInfo is what a usage event reports: the cost of the execution and its
// tokens.
type UsageInfo struct {
	Currency             string // default "USD"
	BandwidthFee         float64
	ProviderFee          float64
	TotalFee             float64
	BYOK                 bool     // the provider key is the customer's own
	EstimatedProviderFee *float64 // when not nil
	InputTokens          int
	OutputTokens         int
	TotalTokens          int // default InputTokens + OutputTokens
}

// Usage streams usage {cost: {currency, bandwidthFee, providerFee, totalFee,
// byok, estimatedProviderFee?}, tokens: {inputTokens, outputTokens,
// totalTokens}}. The platform writes it after finish, just before the stream
// ends, so in a Stream turn that has not written its finish yet the usage
// event is held back and written right after the finish (Stream's own or a
// Finish part's). After a finish, and anywhere in an Events turn, it is
// written where it stands.
func Usage(u UsageInfo) Part {
	cur := u.Currency
	if cur == "" {
		cur = "USD"
	}
	total := u.TotalTokens
	if total == 0 {
		total = u.InputTokens + u.OutputTokens
	}
	return partFunc(func(st *streamer) {
		cost := map[string]any{"currency": cur, "bandwidthFee": u.BandwidthFee, "providerFee": u.ProviderFee,
			"totalFee": u.TotalFee, "byok": u.BYOK}
		if u.EstimatedProviderFee != nil {
			cost["estimatedProviderFee"] = *u.EstimatedProviderFee
		}
		ev := map[string]any{"type": "usage", "cost": cost, "tokens": map[string]any{
			"inputTokens": u.InputTokens, "outputTokens": u.OutputTokens, "totalTokens": total}}
		if st.framed && !st.finished {
			st.afterFinish = append(st.afterFinish, ev)
			return
		}
		st.emit(ev)
	})
}

// ProviderMetadata runs parts and stores meta as the providerMetadata of
// the reasoning and tool-call parts they add to the history, as the platform
// keeps a provider's signatures: nothing of it is streamed, and the session's
// messages (UIMessages and ChatMessages) carry it. meta maps a provider to
// its data, e.g. {"anthropic": {"signature": "..."}}.
func ProviderMetadata(meta map[string]any, parts ...Part) Part {
	parts = append([]Part(nil), parts...)
	b, err := json.Marshal(meta)
	if err != nil {
		panic(fmt.Sprintf("octavustest: ProviderMetadata: %v", err))
	}
	return partFunc(func(st *streamer) {
		m, _ := decodeObject(b) // a fresh copy for each stream
		outer := st.meta
		st.meta = m
		st.runParts(parts)
		st.meta = outer
	})
}

// ResourceUpdate streams resource-update {name, value}; the session's
// resources (full GET) take the value.
func ResourceUpdate(name string, value any) Part {
	return Event(map[string]any{"type": "resource-update", "name": name, "value": value})
}

// Source streams a url source {sourceType:"url", id, url, title}; title is
// left out when empty.
func Source(url, title string) Part {
	return partFunc(func(st *streamer) {
		ev := map[string]any{"type": "source", "sourceType": "url", "id": st.s.nextID("src"), "url": url}
		if title != "" {
			ev["title"] = title
		}
		st.emit(ev)
	})
}

// File streams file-available {id, mediaType, url, filename}; filename is
// left out when empty.
func File(mediaType, url, filename string) Part {
	return partFunc(func(st *streamer) {
		ev := map[string]any{"type": "file-available", "id": st.s.nextID("file"), "mediaType": mediaType, "url": url}
		if filename != "" {
			ev["filename"] = filename
		}
		st.emit(ev)
	})
}

// Event streams any event: v must marshal to a JSON object, normally with a
// "type". The session history follows it like any other event. Event panics
// when v does not marshal to an object.
func Event(v any) Part {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("octavustest: Event: %v", err))
	}
	if _, err := decodeObject(b); err != nil {
		panic(fmt.Sprintf("octavustest: Event: not a JSON object: %s", b))
	}
	return partFunc(func(st *streamer) {
		ev, _ := decodeObject(b) // a fresh copy for each stream
		st.emit(ev)
	})
}

// Finish streams the turn's queued tool-request (if any) and then finish
// {finishReason: reason, executionId}, in place of Stream's own finish.
func Finish(reason string) Part {
	return partFunc(func(st *streamer) { st.finish(reason) })
}

// Raw writes s to the stream verbatim and flushes it, for malformed lines,
// comments, CRLF line ends or lines split across writes. The session history
// does not follow it.
func Raw(s string) Part {
	return partFunc(func(st *streamer) { st.write([]byte(s)) })
}

// Heartbeat writes the SSE comment ": heartbeat", which the platform sends
// to keep quiet streams alive and every SSE reader ignores. WithHeartbeat
// and WithHeartbeatTicks write it while a stream stalls.
func Heartbeat() Part { return Raw(heartbeat) }

const heartbeat = ": heartbeat\n\n"

// Cut flushes what was written and drops the connection: the client sees the
// chunked body end early (unexpected EOF). Nothing after it is written.
func Cut() Part { return partFunc(func(st *streamer) { st.cut() }) }

// Stall stops writing until release is closed, then goes on with the next
// part. It gives up (and writes nothing more) when the client goes away or the
// server closes. With a nil release it waits for the client to go away, which
// a test observes with WaitDone and Request.Aborted.
func Stall(release <-chan struct{}) Part {
	return partFunc(func(st *streamer) { st.stall(release) })
}

// OmitDone makes the stream end without "data: [DONE]", wherever it appears.
func OmitDone() Part { return partFunc(func(st *streamer) { st.omitDone = true }) }
