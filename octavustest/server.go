package octavustest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAPIKey is the API key a Server expects unless WithAPIKey says otherwise.
const DefaultAPIKey = "test-key"

// Server is a fake Octavus platform listening on a local address.
// Create it with NewServer and stop it with Close.
type Server struct {
	// URL is the base URL of the fake platform, "http://127.0.0.1:port",
	// without a trailing slash. Read-only.
	URL string
	// APIKey is the key requests must send as "Authorization: Bearer <key>".
	// Empty means no check. Read-only.
	APIKey string

	ts             *httptest.Server
	now            func() time.Time
	lenient        bool
	heartbeat      func() (<-chan time.Time, func())
	busyRetryAfter string
	concurrentRuns bool
	closing        chan struct{}
	closeOnce      sync.Once

	mu                  sync.Mutex
	agents              map[string]*agentState
	agentOrder          []string
	sessions            map[string]*session
	defaultScript       []Turn
	defaultWorkerCursor int // the next turn of defaultScript for worker executions
	counters            map[string]int
	requests            []*Request
	changed             chan struct{} // closed and replaced whenever a request arrives or is served
	faults              []*fault
	files               map[string]*uploadedFile
	tokens              map[string]*token  // minted ephemeral tokens by value
	starts              map[string]string  // deferred start idempotencyKey -> session id
	threads             map[string]*thread // workforce threads by id
	agentKeys           map[string]string  // per-agent workforce key -> agent id
	blocked             map[string]bool    // agents blocked by a usage or spending limit
}

// Option configures a Server created by NewServer.
type Option func(*config)

type config struct {
	apiKey         string
	script         []Turn
	now            func() time.Time
	lenient        bool
	heartbeat      func() (<-chan time.Time, func())
	busyRetryAfter string
	concurrentRuns bool
}

// WithAPIKey sets the API key the server expects instead of DefaultAPIKey.
// An empty key turns the Authorization check off.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithScript sets the server's default script: the turns that answer trigger
// POSTs of sessions whose agent and session have no script of their own. Each
// session plays its script from the first turn on, one turn per POST.
func WithScript(turns ...Turn) Option {
	return func(c *config) { c.script = append([]Turn(nil), turns...) }
}

// WithClock sets the clock used for createdAt/updatedAt timestamps and
// Request.Time, so that tests can compare them exactly. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLenientContinuations turns the continuation checks off: a trigger POST
// is accepted whatever tool calls are pending (they are dropped), and so is a
// continuation of an execution the server never started. Use it to begin a
// test mid-execution, e.g. with a browser's continue request, or to replay
// recorded platform answers verbatim.
func WithLenientContinuations() Option { return func(c *config) { c.lenient = true } }

// WithHeartbeat makes every stream write the comment ": heartbeat" each
// interval while it is quiet (a Stall holds it), as the platform keeps its
// streams alive. The ticker starts with the stream. Tests that must not
// wait for a clock use WithHeartbeatTicks.
func WithHeartbeat(interval time.Duration) Option {
	return func(c *config) {
		if interval <= 0 {
			c.heartbeat = nil
			return
		}
		c.heartbeat = func() (<-chan time.Time, func()) {
			t := time.NewTicker(interval)
			return t.C, t.Stop
		}
	}
}

// WithHeartbeatTicks is WithHeartbeat driven by the test: each value sent
// on ticks is taken by one stalled stream, which writes one ": heartbeat"
// comment. A send therefore blocks until a stream stalls, and once it
// returns the heartbeat is that stream's next write.
func WithHeartbeatTicks(ticks <-chan time.Time) Option {
	return func(c *config) {
		c.heartbeat = func() (<-chan time.Time, func()) { return ticks, func() {} }
	}
}

// DefaultBusyRetryAfter is the Retry-After of a SESSION_BUSY answer unless
// WithBusyRetryAfter says otherwise.
const DefaultBusyRetryAfter = "1"

// WithBusyRetryAfter sets the Retry-After header of SESSION_BUSY answers
// (seconds, or an HTTP date); empty leaves the header out.
//
// A trigger POST for a session whose previous execution is still being
// answered (its handler has not returned) is answered 429 with
// {"error":"The session is busy with another run. Please try again in a
// moment.","code":"SESSION_BUSY"}, as the platform does. The next leg of the
// same execution, posted after its previous stream ended, is not busy.
func WithBusyRetryAfter(v string) Option { return func(c *config) { c.busyRetryAfter = v } }

// WithConcurrentRuns turns SESSION_BUSY off: a session accepts a trigger
// POST while another one of it is still being answered.
func WithConcurrentRuns() Option { return func(c *config) { c.concurrentRuns = true } }

// NewServer starts a fake platform. The caller must Close it.
func NewServer(opts ...Option) *Server {
	cfg := config{apiKey: DefaultAPIKey, now: time.Now, busyRetryAfter: DefaultBusyRetryAfter}
	for _, opt := range opts {
		opt(&cfg)
	}
	s := &Server{
		APIKey:         cfg.apiKey,
		now:            cfg.now,
		lenient:        cfg.lenient,
		heartbeat:      cfg.heartbeat,
		busyRetryAfter: cfg.busyRetryAfter,
		concurrentRuns: cfg.concurrentRuns,
		closing:        make(chan struct{}),
		agents:         map[string]*agentState{},
		sessions:       map[string]*session{},
		defaultScript:  cfg.script,
		counters:       map[string]int{},
		changed:        make(chan struct{}),
		files:          map[string]*uploadedFile{},
		tokens:         map[string]*token{},
		starts:         map[string]string{},
		threads:        map[string]*thread{},
		agentKeys:      map[string]string{},
		blocked:        map[string]bool{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL
	return s
}

// Close releases every stalled stream, shuts the server down and waits for
// in-flight requests to finish.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.ts.Close()
}

// Client returns an *http.Client configured for the server; Close closes its
// idle connections.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Agent describes an agent registered with AddAgent. Zero fields get defaults.
type Agent struct {
	ID          string   // default "agent_N"
	Slug        string   // default: Name lower-cased with dashes, else ID
	Name        string   // default: Slug
	Description string   // empty is served as null (list) or left out (definition)
	Format      string   // "interactive" (default) or "worker"
	ProjectID   string   // default "proj_test"
	Protocol    string   // the agent's protocol YAML, served by GET /api/agents/{id}
	Prompts     []Prompt // served by GET /api/agents/{id}
	// Script answers trigger POSTs of this agent's sessions that have no
	// script of their own. Nil falls back to the server's default script.
	// For a worker agent (Format "worker") it answers the legs of its
	// executions, POST /api/agents/{id}/execute: one script for all of
	// them, one turn per leg (start or continue), in the order they come;
	// AddAgent of the same ID starts it over.
	Script []Turn
	// WorkforceKey is the per-agent key (oct_agt_...) its workforce
	// endpoints accept; default "oct_agt_<ID>".
	WorkforceKey string
	// ThreadSteps is how the agent works through each message of a
	// workforce thread (see ThreadStep). Nil: queued, running, then
	// completed with the answer "Done.".
	ThreadSteps []ThreadStep
}

// Prompt is one prompt file of an agent definition.
type Prompt struct {
	Name    string
	Content string
}

type agentState struct {
	Agent
	createdAt    time.Time
	workerCursor int // the next turn of Script for the agent's worker executions
}

// AddAgent registers an agent (replacing one with the same ID) and returns its ID.
func (s *Server) AddAgent(a Agent) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.ID == "" {
		a.ID = s.freshIDLocked("agent", func(id string) bool { return s.agents[id] != nil })
	}
	if a.Slug == "" {
		a.Slug = strings.ToLower(strings.Join(strings.Fields(a.Name), "-"))
		if a.Slug == "" {
			a.Slug = a.ID
		}
	}
	if a.Name == "" {
		a.Name = a.Slug
	}
	if a.Format == "" {
		a.Format = "interactive"
	}
	if a.ProjectID == "" {
		a.ProjectID = "proj_test"
	}
	a.Prompts = append([]Prompt(nil), a.Prompts...)
	if a.Script != nil {
		a.Script = append([]Turn{}, a.Script...)
	}
	if a.WorkforceKey == "" {
		a.WorkforceKey = "oct_agt_" + a.ID
	}
	a.ThreadSteps = append([]ThreadStep(nil), a.ThreadSteps...)
	if old, ok := s.agents[a.ID]; !ok {
		s.agentOrder = append(s.agentOrder, a.ID)
	} else {
		delete(s.agentKeys, old.WorkforceKey)
	}
	s.agentKeys[a.WorkforceKey] = a.ID
	s.agents[a.ID] = &agentState{Agent: a, createdAt: s.now()}
	return a.ID
}

// Session describes a session created directly by a test with AddSession.
type Session struct {
	ID      string         // default "sess_N"; any string, even with "/", "?" or "#"
	AgentID string         // need not be registered
	Input   map[string]any // the session input; default {}
	// Script answers this session's trigger POSTs. Nil falls back to the
	// agent's script, then to the server's default script.
	Script []Turn
}

// AddSession creates an active session (replacing one with the same ID) and
// returns its ID. It is the test-side twin of POST /api/agent-sessions.
func (s *Server) AddSession(sess Session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.ID == "" {
		sess.ID = s.freshSessionIDLocked()
	}
	st := s.newSessionLocked(sess.ID, sess.AgentID, sess.Input)
	if sess.Script != nil {
		st.script = append([]Turn{}, sess.Script...)
	}
	return sess.ID
}

// SetScript replaces a session's script and restarts it at its first turn.
// It reports whether the session exists.
func (s *Server) SetScript(sessionID string, turns ...Turn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sessions[sessionID]
	if ok {
		st.script = append([]Turn{}, turns...)
		st.cursor = 0
	}
	return ok
}

// ExpireSession marks a session expired, as the platform does after a period
// of inactivity: GETs answer the expired shape, triggers answer 404, and
// restore brings it back. It reports whether the session exists.
func (s *Server) ExpireSession(sessionID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sessions[sessionID]
	if ok {
		st.expired = true
	}
	return ok
}

// Failure is an HTTP error answer. It is a Turn (answer one trigger POST with
// it) and the argument of FailNext and FailNextTriggers. A Failure changes no
// session state: a trigger answered with it adds no message and leaves pending
// tool calls pending.
type Failure struct {
	Status      int    // default 500
	Body        string // raw body; default {"error":"<status text>","code":"<CODE>"}
	ContentType string // default "application/json"
	RetryAfter  string // the Retry-After header, when not empty
}

func (f Failure) write(w http.ResponseWriter) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body == "" {
		writeError(w, status, http.StatusText(status))
		return
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, f.Body)
}

type fault struct {
	left         int
	failure      Failure
	triggersOnly bool
}

// FailNext answers the next n requests of any kind with f, before the API key
// check and before routing. Queued faults are used up in the order given.
func (s *Server) FailNext(n int, f Failure) { s.addFault(n, f, false) }

// FailNextTriggers answers the next n streaming POSTs with f, before the API
// key check: session triggers, deferred starts (POST
// /api/agent-sessions/start) and worker legs (POST /api/agents/{id}/execute).
// The script does not advance for them, and a deferred start creates no
// session.
func (s *Server) FailNextTriggers(n int, f Failure) { s.addFault(n, f, true) }

func (s *Server) addFault(n int, f Failure, triggersOnly bool) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{left: n, failure: f, triggersOnly: triggersOnly})
}

func (s *Server) takeFault(isTrigger bool) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.triggersOnly && !isTrigger {
			continue
		}
		f.left--
		if f.left == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f.failure, true
	}
	return Failure{}, false
}

func (s *Server) nextIDLocked(kind string) string {
	s.counters[kind]++
	return kind + "_" + strconv.Itoa(s.counters[kind])
}

// freshIDLocked is nextIDLocked, skipping ids a test has already taken.
func (s *Server) freshIDLocked(kind string, taken func(string) bool) string {
	for {
		if id := s.nextIDLocked(kind); !taken(id) {
			return id
		}
	}
}

func (s *Server) freshSessionIDLocked() string {
	return s.freshIDLocked("sess", func(id string) bool { return s.sessions[id] != nil })
}

func (s *Server) nextID(kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextIDLocked(kind)
}

// serveHTTP records the request, applies injected faults and the API key
// check, and routes on the escaped path so that a percent-encoded id is always
// one literal path segment.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, readErr := io.ReadAll(r.Body)
	rec := s.record(r, body)
	defer func() { s.served(rec, r.Context().Err() != nil) }()

	segs, pathErr := splitPath(r.URL.EscapedPath())
	if f, ok := s.takeFault(pathErr == nil && isStreamingPost(r.Method, segs)); ok {
		f.write(w)
		return
	}
	if pathErr != nil {
		writeError(w, http.StatusBadRequest, "Invalid path: "+pathErr.Error())
		return
	}
	if len(segs) == 2 && (segs[0] == "uploads" || segs[0] == "files") {
		s.serveFile(w, r, segs[0], segs[1], body) // presigned URLs carry no API key
		return
	}
	if len(segs) >= 6 && segs[0] == "api" && segs[1] == "v1" && segs[2] == "workforce" && segs[3] == "agents" && segs[5] == "threads" {
		s.serveWorkforce(w, r, rec, segs[4], segs[6:], body, readErr) // per-agent keys
		return
	}
	if !s.authorize(w, r, segs, body) {
		return
	}
	if readErr != nil {
		writeError(w, http.StatusBadRequest, "Could not read body: "+readErr.Error())
		return
	}
	route := func(method string, h func()) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeErrorCode(w, http.StatusMethodNotAllowed, "Method not allowed", "METHOD_NOT_ALLOWED")
			return
		}
		h()
	}
	switch {
	case len(segs) == 2 && segs[0] == "api" && segs[1] == "agent-sessions":
		route(http.MethodPost, func() { s.createSession(w, body) })
	case len(segs) == 3 && segs[0] == "api" && segs[1] == "agent-sessions" && segs[2] == "start" && r.Method == http.MethodPost:
		s.startSession(w, r, rec, body)
	case len(segs) == 3 && segs[0] == "api" && segs[1] == "agent-sessions":
		switch r.Method {
		case http.MethodGet:
			s.getSession(w, segs[2], r.URL.Query().Get("format") == "ui")
		case http.MethodDelete:
			s.clearSession(w, segs[2])
		default:
			w.Header().Set("Allow", "GET, DELETE")
			writeErrorCode(w, http.StatusMethodNotAllowed, "Method not allowed", "METHOD_NOT_ALLOWED")
		}
	case len(segs) == 4 && segs[0] == "api" && segs[1] == "agent-sessions" && segs[3] == "restore":
		route(http.MethodPost, func() { s.restoreSession(w, segs[2], body) })
	case len(segs) == 4 && segs[0] == "api" && segs[1] == "agent-sessions" && segs[3] == "trigger":
		route(http.MethodPost, func() { s.trigger(w, r, rec, segs[2], body) })
	case len(segs) == 4 && segs[0] == "api" && segs[1] == "agent-sessions" && segs[3] == "logs":
		route(http.MethodGet, func() { s.getLogs(w, segs[2], r.URL.Query().Get("excludeModelRequests") == "true") })
	case len(segs) == 2 && segs[0] == "api" && segs[1] == "agents":
		route(http.MethodGet, func() { s.listAgents(w) })
	case len(segs) == 3 && segs[0] == "api" && segs[1] == "agents":
		route(http.MethodGet, func() { s.getAgent(w, segs[2]) })
	case len(segs) == 4 && segs[0] == "api" && segs[1] == "agents" && segs[3] == "execute":
		route(http.MethodPost, func() { s.execute(w, r, rec, segs[2], body) })
	case len(segs) == 3 && segs[0] == "api" && segs[1] == "files" && segs[2] == "upload-urls":
		route(http.MethodPost, func() { s.uploadURLs(w, r, body) })
	case len(segs) == 2 && segs[0] == "api" && segs[1] == "tokens":
		route(http.MethodPost, func() { s.mintToken(w, body) })
	case len(segs) == 3 && segs[0] == "api" && segs[1] == "tokens" && segs[2] == "revoke":
		route(http.MethodPost, func() { s.revokeToken(w, body) })
	default:
		writeError(w, http.StatusNotFound, "Not found: "+r.URL.EscapedPath())
	}
}

// isStreamingPost reports whether a request is one FailNextTriggers
// answers: a POST that streams an agent's turn (a session trigger, a
// deferred start, a worker execution's leg).
func isStreamingPost(method string, segs []string) bool {
	if method != http.MethodPost || len(segs) < 3 || segs[0] != "api" {
		return false
	}
	switch {
	case len(segs) == 4 && segs[1] == "agent-sessions" && segs[3] == "trigger":
		return true
	case len(segs) == 3 && segs[1] == "agent-sessions" && segs[2] == "start":
		return true
	case len(segs) == 4 && segs[1] == "agents" && segs[3] == "execute":
		return true
	}
	return false
}

// splitPath splits an escaped path into its unescaped segments, without the
// leading empty one: "/api/agents/a%2Fb" gives ["api", "agents", "a/b"].
func splitPath(escaped string) ([]string, error) {
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, seg := range segs {
		un, err := url.PathUnescape(seg)
		if err != nil {
			return nil, err
		}
		segs[i] = un
	}
	return segs, nil
}
