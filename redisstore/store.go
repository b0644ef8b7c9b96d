package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/redis/go-redis/v9"
)

// Options configure New. The zero value works.
type Options struct {
	// Prefix starts every key the store makes. Zero means "octavus:".
	// Give replicas of one application the same prefix, and different
	// applications on one Redis different ones. It must not contain '{'
	// or '}' (the keys' hash tag is the session id).
	Prefix string
	// MaxLen bounds the events one execution's log keeps: past it, the
	// oldest are trimmed (XADD MAXLEN; a reader from a cursor before them
	// starts at the first kept one, octavus.LogPage.Start). Zero means
	// 50 000; negative means no limit.
	MaxLen int
	// MaxAge is how long the log of an ended execution is kept (PEXPIRE):
	// after it, the session reads as one without an execution. It also
	// bounds how long the log of a running execution outlives its lease
	// when nobody expires it. Zero means one hour; negative keeps ended
	// logs until the session's next execution replaces them.
	MaxAge time.Duration
}

const (
	defaultPrefix = "octavus:"
	defaultMaxLen = 50_000
	defaultMaxAge = time.Hour
)

// Store is an octavus.ExecutionStore on Redis: per session, a hash with
// the execution's state and a stream with its log. Any number of
// replicas may share one; all methods are safe for concurrent use. Make
// one with New, and Close it after use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	maxLen int64
	maxAge int64 // milliseconds; <= 0: none
	notify *notifier
}

var _ octavus.ExecutionStore = (*Store)(nil)

// New returns a Store on rdb, any redis.UniversalClient: a *redis.Client
// (what the tests use), a failover client, or a *redis.ClusterClient (a
// session's keys share a hash tag, and its channel is named as one of
// them). The Store does not own rdb: close rdb after Store.Close. New
// panics when opts.Prefix contains '{' or '}'.
func New(rdb redis.UniversalClient, opts Options) *Store {
	if strings.ContainsAny(opts.Prefix, "{}") {
		panic(fmt.Sprintf("redisstore: Prefix %q contains a brace", opts.Prefix))
	}
	s := &Store{rdb: rdb, prefix: opts.Prefix, notify: &notifier{rdb: rdb, watches: map[string]*watch{}, pending: map[string]int{}}}
	if s.prefix == "" {
		s.prefix = defaultPrefix
	}
	switch {
	case opts.MaxLen == 0:
		s.maxLen = defaultMaxLen
	case opts.MaxLen > 0:
		s.maxLen = int64(opts.MaxLen)
	}
	switch {
	case opts.MaxAge == 0:
		s.maxAge = defaultMaxAge.Milliseconds()
	case opts.MaxAge > 0:
		s.maxAge = max(opts.MaxAge.Milliseconds(), 1)
	}
	return s
}

// StateKey returns the key of the session's state hash.
func (s *Store) StateKey(sessionID string) string {
	return s.prefix + "{" + sessionID + "}:state"
}

// LogKey returns the key of the session's log stream.
func (s *Store) LogKey(sessionID string) string {
	return s.prefix + "{" + sessionID + "}:log"
}

func (s *Store) keys(sessionID string) []string {
	return []string{s.StateKey(sessionID), s.LogKey(sessionID)}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// pairs appends the (type, JSON) pairs of entries to args.
func pairs(args []any, entries []octavus.LoggedEvent) []any {
	for _, e := range entries {
		args = append(args, e.Type, []byte(e.Data))
	}
	return args
}

// record decodes the record a script answers: {id, owner, status, lease, stop}.
func record(sessionID string, v any) (octavus.ExecutionRecord, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 5 {
		return octavus.ExecutionRecord{}, fmt.Errorf("redisstore: unexpected record %#v", v)
	}
	str := func(i int) string { s, _ := f[i].(string); return s }
	rec := octavus.ExecutionRecord{SessionID: sessionID, ID: str(0), Owner: str(1), Status: octavus.ExecutionStatus(str(2)), StopRequested: str(4) == "1"}
	if rec.ID == "" {
		return octavus.ExecutionRecord{}, nil
	}
	lease, err := strconv.ParseInt(str(3), 10, 64)
	if err != nil {
		return octavus.ExecutionRecord{}, fmt.Errorf("redisstore: lease %q: %w", str(3), err)
	}
	rec.LeaseUntil = time.UnixMilli(lease)
	return rec, nil
}

func (s *Store) notOwner(sessionID, id string) error {
	return fmt.Errorf("redisstore: execution %q of session %q: %w", id, sessionID, octavus.ErrNotOwner)
}

// Claim implements octavus.ExecutionStore.
func (s *Store) Claim(ctx context.Context, c octavus.Claim) (octavus.ExecutionRecord, error) {
	v, err := claimScript.Run(ctx, s.rdb, s.keys(c.SessionID), c.ID, c.Owner, ms(c.LeaseUntil), s.maxAge).Slice()
	if err != nil {
		return octavus.ExecutionRecord{}, fmt.Errorf("redisstore: claim session %q: %w", c.SessionID, err)
	}
	if len(v) != 2 {
		return octavus.ExecutionRecord{}, fmt.Errorf("redisstore: claim answered %#v", v)
	}
	rec, err := record(c.SessionID, v[1])
	if err != nil {
		return rec, err
	}
	if n, _ := v[0].(int64); n != 1 {
		return rec, fmt.Errorf("redisstore: session %q: %w", c.SessionID, octavus.ErrExecutionRunning)
	}
	return rec, nil
}

// Renew implements octavus.ExecutionStore.
func (s *Store) Renew(ctx context.Context, sessionID, id, owner string, leaseUntil time.Time) (bool, error) {
	v, err := renewScript.Run(ctx, s.rdb, s.keys(sessionID), id, owner, ms(leaseUntil), s.maxAge).Int64Slice()
	if err != nil {
		return false, fmt.Errorf("redisstore: renew session %q: %w", sessionID, err)
	}
	if len(v) != 2 || v[0] != 1 {
		return false, s.notOwner(sessionID, id)
	}
	return v[1] == 1, nil
}

// Append implements octavus.ExecutionStore.
func (s *Store) Append(ctx context.Context, sessionID, id, owner string, entries []octavus.LoggedEvent) (int, error) {
	args := pairs([]any{id, owner, s.maxLen, s.maxAge}, entries)
	n, err := appendScript.Run(ctx, s.rdb, s.keys(sessionID), args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: append to session %q: %w", sessionID, err)
	}
	if n < 0 {
		return 0, s.notOwner(sessionID, id)
	}
	return int(n), nil
}

// Finish implements octavus.ExecutionStore.
func (s *Store) Finish(ctx context.Context, sessionID, id, owner string, status octavus.ExecutionStatus, last []octavus.LoggedEvent) error {
	if !status.Ended() {
		return fmt.Errorf("redisstore: Finish with status %q, not a final one", status)
	}
	args := pairs([]any{id, owner, string(status), s.maxLen, s.maxAge}, last)
	n, err := finishScript.Run(ctx, s.rdb, s.keys(sessionID), args...).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: finish session %q: %w", sessionID, err)
	}
	if n < 0 {
		return s.notOwner(sessionID, id)
	}
	return nil
}

// Expire implements octavus.ExecutionStore.
func (s *Store) Expire(ctx context.Context, sessionID, id string, now time.Time, last []octavus.LoggedEvent) (bool, error) {
	args := pairs([]any{id, ms(now), s.maxLen, s.maxAge}, last)
	n, err := expireScript.Run(ctx, s.rdb, s.keys(sessionID), args...).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: expire session %q: %w", sessionID, err)
	}
	return n == 1, nil
}

// RequestStop implements octavus.ExecutionStore.
func (s *Store) RequestStop(ctx context.Context, sessionID, id string) (bool, error) {
	n, err := stopScript.Run(ctx, s.rdb, s.keys(sessionID)[:1], id).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: stop session %q: %w", sessionID, err)
	}
	return n == 1, nil
}

// Read implements octavus.ExecutionStore. A waiting Read holds no
// connection: it subscribes to its session's channel on the store's one
// Pub/Sub connection and reads again on each change of the log.
func (s *Store) Read(ctx context.Context, r octavus.LogRead) (octavus.LogPage, error) {
	if err := ctx.Err(); err != nil {
		return octavus.LogPage{}, err
	}
	page, err := s.read(ctx, r)
	if err != nil || r.Wait <= 0 || len(page.Entries) > 0 || page.Execution.Status != octavus.StatusRunning {
		return page, err
	}
	timer := time.NewTimer(r.Wait)
	defer timer.Stop()
	w, release, err := s.notify.subscribe(ctx, s.LogKey(r.SessionID), timer.C)
	switch {
	case errors.Is(err, errNotSubscribed):
		// The wait ran out first: answer with what the log has now.
		return s.read(ctx, r)
	case err != nil:
		if ctxErr := ctx.Err(); ctxErr != nil {
			return octavus.LogPage{}, ctxErr
		}
		return octavus.LogPage{}, err
	}
	defer release()
	for {
		changed := s.notify.changedChan(w)
		again, err := s.read(ctx, r)
		if err != nil || len(again.Entries) > 0 || again.Execution.ID != page.Execution.ID || again.Execution.Status != octavus.StatusRunning {
			return again, err
		}
		select {
		case <-changed:
			if s.notify.isClosed() {
				return octavus.LogPage{}, errStoreClosed
			}
		case <-timer.C:
			return again, nil
		case <-ctx.Done():
			return octavus.LogPage{}, ctx.Err()
		}
	}
}

// Close ends the store's Pub/Sub connection (the one its waiting reads
// share, opened by the first of them); waiting reads then return an
// error. Close the store before its client.
func (s *Store) Close() error { return s.notify.close() }

// read is one snapshot of the session's execution and log from r.Cursor.
func (s *Store) read(ctx context.Context, r octavus.LogRead) (octavus.LogPage, error) {
	cursor := max(r.Cursor, 0)
	v, err := readScript.Run(ctx, s.rdb, s.keys(r.SessionID), cursor, max(r.Limit, 0)).Slice()
	if err != nil {
		return octavus.LogPage{}, fmt.Errorf("redisstore: read session %q: %w", r.SessionID, err)
	}
	if len(v) < 3 || (len(v)-3)%2 != 0 {
		return octavus.LogPage{}, fmt.Errorf("redisstore: read answered %d values", len(v))
	}
	rec, err := record(r.SessionID, v[0])
	if err != nil {
		return octavus.LogPage{}, err
	}
	start, err := strconv.Atoi(fmt.Sprint(v[2]))
	if err != nil {
		return octavus.LogPage{}, fmt.Errorf("redisstore: read start %v: %w", v[2], err)
	}
	page := octavus.LogPage{Execution: rec, Start: start}
	for i := 3; i < len(v); i += 2 {
		typ, _ := v[i].(string)
		data, _ := v[i+1].(string)
		page.Entries = append(page.Entries, octavus.LoggedEvent{Type: typ, Data: []byte(data)})
	}
	page.Next = start + len(page.Entries)
	return page, nil
}
