package octavustest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// ThreadStep is one state of a workforce thread's run: what GET
// /api/v1/workforce/agents/{agentId}/threads/{threadId} shows while the
// agent works on a message. A run begins at its first step (the dispatch or
// follow-up answer shows that status) and each GET of the thread moves it
// one step on, until its last step, which stays.
//
// Parts are played when the run reaches the step, as a Stream turn plays
// them: they add to the run's assistant message, so the thread's messages
// grow step by step. When the step's status is terminal, the run ends
// there: "completed" finishes the message as a finish event does; "failed"
// and "cancelled" end it without one, which marks what was left running
// cancelled. A fault part acts on the request that plays the step (Stall
// holds that GET, Cut drops its connection).
type ThreadStep struct {
	// Status is the thread status: "idle", "queued", "pending", "running",
	// "completed", "failed" or "cancelled" (any string is served); empty
	// is "running".
	Status string
	// FailureReason is served with a "failed" status; null otherwise.
	FailureReason string
	Parts         []Part
}

// defaultThreadSteps is the run of an agent without ThreadSteps: queued,
// then running, then completed with the answer "Done.".
func defaultThreadSteps() []ThreadStep {
	return []ThreadStep{{Status: "queued"}, {Status: "running"}, {Status: "completed", Parts: []Part{Text("Done.")}}}
}

func terminalThreadStatus(status string) bool {
	return status == "completed" || status == "failed" || status == "cancelled"
}

type thread struct {
	mu      sync.Mutex // serialises the requests of one thread; taken before s.mu
	id      string
	agentID string
	sess    *session     // holds the thread's messages; not a platform session
	runs    []*threadRun // runs[0] is the current run, the others are queued follow-ups
	status  string
	reason  string
}

type threadRun struct {
	message string
	files   []map[string]any
	steps   []ThreadStep
	idx     int
	st      *streamer
	ended   bool
}

// AgentKey returns the per-agent key (oct_agt_...) the workforce endpoints
// of agentID accept, and whether the agent exists. Agent.WorkforceKey sets
// it; the default is "oct_agt_<agent id>".
func (s *Server) AgentKey(agentID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[agentID]
	if a == nil {
		return "", false
	}
	return a.WorkforceKey, true
}

// SetBlocked blocks an agent, as a usage or spending limit does, or
// unblocks it: while blocked, workforce dispatches and follow-ups of the
// agent answer 402 {"code":"PAYMENT_REQUIRED"}; reading threads still
// works. It reports whether the agent exists.
func (s *Server) SetBlocked(agentID string, blocked bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agents[agentID] == nil {
		return false
	}
	s.blocked[agentID] = blocked
	return true
}

// CancelThread cancels a workforce thread's current run, as a user does
// from the dashboard: the thread's status becomes "cancelled" (what the
// run left running is marked cancelled) and queued follow-ups are dropped.
// It reports whether the thread exists.
func (s *Server) CancelThread(threadID string) bool {
	s.mu.Lock()
	th := s.threads[threadID]
	s.mu.Unlock()
	if th == nil {
		return false
	}
	th.mu.Lock()
	defer th.mu.Unlock()
	if len(th.runs) == 0 || th.runs[0].ended {
		return true
	}
	run := th.runs[0]
	th.runs = th.runs[:1]
	s.mu.Lock()
	defer s.mu.Unlock()
	th.status, th.reason = "cancelled", ""
	run.ended = true
	run.idx = len(run.steps) - 1
	s.closeLegLocked(run.st)
	return true
}

// serveWorkforce answers the Workforce API of one agent: rest is the path
// after .../agents/{agentId}/threads.
func (s *Server) serveWorkforce(w http.ResponseWriter, r *http.Request, rec *Request, agentID string, rest []string, body []byte, readErr error) {
	if !s.authorizeAgentKey(w, r, agentID) {
		return
	}
	if readErr != nil {
		writeError(w, http.StatusBadRequest, "Could not read body: "+readErr.Error())
		return
	}
	method := func(m string) bool {
		if r.Method != m {
			w.Header().Set("Allow", m)
			writeErrorCode(w, http.StatusMethodNotAllowed, "Method not allowed", "METHOD_NOT_ALLOWED")
			return false
		}
		return true
	}
	switch {
	case len(rest) == 0:
		if method(http.MethodPost) {
			s.dispatchThread(w, r, rec, agentID, body)
		}
	case len(rest) == 1:
		if method(http.MethodGet) {
			s.getThread(w, r, rec, agentID, rest[0])
		}
	case len(rest) == 2 && rest[1] == "messages":
		if method(http.MethodPost) {
			s.followUpThread(w, r, rec, agentID, rest[0], body)
		}
	default:
		writeError(w, http.StatusNotFound, "Not found: "+r.URL.EscapedPath())
	}
}

// authorizeAgentKey checks a workforce request's key: 401 when it is
// missing or unknown, 403 when it is a key the server knows (another
// agent's key, the project key, a minted token) but not this agent's.
func (s *Server) authorizeAgentKey(w http.ResponseWriter, r *http.Request, agentID string) bool {
	if s.APIKey == "" {
		return true
	}
	got := r.Header.Get("Authorization")
	key, bearer := strings.CutPrefix(got, "Bearer ")
	s.mu.Lock()
	owner, isAgentKey := s.agentKeys[key]
	known := isAgentKey || key == s.APIKey || s.tokens[key] != nil
	s.mu.Unlock()
	switch {
	case got == "":
		writeErrorCode(w, http.StatusUnauthorized, "Missing API key", "UNAUTHORIZED")
	case !bearer || !known:
		writeErrorCode(w, http.StatusUnauthorized, "Invalid API key", "UNAUTHORIZED")
	case !isAgentKey || owner != agentID:
		writeErrorCode(w, http.StatusForbidden, "The key is not authorized for this agent", "FORBIDDEN")
	default:
		return true
	}
	return false
}

// parseThreadMessage checks a dispatch or follow-up body {message, files?}.
func parseThreadMessage(body []byte) (string, []map[string]any, error) {
	obj, err := decodeBody(body, "message", "files")
	var msg string
	if err == nil {
		msg, _, err = stringField(obj, "message", true)
	}
	var files []map[string]any
	if raw, ok := obj["files"]; err == nil && ok {
		if err = checkFiles(raw); err == nil {
			err = json.Unmarshal(raw, &files)
		}
	}
	return msg, files, err
}

// dispatchThread answers POST .../threads {message, files?} with 201
// {threadId, status}.
func (s *Server) dispatchThread(w http.ResponseWriter, r *http.Request, rec *Request, agentID string, body []byte) {
	msg, files, err := parseThreadMessage(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	a := s.agents[agentID]
	switch {
	case a == nil:
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Agent not found: "+agentID)
		return
	case s.blocked[agentID]:
		s.mu.Unlock()
		writeError(w, http.StatusPaymentRequired, "The agent is blocked by a usage or spending limit")
		return
	}
	id := s.freshIDLocked("thread", func(id string) bool { return s.threads[id] != nil })
	now := s.now()
	th := &thread{id: id, agentID: agentID, sess: &session{id: id, agentID: agentID, input: map[string]any{},
		resources: map[string]any{}, execMsgs: map[string]*message{}, logNames: map[string]string{},
		createdAt: now, updatedAt: now}}
	run := &threadRun{message: msg, files: files, steps: threadSteps(a)}
	th.runs = []*threadRun{run}
	th.mu.Lock() // nobody else knows the thread yet
	s.threads[id] = th
	s.mu.Unlock()
	defer th.mu.Unlock()
	s.startRun(r.Context(), rec, th, run)
	s.mu.Lock()
	status := th.status
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"threadId": id, "status": status})
}

func threadSteps(a *agentState) []ThreadStep {
	if len(a.ThreadSteps) == 0 {
		return defaultThreadSteps()
	}
	return append([]ThreadStep(nil), a.ThreadSteps...)
}

// lookupThread finds the thread of the agent and locks it.
func (s *Server) lookupThread(w http.ResponseWriter, agentID, threadID string) *thread {
	s.mu.Lock()
	th := s.threads[threadID]
	s.mu.Unlock()
	if th == nil || th.agentID != agentID {
		writeError(w, http.StatusNotFound, "Thread not found: "+threadID)
		return nil
	}
	th.mu.Lock()
	return th
}

// getThread answers GET .../threads/{threadId}: the run moves one step on,
// then the thread is served as {threadId, status, failureReason, messages}.
func (s *Server) getThread(w http.ResponseWriter, r *http.Request, rec *Request, agentID, threadID string) {
	th := s.lookupThread(w, agentID, threadID)
	if th == nil {
		return
	}
	defer th.mu.Unlock()
	if run := th.runs[0]; !run.ended && run.idx < len(run.steps)-1 {
		run.idx++
		s.playStep(r.Context(), rec, th, run)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := []any{}
	for _, m := range th.sess.messages {
		um := m.uiMessage()
		if m.role == "assistant" && len(um["parts"].([]any)) == 0 {
			continue
		}
		msgs = append(msgs, um)
	}
	var reason any
	if th.status == "failed" && th.reason != "" {
		reason = th.reason
	}
	writeJSON(w, http.StatusOK, map[string]any{"threadId": th.id, "status": th.status,
		"failureReason": reason, "messages": msgs})
}

// followUpThread answers POST .../threads/{threadId}/messages {message,
// files?} with 202 {threadId, status}. The message runs now when the
// thread's run has ended, else after it.
func (s *Server) followUpThread(w http.ResponseWriter, r *http.Request, rec *Request, agentID, threadID string, body []byte) {
	msg, files, err := parseThreadMessage(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	th := s.lookupThread(w, agentID, threadID)
	if th == nil {
		return
	}
	defer th.mu.Unlock()
	s.mu.Lock()
	a, blocked := s.agents[agentID], s.blocked[agentID]
	s.mu.Unlock()
	switch {
	case a == nil:
		writeError(w, http.StatusNotFound, "Agent not found: "+agentID)
		return
	case blocked:
		writeError(w, http.StatusPaymentRequired, "The agent is blocked by a usage or spending limit")
		return
	}
	run := &threadRun{message: msg, files: files, steps: threadSteps(a)}
	if th.runs[0].ended {
		th.runs = []*threadRun{run}
		s.startRun(r.Context(), rec, th, run)
	} else {
		th.runs = append(th.runs, run)
	}
	s.mu.Lock()
	status := th.status
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{"threadId": th.id, "status": status})
}

// startRun adds the run's user message and plays its first step. The
// thread is locked, s.mu is not.
func (s *Server) startRun(ctx context.Context, rec *Request, th *thread, run *threadRun) {
	s.mu.Lock()
	sess := th.sess
	var parts []*part
	for _, f := range run.files {
		if p, ok := fileReference(f); ok {
			parts = append(parts, &part{ui: p})
		}
	}
	parts = append(parts, &part{ui: map[string]any{"type": "text", "text": run.message, "status": "done"}})
	sess.messages = append(sess.messages, &message{id: s.nextIDLocked("msg"), role: "user",
		createdAt: formatTime(s.now()), parts: parts})
	run.st = &streamer{s: s, sess: sess, rec: rec, w: discardWriter{}, ctx: ctx,
		execID: s.nextIDLocked("exec"), run: &runMark{s: s, sess: sess, ended: true}, framed: true}
	run.st.rc = http.NewResponseController(run.st.w)
	msgID := s.nextIDLocked("msg")
	s.mu.Unlock()
	run.st.emit(map[string]any{"type": "start", "messageId": msgID, "executionId": run.st.execID})
	s.playStep(ctx, rec, th, run)
}

// playStep plays the run's current step and, when it ends the run, starts
// the next queued one.
func (s *Server) playStep(ctx context.Context, rec *Request, th *thread, run *threadRun) {
	step := run.steps[run.idx]
	status := step.Status
	if status == "" {
		status = "running"
	}
	st := run.st
	st.ctx, st.rec, st.stopped = ctx, rec, false
	st.runParts(step.Parts)
	terminal := terminalThreadStatus(status)
	if terminal && status == "completed" {
		st.stopped = false
		st.finish("stop")
	}
	s.mu.Lock()
	th.status, th.reason = status, step.FailureReason
	if terminal {
		run.ended = true
		run.idx = len(run.steps) - 1
		s.closeLegLocked(st)
	}
	s.mu.Unlock()
	if terminal && len(th.runs) > 1 && th.runs[0] == run {
		next := th.runs[1]
		th.runs = th.runs[1:]
		s.startRun(ctx, rec, th, next)
	}
}

// discardWriter is the ResponseWriter of a thread run's stream: the
// history follows the events, nobody reads them.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
func (discardWriter) Flush()                      {}
