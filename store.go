package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ExecutionStore keeps the execution logs of Executions: per session, the
// session's single execution slot and the log of its current (or latest)
// execution, the events in order, each at a cursor.
//
// A log belongs to one execution, identified by the id its Claim gave (the
// log's own id, chosen by Executions, not the platform's executionId). The
// cursor of an entry is its index in the log, from 0; a cursor N read from
// means "the entries from index N on", so cursor 0 is the start of the
// session's current or latest execution and the cursor after a page is the
// number of entries the log has had. Entries are never rewritten: a reader
// that comes back with the cursor it was given gets exactly what it missed.
//
// Claim, Append, Finish and Expire are conditional and atomic: an
// execution is written only by its owner while its status is running, so
// a replica that lost its lease (it stalled, it was cut off) cannot write
// into a log that was closed or given to another execution. Times are the
// caller's (leaseUntil, now): the store compares them, it never reads a
// clock for leases, so replicas share one notion of a lease whatever the
// store runs on. Retention (how many entries a log keeps, how long an
// ended log is kept) is the store's own configuration.
//
// All methods are safe for concurrent use, by any number of replicas on
// the same backing store. Errors other than the sentinels below are the
// backend's (wrapped with %w).
//
// The in-memory store is NewMemoryStore; redisstore is one on Redis
// Streams. octavustest.TestExecutionStore is the conformance test suite
// every implementation should pass.
type ExecutionStore interface {
	// Claim takes the session's execution slot for a new execution, c.ID,
	// owned by c.Owner with a lease until c.LeaseUntil. It replaces the
	// session's previous log (ended) with an empty one and returns the new
	// record, status running.
	//
	// While the session has an execution that is running, Claim changes
	// nothing and returns that execution's record and an error wrapping
	// ErrExecutionRunning, even when its lease has run out: the caller
	// decides (Expire it, then Claim again).
	Claim(ctx context.Context, c Claim) (ExecutionRecord, error)

	// Renew extends the lease of the running execution id to leaseUntil
	// and reports whether a stop was requested (RequestStop). It returns
	// an error wrapping ErrNotOwner when id is not the session's running
	// execution owned by owner (it ended, it was expired, another one
	// took the slot): the caller must stop the execution.
	Renew(ctx context.Context, sessionID, id, owner string, leaseUntil time.Time) (stop bool, err error)

	// Append adds entries, in order, to the log of the running execution
	// id, and returns the cursor after the last one (the log's length). It
	// returns an error wrapping ErrNotOwner, and appends nothing, when id
	// is not the session's running execution owned by owner. A store that
	// trims logs (retention) drops entries from the head; the cursors of
	// the others do not change.
	Append(ctx context.Context, sessionID, id, owner string, entries []LoggedEvent) (next int, err error)

	// Finish appends last (which may be empty) and ends the running
	// execution id with status (done, failed or stopped), in one step:
	// a reader sees the last entries no later than the status. Errors are
	// those of Append. Readers waiting in Read return.
	Finish(ctx context.Context, sessionID, id, owner string, status ExecutionStatus, last []LoggedEvent) error

	// Expire ends the running execution id with StatusFailed after
	// appending last, like Finish but on anyone's behalf, only if its
	// lease ran out: LeaseUntil is not after now. It reports whether it
	// did; false with a nil error when id is not running or its lease is
	// still good (someone renewed or finished it meanwhile).
	Expire(ctx context.Context, sessionID, id string, now time.Time, last []LoggedEvent) (expired bool, err error)

	// RequestStop asks the running execution id of the session to stop
	// (id "" means whichever is running): its owner sees it in Renew's
	// stop. It reports whether a running execution was asked; asking twice
	// is not an error.
	RequestStop(ctx context.Context, sessionID, id string) (requested bool, err error)

	// Read returns the session's current or latest execution and the
	// entries of its log from r.Cursor on, at most r.Limit of them (0: no
	// limit). The record and the entries are one snapshot: when the record
	// says the execution ended, the entries include its last ones (up to
	// Limit). A session without an execution (or whose log retention
	// removed) reads as a zero ExecutionRecord and no entries (Start and
	// Next 0, whatever the cursor), not as an error.
	//
	// When r.Wait is positive, the execution is running and the log has
	// nothing from r.Cursor on, Read waits up to r.Wait for an entry or
	// for the execution's end, then answers as above (possibly with no
	// entries). When ctx is done while waiting it returns ctx's error.
	Read(ctx context.Context, r LogRead) (LogPage, error)
}

// Claim is what ExecutionStore.Claim takes.
type Claim struct {
	// SessionID is the session whose slot is taken.
	SessionID string
	// ID is the new execution's id, unique per session (Executions makes
	// a random one).
	ID string
	// Owner names the replica that runs the execution (ExecutionsOptions.Owner).
	Owner string
	// LeaseUntil is when the execution counts as abandoned unless its
	// owner renews the lease before.
	LeaseUntil time.Time
}

// LogRead is what ExecutionStore.Read takes.
type LogRead struct {
	// SessionID is the session whose log is read.
	SessionID string
	// Cursor is the first entry to return (0: from the start). A cursor
	// past the log's end (one of an earlier execution) reads from the end:
	// no entries, LogPage.Next the log's length.
	Cursor int
	// Limit, when positive, bounds the entries returned.
	Limit int
	// Wait, when positive, is how long Read may wait for an entry at
	// Cursor while the execution runs.
	Wait time.Duration
}

// ExecutionStatus is the state of a logged execution.
type ExecutionStatus string

// The states of a logged execution. The zero value "" is no execution.
const (
	// StatusRunning: the execution goes on; its log grows.
	StatusRunning ExecutionStatus = "running"
	// StatusDone: the execution ended by itself (its last event is a
	// finish, or the usage after it).
	StatusDone ExecutionStatus = "done"
	// StatusFailed: the execution ended with an error (its log ends with
	// an error event), its owner's lease ran out, or it hit a limit.
	StatusFailed ExecutionStatus = "failed"
	// StatusStopped: the execution was stopped (RequestStop, Executions.Stop).
	StatusStopped ExecutionStatus = "stopped"
)

// Ended reports whether s is a final status: done, failed or stopped.
func (s ExecutionStatus) Ended() bool {
	return s == StatusDone || s == StatusFailed || s == StatusStopped
}

// ExecutionRecord is a logged execution as a store holds it.
type ExecutionRecord struct {
	// SessionID is the execution's session.
	SessionID string `json:"sessionId"`
	// ID is the execution's id in the log (Claim.ID); "" when the
	// session has no execution.
	ID string `json:"id"`
	// Owner is the replica that runs or ran it.
	Owner string `json:"owner"`
	// Status is its state.
	Status ExecutionStatus `json:"status"`
	// LeaseUntil is when its lease runs out unless renewed.
	LeaseUntil time.Time `json:"leaseUntil"`
	// StopRequested is set once RequestStop asked it to stop.
	StopRequested bool `json:"stopRequested,omitempty"`
}

// LoggedEvent is one event of an execution log: the event's JSON as the
// browser gets it (what ToSSEStream writes after "data: ") and its type.
type LoggedEvent struct {
	// Type is the event's type ("text-delta", "finish", "error", ...).
	Type string `json:"type"`
	// Data is the event's JSON.
	Data json.RawMessage `json:"data"`
}

// LogPage is what ExecutionStore.Read returns.
type LogPage struct {
	// Execution is the session's current or latest execution (the zero
	// record for none).
	Execution ExecutionRecord
	// Entries are the log's entries from Start on.
	Entries []LoggedEvent
	// Start is the cursor of Entries[0]: the cursor asked for, or more
	// when retention dropped the entries before it. It is Next when there
	// are no entries.
	Start int
	// Next is the cursor to read from next: Start + len(Entries).
	Next int
}

var (
	// ErrExecutionRunning is returned (wrapped) by ExecutionStore.Claim
	// when the session already runs an execution.
	ErrExecutionRunning = errors.New("octavus: the session already runs an execution")
	// ErrNotOwner is returned (wrapped) by the writing methods of an
	// ExecutionStore when the execution is not running or not the
	// caller's: it ended, its lease was expired, or another took the slot.
	ErrNotOwner = errors.New("octavus: not the owner of a running execution")
)
