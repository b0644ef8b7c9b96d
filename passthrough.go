package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/octavus-go/octavus/internal/wire"
)

// MaxRequestBody is the largest browser request body ReadRequest accepts
// (1 MiB); a larger one is answered 413. It is ReadRequest's limit only:
// Handler and ServeSocket, which also read the continue requests that
// carry back the server tools' results, accept up to
// HandlerOptions.MaxRequestBody and SocketOptions.MaxMessageSize
// (DefaultMaxContinueBody unless set).
const MaxRequestBody = 1 << 20

// DefaultMaxContinueBody is the default body limit of Handler and
// ServeSocket (HandlerOptions.MaxRequestBody, SocketOptions.MaxMessageSize):
// 4 MiB, the default ClientOptions.MaxContinuationBody. A continue request
// carries back the serverToolResults the client-tool-request handed the
// browser, whole, plus the browser's own results; the continuation is then
// fitted to MaxContinuationBody. With a larger MaxContinuationBody the
// default limit is that size. A round whose server results are larger
// still cannot be sent back: raise the limit, or keep tool results small.
const DefaultMaxContinueBody = 4 << 20

// defaultBodyReadTimeout is the default HandlerOptions.BodyReadTimeout.
const defaultBodyReadTimeout = 30 * time.Second

// continueBodyLimit is the body limit of Handler and ServeSocket for
// client c when none is set: the larger of DefaultMaxContinueBody and c's
// continuation budget.
func continueBodyLimit(c *Client, set int) int {
	if set > 0 {
		return set
	}
	if c != nil && c.maxBody > DefaultMaxContinueBody {
		return c.maxBody
	}
	return DefaultMaxContinueBody
}

// ReadRequest reads the passthrough body the browser posts to your route:
// the session request of DecodeSessionRequest plus "sessionId":
//
//	{"sessionId":"...","type":"trigger","triggerName":"user-message","input":{...},"rollbackAfterMessageId":"..."}
//	{"sessionId":"...","type":"continue","executionId":"...","toolResults":[...]}
//
// Its errors are *RequestError: 405 for a method other than POST, 415 for a
// body that is not application/json, 413 for a body over MaxRequestBody,
// 400 for malformed JSON or a missing or mistyped field (the message names
// it). Answer them with WriteRequestError. It never calls the platform.
//
// A body that is not valid UTF-8, a "sessionId" holding a control
// character, and a continue request that names one tool call id twice are
// refused 400 too.
func ReadRequest(r *http.Request) (sessionID string, req SessionRequest, err error) {
	return readRequest(r, false, MaxRequestBody)
}

// readRequest is ReadRequest with a body limit of maxBody bytes; with
// optionalSession a trigger without "sessionId" is read with sessionID "".
func readRequest(r *http.Request, optionalSession bool, maxBody int) (sessionID string, req SessionRequest, err error) {
	if r.Method != http.MethodPost {
		return "", nil, &RequestError{Status: http.StatusMethodNotAllowed, Message: "method must be POST"}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", nil, &RequestError{Status: http.StatusUnsupportedMediaType, Message: "Content-Type must be application/json"}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, int64(maxBody)+1))
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return "", nil, &RequestError{Status: http.StatusRequestTimeout, Message: "body was not received in time"}
		}
		return "", nil, badRequest("reading body: %v", err)
	}
	if len(data) > maxBody {
		return "", nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Message: "body is larger than " + sizeText(maxBody)}
	}
	if !json.Valid(data) {
		return "", nil, badRequest("body is not valid JSON")
	}
	if !utf8.Valid(data) {
		return "", nil, badRequest("body is not valid UTF-8")
	}
	o, err := wire.Decode(data)
	if err != nil {
		return "", nil, badRequest("body must be a JSON object")
	}
	if optionalSession && o.Kind("sessionId") == 0 {
		req, err = sessionRequestFrom(o)
		if err != nil {
			return "", nil, err
		}
		if _, ok := req.(TriggerRequest); ok {
			return "", req, nil
		}
		// A continue needs the session it continues.
	}
	if o.Kind("sessionId") != '"' {
		return "", nil, badRequest(`"sessionId" is required and must be a string`)
	}
	sessionID = o.String("sessionId")
	if err := checkSessionID(sessionID); err != nil {
		return "", nil, err
	}
	req, err = sessionRequestFrom(o)
	if err != nil {
		return "", nil, err
	}
	return sessionID, req, nil
}

// checkSessionID refuses a session id the browser sent that is empty or
// holds a control character (a newline, a NUL, ...): no platform id has
// one, and it would only be escaped into the request URL.
func checkSessionID(id string) error {
	if id == "" {
		return badRequest(`"sessionId" must not be empty`)
	}
	for _, c := range id {
		if unicode.IsControl(c) {
			return badRequest(`"sessionId" must not contain control characters`)
		}
	}
	return nil
}

// sizeText is n bytes as the limit messages say it: "1 MiB", "4 MiB", or
// "N bytes".
func sizeText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.Itoa(n>>20) + " MiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// WriteRequestError answers err as JSON {"error": "..."}: with its status
// when it is a *RequestError, 400 otherwise. A RequestError status that is
// not a client error (outside 400-499: zero, which net/http refuses with a
// panic, or a 2xx that would pass the error off as a success) is answered
// 400.
func WriteRequestError(w http.ResponseWriter, err error) {
	status, msg := http.StatusBadRequest, err.Error()
	var re *RequestError
	if errors.As(err, &re) {
		status, msg = re.Status, re.Message
		if status < 400 || status > 499 {
			status = http.StatusBadRequest
		}
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := marshalJSON(struct {
		Error string `json:"error"`
	}{msg})
	_, _ = w.Write(b)
}

// HandlerOptions configure AgentSessionsAPI.Handler.
type HandlerOptions struct {
	// Tools and Resources are attached to the session of every request.
	Tools     ToolHandlers
	Resources []Resource
	// Authorize, when set, is called before anything is sent to the
	// platform: check there that the signed-in user owns sessionID. A
	// *RequestError is answered with its status and message (a status
	// outside 400-499, such as a zero one, is answered 403: a refusal of
	// the hook is never a success nor a server error); any other error
	// with 403 {"error":"Forbidden"}.
	Authorize func(r *http.Request, sessionID string) error
	// Sender, when set, returns the author of a trigger: the signed-in
	// user, stamped on the user message and returned as UIMessage.Sender.
	// It is called after Authorize, for trigger requests only (a continue
	// carries no sender). The browser's own "sender" key is never used. A
	// nil sender sends none; an error is answered as Authorize's (a
	// *RequestError with its status and message, any other with 403).
	Sender func(r *http.Request, sessionID string) (*MessageSender, error)

	// Start, when set, serves deferred sessions: a trigger whose body has
	// no "sessionId" runs on AgentSessionsAPI.Start(opts) with the
	// StartOptions it returns (AgentID, session Input, OnSessionCreated to
	// persist the new id, ...), instead of being refused 400. Check the
	// signed-in user there: Authorize is not called for it (there is no
	// session to own yet), Sender is, with sessionID "". An error is
	// answered as Authorize's. The returned AttachOptions fields left
	// zero are taken from these options (Tools, Resources, ToolTimeout,
	// MaxConcurrentTools, OnToolResults; RejectClientTools when either
	// sets it). The browser learns the id from the stream's start event
	// (its sessionId) when the platform sends it, and from you otherwise.
	// A continue without "sessionId" is still refused.
	Start func(r *http.Request) (StartOptions, error)

	// ToolTimeout, MaxConcurrentTools, RejectClientTools and
	// OnToolResults are the AttachOptions of the same names.
	ToolTimeout        time.Duration
	MaxConcurrentTools int
	RejectClientTools  bool
	OnToolResults      func(ctx context.Context, results []ToolResult) error
	// Heartbeat and WriteTimeout are the SSEOptions of the response
	// stream. (The Handler moves the write deadline at most every
	// WriteTimeout/8, so each write has at least 7/8 of it.)
	Heartbeat    time.Duration
	WriteTimeout time.Duration
	// Hijack makes an open stream cheaper: an HTTP/1.x request's
	// connection is taken from net/http (http.ResponseController.Hijack)
	// once the request is read and checked, the response head is written
	// on it, the handler returns and a goroutine of the SDK writes the
	// stream straight to the connection. net/http then lets go of the
	// connection's read and write buffers, the response's buffer and its
	// goroutines: about 15 KiB and one goroutine less per open stream (43 KiB
	// by default, 28 KiB with Hijack, at 2,000 idle streams in go run ./bench).
	// The body is byte for byte the usual one, and the errors
	// answered before the stream starts (400, 403, 408, 413, ...) are
	// answered as usual, by net/http.
	//
	// The trade-offs:
	//   - HTTP/1.x only: HTTP/2 requests, and ResponseWriters that cannot
	//     hijack (httptest.ResponseRecorder, a middleware whose writer
	//     hides http.Hijacker), are served the usual way.
	//   - The response is close-delimited (Connection: close, no
	//     chunking): the connection is closed after [DONE], not reused.
	//   - http.Server.Shutdown neither waits for nor closes hijacked
	//     streams, as for any hijacked connection, and Close does not
	//     close them: the Handler's own Shutdown method drains them. Call
	//     it after the server's:
	//
	//	h := client.AgentSessions.Handler(octavus.HandlerOptions{Hijack: true})
	//	...
	//	_ = srv.Shutdown(ctx)
	//	_ = h.Shutdown(ctx)
	//
	//   - A middleware that wraps the ResponseWriter (to log the status
	//     or count bytes) sees no status and no body; the headers it set
	//     before calling the Handler are sent. A response a middleware
	//     set a Content-Encoding for (to compress it) is not hijacked.
	//   - net/http's background read, which notices that the browser
	//     left (a closed tab, the client's stop()), is gone. On Linux the
	//     Handler watches the hijacked connections itself, with an epoll
	//     set and one goroutine while any stream is open: the leaving is
	//     noticed at once and the platform request cancelled, as on the
	//     usual path. That needs the connection (or the one under a
	//     *tls.Conn, NetConn) to be a syscall.Conn: behind a listener
	//     wrapper whose connections are not (netutil.LimitListener, a
	//     PROXY-protocol listener), on other Unix systems, or if epoll
	//     cannot be set up, it is noticed at the next write or heartbeat
	//     tick, by a look at the socket (within Heartbeat, which must then
	//     stay on); on Windows only at a failed write. Until then the
	//     platform request runs on and the session is busy for a next
	//     trigger. On Linux a browser that keeps sending on its stream
	//     (past 256 KiB) is served no more. The execution's context keeps
	//     the request context's values, not its cancellation.
	//   - WriteTimeout bounds each write as usual, but a negative one
	//     leaves no deadline at all: the hijack clears the server's
	//     (http.Server.WriteTimeout, ReadTimeout).
	//   - A panic that escapes the execution is logged to
	//     http.Server.ErrorLog and closes the connection, as net/http
	//     does for a handler's.
	Hijack bool

	// MaxRequestBody bounds the browser's request body, in bytes; a
	// larger one is answered 413. A continue request carries back the
	// server tools' results handed to the browser (see
	// DefaultMaxContinueBody). Zero means the larger of
	// DefaultMaxContinueBody (4 MiB) and the client's
	// MaxContinuationBody.
	MaxRequestBody int
	// BodyReadTimeout bounds the time to read the request body (through
	// http.ResponseController's read deadline, cleared once it is read),
	// so that a browser trickling its body does not hold the handler when
	// the server sets no http.Server.ReadTimeout; a body not read in time
	// is answered 408. Zero means 30 s; negative leaves the connection's
	// deadline alone. A ResponseWriter that does not support deadlines is
	// read without one.
	BodyReadTimeout time.Duration
}

// writeHookError answers the error of a HandlerOptions hook: a
// *RequestError with its status and message, any other error with 403
// {"error":"Forbidden"} (its text may hold details the browser must not
// see).
//
// A *RequestError whose status is not a client error (outside 400-499,
// zero included) is answered 403 with its message.
func writeHookError(w http.ResponseWriter, err error) {
	var re *RequestError
	switch {
	case !errors.As(err, &re):
		err = &RequestError{Status: http.StatusForbidden, Message: "Forbidden"}
	case re.Status < 400 || re.Status > 499:
		err = &RequestError{Status: http.StatusForbidden, Message: re.Message}
	}
	WriteRequestError(w, err)
}

// withDefaults returns o with its zero fields taken from d.
func (o AttachOptions) withDefaults(d AttachOptions) AttachOptions {
	if o.Tools == nil {
		o.Tools = d.Tools
	}
	if o.Resources == nil {
		o.Resources = d.Resources
	}
	if o.ToolTimeout == 0 {
		o.ToolTimeout = d.ToolTimeout
	}
	if o.MaxConcurrentTools == 0 {
		o.MaxConcurrentTools = d.MaxConcurrentTools
	}
	o.RejectClientTools = o.RejectClientTools || d.RejectClientTools
	if o.OnToolResults == nil {
		o.OnToolResults = d.OnToolResults
	}
	return o
}

// Handler returns the passthrough route of the HTTP transport in one call:
// it reads the browser's request (ReadRequest; malformed ones are answered
// 4xx without calling the platform), checks it with opts.Authorize, sets a
// trigger's sender from opts.Sender, attaches to its session with opts'
// tools and resources, refuses a continue request whose signed results
// were changed (AgentSession.CheckRequest, 400), and streams Execute's
// events back as ToSSEStream would, cancelling the execution when the
// browser goes away. The execution runs in the handler's goroutine and
// writes its events itself, batched per platform read (ToSSEStream's bytes
// exactly, one goroutine and one hand-over fewer per stream: the cost of
// an open stream is net/http's connection plus about 10 KiB). With
// opts.Start set, a trigger without "sessionId" creates
// its session (a deferred session, see HandlerOptions.Start).
//
// Unlike ReadRequest it accepts bodies up to HandlerOptions.MaxRequestBody
// (4 MiB by default, room for the server results a continue carries back)
// and reads the body under its own deadline (HandlerOptions.BodyReadTimeout,
// 30 s: 408 when it passes), so that a trickling browser does not hold it
// on a server without http.Server.ReadTimeout. A hook's *RequestError with
// a status outside 400-499 is answered 403.
//
//	http.Handle("POST /api/trigger", client.AgentSessions.Handler(octavus.HandlerOptions{Tools: tools}))
func (a *AgentSessionsAPI) Handler(opts HandlerOptions) *PassthroughHandler {
	attach := AttachOptions{
		Tools:              opts.Tools,
		Resources:          opts.Resources,
		ToolTimeout:        opts.ToolTimeout,
		MaxConcurrentTools: opts.MaxConcurrentTools,
		RejectClientTools:  opts.RejectClientTools,
		OnToolResults:      opts.OnToolResults,
	}
	sse := SSEOptions{Heartbeat: opts.Heartbeat, WriteTimeout: opts.WriteTimeout}
	maxBody := continueBodyLimit(a.c, opts.MaxRequestBody)
	readTimeout := orDefault(opts.BodyReadTimeout, defaultBodyReadTimeout)
	h := &PassthroughHandler{a: a, opts: opts, attach: attach, sse: sse, maxBody: maxBody, readTimeout: readTimeout}
	if opts.Hijack {
		h.hijacked = &hijackedStreams{}
	}
	return h
}

// PassthroughHandler is the passthrough route that
// AgentSessionsAPI.Handler returns: an http.Handler, whose Shutdown drains
// the streams HandlerOptions.Hijack took from net/http.
type PassthroughHandler struct {
	a           *AgentSessionsAPI
	opts        HandlerOptions
	attach      AttachOptions
	sse         SSEOptions
	maxBody     int
	readTimeout time.Duration
	hijacked    *hijackedStreams // with HandlerOptions.Hijack
}

// ServeHTTP reads and checks the request (prepare), then streams its
// execution. The two are apart so that the request's decoding is off the
// goroutine's stack while it streams (an idle stream's stack is what its
// deepest wait holds).
func (h *PassthroughHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	session, req := h.prepare(w, r)
	if session == nil {
		return
	}
	session.serveSSE(w, r, req, h.sse, h.hijacked)
}

// prepare reads the request, runs the hooks and attaches (or starts) the
// session. A nil session means the request was answered (an error).
func (h *PassthroughHandler) prepare(w http.ResponseWriter, r *http.Request) (*AgentSession, SessionRequest) {
	sessionID, req, err := readBody(w, r, h.opts.Start != nil, h.maxBody, h.readTimeout)
	if err != nil {
		WriteRequestError(w, err)
		return nil, nil
	}
	var start *StartOptions
	if sessionID == "" {
		so, err := h.opts.Start(r)
		if err != nil {
			writeHookError(w, err)
			return nil, nil
		}
		so.AttachOptions = so.AttachOptions.withDefaults(h.attach)
		start = &so
	} else if h.opts.Authorize != nil {
		if err := h.opts.Authorize(r, sessionID); err != nil {
			writeHookError(w, err)
			return nil, nil
		}
	}
	if tr, ok := req.(TriggerRequest); ok && h.opts.Sender != nil {
		sender, err := h.opts.Sender(r, sessionID)
		if err != nil {
			writeHookError(w, err)
			return nil, nil
		}
		tr.Sender = sender
		req = tr
	}
	var session *AgentSession
	if start != nil {
		session = h.a.Start(*start)
	} else {
		session = h.a.Attach(sessionID, h.attach)
	}
	if err := session.CheckRequest(req); err != nil {
		WriteRequestError(w, err)
		return nil, nil
	}
	return session, req
}

// readBody is readRequest under a read deadline of timeout (none when it
// is zero or the writer cannot set one), cleared once the body is read so
// that the stream that follows is not cut.
func readBody(w http.ResponseWriter, r *http.Request, optionalSession bool, maxBody int, timeout time.Duration) (string, SessionRequest, error) {
	if timeout <= 0 {
		return readRequest(r, optionalSession, maxBody)
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(timeout)) != nil {
		return readRequest(r, optionalSession, maxBody)
	}
	sessionID, req, err := readRequest(r, optionalSession, maxBody)
	if err == nil {
		_ = rc.SetReadDeadline(time.Time{})
		return sessionID, req, err
	}
	// The deadline stays: net/http reads what is left of the body before
	// it writes an answer on a connection it keeps, and with no deadline
	// a trickling browser would hold it and never get the answer. An
	// answer given before the whole body was read (405, 408, 413, 415)
	// closes an HTTP/1.x connection instead of reading on (HTTP/2 resets
	// the stream alone: the header would end the browser's connection).
	var re *RequestError
	if errors.As(err, &re) && r.ProtoMajor == 1 {
		switch re.Status {
		case http.StatusMethodNotAllowed, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			w.Header().Set("Connection", "close")
		}
	}
	return sessionID, req, err
}
