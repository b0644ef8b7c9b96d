package octavustest

import (
	"encoding/json"
	"fmt"
	"net/http"
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
// Build parts with Text, Reasoning, ToolCall, Block, ResourceUpdate, Source,
// File, Event, Finish, and the faults Raw, Heartbeat, Cut, Stall, OmitDone.
type Part interface {
	run(st *streamer)
}

// TriggerRequest is what a trigger POST asked, as seen by a Respond func.
type TriggerRequest struct {
	SessionID   string
	AgentID     string
	TriggerName string         // empty on a browser's continue request
	Input       map[string]any // nil when the POST carried no input
	// ExecutionID is the execution the POST continues; empty for a new trigger.
	ExecutionID string
	// ToolResults answers the tool calls the previous turn requested.
	ToolResults []ToolResult
	Header      http.Header // the request headers
	Body        []byte      // the raw request body
}

// ToolResult is one entry of a continuation's toolResults.
type ToolResult struct {
	ToolCallID     string `json:"toolCallId"`
	ToolName       string `json:"toolName,omitempty"`
	Result         any    `json:"result,omitempty"` // decoded JSON; nil when absent or null
	Error          string `json:"error,omitempty"`
	OutputVariable string `json:"outputVariable,omitempty"`
	BlockIndex     *int   `json:"blockIndex,omitempty"`
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
type ToolCall struct {
	ID             string         // toolCallId; default "call_N"
	Name           string         // toolName
	Args           map[string]any // default {}
	Title          string         // tool-input-start title, when not empty
	Source         string         // "llm" or "block", when not empty
	OutputVariable string         // when not empty
	BlockIndex     *int           // when not nil
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
	st.toolCalls = append(st.toolCalls, pending)
}

// Block wraps parts in block-start/block-end of a "next-message" block named
// name, displayed as "stream" with outputToChat true. For other block kinds
// (hidden, threads, operations) write the events with Event.
func Block(name string, parts ...Part) Part {
	parts = append([]Part(nil), parts...)
	return partFunc(func(st *streamer) {
		id := st.s.nextID("block")
		st.emit(map[string]any{"type": "block-start", "blockId": id, "blockName": name,
			"blockType": "next-message", "display": "stream", "outputToChat": true})
		st.runParts(parts)
		st.emit(map[string]any{"type": "block-end", "blockId": id})
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

// Heartbeat writes the SSE comment line ": ping" that keeps idle streams alive.
func Heartbeat() Part { return Raw(": ping\n\n") }

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
