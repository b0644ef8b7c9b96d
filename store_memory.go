package octavus

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryStoreOptions configure NewMemoryStore. The zero value works.
type MemoryStoreOptions struct {
	// MaxEntries bounds the entries one log keeps: past it, the oldest
	// are dropped (a reader from a cursor before them starts at the first
	// kept one, LogPage.Start). Zero means 50 000; negative means no
	// limit.
	MaxEntries int
	// MaxAge is how long the log of an ended execution is kept: after it,
	// the session reads as one without an execution. Zero means one hour;
	// negative keeps ended logs until the session's next execution
	// replaces them.
	MaxAge time.Duration
	// Now is the store's clock for MaxAge (leases are the caller's
	// times). Nil means time.Now.
	Now func() time.Time
}

const (
	defaultMaxLogEntries = 50_000
	defaultMaxLogAge     = time.Hour
)

// MemoryStore is an ExecutionStore in the process's memory: the default of
// Executions. Its logs live as long as the process; executions on other
// processes cannot be seen (use a shared store, such as redisstore, behind
// a load balancer). Make one with NewMemoryStore.
type MemoryStore struct {
	maxEntries int
	maxAge     time.Duration
	now        func() time.Time

	mu   sync.Mutex
	logs map[string]*memLog
	// ended lists the ended logs in the order they ended, for MaxAge.
	ended []endedLog
}

type memLog struct {
	rec     ExecutionRecord
	entries []LoggedEvent
	// first is the cursor of entries[0].
	first   int
	endedAt time.Time
	// changed is closed (and replaced) when the log grows or ends.
	changed chan struct{}
}

type endedLog struct {
	session, id string
	at          time.Time
}

// NewMemoryStore returns an empty in-memory ExecutionStore.
func NewMemoryStore(opts MemoryStoreOptions) *MemoryStore {
	m := &MemoryStore{maxEntries: orDefault(opts.MaxEntries, defaultMaxLogEntries), maxAge: opts.MaxAge, now: opts.Now, logs: map[string]*memLog{}}
	if m.maxAge == 0 {
		// Negative stays negative: no sweep (orDefault would make it 0,
		// which sweeps at once).
		m.maxAge = defaultMaxLogAge
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

var _ ExecutionStore = (*MemoryStore)(nil)

// sweep removes the logs that ended more than maxAge ago; m.mu is held.
func (m *MemoryStore) sweep() {
	if m.maxAge < 0 || len(m.ended) == 0 {
		return
	}
	now := m.now()
	n := 0
	for _, e := range m.ended {
		if now.Sub(e.at) < m.maxAge {
			break
		}
		if l := m.logs[e.session]; l != nil && l.rec.ID == e.id && l.rec.Status.Ended() {
			delete(m.logs, e.session)
		}
		n++
	}
	if n > 0 {
		clear(m.ended[:n])
		m.ended = m.ended[n:]
	}
}

// running returns the session's log when id is its running execution
// owned by owner; m.mu is held.
func (m *MemoryStore) running(sessionID, id, owner string) (*memLog, error) {
	l := m.logs[sessionID]
	if l == nil || l.rec.ID != id || l.rec.Status != StatusRunning || (owner != "" && l.rec.Owner != owner) {
		return nil, fmt.Errorf("execution %q of session %q: %w", id, sessionID, ErrNotOwner)
	}
	return l, nil
}

// Claim implements ExecutionStore.
func (m *MemoryStore) Claim(ctx context.Context, c Claim) (ExecutionRecord, error) {
	if err := ctx.Err(); err != nil {
		return ExecutionRecord{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	if l := m.logs[c.SessionID]; l != nil && l.rec.Status == StatusRunning {
		return l.rec, fmt.Errorf("session %q: %w", c.SessionID, ErrExecutionRunning)
	}
	if old := m.logs[c.SessionID]; old != nil {
		close(old.changed)
	}
	l := &memLog{rec: ExecutionRecord{SessionID: c.SessionID, ID: c.ID, Owner: c.Owner, Status: StatusRunning, LeaseUntil: c.LeaseUntil}, changed: make(chan struct{})}
	m.logs[c.SessionID] = l
	return l.rec, nil
}

// Renew implements ExecutionStore.
func (m *MemoryStore) Renew(ctx context.Context, sessionID, id, owner string, leaseUntil time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.running(sessionID, id, owner)
	if err != nil {
		return false, err
	}
	l.rec.LeaseUntil = leaseUntil
	return l.rec.StopRequested, nil
}

// Append implements ExecutionStore.
func (m *MemoryStore) Append(ctx context.Context, sessionID, id, owner string, entries []LoggedEvent) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.running(sessionID, id, owner)
	if err != nil {
		return 0, err
	}
	m.append(l, entries)
	return l.first + len(l.entries), nil
}

// append adds entries to l, trims it to maxEntries and wakes its readers;
// m.mu is held.
func (m *MemoryStore) append(l *memLog, entries []LoggedEvent) {
	if len(entries) == 0 {
		return
	}
	l.entries = append(l.entries, entries...)
	if m.maxEntries > 0 && len(l.entries) > m.maxEntries {
		drop := len(l.entries) - m.maxEntries
		clear(l.entries[:drop])
		l.entries = l.entries[drop:]
		l.first += drop
	}
	m.changed(l)
}

func (m *MemoryStore) changed(l *memLog) {
	close(l.changed)
	l.changed = make(chan struct{})
}

// end appends last and closes l with status; m.mu is held.
func (m *MemoryStore) end(l *memLog, status ExecutionStatus, last []LoggedEvent) {
	m.append(l, last)
	l.rec.Status = status
	l.endedAt = m.now()
	if m.maxAge >= 0 {
		// Kept for sweep; with no MaxAge nothing is swept: not recorded.
		m.ended = append(m.ended, endedLog{l.rec.SessionID, l.rec.ID, l.endedAt})
	}
	m.changed(l)
}

// Finish implements ExecutionStore.
func (m *MemoryStore) Finish(ctx context.Context, sessionID, id, owner string, status ExecutionStatus, last []LoggedEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !status.Ended() {
		return fmt.Errorf("octavus: Finish with status %q, not a final one", status)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.running(sessionID, id, owner)
	if err != nil {
		return err
	}
	m.end(l, status, last)
	return nil
}

// Expire implements ExecutionStore.
func (m *MemoryStore) Expire(ctx context.Context, sessionID, id string, now time.Time, last []LoggedEvent) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logs[sessionID]
	if l == nil || l.rec.ID != id || l.rec.Status != StatusRunning || l.rec.LeaseUntil.After(now) {
		return false, nil
	}
	m.end(l, StatusFailed, last)
	return true, nil
}

// RequestStop implements ExecutionStore.
func (m *MemoryStore) RequestStop(ctx context.Context, sessionID, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logs[sessionID]
	if l == nil || l.rec.Status != StatusRunning || (id != "" && l.rec.ID != id) {
		return false, nil
	}
	l.rec.StopRequested = true
	return true, nil
}

// Read implements ExecutionStore.
func (m *MemoryStore) Read(ctx context.Context, r LogRead) (LogPage, error) {
	if err := ctx.Err(); err != nil {
		return LogPage{}, err
	}
	page, wait := m.read(r)
	if wait == nil || r.Wait <= 0 {
		return page, nil
	}
	t := time.NewTimer(r.Wait)
	defer t.Stop()
	select {
	case <-wait:
	case <-t.C:
	case <-ctx.Done():
		return LogPage{}, ctx.Err()
	}
	page, _ = m.read(r)
	return page, nil
}

// read takes a snapshot; wait is the channel to wait on when the
// execution runs and there is nothing to return.
func (m *MemoryStore) read(r LogRead) (LogPage, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	cursor := max(r.Cursor, 0)
	l := m.logs[r.SessionID]
	if l == nil {
		return LogPage{}, nil
	}
	page := LogPage{Execution: l.rec}
	end := l.first + len(l.entries)
	start := min(max(cursor, l.first), end)
	if start >= end {
		page.Start, page.Next = start, start
		if l.rec.Status == StatusRunning {
			return page, l.changed
		}
		return page, nil
	}
	if r.Limit > 0 && end-start > r.Limit {
		end = start + r.Limit
	}
	page.Entries = append([]LoggedEvent(nil), l.entries[start-l.first:end-l.first]...)
	page.Start, page.Next = start, end
	return page, nil
}
