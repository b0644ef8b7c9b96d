package octavus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/octavus-go/octavus/internal/wire"
)

// ThreadStatus is the status of a Workforce thread (WorkforceThreadStatus in
// the reference). It is lenient: the platform may add statuses, and any
// string is accepted; a status this SDK does not know is not terminal, so
// polling goes on.
type ThreadStatus string

// The thread statuses of 6.4.0. Completed, failed and cancelled are terminal.
const (
	ThreadIdle      ThreadStatus = "idle"
	ThreadQueued    ThreadStatus = "queued"
	ThreadPending   ThreadStatus = "pending"
	ThreadRunning   ThreadStatus = "running"
	ThreadCompleted ThreadStatus = "completed"
	ThreadFailed    ThreadStatus = "failed"
	ThreadCancelled ThreadStatus = "cancelled"
)

// IsTerminalThreadStatus reports whether s ends a run: completed, failed or
// cancelled. WaitForCompletion stops polling at such a status.
func IsTerminalThreadStatus(s ThreadStatus) bool {
	switch s {
	case ThreadCompleted, ThreadFailed, ThreadCancelled:
		return true
	}
	return false
}

// Defaults of WorkforceWaitOptions, the reference's.
const (
	defaultWorkforcePollInterval = 3 * time.Second
	defaultWorkforceTimeout      = 15 * time.Minute
)

// WorkforceAPI drives a Workforce agent (an OctoAgent run headlessly) by
// its threads. Get it from Client.Workforce, on a client made with that
// agent's own key (oct_agt_...): the key authorizes only its agent.
//
// Dispatch starts a thread, GetThread reads its status and messages,
// FollowUp sends another message into it, WaitForCompletion polls until
// the run ends, and Run dispatches and waits.
type WorkforceAPI struct {
	c *Client

	// now and sleep pace WaitForCompletion; nil means time.Now and a
	// context-aware timer. Tests replace them so that polling never
	// sleeps.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// WorkforceDispatchOptions are the optional parts of a message sent to a
// Workforce thread. The zero value sends the message alone.
type WorkforceDispatchOptions struct {
	// Files are attachments sent with the message (upload them first, see
	// FilesAPI.GetUploadURLs).
	Files []FileReference
}

// WorkforceDispatchResult is the answer to Dispatch and FollowUp: the
// thread that runs the message and its status at that moment.
type WorkforceDispatchResult struct {
	ThreadID string       `json:"threadId"`
	Status   ThreadStatus `json:"status"`
}

// WorkforceThread is a Workforce thread as GetThread reads it.
type WorkforceThread struct {
	ThreadID string       `json:"threadId"`
	Status   ThreadStatus `json:"status"`
	// FailureReason is a human-readable reason when the run ended in
	// ThreadFailed; nil otherwise (the platform's null).
	FailureReason *string `json:"failureReason"`
	// Messages is the thread's conversation as a user would see it; the
	// agent's latest turn is at the end.
	Messages []UIMessage `json:"messages"`
}

// WorkforceWaitOptions pace WaitForCompletion. The zero value polls every
// 3 s for at most 15 minutes, the reference's defaults.
type WorkforceWaitOptions struct {
	// PollInterval is the wait between two reads of the thread. Zero or
	// negative means 3 s.
	PollInterval time.Duration
	// Timeout bounds the whole wait: when the next poll would come at or
	// after it, WaitForCompletion gives up with a *WorkforceTimeoutError
	// (the run goes on on the platform; read it later with GetThread).
	// Size it generously: cloud computers resume slowly and full runs take
	// minutes. Zero means 15 minutes; negative means a single read.
	Timeout time.Duration
}

// WorkforceRunOptions are the options of Run: those of Dispatch and of
// WaitForCompletion. The zero value works.
type WorkforceRunOptions struct {
	// Files are attachments sent with the message.
	Files []FileReference
	// PollInterval and Timeout are those of WorkforceWaitOptions.
	PollInterval time.Duration
	Timeout      time.Duration
}

// WorkforceTimeoutError is returned by WaitForCompletion and Run when the
// thread did not reach a terminal status in time. Match it with errors.As;
// the run keeps going on the platform.
type WorkforceTimeoutError struct {
	ThreadID string
	// Timeout is the wait that elapsed.
	Timeout time.Duration
	// Thread is the last thread read, with its non-terminal status.
	Thread *WorkforceThread
}

// Error says which thread did not finish, worded as 6.4.0 words it.
func (e *WorkforceTimeoutError) Error() string {
	var status ThreadStatus
	if e.Thread != nil {
		status = e.Thread.Status
	}
	return fmt.Sprintf("Workforce thread %s did not finish within %dms (last status: %s)",
		e.ThreadID, e.Timeout.Milliseconds(), status)
}

func workforceThreadsPath(agentID string) string {
	return "/api/v1/workforce/agents/" + escapeID(agentID) + "/threads"
}

// checkDispatchResult checks a dispatch or follow-up answer as the
// reference's dispatchResponseSchema.
func checkDispatchResult(o *wire.Object) error {
	o.String("threadId")
	o.String("status")
	return o.Err()
}

// checkWorkforceThread checks a thread as the reference's
// threadResponseSchema: failureReason must be present, a string or null.
func checkWorkforceThread(o *wire.Object) error {
	o.String("threadId")
	o.String("status")
	if raw := o.Present("failureReason"); raw != nil && o.Err() == nil {
		if s := string(raw); s != "null" && raw[0] != '"' {
			return fmt.Errorf("field %q: want string or null, got %s", "failureReason", s)
		}
	}
	for i, m := range o.Array("messages") {
		if err := checkUIMessage(m); err != nil {
			return fmt.Errorf("messages[%d]: %w", i, err)
		}
	}
	return o.Err()
}

// postMessage posts {message, files?} to path.
func (w *WorkforceAPI) postMessage(ctx context.Context, path, message string, files []FileReference) (*WorkforceDispatchResult, error) {
	// files: undefined is left out, an empty list is sent, as
	// JSON.stringify does.
	body := struct {
		Message string           `json:"message"`
		Files   *[]FileReference `json:"files,omitempty"`
	}{Message: message}
	if files != nil {
		body.Files = &files
	}
	var out WorkforceDispatchResult
	if err := w.c.doChecked(ctx, http.MethodPost, path, body, checkDispatchResult, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Dispatch starts a new thread of agent agentID with message and returns
// at once (POST /api/v1/workforce/agents/{agentId}/threads; the platform
// answers 201, and any 2xx is taken, as the reference takes it). Wait for
// the run with WaitForCompletion, or use Run. A refused request is an
// *APIError (401 bad key, 402 out of credits, 403 another agent's key, 404
// no such agent). Like every POST it is retried only when the platform
// certainly did not take it (see ClientOptions.MaxRetries), so a retry
// never starts a second thread.
func (w *WorkforceAPI) Dispatch(ctx context.Context, agentID, message string, opts WorkforceDispatchOptions) (*WorkforceDispatchResult, error) {
	if err := checkID("agent id", agentID); err != nil {
		return nil, err
	}
	return w.postMessage(ctx, workforceThreadsPath(agentID), message, opts.Files)
}

// GetThread reads thread threadID of agent agentID: its status, failure
// reason and UI messages. The answer must fit the 6.4.0 schema; the status
// may be any string.
func (w *WorkforceAPI) GetThread(ctx context.Context, agentID, threadID string) (*WorkforceThread, error) {
	if err := checkID("agent id", agentID); err != nil {
		return nil, err
	}
	if err := checkID("thread id", threadID); err != nil {
		return nil, err
	}
	path := workforceThreadsPath(agentID) + "/" + escapeID(threadID)
	var raw json.RawMessage
	if err := w.c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	var out WorkforceThread
	if err := decodeChecked(http.MethodGet, path, raw, checkWorkforceThread, &out); err != nil {
		return nil, err
	}
	if out.Messages == nil {
		out.Messages = []UIMessage{}
	}
	return &out, nil
}

// FollowUp sends message into thread threadID of agent agentID (POST
// .../threads/{threadId}/messages; the platform answers 202, any 2xx is
// taken). A run in flight queues it; otherwise it runs now.
func (w *WorkforceAPI) FollowUp(ctx context.Context, agentID, threadID, message string, opts WorkforceDispatchOptions) (*WorkforceDispatchResult, error) {
	if err := checkID("agent id", agentID); err != nil {
		return nil, err
	}
	if err := checkID("thread id", threadID); err != nil {
		return nil, err
	}
	path := workforceThreadsPath(agentID) + "/" + escapeID(threadID) + "/messages"
	return w.postMessage(ctx, path, message, opts.Files)
}

// WaitForCompletion reads thread threadID until its status is terminal
// (see IsTerminalThreadStatus) and returns it, failed and cancelled runs
// included: check Status. It reads at once, then every
// opts.PollInterval; when the next read would come at or after the
// timeout, it returns a *WorkforceTimeoutError. Cancelling ctx ends the
// wait at once with ctx's error. An error of a read (an *APIError, a
// transport error) ends the wait too.
func (w *WorkforceAPI) WaitForCompletion(ctx context.Context, agentID, threadID string, opts WorkforceWaitOptions) (*WorkforceThread, error) {
	poll := opts.PollInterval
	if poll <= 0 {
		poll = defaultWorkforcePollInterval
	}
	timeout := orDefault(opts.Timeout, defaultWorkforceTimeout)
	now, sleep := w.now, w.sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	deadline := now().Add(timeout)
	for {
		thread, err := w.GetThread(ctx, agentID, threadID)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, fmt.Errorf("octavus: waiting for workforce thread %s: %w", threadID, ctxErr)
			}
			return nil, err
		}
		if IsTerminalThreadStatus(thread.Status) {
			return thread, nil
		}
		if !now().Add(poll).Before(deadline) {
			return nil, &WorkforceTimeoutError{ThreadID: threadID, Timeout: timeout, Thread: thread}
		}
		if err := sleep(ctx, poll); err != nil {
			return nil, fmt.Errorf("octavus: waiting for workforce thread %s: %w", threadID, err)
		}
	}
}

// Run dispatches message to a new thread of agent agentID and waits for
// the run to finish: Dispatch, then WaitForCompletion. The agent's answer
// is the tail of the returned thread's Messages.
func (w *WorkforceAPI) Run(ctx context.Context, agentID, message string, opts WorkforceRunOptions) (*WorkforceThread, error) {
	res, err := w.Dispatch(ctx, agentID, message, WorkforceDispatchOptions{Files: opts.Files})
	if err != nil {
		return nil, err
	}
	return w.WaitForCompletion(ctx, agentID, res.ThreadID, WorkforceWaitOptions{PollInterval: opts.PollInterval, Timeout: opts.Timeout})
}
