package octavustest

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"
)

// session is the platform's state of one agent session.
type session struct {
	id, agentID string
	input       map[string]any
	resources   map[string]any
	messages    []*message
	execMsgs    map[string]*message // execution id -> its assistant message
	pending     *pendingExec        // tool calls waiting for results
	running     int                 // trigger POSTs being answered
	expired     bool
	createdAt   time.Time
	updatedAt   time.Time
	script      []Turn            // nil: the agent's or the server's script
	cursor      int               // the next turn of the script
	logs        []map[string]any  // execution log entries, oldest first
	logNames    map[string]string // toolCallId or workerId -> tool name or worker slug, for log entries
	worker      bool              // a worker execution's session
}

type pendingExec struct {
	execID string
	ids    []string // toolCallIds, in request order
}

// message is one message of a session's history. Parts are kept in the
// UIMessage part shape; the ChatMessage shape is derived from them.
type message struct {
	id, role  string
	createdAt string
	parts     []*part
	sender    *Sender // user messages: the trigger's sender
}

type part struct {
	ui     map[string]any // the UI part: {"type": ..., ...}; a worker's nested parts are in nested
	hidden bool           // seen by the model, not shown in the chat UI
	acc    string         // object parts: the JSON streamed so far; worker parts: the streamed input
	nested []*part        // worker parts: the worker's own parts
	open   *openParts     // worker parts: the worker's open parts
}

// openParts are the parts that take the deltas of the next text, reasoning
// or structured-output event.
type openParts struct {
	text      *part // the open text part
	reasoning *part // the open reasoning part
	object    *part // the open structured-output part
}

func (s *Server) newSessionLocked(id, agentID string, input map[string]any) *session {
	input = copyWithout(input) // never nil, and not shared with the caller
	now := s.now()
	sess := &session{
		id: id, agentID: agentID, input: input,
		resources: map[string]any{}, execMsgs: map[string]*message{}, logNames: map[string]string{},
		createdAt: now, updatedAt: now,
	}
	s.sessions[id] = sess
	return sess
}

// operationBlockTypes are the block types the UI shows as operation parts.
var operationBlockTypes = map[string]bool{"set-resource": true, "serialize-thread": true, "generate-image": true}

// legState is what the history needs to remember while one stream runs.
type legState struct {
	msgID        string // messageId of the stream's start event
	blockID      string
	outputToChat bool
	thread       string
	open         openParts
	stepped      bool    // the leg's step-start part is in the message
	opened       []*part // the parts this leg added
}

// closeLegLocked marks the parts a stream left open (no end event before
// finish, a cut, an abort) as done, as the chat UI does on finish. A stream
// that ends without a finish event (cut, abandoned, or never written) also
// cancels what it left running, as the 6.4 browser and the runtime do: tool
// calls that wait for no result, operations and workers.
func (s *Server) closeLegLocked(st *streamer) {
	for _, p := range st.leg.opened {
		p.finishStreaming()
	}
	st.leg.opened = nil
	st.leg.open = openParts{}
	m := st.sess.execMsgs[st.execID]
	if m == nil {
		return
	}
	for _, p := range m.parts {
		if p.open != nil {
			p.open = &openParts{}
		}
	}
	if st.finished {
		return
	}
	waiting := map[string]bool{}
	if p := st.sess.pending; p != nil && p.execID == st.execID {
		for _, id := range p.ids {
			waiting[id] = true
		}
	}
	var cancel func(parts []*part)
	cancel = func(parts []*part) {
		for _, p := range parts {
			switch p.ui["type"] {
			case "tool-call":
				id, _ := p.ui["toolCallId"].(string)
				if st := p.ui["status"]; (st == "pending" || st == "running") && !waiting[id] {
					p.ui["status"] = "cancelled"
				}
			case "operation":
				if p.ui["status"] == "running" {
					p.ui["status"] = "cancelled"
				}
			case "worker":
				if p.ui["status"] == "running" && len(waiting) == 0 {
					p.ui["status"] = "cancelled"
					delete(p.ui, "error")
					for _, n := range p.nested {
						n.finishStreaming()
					}
					cancel(p.nested)
				}
			}
		}
	}
	cancel(m.parts)
}

// finishStreaming marks a streaming part done.
func (p *part) finishStreaming() {
	if p.ui["status"] != "streaming" {
		return
	}
	if p.ui["type"] == "object" {
		p.finishObject()
	} else {
		p.ui["status"] = "done"
	}
}

func (p *part) finishObject() {
	var v any
	if err := json.Unmarshal([]byte(p.acc), &v); err != nil {
		p.ui["status"] = "error"
		p.ui["error"] = "Failed to parse response as JSON"
		return
	}
	p.ui["object"] = v
	p.ui["partial"] = v
	p.ui["status"] = "done"
}

// trackLocked updates the session history with one streamed event, the way
// the platform stores what it streamed. An event with the workerId of a
// worker part of the message goes into that worker's nested parts.
func (s *Server) trackLocked(st *streamer, ev map[string]any) {
	sess, leg := st.sess, &st.leg
	str := func(k string) string { v, _ := ev[k].(string); return v }
	typ := str("type")
	var w *part // the worker the event belongs to
	if id := str("workerId"); id != "" && workerEvents[typ] {
		w = s.findWorkerLocked(st, id)
	}
	open := &leg.open
	if w != nil {
		open = w.open
	}
	add := func(ui map[string]any, hidden bool) *part { return s.addPartLocked(st, w, ui, hidden) }
	find := func(typ, key, id string) *part {
		if w != nil {
			return findIn(w.nested, typ, key, id)
		}
		return s.findPartLocked(st, typ, key, id)
	}
	switch typ {
	case "start":
		if id := str("executionId"); id != "" {
			st.execID = id
		}
		leg.msgID = str("messageId")
	case "block-start":
		if w == nil {
			leg.blockID, leg.thread = str("blockId"), str("thread")
			leg.outputToChat = true
			if b, ok := ev["outputToChat"].(bool); ok {
				leg.outputToChat = b
			}
			leg.open.text, leg.open.reasoning = nil, nil
		}
		if operationBlockTypes[str("blockType")] && str("display") != "hidden" {
			name := str("description")
			if name == "" {
				name = str("blockName")
			}
			add(map[string]any{"type": "operation", "operationId": str("blockId"),
				"name": name, "operationType": str("blockType"), "status": "running"}, false)
		}
	case "block-end":
		if p := find("operation", "operationId", str("blockId")); p != nil {
			p.ui["status"] = "done"
		}
		if w == nil && leg.blockID == str("blockId") {
			leg.blockID, leg.thread, leg.outputToChat = "", "", true
		}
	case "text-start":
		hidden := w == nil && leg.blockID != "" && !leg.outputToChat && leg.thread == ""
		if rt := str("responseType"); rt != "" {
			open.object = add(map[string]any{"type": "object", "id": str("id"),
				"typeName": rt, "status": "streaming"}, hidden)
			open.text = nil
		} else {
			open.text = add(map[string]any{"type": "text", "text": "", "status": "streaming"}, hidden)
			open.object = nil
		}
	case "text-delta":
		if open.object != nil {
			open.object.acc += str("delta")
		} else if open.text != nil {
			open.text.ui["text"] = open.text.ui["text"].(string) + str("delta")
		}
	case "text-end":
		if open.object != nil {
			open.object.finishObject()
			open.object = nil
		} else if open.text != nil {
			open.text.ui["status"] = "done"
			open.text = nil
		}
	case "reasoning-start":
		open.reasoning = add(map[string]any{"type": "reasoning", "text": "", "status": "streaming"}, false)
	case "reasoning-delta":
		if open.reasoning != nil {
			open.reasoning.ui["text"] = open.reasoning.ui["text"].(string) + str("delta")
		}
	case "reasoning-end":
		if open.reasoning != nil {
			open.reasoning.ui["status"] = "done"
			open.reasoning = nil
		}
	case "tool-input-start":
		p := map[string]any{"type": "tool-call", "toolCallId": str("toolCallId"), "toolName": str("toolName"),
			"args": map[string]any{}, "status": "pending"}
		if t := str("title"); t != "" {
			p["displayName"] = t
		}
		if d := str("display"); d != "" {
			p["display"] = d
		}
		add(p, false)
	case "tool-input-available":
		if p := find("tool-call", "toolCallId", str("toolCallId")); p != nil {
			if args, ok := ev["input"].(map[string]any); ok {
				p.ui["args"] = args
			}
			p.ui["status"] = "running"
		}
	case "tool-output-available":
		if p := find("tool-call", "toolCallId", str("toolCallId")); p != nil {
			p.ui["result"], p.ui["status"] = ev["output"], "done"
		}
	case "tool-output-error":
		if p := find("tool-call", "toolCallId", str("toolCallId")); p != nil {
			p.ui["error"], p.ui["status"] = str("error"), "error"
		}
	case "tool-request":
		calls, _ := ev["toolCalls"].([]any)
		for _, c := range calls {
			call, _ := c.(map[string]any)
			id, _ := call["toolCallId"].(string)
			if id == "" {
				continue
			}
			if sess.pending == nil || sess.pending.execID != st.execID {
				sess.pending = &pendingExec{execID: st.execID}
			}
			sess.pending.ids = append(sess.pending.ids, id)
			if m := sess.execMsgs[st.execID]; m != nil && findIn(m.parts, "tool-call", "toolCallId", id) != nil {
				continue
			}
			args, ok := call["args"].(map[string]any)
			if !ok {
				args = map[string]any{}
			}
			name, _ := call["toolName"].(string)
			cw := w
			if wid, _ := call["workerId"].(string); wid != "" {
				cw = s.findWorkerLocked(st, wid)
			}
			s.addPartLocked(st, cw, map[string]any{"type": "tool-call", "toolCallId": id, "toolName": name,
				"args": args, "status": "running"}, false)
		}
	case "source":
		p := copyWithout(ev, "type", "workerId")
		p["type"] = "source"
		add(p, false)
	case "file-available":
		p := copyWithout(ev, "type", "workerId")
		p["type"] = "file"
		add(p, false)
	case "todo-update":
		todos, _ := ev["todos"].([]any)
		parts := st.sess.execMsgs[st.execID].partsOrNil()
		if w != nil {
			parts = w.nested
		}
		if p := findIn(parts, "todo", "", ""); p != nil {
			p.ui["todos"], p.ui["status"] = todos, "streaming"
			st.leg.opened = append(st.leg.opened, p)
		} else {
			add(map[string]any{"type": "todo", "todos": todos, "status": "streaming"}, false)
		}
	case "worker-input-start":
		if s.findWorkerLocked(st, str("workerId")) == nil {
			s.addWorkerLocked(st, ev)
		}
	case "worker-input-delta":
		if w := s.findWorkerLocked(st, str("workerId")); w != nil {
			w.acc += str("delta")
		}
	case "worker-input-ready":
		if w := s.findWorkerLocked(st, str("workerId")); w != nil {
			w.acc = ""
			if in, ok := ev["input"].(map[string]any); ok {
				w.ui["input"] = in
			}
		}
	case "worker-start":
		w := s.findWorkerLocked(st, str("workerId"))
		if w == nil {
			s.addWorkerLocked(st, ev)
			break
		}
		w.ui["status"] = "running"
		if _, ok := w.ui["input"]; !ok && ev["input"] != nil {
			w.ui["input"] = ev["input"]
		}
		if _, ok := w.ui["description"]; !ok && ev["description"] != nil {
			w.ui["description"] = ev["description"]
		}
	case "worker-result":
		w := s.findWorkerLocked(st, str("workerId"))
		if w == nil {
			break
		}
		delete(w.ui, "output")
		delete(w.ui, "error")
		if out, ok := ev["output"]; ok {
			w.ui["output"] = out
		}
		w.ui["status"] = "done"
		if e := str("error"); e != "" {
			w.ui["error"], w.ui["status"] = e, "error"
		}
		for _, n := range w.nested {
			n.finishStreaming()
		}
		w.open = &openParts{}
	case "resource-update":
		if name := str("name"); name != "" {
			sess.resources[name] = ev["value"]
		}
	case "finish":
		s.closeLegLocked(st)
	}
}

func (m *message) partsOrNil() []*part {
	if m == nil {
		return nil
	}
	return m.parts
}

// addWorkerLocked adds the worker part a worker-start or worker-input-start
// event begins.
func (s *Server) addWorkerLocked(st *streamer, ev map[string]any) {
	ui := map[string]any{"type": "worker", "workerId": ev["workerId"], "workerSlug": ev["workerSlug"], "status": "running"}
	for _, k := range []string{"description", "input"} {
		if v, ok := ev[k]; ok {
			ui[k] = v
		}
	}
	p := s.addPartLocked(st, nil, ui, false)
	p.open = &openParts{}
}

// findWorkerLocked returns the worker part of the stream's message with the
// given workerId, or nil.
func (s *Server) findWorkerLocked(st *streamer, id string) *part {
	m := st.sess.execMsgs[st.execID]
	if m == nil || id == "" {
		return nil
	}
	for _, p := range m.parts {
		if p.ui["type"] == "worker" && p.ui["workerId"] == id {
			if p.open == nil {
				p.open = &openParts{}
			}
			return p
		}
	}
	return nil
}

// messageLocked returns the assistant message of the stream's execution,
// creating it on first use.
func (s *Server) messageLocked(st *streamer) *message {
	m := st.sess.execMsgs[st.execID]
	if m == nil {
		id := st.leg.msgID
		if id == "" {
			id = s.nextIDLocked("msg")
		}
		m = &message{id: id, role: "assistant", createdAt: formatTime(s.now())}
		st.sess.messages = append(st.sess.messages, m)
		st.sess.execMsgs[st.execID] = m
	}
	return m
}

// addPartLocked adds a part to the worker w, or with w nil to the stream's
// message, after the step-start part that opens each leg's step.
func (s *Server) addPartLocked(st *streamer, w *part, ui map[string]any, hidden bool) *part {
	if st.leg.thread != "" {
		ui["thread"] = st.leg.thread
	}
	if st.meta != nil && (ui["type"] == "reasoning" || ui["type"] == "tool-call") {
		ui["providerMetadata"] = copyWithout(st.meta)
	}
	p := &part{ui: ui, hidden: hidden}
	if w != nil {
		w.nested = append(w.nested, p)
	} else {
		m := s.messageLocked(st)
		if !st.leg.stepped {
			m.parts = append(m.parts, &part{ui: map[string]any{"type": "step-start"}})
			st.leg.stepped = true
		}
		m.parts = append(m.parts, p)
	}
	st.leg.opened = append(st.leg.opened, p)
	return p
}

func (s *Server) findPartLocked(st *streamer, typ, key, id string) *part {
	m := st.sess.execMsgs[st.execID]
	if m == nil {
		return nil
	}
	return m.find(typ, key, id)
}

// find returns the message's first part of type typ whose key is id, at the
// top level or else inside a worker.
func (m *message) find(typ, key, id string) *part {
	return findIn(m.parts, typ, key, id)
}

// findIn is message.find over parts; with an empty key it matches the type only.
func findIn(parts []*part, typ, key, id string) *part {
	for _, p := range parts {
		if p.ui["type"] == typ && (key == "" || p.ui[key] == id) {
			return p
		}
	}
	for _, p := range parts {
		if key != "" {
			if n := findIn(p.nested, typ, key, id); n != nil {
				return n
			}
		}
	}
	return nil
}

// applyToolResults fills the tool-call parts of an execution's message with
// the results a continuation brought.
func (sess *session) applyToolResults(execID string, results []ToolResult) {
	m := sess.execMsgs[execID]
	if m == nil {
		return
	}
	for _, tr := range results {
		p := m.find("tool-call", "toolCallId", tr.ToolCallID)
		if p == nil {
			continue
		}
		if tr.Error != "" {
			p.ui["error"], p.ui["status"] = tr.Error, "error"
		} else {
			p.ui["result"], p.ui["status"] = tr.Result, "done"
		}
	}
}

// rollbackKeepLocked returns how many messages a rollback keeps; ok is false
// when it removes nothing: absent, or naming a message the session does not
// have (the fake then keeps every message).
func rollbackKeepLocked(sess *session, rb Rollback) (keep int, ok bool) {
	switch {
	case !rb.Present:
		return 0, false
	case rb.Null:
		return 0, true
	}
	for i, m := range sess.messages {
		if m.id == rb.MessageID {
			return i + 1, true
		}
	}
	return 0, false
}

// rollbackDropsLocked reports whether the rollback removes the message of
// the execution execID.
func (s *Server) rollbackDropsLocked(sess *session, rb Rollback, execID string) bool {
	keep, ok := rollbackKeepLocked(sess, rb)
	m := sess.execMsgs[execID]
	return ok && m != nil && slices.Index(sess.messages, m) >= keep
}

// rollbackLocked removes the messages after the rollback's message (all of
// them for null), as the platform does before running a retried trigger.
func (s *Server) rollbackLocked(sess *session, rb Rollback) {
	keep, ok := rollbackKeepLocked(sess, rb)
	if !ok {
		return
	}
	removed := sess.messages[keep:]
	for exec, m := range sess.execMsgs {
		if slices.Contains(removed, m) {
			delete(sess.execMsgs, exec)
		}
	}
	sess.messages = slices.Clip(sess.messages[:keep])
}

// userParts builds the parts of the user message a trigger's input makes:
// file parts for FileReference values, then a text part for USER_MESSAGE.
func userParts(input map[string]any) []*part {
	var parts []*part
	keys := make([]string, 0, len(input))
	for k := range input {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		refs := []any{input[k]}
		if list, ok := input[k].([]any); ok {
			refs = list
		}
		for _, ref := range refs {
			if f, ok := fileReference(ref); ok {
				parts = append(parts, &part{ui: f})
			}
		}
	}
	if text, ok := input["USER_MESSAGE"].(string); ok {
		parts = append(parts, &part{ui: map[string]any{"type": "text", "text": text, "status": "done"}})
	}
	return parts
}

// fileReference turns a FileReference {id, mediaType, url, filename?, size?}
// into a UI file part.
func fileReference(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	for _, k := range []string{"id", "mediaType", "url"} {
		if _, ok := m[k].(string); !ok {
			return nil, false
		}
	}
	f := map[string]any{"type": "file", "id": m["id"], "mediaType": m["mediaType"], "url": m["url"]}
	if name, ok := m["filename"].(string); ok {
		f["filename"] = name
	}
	if size, ok := m["size"].(float64); ok {
		f["size"] = size
	}
	return f, true
}

// uiMessage renders a message as a v4 UIMessage: hidden parts are left
// out, and so is a step-start part that no shown part follows.
func (m *message) uiMessage() map[string]any {
	var shown []*part
	for _, p := range m.parts {
		if !p.hidden {
			shown = append(shown, p)
		}
	}
	parts := []any{}
	for i, p := range shown {
		if p.ui["type"] == "step-start" && (i+1 == len(shown) || shown[i+1].ui["type"] == "step-start") {
			continue
		}
		parts = append(parts, p.uiPart())
	}
	um := map[string]any{"id": m.id, "role": m.role, "parts": parts, "status": "done", "createdAt": m.createdAt}
	if m.sender != nil {
		um["sender"] = m.sender
	}
	return um
}

// uiPart renders a part as a UI part, a worker with its nested parts.
func (p *part) uiPart() map[string]any {
	ui := copyWithout(p.ui)
	if p.ui["type"] == "worker" {
		nested := []any{}
		for _, n := range p.nested {
			nested = append(nested, n.uiPart())
		}
		ui["parts"] = nested
	}
	return ui
}

// chatMessage renders a message as the platform's internal ChatMessage, v4.
func (m *message) chatMessage() map[string]any {
	parts := []any{}
	var content []string
	var toolCalls []any
	for _, p := range m.parts {
		cp := p.chatPart()
		if cp == nil {
			continue
		}
		switch cp["type"] {
		case "text":
			if !p.hidden {
				content = append(content, cp["content"].(string))
			}
		case "tool-call":
			toolCalls = append(toolCalls, cp["toolCall"])
		}
		parts = append(parts, cp)
	}
	cm := map[string]any{"id": m.id, "role": m.role, "parts": parts, "createdAt": m.createdAt,
		"content": strings.Join(content, "")}
	if len(toolCalls) > 0 {
		cm["toolCalls"] = toolCalls
	}
	if m.sender != nil {
		cm["sender"] = m.sender
	}
	return cm
}

// chatPart renders a part as a ChatMessage part; nil for a type the
// ChatMessage has not.
func (p *part) chatPart() map[string]any {
	ui := p.ui
	typ, _ := ui["type"].(string)
	cp := map[string]any{"type": typ, "visible": !p.hidden}
	if th, ok := ui["thread"].(string); ok {
		cp["thread"] = th
	}
	if pm, ok := ui["providerMetadata"]; ok {
		cp["providerMetadata"] = pm
	}
	switch typ {
	case "text", "reasoning":
		text, _ := ui["text"].(string)
		cp["content"] = text
	case "tool-call":
		cp["toolCall"] = chatToolCall(ui)
	case "step-start":
	case "operation":
		cp["operation"] = map[string]any{"id": ui["operationId"], "name": ui["name"], "operationType": ui["operationType"]}
	case "source":
		cp["source"] = copyWithout(ui, "type", "thread")
	case "file":
		cp["file"] = copyWithout(ui, "type", "thread")
	case "object":
		obj := map[string]any{"id": ui["id"], "typeName": ui["typeName"]}
		if v, ok := ui["object"]; ok {
			obj["value"] = v
		}
		cp["object"] = obj
	case "todo":
		cp["todo"] = map[string]any{"todos": ui["todos"]}
	case "worker":
		info := map[string]any{"workerId": ui["workerId"], "workerSlug": ui["workerSlug"]}
		for _, k := range []string{"description", "input", "output", "error"} {
			if v, ok := ui[k]; ok {
				info[k] = v
			}
		}
		if ui["status"] == "cancelled" {
			info["cancelled"] = true
		}
		nested := []any{}
		for _, n := range p.nested {
			if n.ui["type"] == "step-start" || n.ui["type"] == "worker" {
				continue // not a part a worker's ChatMessage parts may hold
			}
			if np := n.chatPart(); np != nil {
				nested = append(nested, np)
			}
		}
		info["nestedParts"] = nested
		cp["worker"] = info
	default:
		return nil
	}
	return cp
}

// chatToolCall renders a UI tool-call part as a ChatMessage ToolCallInfo.
// The ChatMessage statuses have no cancelled: a cancelled call is an error.
func chatToolCall(ui map[string]any) map[string]any {
	status := "available"
	switch ui["status"] {
	case "pending":
		status = "pending"
	case "error", "cancelled":
		status = "error"
	}
	args, ok := ui["args"].(map[string]any)
	if !ok {
		args = map[string]any{}
	}
	tc := map[string]any{"id": ui["toolCallId"], "name": ui["toolName"], "arguments": args, "status": status}
	for _, k := range []string{"result", "error", "display"} {
		if v, ok := ui[k]; ok {
			tc[k] = v
		}
	}
	return tc
}

func copyWithout(m map[string]any, drop ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
