package octavus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Executions runs executions detached from the request that started them,
// each logged, event by event, in an ExecutionStore, so that a browser can
// leave and come back (a reload, another replica behind a load balancer)
// and read what it missed, then the live tail: the backend half of
// @octavus/client-sdk's createPollingTransport and observe(), and of SSE
// resume with Last-Event-ID. NewPollingHandler serves it over HTTP.
//
// Each session runs one execution at a time, and its log holds the events
// of its current or latest execution, cursor 0 being its first event. An
// execution goes on when the browser leaves; it ends by itself, by Stop
// (from any replica on the same store), by ExecutionsOptions.MaxDuration,
// or by Shutdown. Only the replica that started an execution runs it, its
// server tool rounds included: nothing runs twice. It holds a lease in the
// store, renewed while it runs; if the replica dies, the lease runs out,
// and the next reader or trigger of the session closes the log with a
// retryable error event, so that no poller waits forever and the session
// can run again.
//
// Under the polling transport the browser cannot run tools
// (continueWithToolResults is not supported): every tool must have a
// handler on the server. A tool call without one ends the execution with
// an error event that says so.
//
// Make one with NewExecutions; it is safe for concurrent use. Call
// Shutdown (or Close) before the process exits.
type Executions struct {
	c          *Client
	store      ExecutionStore
	attach     func(ctx context.Context, sessionID string) (*AgentSession, error)
	busy       BusyPolicy
	maxDur     time.Duration
	lease      time.Duration
	renewEvery time.Duration
	owner      string
	log        *slog.Logger

	mu     sync.Mutex
	closed bool
	runs   map[string]*detachedRun // by session id: the executions this replica runs
	wg     sync.WaitGroup
}

// BusyPolicy says what Executions.Start does when the session already runs
// an execution.
type BusyPolicy int

const (
	// BusyReject answers as the platform does: Start returns an *APIError
	// with status 429 and code SESSION_BUSY (see IsSessionBusyError).
	BusyReject BusyPolicy = iota
	// BusyWait waits until the running execution ended (or Start's ctx is
	// done), then starts.
	BusyWait
)

// ExecutionsOptions configure NewExecutions. The zero value works.
type ExecutionsOptions struct {
	// Store keeps the logs. Nil means a new in-memory store with default
	// retention (NewMemoryStore): executions are then seen by this process
	// only. Give every replica the same shared store (redisstore) to serve
	// any session from any replica.
	Store ExecutionStore
	// Attach returns the attached session an execution runs on, with its
	// tools. ctx is Start's (the HTTP request's, whose values, such as the
	// signed-in user, it carries; it is not cancelled with the request
	// once the execution runs). Nil attaches with Tools.
	Attach func(ctx context.Context, sessionID string) (*AgentSession, error)
	// Tools are the server tools of the default Attach.
	Tools ToolHandlers
	// Busy is what Start does while the session runs another execution:
	// BusyReject (the zero value) or BusyWait.
	Busy BusyPolicy
	// MaxDuration bounds an execution: past it, it is cancelled and its log
	// ends with a non-retryable internal_error event saying so. Zero means
	// 30 minutes; negative means no limit.
	MaxDuration time.Duration
	// Lease is how long an execution counts as alive in the store without
	// a renewal. Zero or negative means 10 s. The lease is renewed on its
	// own timer, apart from the writes of the events; each write and each
	// renewal is bounded by half a lease (at most 10 s): a write that
	// takes longer fails the execution.
	Lease time.Duration
	// RenewInterval is how often the running execution renews its lease
	// and looks for a stop requested through another replica. Zero or
	// negative means a tenth of Lease (1 s by default). It is clamped to
	// [1ms, Lease/2], so that a renewal comes well within each lease.
	RenewInterval time.Duration
	// Owner names this replica in the store. Empty means the host name,
	// the process id and a random suffix.
	Owner string
	// Logger receives the store errors and the ends of executions. Nil
	// means the client's logger (ClientOptions.Logger), else slog.Default().
	Logger *slog.Logger
}

const (
	defaultMaxDuration = 30 * time.Minute
	defaultLease       = 10 * time.Second
	// appendBatch bounds the events one Append writes.
	appendBatch = 256
	// finishTimeout bounds the store calls that close a log.
	finishTimeout = 10 * time.Second
)

// NewExecutions returns an Executions that runs executions of client's
// sessions. client may be nil when opts.Attach is set.
func NewExecutions(client *Client, opts ExecutionsOptions) *Executions {
	e := &Executions{
		c:      client,
		store:  opts.Store,
		attach: opts.Attach,
		busy:   opts.Busy,
		maxDur: orDefault(opts.MaxDuration, defaultMaxDuration),
		lease:  opts.Lease,
		owner:  opts.Owner,
		log:    opts.Logger,
		runs:   map[string]*detachedRun{},
	}
	if e.lease <= 0 {
		e.lease = defaultLease
	}
	e.renewEvery = opts.RenewInterval
	if e.renewEvery <= 0 {
		e.renewEvery = e.lease / 10
	}
	e.renewEvery = max(min(e.renewEvery, e.lease/2), time.Millisecond)
	if e.store == nil {
		e.store = NewMemoryStore(MemoryStoreOptions{})
	}
	if e.attach == nil {
		tools := opts.Tools
		e.attach = func(_ context.Context, sessionID string) (*AgentSession, error) {
			if client == nil {
				return nil, errors.New("octavus: NewExecutions needs a client or ExecutionsOptions.Attach")
			}
			return client.AgentSessions.Attach(sessionID, AttachOptions{Tools: tools}), nil
		}
	}
	if e.owner == "" {
		host, _ := os.Hostname()
		e.owner = host + "-" + strconv.Itoa(os.Getpid()) + "-" + GenerateID()
	}
	if e.log == nil {
		if client != nil {
			e.log = client.log
		} else {
			e.log = slog.Default()
		}
	}
	return e
}

// Store returns the store the executions are logged in.
func (e *Executions) Store() ExecutionStore { return e.store }

// Owner returns the name of this replica in the store.
func (e *Executions) Owner() string { return e.owner }

// ErrExecutionsClosed is returned by Executions.Start after Shutdown.
var ErrExecutionsClosed = errors.New("octavus: executions are shut down")

// busyMessage is the platform's SESSION_BUSY error text.
const busyMessage = "The session is busy with another run. Please try again in a moment."

// newBusyError is the platform's answer to a trigger while the session
// runs another.
func newBusyError() *APIError {
	return &APIError{Status: http.StatusTooManyRequests, Message: busyMessage, Code: codeSessionBusy}
}

// IsSessionBusyError reports whether err is (or wraps) the SESSION_BUSY
// answer: a 429 *APIError with code SESSION_BUSY, as Executions.Start
// returns it (BusyReject) and as the platform answers a trigger while the
// session runs another.
func IsSessionBusyError(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests && apiErr.Code == codeSessionBusy
}

// Start starts req on the session, detached from ctx's cancellation (ctx's
// values are kept; ctx bounds only the wait of BusyWait and the store
// calls of the start), and returns the execution's record once it is
// logged as running. Its events then go to the log: read them with Read,
// or serve them with NewPollingHandler.
//
// While the session runs another execution, Start returns the SESSION_BUSY
// error (BusyReject, see IsSessionBusyError) or waits for it to end
// (BusyWait). An execution whose owner's lease ran out is closed first (its
// log ends with a retryable internal_error event) and does not count.
func (e *Executions) Start(ctx context.Context, sessionID string, req TriggerRequest) (ExecutionRecord, error) {
	if sessionID == "" {
		return ExecutionRecord{}, errors.New("octavus: Executions.Start needs a session id")
	}
	session, err := e.attach(ctx, sessionID)
	if err != nil {
		return ExecutionRecord{}, fmt.Errorf("octavus: attach session %q: %w", sessionID, err)
	}
	if session == nil || session.SessionID() != sessionID {
		return ExecutionRecord{}, fmt.Errorf("octavus: ExecutionsOptions.Attach returned no session %q", sessionID)
	}
	if err := session.CheckRequest(req); err != nil {
		return ExecutionRecord{}, err
	}
	id := "run_" + GenerateID()
	for {
		if e.isClosed() {
			return ExecutionRecord{}, ErrExecutionsClosed
		}
		rec, err := e.store.Claim(ctx, Claim{SessionID: sessionID, ID: id, Owner: e.owner, LeaseUntil: time.Now().Add(e.lease)})
		if err == nil {
			if err := e.launch(ctx, session, rec, req); err != nil {
				return ExecutionRecord{}, err
			}
			return rec, nil
		}
		if !errors.Is(err, ErrExecutionRunning) {
			return ExecutionRecord{}, fmt.Errorf("octavus: claim the execution slot of session %q: %w", sessionID, err)
		}
		if expired, err := e.expire(ctx, rec); err != nil {
			return ExecutionRecord{}, err
		} else if expired {
			continue
		}
		if e.busy != BusyWait {
			return ExecutionRecord{}, newBusyError()
		}
		if err := e.waitEnd(ctx, rec); err != nil {
			return ExecutionRecord{}, err
		}
	}
}

// waitEnd waits until rec is no longer the session's running execution.
func (e *Executions) waitEnd(ctx context.Context, rec ExecutionRecord) error {
	for {
		p, err := e.Read(ctx, LogRead{SessionID: rec.SessionID, Cursor: math.MaxInt, Wait: e.lease})
		if err != nil {
			return fmt.Errorf("octavus: wait for the execution of session %q: %w", rec.SessionID, err)
		}
		if p.Execution.ID != rec.ID || p.Execution.Status != StatusRunning {
			return nil
		}
	}
}

// abandonedMessage is the error event of an execution whose owner stopped
// renewing its lease.
const abandonedMessage = "The execution was abandoned: the server that ran it stopped (its lease in the execution log ran out)"

// expire closes rec when its lease ran out, with a retryable error event.
func (e *Executions) expire(ctx context.Context, rec ExecutionRecord) (bool, error) {
	now := time.Now()
	if rec.Status != StatusRunning || rec.LeaseUntil.After(now) {
		return false, nil
	}
	ev := NewInternalErrorEvent(abandonedMessage)
	ev.Retryable = true
	entry, err := logged(ev)
	if err != nil {
		return false, err
	}
	ok, err := e.store.Expire(ctx, rec.SessionID, rec.ID, now, []LoggedEvent{entry})
	if err != nil {
		return false, fmt.Errorf("octavus: expire the execution of session %q: %w", rec.SessionID, err)
	}
	if ok {
		e.log.Warn("octavus: execution abandoned by its owner; log closed", "session", rec.SessionID, "execution", rec.ID, "owner", rec.Owner)
	}
	return ok, nil
}

// Read reads the session's log (see ExecutionStore.Read) and closes an
// execution whose owner's lease ran out, so a reader never waits on an
// execution that nobody runs: its log then ends with a retryable
// internal_error event and status failed. A wait (r.Wait) is cut into
// waits of at most a lease, to look at the lease in between.
func (e *Executions) Read(ctx context.Context, r LogRead) (LogPage, error) {
	deadline := time.Now().Add(r.Wait)
	rr := r
	rr.Wait = 0 // the first look does not wait: the lease may be over
	for {
		p, err := e.store.Read(ctx, rr)
		if err != nil {
			return p, fmt.Errorf("octavus: read the log of session %q: %w", r.SessionID, err)
		}
		if p.Execution.Status != StatusRunning || len(p.Entries) > 0 {
			return p, nil
		}
		expired, err := e.expire(ctx, p.Execution)
		if err != nil {
			return p, err
		}
		if expired {
			rr.Wait, deadline = 0, time.Time{}
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return p, nil
		}
		// Wait no longer than the lease: look at it again then.
		rr.Wait = min(left, e.lease, time.Until(p.Execution.LeaseUntil)+time.Millisecond)
	}
}

// Stop asks the session's running execution to stop, wherever it runs: on
// this replica at once, on another at its next lease renewal
// (ExecutionsOptions.RenewInterval). Its log then ends with finish {stop}
// and status stopped. It reports whether an execution was running.
func (e *Executions) Stop(ctx context.Context, sessionID string) (bool, error) {
	return e.StopExecution(ctx, sessionID, "")
}

// StopExecution is Stop for the execution id only (ExecutionRecord.ID, as
// Start returned it): a stop meant for an execution that already ended
// does not stop the session's next one. id "" is Stop. An execution of
// this replica is cancelled at once only when the store has it running
// (as the session's current execution, for id "").
func (e *Executions) StopExecution(ctx context.Context, sessionID, id string) (bool, error) {
	ok, err := e.store.RequestStop(ctx, sessionID, id)
	if err != nil {
		return false, fmt.Errorf("octavus: stop the execution of session %q: %w", sessionID, err)
	}
	e.mu.Lock()
	r := e.runs[sessionID]
	e.mu.Unlock()
	if !ok || r == nil || (id != "" && r.rec.ID != id) {
		// The store has no such execution running: a local run is not
		// the session's current one (its lease ran out and another
		// replica's execution may run now).
		return ok, nil
	}
	if id == "" {
		// Whichever runs: cancel here only if it is this replica's.
		p, err := e.store.Read(ctx, LogRead{SessionID: sessionID, Cursor: math.MaxInt})
		if err != nil {
			return ok, fmt.Errorf("octavus: stop the execution of session %q: %w", sessionID, err)
		}
		if p.Execution.ID != r.rec.ID {
			return ok, nil
		}
	}
	r.cancel(errStopRequested)
	return ok, nil
}

// Shutdown stops starting executions and waits for those this replica runs
// to end by themselves; when ctx is done first it cancels them (their logs
// end with a retryable internal_error event saying the server shut down)
// and waits for them to be logged, for at most a lease
// (ExecutionsOptions.Lease): an execution that does not end by then (a
// store call that ignores its ctx) is left running, and its log is
// closed by a reader once its lease ran out. It returns ctx's error in
// that case.
func (e *Executions) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	e.mu.Lock()
	for _, r := range e.runs {
		r.cancel(errShutdown)
	}
	e.mu.Unlock()
	grace := time.NewTimer(e.lease)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		e.log.Warn("octavus: executions still running a lease after they were cancelled; left behind")
	}
	return ctx.Err()
}

// Close cancels the executions this replica runs, as Shutdown does once
// its ctx is done, and waits for them to be logged, for at most a lease.
func (e *Executions) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (e *Executions) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// The causes an execution is cancelled with.
var (
	errStopRequested = errors.New("stop requested")
	errShutdown      = errors.New("the server shut down")
	errMaxDuration   = errors.New("the execution ran longer than MaxDuration")
	errLeaseLost     = errors.New("lease lost")
	errClientTool    = errors.New("client tool call")
	errStoreFailed   = errors.New("the execution log could not be written")
)

// detachedRun is one execution this replica runs.
type detachedRun struct {
	e      *Executions
	rec    ExecutionRecord
	cancel context.CancelCauseFunc
}

// launch starts the goroutine of a claimed execution.
func (e *Executions) launch(ctx context.Context, session *AgentSession, rec ExecutionRecord, req TriggerRequest) error {
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stopTimer := func() bool { return true }
	if e.maxDur > 0 {
		t := time.AfterFunc(e.maxDur, func() { cancel(errMaxDuration) })
		stopTimer = t.Stop
	}
	r := &detachedRun{e: e, rec: rec, cancel: cancel}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		stopTimer()
		cancel(errShutdown)
		// The slot was claimed: give it back.
		fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer fcancel()
		_ = e.store.Finish(fctx, rec.SessionID, rec.ID, e.owner, StatusStopped, nil)
		return ErrExecutionsClosed
	}
	e.runs[rec.SessionID] = r
	e.wg.Add(1)
	e.mu.Unlock()
	events := session.Execute(runCtx, req)
	go func() {
		defer e.wg.Done()
		defer cancel(nil)
		defer stopTimer()
		r.loop(runCtx, events)
		e.mu.Lock()
		if e.runs[rec.SessionID] == r {
			delete(e.runs, rec.SessionID)
		}
		e.mu.Unlock()
	}()
	return nil
}

// logged is ev as a log entry.
func logged(ev StreamEvent) (LoggedEvent, error) {
	b, err := marshalJSON(ev)
	if err != nil {
		return LoggedEvent{}, fmt.Errorf("octavus: encode %s event: %w", ev.EventType(), err)
	}
	return LoggedEvent{Type: string(ev.EventType()), Data: b}, nil
}

// clientToolMessage is the error of a tool call without a server handler.
func clientToolMessage(ev *ClientToolRequestEvent) string {
	name := ""
	if len(ev.ToolCalls) > 0 {
		name = ev.ToolCalls[0].ToolName
	}
	return `Tool "` + name + `" has no handler on the server: an execution run detached from the browser (the polling transport) cannot hand tools to the browser, so every tool must be a server tool`
}

// loop logs the execution's events until its channel is closed, renewing
// the lease, then closes the log.
func (r *detachedRun) loop(ctx context.Context, events <-chan StreamEvent) {
	e, rec := r.e, r.rec
	// The store calls outlive the execution's cancellation (a stop is
	// logged too), each bounded on its own.
	base := context.WithoutCancel(ctx)
	// The lease is renewed on its own, so that a slow Append does not
	// let it run out.
	var lostLease atomic.Bool
	stopRenew, renewDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(renewDone)
		renew := time.NewTicker(e.renewEvery)
		defer renew.Stop()
		for {
			select {
			case <-stopRenew:
				return
			case <-renew.C:
			}
			rctx, cancel := context.WithTimeout(base, e.storeTimeout())
			stop, err := e.store.Renew(rctx, rec.SessionID, rec.ID, e.owner, time.Now().Add(e.lease))
			cancel()
			switch {
			case errors.Is(err, ErrNotOwner):
				lostLease.Store(true)
				e.log.Warn("octavus: execution lost its lease; cancelled", "session", rec.SessionID, "execution", rec.ID)
				r.cancel(errLeaseLost)
				return
			case err != nil:
				// The lease outlives a few failed renewals.
				e.log.Error("octavus: execution lease renewal failed", "session", rec.SessionID, "execution", rec.ID, "error", err)
			case stop:
				r.cancel(errStopRequested)
			}
		}
	}()
	var (
		// held is a trailing error event, held back until the next
		// event or the end: the status and the last error are written
		// together, as the polling transport wants them in one page.
		held []LoggedEvent
		// lost is set once the log cannot be written: no more writes.
		lost bool
		// storeFailed is set when it is for a store error, not a lost
		// lease: the log is then still closed.
		storeFailed bool
		// discard drops the events after a client tool call ended the
		// execution here (the finish {client-tool-calls} above all).
		discard bool
		last    []LoggedEvent
		status  = StatusDone
		batch   = make([]StreamEvent, 0, appendBatch)
	)
	write := func(entries []LoggedEvent) {
		if lost || lostLease.Load() || len(entries) == 0 {
			return
		}
		actx, cancel := context.WithTimeout(base, e.storeTimeout())
		_, err := e.store.Append(actx, rec.SessionID, rec.ID, e.owner, entries)
		cancel()
		if err != nil {
			lost = true
			if errors.Is(err, ErrNotOwner) {
				e.log.Warn("octavus: execution lost its lease; cancelled", "session", rec.SessionID, "execution", rec.ID)
				r.cancel(errLeaseLost)
			} else {
				e.log.Error("octavus: execution log append failed; execution cancelled", "session", rec.SessionID, "execution", rec.ID, "error", err)
				storeFailed = true
				r.cancel(errStoreFailed)
			}
		}
	}
	for open := true; open; {
		ev, ok := <-events
		if !ok {
			break
		}
		batch = append(batch[:0], ev)
	fill:
		for len(batch) < appendBatch {
			select {
			case ev, ok := <-events:
				if !ok {
					open = false
					break fill
				}
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		var entries []LoggedEvent
		for _, ev := range batch {
			if discard || ev == nil {
				continue
			}
			if fin, ok := ev.(*FinishEvent); ok && fin.FinishReason == FinishStop {
				if cause := context.Cause(ctx); cause != nil && cause != errStopRequested {
					// Ended here by a limit: the cancellation's finish
					// {stop} is not the agent's; the error event is.
					continue
				}
			}
			if ctr, ok := ev.(*ClientToolRequestEvent); ok {
				msg := clientToolMessage(ctr)
				e.log.Error("octavus: "+msg, "session", rec.SessionID, "execution", rec.ID)
				entry, _ := logged(NewInternalErrorEvent(msg))
				entries = append(entries, held...)
				held = []LoggedEvent{entry}
				discard = true
				r.cancel(errClientTool)
				continue
			}
			entry, err := logged(ev)
			if err != nil {
				e.log.Error("octavus: event dropped from the execution log", "session", rec.SessionID, "error", err)
				continue
			}
			entries = append(entries, held...)
			held = nil
			if entry.Type == string(EventError) {
				held = []LoggedEvent{entry}
				continue
			}
			entries = append(entries, entry)
		}
		batch = batch[:0]
		write(entries)
	}
	close(stopRenew)
	<-renewDone
	last = held
	if len(held) > 0 {
		status = StatusFailed
	}
	switch cause := context.Cause(ctx); {
	case lostLease.Load():
		return
	case storeFailed:
		// The events past the failed write are not in the log: end it
		// with the error, if the store takes it.
		last = append(last, limitEntry("The execution log could not be written", true))
		status = StatusFailed
	case lost:
		return
	case errors.Is(cause, errMaxDuration):
		last = append(last, limitEntry(fmt.Sprintf("The execution ran longer than %v (ExecutionsOptions.MaxDuration) and was stopped", e.maxDur), false))
		status = StatusFailed
	case errors.Is(cause, errShutdown):
		last = append(last, limitEntry("The server shut down while the execution ran", true))
		status = StatusFailed
	case errors.Is(cause, errStopRequested) && status != StatusFailed:
		status = StatusStopped
	}
	fctx, cancel := context.WithTimeout(base, finishTimeout)
	defer cancel()
	if err := e.store.Finish(fctx, rec.SessionID, rec.ID, e.owner, status, last); err != nil {
		e.log.Error("octavus: execution log could not be closed", "session", rec.SessionID, "execution", rec.ID, "error", err)
		return
	}
	e.log.Debug("octavus: execution ended", "session", rec.SessionID, "execution", rec.ID, "status", status)
}

// storeTimeout bounds an Append or a Renew of a running execution: well
// under the lease, so that a renewal comes before it runs out.
func (e *Executions) storeTimeout() time.Duration {
	return min(finishTimeout, e.lease/2)
}

// limitEntry is the error event of an execution ended here.
func limitEntry(message string, retryable bool) LoggedEvent {
	ev := NewInternalErrorEvent(message)
	ev.Retryable = retryable
	entry, _ := logged(ev)
	return entry
}
