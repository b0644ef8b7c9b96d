package octavus

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
)

// ToolHandler runs one server tool. args is the call's arguments, decoded
// from JSON (numbers are float64). ctx is cancelled when the execution is
// (the browser went away, or the caller's ctx was cancelled).
//
// The returned value is sent to the platform as the tool's result, encoded
// with encoding/json: nil means "no result" (the key is left out, like
// undefined in TypeScript), json.RawMessage("null") sends JSON null. A
// non-nil error fails the call: its message is the result's error (and is
// shown to the model, so keep secrets out of it; an empty message is sent
// as "" as the reference does). A panic fails the call with "Tool execution
// failed"; its value and stack go to the log, not to the browser.
type ToolHandler func(ctx context.Context, args map[string]any) (any, error)

// ToolHandlers maps tool names to their handlers.
type ToolHandlers map[string]ToolHandler

// defaultMaxToolRounds is AttachOptions.MaxToolRounds's default.
const defaultMaxToolRounds = 100

// toolFailed is the error of a handler that panicked: the reference's
// message for a throw that is not an Error.
const toolFailed = "Tool execution failed"

// toolDone is the result of the call at index i of a round.
type toolDone struct {
	i  int
	tr ToolResult
}

// runServerTools runs the calls concurrently and returns their results in
// call order. It returns ok=false as soon as ctx is cancelled, without
// waiting for the handlers; they finish in the background into a buffered
// channel, so none of them is left blocked.
//
// With AttachOptions.MaxConcurrentTools, at most that many handlers of the
// execution run at once, across its rounds: a call starts (and gets its
// goroutine) only once a slot is free, and a handler holds its slot until
// it returns, even after ToolTimeout failed its call, so handlers that
// ignore their ctx cannot pile up past the limit. A call waiting for a
// slot has no goroutine of its own; its ToolTimeout counts from its start.
func (x *execution) runServerTools(tools ToolHandlers, calls []PendingToolCall) (results []ToolResult, ok bool) {
	ch := make(chan toolDone, len(calls))
	if x.s.maxTools > 0 && x.toolSem == nil {
		x.toolSem = make(chan struct{}, x.s.maxTools)
	}
	sem := x.toolSem
	results = make([]ToolResult, len(calls))
	received := 0
	for i, tc := range calls {
		if sem != nil && len(sem) == cap(sem) && testHookSlotWait != nil {
			testHookSlotWait()
		}
		for sem != nil {
			select {
			case sem <- struct{}{}:
			case d := <-ch:
				results[d.i] = d.tr
				received++
				continue
			case <-x.ctx.Done():
				return nil, false
			}
			break
		}
		go x.callTool(sem, ch, i, tools[tc.ToolName], tc)
	}
	for received < len(calls) {
		select {
		case d := <-ch:
			results[d.i] = d.tr
			received++
		case <-x.ctx.Done():
			return nil, false
		}
	}
	return results, true
}

// testHookSlotWait, when set by a test, is called when a call is about to
// wait for a slot of MaxConcurrentTools.
var testHookSlotWait func()

// callTool runs one call, which holds a slot of sem (when not nil), and
// sends its result to ch. The slot is given back when the handler returns.
//
// With AttachOptions.ToolTimeout, the handler runs on a goroutine of its
// own: at the deadline its ctx is cancelled and the call fails at once; the
// handler's goroutine ends whenever it returns.
func (x *execution) callTool(sem chan struct{}, ch chan<- toolDone, i int, h ToolHandler, tc PendingToolCall) {
	d := x.s.toolTimeout
	if d <= 0 {
		tr := exitedResult(tc)
		defer func() {
			release(sem)
			ch <- toolDone{i, tr}
		}()
		tr = x.runTool(x.ctx, h, tc)
		return
	}
	ctx, cancel := context.WithTimeout(x.ctx, d)
	defer cancel()
	res := make(chan ToolResult, 1)
	go func() {
		tr := exitedResult(tc)
		defer func() {
			release(sem)
			res <- tr
		}()
		tr = x.runTool(ctx, h, tc)
	}()
	select {
	case tr := <-res:
		ch <- toolDone{i, tr}
	case <-ctx.Done():
		if x.ctx.Err() != nil {
			ch <- toolDone{i, ToolResult{}} // the execution is over; nobody reads this
			return
		}
		x.s.c.log.Warn("octavus: tool handler timed out", "tool", tc.ToolName, "toolCallId", tc.ToolCallID, "timeout", d)
		tr := newToolResult(tc)
		tr.Error = fmt.Sprintf("Tool %s timed out after %v", tc.ToolName, d)
		ch <- toolDone{i, tr}
	}
}

// release gives a slot of sem back; a nil sem has none.
func release(sem chan struct{}) {
	if sem != nil {
		<-sem
	}
}

// exitedResult is the result of a call whose handler never returned: it
// ended its goroutine with runtime.Goexit (as t.FailNow and require do in
// a test). runTool's caller sends it from a deferred function, the only
// code that still runs then.
func exitedResult(tc PendingToolCall) ToolResult {
	tr := newToolResult(tc)
	tr.Error = toolFailed
	return tr
}

// newToolResult is the result of tc without outcome: its ids, and the
// outputVariable, blockIndex, thread and workerId echoed as the reference
// echoes them (a string present as "", a fractional blockIndex), so the
// platform routes the result to the thread or worker that made the call.
func newToolResult(tc PendingToolCall) ToolResult {
	tr := ToolResult{ToolCallID: tc.ToolCallID, ToolName: tc.ToolName, OutputVariable: tc.OutputVariable, BlockIndex: tc.BlockIndex, Thread: tc.Thread, WorkerID: tc.WorkerID}
	for _, k := range []string{"outputVariable", "blockIndex", "thread", "workerId"} {
		if raw, ok := tc.extra[k]; ok {
			tr.extra.set(k, raw)
		}
	}
	return tr
}

// runTool runs one handler and turns its outcome into a ToolResult whose
// Result, when set, is the json.RawMessage sent to the platform.
func (x *execution) runTool(ctx context.Context, h ToolHandler, tc PendingToolCall) (tr ToolResult) {
	tr = newToolResult(tc)
	returned := true
	defer func() {
		if v := recover(); v != nil {
			x.s.c.log.Error("octavus: tool handler panicked", "tool", tc.ToolName, "toolCallId", tc.ToolCallID, "panic", v, "stack", string(debug.Stack()))
			tr.Result = nil
			tr.Error = toolFailed
		} else if !returned {
			// runtime.Goexit: the caller's deferred send reports the
			// call as failed (see exitedResult).
			x.s.c.log.Error("octavus: tool handler called runtime.Goexit (t.FailNow or require in a handler?) instead of returning", "tool", tc.ToolName, "toolCallId", tc.ToolCallID)
		}
	}()
	var args map[string]any
	if len(tc.Args) > 0 {
		if err := json.Unmarshal(tc.Args, &args); err != nil {
			tr.Error = "invalid tool arguments: " + err.Error()
			return tr
		}
	}
	if args == nil {
		args = map[string]any{}
	}
	if len(tc.Args) > 0 {
		ctx = context.WithValue(ctx, rawArgsKey{}, tc.Args)
	}
	returned = false
	result, err := h(ctx, args)
	returned = true
	if err != nil {
		tr.Error = err.Error()
		if tr.Error == "" {
			// The reference sends an Error's empty message as it is
			// ("error": "") and, since "" is falsy there, forwards a
			// tool-output-available without output.
			tr.extra.set("error", json.RawMessage(`""`))
		}
		return tr
	}
	raw, err := encodeResult(result)
	if err != nil {
		tr.Error = fmt.Sprintf("Tool %s returned a result that is not JSON: %v", tc.ToolName, err)
		return tr
	}
	if raw != nil {
		tr.Result = raw
	}
	return tr
}

// encodeResult encodes a handler's result; nil (and an empty RawMessage)
// is no result.
func encodeResult(v any) (json.RawMessage, error) {
	switch r := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if len(r) == 0 {
			return nil, nil
		}
		if !json.Valid(r) {
			return nil, fmt.Errorf("invalid json.RawMessage")
		}
	}
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

// ToolSchema describes a tool the platform does not know from the agent's
// definition: a dynamic tool or a tool of an inline MCP server. Its schema
// rides the dynamicToolSchemas of every request of the session.
type ToolSchema struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// InputSchema is the JSON Schema of the tool's arguments.
	InputSchema json.RawMessage `json:"inputSchema"`
	// OutputSchema, when set, is the JSON Schema of the tool's result.
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
}

// DynamicTool is a tool added to a session at run time: its schema, sent
// to the platform, and the handler that runs its calls.
type DynamicTool struct {
	Schema  ToolSchema
	Handler ToolHandler
}

// ToolProvider supplies tools with their schemas: a set of dynamic tools,
// an inline MCP server, a device. Only the schemas that have a handler are
// used.
type ToolProvider interface {
	ToolHandlers() ToolHandlers
	ToolSchemas() []ToolSchema
}
