package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/octavus-go/octavus/internal/wire"
)

// SocketConn is one message-oriented connection to a browser, such as a
// WebSocket or a SockJS connection: the other end of @octavus/client-sdk's
// createSocketTransport. Adapt your WebSocket library's connection to it in
// a few lines (examples/socket does it for github.com/coder/websocket).
//
// ServeSocket calls Read from one goroutine and Write from another, so the
// two may run at the same time; it never calls Read concurrently with Read,
// nor Write with Write.
type SocketConn interface {
	// Read returns the next message the browser sent (a JSON text). It
	// must return when ctx is done. It returns io.EOF when the browser
	// closed the connection normally; any error ends ServeSocket.
	Read(ctx context.Context) ([]byte, error)
	// Write sends msg, one JSON text, as one text message. It must return
	// when ctx is done. An error ends ServeSocket.
	Write(ctx context.Context, msg []byte) error
}

// ServeSocket serves one socket connection of the browser's socket
// transport (@octavus/client-sdk's createSocketTransport) until the browser
// closes it, Read or Write fails, or ctx is done. It is the Go form of the
// docs' socket handler. The browser sends JSON messages:
//
//	{"type":"trigger","triggerName":"user-message","input":{...}}
//	{"type":"continue","executionId":"...","toolResults":[...]}
//	{"type":"stop"}
//	{"type":"init","sessionId":"..."}   (only for client-provided session ids)
//
// and reads back each StreamEvent of the execution as one JSON text message
// (no SSE framing, no [DONE]: the client's stream ends at finish or error).
//
// Trigger and continue messages are read with the same rules as
// DecodeSessionRequest (a trigger's rollbackAfterMessageId, sent by the
// client's retry(), is passed on; its "sender" is ignored: attach the
// session with AttachOptions.Sender set from the signed-in user) and run
// with AgentSession.Execute, one at a time: a
// new trigger or continue cancels the running execution and waits for it
// to end before the next one starts, so their messages never interleave;
// stop cancels the running execution. Once an execution is cancelled this
// way, none of its remaining events is written, not even its finish {stop}:
// the official client stops listening as it sends stop (and OctavusChat.send
// sends stop before every trigger), so a late finish would end the client's
// next stream instead.
//
// A malformed message (not a JSON object, an unknown "type", a missing or
// mistyped field, over SocketOptions.MaxMessageSize, not valid UTF-8, an
// init "sessionId" with a control character, a continue answering one call
// id twice) is answered with a validation_error
// ErrorEvent and the connection goes on; nothing reaches the platform. Note
// that the official client ends its current stream at any error event.
//
// session returns the session the messages run on. ServeSocket calls it
// with sessionID "" for the first trigger (create the session there: the
// docs' recommended server-managed sessions, created lazily; or return a
// deferred session, AgentSessionsAPI.Start, which the trigger itself
// creates on the platform, saving the Create call), and with the
// message's sessionId for each init message (check that the signed-in user
// owns it, then attach). Its result is kept for the following messages; it
// is not called again for a trigger once it has returned a session. When it
// fails, the browser gets an error event and the next trigger calls it
// again: a *RequestError becomes the error event of its status (as
// NewAPIErrorEvent), so return &RequestError{Status: 400, Message: "Session
// not initialized. Send init message first."} to require an init message as
// the docs' example does; an *APIError (a failed Create) the error event of
// its status; an *OctavusError its own event; any other error a generic
// internal_error (log the details yourself, they do not reach the browser).
// A continue message before any session is refused with a validation_error.
//
// Each execution's context is derived from ctx (tool handlers see its
// values) and is cancelled when it is stopped, superseded, or when
// ServeSocket returns. ServeSocket returns nil when Read returned io.EOF,
// ctx's cause when ctx is done, the Write error wrapped when a Write
// failed, and Read's error otherwise. Before it returns, the running
// execution has been cancelled and has ended, and so has every goroutine
// ServeSocket started (a tool handler that ignores its context may still
// be finishing, as with Execute). Close the connection afterwards.
//
// ServeSocketWith is the same with hooks (SocketOptions.OnFinish).
func ServeSocket(ctx context.Context, conn SocketConn, session func(ctx context.Context, sessionID string) (*AgentSession, error)) error {
	if session == nil {
		panic("octavus: ServeSocket: nil session func")
	}
	return serveSocket(ctx, conn, nil, SocketOptions{Session: session})
}

// SocketOptions configure ServeSocketWith, the form of ServeSocket with
// hooks.
type SocketOptions struct {
	// Session is ServeSocket's session func: it returns the session the
	// messages run on (see ServeSocket). Required by the ServeSocketWith
	// function; AgentSession.ServeSocketWith ignores it. It may return a
	// deferred session (AgentSessionsAPI.Start) when called with
	// sessionID "": the first trigger creates the platform session, and the
	// connection's later messages run on it.
	Session func(ctx context.Context, sessionID string) (*AgentSession, error)
	// OnFinish, when set, is called after each execution whose events
	// were all written without being stopped, superseded or cut by the end
	// of the connection (6.4.0's SocketMessageHandlers.onFinish): an
	// execution that ended with finish, with an error event or with a
	// client-tool-request. Persist the session's messages there, for
	// instance. s is the session the execution ran on (its SessionID is
	// known by then for a deferred session that was created). ctx is
	// ServeSocket's, cancelled when it returns.
	//
	// It runs before the connection's next trigger or continue starts
	// (which waits for it) and before ServeSocket returns; the browser
	// may already be sending. An error (or a panic) is logged and the
	// connection goes on: unlike 6.4.0, which sends it as an error event,
	// no event follows the execution's last one, which would end the
	// browser's next stream.
	OnFinish func(ctx context.Context, s *AgentSession) error
	// MaxMessageSize bounds one message of the browser, in bytes; a
	// larger one is answered with a validation_error event. A continue
	// message carries back the server tools' results handed to the
	// browser (see DefaultMaxContinueBody). Zero means the larger of
	// DefaultMaxContinueBody (4 MiB) and the session client's
	// MaxContinuationBody. Bound the frames your WebSocket library reads
	// to at least this much (coder/websocket's SetReadLimit).
	MaxMessageSize int
}

// ServeSocketWith is ServeSocket with the hooks of opts; opts.Session is
// the session func (required).
func ServeSocketWith(ctx context.Context, conn SocketConn, opts SocketOptions) error {
	if opts.Session == nil {
		panic("octavus: ServeSocketWith: nil SocketOptions.Session")
	}
	return serveSocket(ctx, conn, nil, opts)
}

// ServeSocket serves one socket connection whose messages all run on s: use
// it when the session is known when the browser connects (for instance
// from the URL, after checking that the user owns it). See the ServeSocket
// function for the protocol. An init message naming another session is
// refused with a permission_error event.
func (s *AgentSession) ServeSocket(ctx context.Context, conn SocketConn) error {
	return s.ServeSocketWith(ctx, conn, SocketOptions{})
}

// ServeSocketWith is AgentSession.ServeSocket with the hooks of opts
// (opts.Session is not used).
func (s *AgentSession) ServeSocketWith(ctx context.Context, conn SocketConn, opts SocketOptions) error {
	opts.Session = func(_ context.Context, sessionID string) (*AgentSession, error) {
		if sessionID != "" && sessionID != s.SessionID() {
			return nil, &RequestError{Status: http.StatusForbidden, Message: "This connection serves another session"}
		}
		return s, nil
	}
	return serveSocket(ctx, conn, s, opts)
}

// socketServer is the state of one ServeSocket call. Only the reading
// goroutine touches session and current.
type socketServer struct {
	conn       SocketConn
	ctx        context.Context // done when ServeSocket ends or a Write failed
	end        context.CancelCauseFunc
	newSession func(ctx context.Context, sessionID string) (*AgentSession, error)
	onFinish   func(ctx context.Context, s *AgentSession) error
	maxMsg     int // SocketOptions.MaxMessageSize

	session *AgentSession
	current *socketRun // the last execution started; nil before the first

	wmu sync.Mutex // one Write at a time
}

// socketRun is one execution and the goroutine writing its events.
type socketRun struct {
	cancel context.CancelFunc
	// dropped is set once the execution is stopped or superseded: its
	// remaining events are not written.
	dropped atomic.Bool
	done    chan struct{} // closed when its events are all consumed
}

func serveSocket(ctx context.Context, conn SocketConn, s *AgentSession, opts SocketOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, end := context.WithCancelCause(ctx)
	srv := &socketServer{conn: conn, ctx: ctx, end: end, newSession: opts.Session, onFinish: opts.OnFinish, maxMsg: opts.MaxMessageSize, session: s}
	defer func() {
		end(nil) // a Write still in progress returns
		srv.stopCurrent()
	}()
	return srv.loop()
}

func (srv *socketServer) loop() error {
	for {
		msg, err := srv.conn.Read(srv.ctx)
		if err != nil {
			if srv.ctx.Err() != nil {
				return context.Cause(srv.ctx)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		srv.handle(msg)
	}
}

// handle acts on one message of the browser.
func (srv *socketServer) handle(msg []byte) {
	var c *Client
	if srv.session != nil {
		c = srv.session.c
	}
	m, err := decodeSocketMessage(msg, continueBodyLimit(c, srv.maxMsg))
	if err != nil {
		message := err.Error()
		var re *RequestError
		if errors.As(err, &re) {
			message = re.Message
		}
		srv.write(nil, NewErrorEvent(ErrorOptions{ErrorType: ErrorTypeValidation, Message: message, Source: ErrorSourcePlatform}))
		return
	}
	switch {
	case m.stop:
		if srv.current != nil {
			srv.current.drop()
		}
	case m.init:
		srv.resolveSession(m.sessionID)
	default:
		if srv.session == nil {
			if _, isContinue := m.req.(ContinueRequest); isContinue {
				srv.write(nil, NewErrorEvent(ErrorOptions{
					ErrorType: ErrorTypeValidation,
					Message:   "Session not initialized. Send a trigger or an init message first.",
					Source:    ErrorSourcePlatform,
				}))
				return
			}
			if !srv.resolveSession("") {
				return
			}
		}
		srv.stopCurrent()
		srv.start(m.req)
	}
}

// resolveSession asks for the session of sessionID ("" for the first
// trigger) and keeps it; on failure it tells the browser and reports false.
func (srv *socketServer) resolveSession(sessionID string) bool {
	s, err := srv.newSession(srv.ctx, sessionID)
	if err == nil && s == nil {
		err = errors.New("no session")
	}
	if err != nil {
		srv.write(nil, sessionErrorEvent(err))
		return false
	}
	srv.session = s
	return true
}

// sessionErrorEvent is the error event the browser gets when the session
// func failed.
func sessionErrorEvent(err error) *ErrorEvent {
	var re *RequestError
	var apiErr *APIError
	var oe *OctavusError
	switch {
	case errors.As(err, &re):
		return NewAPIErrorEvent(re.Status, re.Message)
	case errors.As(err, &apiErr):
		return NewAPIErrorEvent(apiErr.Status, apiErr.Message)
	case errors.As(err, &oe):
		return oe.ToStreamEvent()
	}
	return NewInternalErrorEvent("Failed to start the session")
}

// start runs req on the session, its events written by a new goroutine.
func (srv *socketServer) start(req SessionRequest) {
	ctx, cancel := context.WithCancel(srv.ctx)
	run := &socketRun{cancel: cancel, done: make(chan struct{})}
	session := srv.session
	events := session.Execute(ctx, req)
	srv.current = run
	go func() {
		defer close(run.done)
		defer cancel()
		for ev := range events {
			if !run.dropped.Load() {
				srv.write(run, ev)
			}
		}
		if srv.onFinish != nil && !run.dropped.Load() && srv.ctx.Err() == nil {
			srv.finish(session)
		}
	}()
}

// finish runs SocketOptions.OnFinish for an execution of s that ended.
func (srv *socketServer) finish(s *AgentSession) {
	defer func() {
		if v := recover(); v != nil {
			s.c.log.Error("octavus: socket OnFinish panicked", "session", s.SessionID(), "panic", v, "stack", string(debug.Stack()))
		}
	}()
	if err := srv.onFinish(srv.ctx, s); err != nil {
		s.c.log.Error("octavus: socket OnFinish failed", "session", s.SessionID(), "error", err)
	}
}

// drop cancels the execution and stops the writing of its events.
func (r *socketRun) drop() {
	r.dropped.Store(true)
	r.cancel()
}

// stopCurrent cancels the running execution, if any, and waits until its
// events are all consumed.
func (srv *socketServer) stopCurrent() {
	if srv.current != nil {
		srv.current.drop()
		<-srv.current.done
		srv.current = nil
	}
}

// write sends ev as one message, unless it belongs to run (not nil) and run
// was dropped. An event that cannot be encoded is replaced by an
// internal_error event and ends run. A failed Write ends the connection.
func (srv *socketServer) write(run *socketRun, ev StreamEvent) {
	b, err := socketFrame(ev)
	if err != nil {
		b, _ = socketFrame(NewInternalErrorEvent("Failed to encode a stream event: " + err.Error()))
		if run != nil {
			defer run.drop()
		}
	}
	srv.wmu.Lock()
	defer srv.wmu.Unlock()
	if run != nil && run.dropped.Load() {
		return
	}
	if srv.ctx.Err() != nil {
		// ServeSocket is ending (its ctx is done): nothing more goes out,
		// in particular not the finish {stop} of the execution that ctx
		// cancelled. A Write may still succeed on a done ctx
		// (coder/websocket picks at random between its lock and ctx).
		return
	}
	if err := srv.conn.Write(srv.ctx, b); err != nil {
		srv.end(fmt.Errorf("octavus: writing to the socket: %w", err))
		if run != nil {
			run.drop()
		}
	}
}

// socketFrame encodes ev as the JSON text of one message, with the encoder
// of the SSE writer.
func socketFrame(ev StreamEvent) ([]byte, error) {
	if ev == nil {
		return nil, errNilEvent
	}
	return marshalJSON(ev)
}

// socketMessage is one decoded message of the browser.
type socketMessage struct {
	stop      bool
	init      bool
	sessionID string         // of an init message
	req       SessionRequest // of a trigger or continue message
}

// decodeSocketMessage reads one message of the socket protocol. Trigger and
// continue messages are read by the decoder of DecodeSessionRequest. Errors
// are *RequestError.
func decodeSocketMessage(data []byte, maxSize int) (socketMessage, error) {
	if len(data) > maxSize {
		return socketMessage{}, &RequestError{Status: http.StatusRequestEntityTooLarge, Message: "message is larger than " + sizeText(maxSize)}
	}
	if !json.Valid(data) {
		return socketMessage{}, badRequest("message is not valid JSON")
	}
	if !utf8.Valid(data) {
		return socketMessage{}, badRequest("message is not valid UTF-8")
	}
	o, err := wire.Decode(data)
	if err != nil {
		return socketMessage{}, badRequest("message must be a JSON object")
	}
	if o.Has("type") {
		t, _ := o.OptString("type")
		switch t {
		case "stop":
			return socketMessage{stop: true}, nil
		case "init":
			if o.Kind("sessionId") != '"' {
				return socketMessage{}, badRequest(`"sessionId" is required and must be a string`)
			}
			id := o.String("sessionId")
			if err := checkSessionID(id); err != nil {
				return socketMessage{}, err
			}
			return socketMessage{init: true, sessionID: id}, nil
		case "trigger", "continue":
		default: // another string, or not a string

			return socketMessage{}, badRequest(`"type" must be "trigger", "continue", "stop" or "init"`)
		}
	}
	req, err := sessionRequestFrom(o)
	if err != nil {
		return socketMessage{}, err
	}
	return socketMessage{req: req}, nil
}
