package octavustest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
)

// TestExecutionStore is the conformance test suite of an
// octavus.ExecutionStore: run it from a test of your store, with newStore
// returning an empty store (a fresh one, or one on a fresh key prefix) for
// each subtest:
//
//	func TestMyStore(t *testing.T) {
//		octavustest.TestExecutionStore(t, func(t *testing.T) octavus.ExecutionStore {
//			return mystore.New(...)
//		})
//	}
//
// It checks the contract of the interface's doc comments: claims and the
// busy slot, ordered appends and their cursors, reads from any cursor and
// with a limit, the owner checks of every write, Finish's last entries and
// statuses, lease renewal and expiry, stop requests, and waiting reads
// (woken by an append or by the end, ended by the wait or by ctx). Leases
// are given at millisecond precision. It does not check retention, which
// is each store's own configuration.
func TestExecutionStore(t *testing.T, newStore func(t *testing.T) octavus.ExecutionStore) {
	t.Helper()
	for _, tc := range storeTests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

var storeTests = []struct {
	name string
	fn   func(t *testing.T, s octavus.ExecutionStore)
}{
	{"EmptySession", storeEmptySession},
	{"ClaimAppendRead", storeClaimAppendRead},
	{"BusySlot", storeBusySlot},
	{"NextExecutionReplacesLog", storeNextExecution},
	{"OwnerChecks", storeOwnerChecks},
	{"FinishStatuses", storeFinishStatuses},
	{"RenewAndStop", storeRenewAndStop},
	{"Expire", storeExpire},
	{"WaitWokenByAppend", storeWaitAppend},
	{"WaitWokenByFinish", storeWaitFinish},
	{"WaitRunsOut", storeWaitRunsOut},
	{"WaitCancelled", storeWaitCancelled},
	{"ManyEntriesInOrder", storeManyEntries},
	{"SessionsApart", storeSessionsApart},
}

// storeLease is a lease time at millisecond precision, an hour from now.
func storeLease() time.Time { return time.UnixMilli(time.Now().Add(time.Hour).UnixMilli()) }

func storeEntry(typ string, i int) octavus.LoggedEvent {
	return octavus.LoggedEvent{Type: typ, Data: json.RawMessage(fmt.Sprintf(`{"type":%q,"id":"t%d","delta":"d\u00e9l \"%d\"\n"}`, typ, i, i))}
}

func storeEntries(from, to int) []octavus.LoggedEvent {
	var out []octavus.LoggedEvent
	for i := from; i < to; i++ {
		out = append(out, storeEntry("text-delta", i))
	}
	return out
}

func storeClaim(t *testing.T, s octavus.ExecutionStore, session, id, owner string) octavus.ExecutionRecord {
	t.Helper()
	until := storeLease()
	rec, err := s.Claim(context.Background(), octavus.Claim{SessionID: session, ID: id, Owner: owner, LeaseUntil: until})
	if err != nil {
		t.Fatalf("Claim(%s, %s): %v", session, id, err)
	}
	want := octavus.ExecutionRecord{SessionID: session, ID: id, Owner: owner, Status: octavus.StatusRunning, LeaseUntil: until}
	storeCheckRecord(t, "Claim", rec, want)
	return rec
}

func storeCheckRecord(t *testing.T, what string, got, want octavus.ExecutionRecord) {
	t.Helper()
	if got.SessionID != want.SessionID || got.ID != want.ID || got.Owner != want.Owner || got.Status != want.Status || got.StopRequested != want.StopRequested || !got.LeaseUntil.Equal(want.LeaseUntil) {
		t.Fatalf("%s: record %+v, want %+v", what, got, want)
	}
}

func storeAppend(t *testing.T, s octavus.ExecutionStore, session, id, owner string, es []octavus.LoggedEvent, wantNext int) {
	t.Helper()
	next, err := s.Append(context.Background(), session, id, owner, es)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if next != wantNext {
		t.Fatalf("Append returned next %d, want %d", next, wantNext)
	}
}

func storeRead(t *testing.T, s octavus.ExecutionStore, r octavus.LogRead) octavus.LogPage {
	t.Helper()
	p, err := s.Read(context.Background(), r)
	if err != nil {
		t.Fatalf("Read(%+v): %v", r, err)
	}
	return p
}

func storeCheckPage(t *testing.T, what string, p octavus.LogPage, start int, want []octavus.LoggedEvent) {
	t.Helper()
	if p.Start != start || p.Next != start+len(want) || len(p.Entries) != len(want) {
		t.Fatalf("%s: page start %d next %d with %d entries, want start %d next %d with %d", what, p.Start, p.Next, len(p.Entries), start, start+len(want), len(want))
	}
	for i := range want {
		if p.Entries[i].Type != want[i].Type || string(p.Entries[i].Data) != string(want[i].Data) {
			t.Fatalf("%s: entry %d is %s %s, want %s %s", what, i, p.Entries[i].Type, p.Entries[i].Data, want[i].Type, want[i].Data)
		}
	}
}

func storeEmptySession(t *testing.T, s octavus.ExecutionStore) {
	p := storeRead(t, s, octavus.LogRead{SessionID: "sess_none", Wait: time.Minute})
	if p.Execution != (octavus.ExecutionRecord{}) {
		t.Fatalf("record of a session without execution: %+v", p.Execution)
	}
	storeCheckPage(t, "empty session", p, 0, nil)
	storeCheckPage(t, "empty session past the end", storeRead(t, s, octavus.LogRead{SessionID: "sess_none", Cursor: 7}), 0, nil)
	if ok, err := s.RequestStop(context.Background(), "sess_none", ""); ok || err != nil {
		t.Fatalf("RequestStop without execution = %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.Expire(context.Background(), "sess_none", "x", time.Now(), nil); ok || err != nil {
		t.Fatalf("Expire without execution = %v, %v; want false, nil", ok, err)
	}
}

func storeClaimAppendRead(t *testing.T, s octavus.ExecutionStore) {
	rec := storeClaim(t, s, "sess_a", "run_1", "replica-1")
	all := storeEntries(0, 5)
	storeAppend(t, s, "sess_a", "run_1", "replica-1", all[:2], 2)
	storeAppend(t, s, "sess_a", "run_1", "replica-1", all[2:], 5)
	p := storeRead(t, s, octavus.LogRead{SessionID: "sess_a"})
	storeCheckRecord(t, "Read", p.Execution, rec)
	storeCheckPage(t, "cursor 0", p, 0, all)
	storeCheckPage(t, "cursor 2", storeRead(t, s, octavus.LogRead{SessionID: "sess_a", Cursor: 2}), 2, all[2:])
	storeCheckPage(t, "cursor 5", storeRead(t, s, octavus.LogRead{SessionID: "sess_a", Cursor: 5}), 5, nil)
	storeCheckPage(t, "cursor past the end", storeRead(t, s, octavus.LogRead{SessionID: "sess_a", Cursor: 9}), 5, nil)
	storeCheckPage(t, "limit 2", storeRead(t, s, octavus.LogRead{SessionID: "sess_a", Cursor: 1, Limit: 2}), 1, all[1:3])
	storeAppend(t, s, "sess_a", "run_1", "replica-1", nil, 5)
}

func storeBusySlot(t *testing.T, s octavus.ExecutionStore) {
	first := storeClaim(t, s, "sess_b", "run_1", "replica-1")
	rec, err := s.Claim(context.Background(), octavus.Claim{SessionID: "sess_b", ID: "run_2", Owner: "replica-2", LeaseUntil: storeLease()})
	if !errors.Is(err, octavus.ErrExecutionRunning) {
		t.Fatalf("second Claim: %v, want ErrExecutionRunning", err)
	}
	storeCheckRecord(t, "busy Claim", rec, first)
	// An expired lease does not free the slot by itself.
	if _, err := s.Renew(context.Background(), "sess_b", "run_1", "replica-1", time.UnixMilli(1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(context.Background(), octavus.Claim{SessionID: "sess_b", ID: "run_3", Owner: "replica-2", LeaseUntil: storeLease()}); !errors.Is(err, octavus.ErrExecutionRunning) {
		t.Fatalf("Claim over an expired lease: %v, want ErrExecutionRunning", err)
	}
	if p := storeRead(t, s, octavus.LogRead{SessionID: "sess_b"}); p.Execution.ID != "run_1" {
		t.Fatalf("the busy claim changed the record: %+v", p.Execution)
	}
}

func storeNextExecution(t *testing.T, s octavus.ExecutionStore) {
	storeClaim(t, s, "sess_c", "run_1", "replica-1")
	storeAppend(t, s, "sess_c", "run_1", "replica-1", storeEntries(0, 3), 3)
	if err := s.Finish(context.Background(), "sess_c", "run_1", "replica-1", octavus.StatusDone, nil); err != nil {
		t.Fatal(err)
	}
	rec := storeClaim(t, s, "sess_c", "run_2", "replica-2")
	p := storeRead(t, s, octavus.LogRead{SessionID: "sess_c"})
	storeCheckRecord(t, "second execution", p.Execution, rec)
	storeCheckPage(t, "new log", p, 0, nil)
	next := []octavus.LoggedEvent{storeEntry("start", 7)}
	storeAppend(t, s, "sess_c", "run_2", "replica-2", next, 1)
	storeCheckPage(t, "new log", storeRead(t, s, octavus.LogRead{SessionID: "sess_c"}), 0, next)
	if _, err := s.Append(context.Background(), "sess_c", "run_1", "replica-1", storeEntries(0, 1)); !errors.Is(err, octavus.ErrNotOwner) {
		t.Fatalf("Append to the replaced execution: %v, want ErrNotOwner", err)
	}
}

func storeOwnerChecks(t *testing.T, s octavus.ExecutionStore) {
	ctx := context.Background()
	storeClaim(t, s, "sess_d", "run_1", "replica-1")
	notOwner := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, octavus.ErrNotOwner) {
			t.Fatalf("%s: %v, want ErrNotOwner", what, err)
		}
	}
	_, err := s.Append(ctx, "sess_d", "run_1", "replica-2", storeEntries(0, 1))
	notOwner("Append by another owner", err)
	_, err = s.Append(ctx, "sess_d", "run_9", "replica-1", storeEntries(0, 1))
	notOwner("Append to another id", err)
	_, err = s.Append(ctx, "sess_x", "run_1", "replica-1", storeEntries(0, 1))
	notOwner("Append to another session", err)
	_, err = s.Renew(ctx, "sess_d", "run_1", "replica-2", storeLease())
	notOwner("Renew by another owner", err)
	notOwner("Finish by another owner", s.Finish(ctx, "sess_d", "run_1", "replica-2", octavus.StatusDone, nil))
	storeCheckPage(t, "after refused writes", storeRead(t, s, octavus.LogRead{SessionID: "sess_d"}), 0, nil)

	if err := s.Finish(ctx, "sess_d", "run_1", "replica-1", octavus.StatusDone, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(ctx, "sess_d", "run_1", "replica-1", storeEntries(0, 1))
	notOwner("Append after Finish", err)
	_, err = s.Renew(ctx, "sess_d", "run_1", "replica-1", storeLease())
	notOwner("Renew after Finish", err)
	notOwner("Finish after Finish", s.Finish(ctx, "sess_d", "run_1", "replica-1", octavus.StatusFailed, nil))
	p := storeRead(t, s, octavus.LogRead{SessionID: "sess_d"})
	if p.Execution.Status != octavus.StatusDone {
		t.Fatalf("status after a refused Finish: %s", p.Execution.Status)
	}
	storeCheckPage(t, "after refused writes", p, 0, nil)
}

func storeFinishStatuses(t *testing.T, s octavus.ExecutionStore) {
	for i, status := range []octavus.ExecutionStatus{octavus.StatusDone, octavus.StatusFailed, octavus.StatusStopped} {
		session := fmt.Sprintf("sess_f%d", i)
		rec := storeClaim(t, s, session, "run_1", "replica-1")
		body := storeEntries(0, 2)
		storeAppend(t, s, session, "run_1", "replica-1", body, 2)
		last := []octavus.LoggedEvent{storeEntry("finish", 2), storeEntry("usage", 3)}
		if err := s.Finish(context.Background(), session, "run_1", "replica-1", status, last); err != nil {
			t.Fatalf("Finish %s: %v", status, err)
		}
		p := storeRead(t, s, octavus.LogRead{SessionID: session, Wait: time.Minute})
		rec.Status = status
		storeCheckRecord(t, "after Finish", p.Execution, rec)
		storeCheckPage(t, "after Finish", p, 0, append(body, last...))
	}
}

func storeRenewAndStop(t *testing.T, s octavus.ExecutionStore) {
	ctx := context.Background()
	rec := storeClaim(t, s, "sess_e", "run_1", "replica-1")
	rec.LeaseUntil = rec.LeaseUntil.Add(time.Minute)
	stop, err := s.Renew(ctx, "sess_e", "run_1", "replica-1", rec.LeaseUntil)
	if err != nil || stop {
		t.Fatalf("Renew = %v, %v; want false, nil", stop, err)
	}
	storeCheckRecord(t, "after Renew", storeRead(t, s, octavus.LogRead{SessionID: "sess_e"}).Execution, rec)
	if ok, err := s.RequestStop(ctx, "sess_e", "run_9"); ok || err != nil {
		t.Fatalf("RequestStop of another id = %v, %v; want false, nil", ok, err)
	}
	if stop, err := s.Renew(ctx, "sess_e", "run_1", "replica-1", rec.LeaseUntil); err != nil || stop {
		t.Fatalf("Renew after a stop of another id = %v, %v; want false, nil", stop, err)
	}
	for i := 0; i < 2; i++ {
		if ok, err := s.RequestStop(ctx, "sess_e", []string{"", "run_1"}[i]); !ok || err != nil {
			t.Fatalf("RequestStop #%d = %v, %v; want true, nil", i+1, ok, err)
		}
	}
	if stop, err := s.Renew(ctx, "sess_e", "run_1", "replica-1", rec.LeaseUntil); err != nil || !stop {
		t.Fatalf("Renew after RequestStop = %v, %v; want true, nil", stop, err)
	}
	rec.StopRequested = true
	storeCheckRecord(t, "after RequestStop", storeRead(t, s, octavus.LogRead{SessionID: "sess_e"}).Execution, rec)
	if err := s.Finish(ctx, "sess_e", "run_1", "replica-1", octavus.StatusStopped, []octavus.LoggedEvent{storeEntry("finish", 0)}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RequestStop(ctx, "sess_e", ""); ok || err != nil {
		t.Fatalf("RequestStop after the end = %v, %v; want false, nil", ok, err)
	}
	next := storeClaim(t, s, "sess_e", "run_2", "replica-1")
	if stop, err := s.Renew(ctx, "sess_e", "run_2", "replica-1", next.LeaseUntil); err != nil || stop {
		t.Fatalf("Renew of the next execution = %v, %v; want false, nil (the stop was for the previous one)", stop, err)
	}
}

func storeExpire(t *testing.T, s octavus.ExecutionStore) {
	ctx := context.Background()
	until := time.UnixMilli(time.Now().UnixMilli())
	if _, err := s.Claim(ctx, octavus.Claim{SessionID: "sess_g", ID: "run_1", Owner: "replica-1", LeaseUntil: until}); err != nil {
		t.Fatal(err)
	}
	storeAppend(t, s, "sess_g", "run_1", "replica-1", storeEntries(0, 2), 2)
	last := []octavus.LoggedEvent{storeEntry("error", 9)}
	if ok, err := s.Expire(ctx, "sess_g", "run_1", until.Add(-time.Millisecond), last); ok || err != nil {
		t.Fatalf("Expire before the lease ran out = %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.Expire(ctx, "sess_g", "run_9", until.Add(time.Second), last); ok || err != nil {
		t.Fatalf("Expire of another id = %v, %v; want false, nil", ok, err)
	}
	storeCheckPage(t, "before expiry", storeRead(t, s, octavus.LogRead{SessionID: "sess_g"}), 0, storeEntries(0, 2))
	if ok, err := s.Expire(ctx, "sess_g", "run_1", until, last); !ok || err != nil {
		t.Fatalf("Expire at the lease's end = %v, %v; want true, nil", ok, err)
	}
	p := storeRead(t, s, octavus.LogRead{SessionID: "sess_g", Wait: time.Minute})
	if p.Execution.Status != octavus.StatusFailed {
		t.Fatalf("status after Expire: %q, want failed", p.Execution.Status)
	}
	storeCheckPage(t, "after expiry", p, 0, append(storeEntries(0, 2), last...))
	if ok, err := s.Expire(ctx, "sess_g", "run_1", until.Add(time.Hour), last); ok || err != nil {
		t.Fatalf("second Expire = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.Append(ctx, "sess_g", "run_1", "replica-1", storeEntries(2, 3)); !errors.Is(err, octavus.ErrNotOwner) {
		t.Fatalf("Append by the expired owner: %v, want ErrNotOwner", err)
	}
	if _, err := s.Renew(ctx, "sess_g", "run_1", "replica-1", storeLease()); !errors.Is(err, octavus.ErrNotOwner) {
		t.Fatalf("Renew by the expired owner: %v, want ErrNotOwner", err)
	}
	storeClaim(t, s, "sess_g", "run_2", "replica-2")

	// A renewed lease is not expired.
	storeClaim(t, s, "sess_h", "run_1", "replica-1")
	if _, err := s.Renew(ctx, "sess_h", "run_1", "replica-1", until.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Expire(ctx, "sess_h", "run_1", until.Add(time.Minute), last); ok || err != nil {
		t.Fatalf("Expire of a renewed lease = %v, %v; want false, nil", ok, err)
	}
}

// storeReadAsync runs a waiting Read in a goroutine.
func storeReadAsync(ctx context.Context, s octavus.ExecutionStore, r octavus.LogRead) <-chan storeReadResult {
	ch := make(chan storeReadResult, 1)
	go func() {
		p, err := s.Read(ctx, r)
		ch <- storeReadResult{p, err}
	}()
	return ch
}

type storeReadResult struct {
	page octavus.LogPage
	err  error
}

func storeWaitAppend(t *testing.T, s octavus.ExecutionStore) {
	storeClaim(t, s, "sess_w", "run_1", "replica-1")
	storeAppend(t, s, "sess_w", "run_1", "replica-1", storeEntries(0, 1), 1)
	ch := storeReadAsync(context.Background(), s, octavus.LogRead{SessionID: "sess_w", Cursor: 1, Wait: time.Minute})
	storeAppend(t, s, "sess_w", "run_1", "replica-1", storeEntries(1, 2), 2)
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	storeCheckPage(t, "woken read", r.page, 1, storeEntries(1, 2))
}

func storeWaitFinish(t *testing.T, s octavus.ExecutionStore) {
	storeClaim(t, s, "sess_wf", "run_1", "replica-1")
	ch := storeReadAsync(context.Background(), s, octavus.LogRead{SessionID: "sess_wf", Wait: time.Minute})
	if err := s.Finish(context.Background(), "sess_wf", "run_1", "replica-1", octavus.StatusStopped, nil); err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.page.Execution.Status != octavus.StatusStopped {
		t.Fatalf("woken read: status %q, want stopped", r.page.Execution.Status)
	}
	storeCheckPage(t, "woken read", r.page, 0, nil)
}

func storeWaitRunsOut(t *testing.T, s octavus.ExecutionStore) {
	rec := storeClaim(t, s, "sess_wr", "run_1", "replica-1")
	p := storeRead(t, s, octavus.LogRead{SessionID: "sess_wr", Wait: 20 * time.Millisecond})
	storeCheckRecord(t, "read whose wait ran out", p.Execution, rec)
	storeCheckPage(t, "read whose wait ran out", p, 0, nil)
}

func storeWaitCancelled(t *testing.T, s octavus.ExecutionStore) {
	storeClaim(t, s, "sess_wc", "run_1", "replica-1")
	ctx, cancel := context.WithCancel(context.Background())
	ch := storeReadAsync(ctx, s, octavus.LogRead{SessionID: "sess_wc", Wait: time.Hour})
	cancel()
	if r := <-ch; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled read: %v, want context.Canceled", r.err)
	}
}

func storeManyEntries(t *testing.T, s octavus.ExecutionStore) {
	storeClaim(t, s, "sess_m", "run_1", "replica-1")
	const n = 500
	for i := 0; i < n; i++ {
		storeAppend(t, s, "sess_m", "run_1", "replica-1", storeEntries(i, i+1), i+1)
	}
	var got []octavus.LoggedEvent
	cursor := 0
	for cursor < n {
		p := storeRead(t, s, octavus.LogRead{SessionID: "sess_m", Cursor: cursor, Limit: 64})
		if p.Start != cursor || len(p.Entries) == 0 || len(p.Entries) > 64 {
			t.Fatalf("page from %d: start %d, %d entries", cursor, p.Start, len(p.Entries))
		}
		got = append(got, p.Entries...)
		cursor = p.Next
	}
	storeCheckPage(t, "pages joined", octavus.LogPage{Entries: got, Next: len(got)}, 0, storeEntries(0, n))
}

func storeSessionsApart(t *testing.T, s octavus.ExecutionStore) {
	const sessions = 8
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i := 0; i < sessions; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			session := fmt.Sprintf("sess_p%d", i)
			if _, err := s.Claim(ctx, octavus.Claim{SessionID: session, ID: "run_1", Owner: "replica-1", LeaseUntil: storeLease()}); err != nil {
				errs <- err
				return
			}
			for j := 0; j < 20; j++ {
				if _, err := s.Append(ctx, session, "run_1", "replica-1", []octavus.LoggedEvent{storeEntry(session, j)}); err != nil {
					errs <- err
					return
				}
			}
			errs <- s.Finish(ctx, session, "run_1", "replica-1", octavus.StatusDone, nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < sessions; i++ {
		session := fmt.Sprintf("sess_p%d", i)
		var want []octavus.LoggedEvent
		for j := 0; j < 20; j++ {
			want = append(want, storeEntry(session, j))
		}
		p := storeRead(t, s, octavus.LogRead{SessionID: session})
		if p.Execution.Status != octavus.StatusDone {
			t.Fatalf("%s: status %q", session, p.Execution.Status)
		}
		storeCheckPage(t, session, p, 0, want)
	}
}
