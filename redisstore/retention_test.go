package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/redisstore"
	"github.com/octavus-go/octavus/redisstore/internal/redisserver"
)

func entries(from, to int) []octavus.LoggedEvent {
	var out []octavus.LoggedEvent
	for i := from; i < to; i++ {
		out = append(out, octavus.LoggedEvent{Type: "text-delta", Data: json.RawMessage(fmt.Sprintf(`{"type":"text-delta","id":"t","delta":"%d"}`, i))})
	}
	return out
}

func claim(t *testing.T, s *redisstore.Store, session string, until time.Time) {
	t.Helper()
	if _, err := s.Claim(context.Background(), octavus.Claim{SessionID: session, ID: "run_1", Owner: "replica-1", LeaseUntil: until}); err != nil {
		t.Fatalf("Claim: %v", err)
	}
}

func appendAll(t *testing.T, s *redisstore.Store, session string, es []octavus.LoggedEvent) {
	t.Helper()
	if _, err := s.Append(context.Background(), session, "run_1", "replica-1", es); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func read(t *testing.T, s *redisstore.Store, session string, cursor int) octavus.LogPage {
	t.Helper()
	p, err := s.Read(context.Background(), octavus.LogRead{SessionID: session, Cursor: cursor})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return p
}

func checkPage(t *testing.T, what string, p octavus.LogPage, start int, want []octavus.LoggedEvent) {
	t.Helper()
	if p.Start != start || p.Next != start+len(want) {
		t.Fatalf("%s: start %d next %d, want start %d next %d", what, p.Start, p.Next, start, start+len(want))
	}
	same := slices.EqualFunc(p.Entries, want, func(a, b octavus.LoggedEvent) bool {
		return a.Type == b.Type && string(a.Data) == string(b.Data)
	})
	if !same {
		t.Fatalf("%s: entries %v, want %v", what, p.Entries, want)
	}
}

// TestMaxLen: a log keeps its newest MaxLen events; a reader from before
// them starts at the first kept one, at its own cursor.
func TestMaxLen(t *testing.T) {
	checkLeaks(t)
	rdb := newClient(t, redisserver.Start(t))
	s := newStore(t, rdb, redisstore.Options{MaxLen: 3})
	claim(t, s, "sess_1", time.Now().Add(time.Hour))
	appendAll(t, s, "sess_1", entries(0, 2))
	appendAll(t, s, "sess_1", entries(2, 5))
	checkPage(t, "cursor 0", read(t, s, "sess_1", 0), 2, entries(2, 5))
	checkPage(t, "cursor 3", read(t, s, "sess_1", 3), 3, entries(3, 5))
	if err := s.Finish(context.Background(), "sess_1", "run_1", "replica-1", octavus.StatusDone, entries(5, 6)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, "after Finish", read(t, s, "sess_1", 0), 3, entries(3, 6))
	// Three events and the end marker.
	if n, err := rdb.XLen(context.Background(), s.LogKey("sess_1")).Result(); err != nil || n != 4 {
		t.Fatalf("XLEN = %d, %v; want 4", n, err)
	}
}

// TestMaxAge: the keys of a running execution expire MaxAge after its
// lease; those of an ended one MaxAge after its end; with a negative
// MaxAge an ended log stays.
func TestMaxAge(t *testing.T) {
	checkLeaks(t)
	rdb := newClient(t, redisserver.Start(t))
	ctx := context.Background()
	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := rdb.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatalf("PTTL %s: %v", key, err)
		}
		return d
	}
	s := newStore(t, rdb, redisstore.Options{MaxAge: time.Minute, Prefix: "age:"})
	claim(t, s, "sess_1", time.Now().Add(time.Hour))
	appendAll(t, s, "sess_1", entries(0, 1))
	for _, key := range []string{s.StateKey("sess_1"), s.LogKey("sess_1")} {
		if d := pttl(key); d <= time.Hour || d > time.Hour+time.Minute {
			t.Fatalf("running: PTTL %s = %v, want within (1h, 1h1m]", key, d)
		}
	}
	if err := s.Finish(ctx, "sess_1", "run_1", "replica-1", octavus.StatusDone, nil); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{s.StateKey("sess_1"), s.LogKey("sess_1")} {
		if d := pttl(key); d <= 0 || d > time.Minute {
			t.Fatalf("ended: PTTL %s = %v, want within (0, 1m]", key, d)
		}
	}

	// When a log's keys are gone, the session reads as one without an
	// execution.
	if err := rdb.Del(ctx, s.StateKey("sess_1"), s.LogKey("sess_1")).Err(); err != nil {
		t.Fatal(err)
	}
	if p := read(t, s, "sess_1", 0); p.Execution != (octavus.ExecutionRecord{}) || len(p.Entries) != 0 {
		t.Fatalf("after expiry: %+v", p)
	}

	keep := newStore(t, rdb, redisstore.Options{MaxAge: -1, Prefix: "keep:"})
	claim(t, keep, "sess_1", time.Now().Add(time.Hour))
	appendAll(t, keep, "sess_1", entries(0, 1))
	if err := keep.Finish(ctx, "sess_1", "run_1", "replica-1", octavus.StatusDone, nil); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{keep.StateKey("sess_1"), keep.LogKey("sess_1")} {
		if d := pttl(key); d != -1 {
			t.Fatalf("MaxAge -1: PTTL %s = %v, want -1 (no expiry)", key, d)
		}
	}
}

// TestRestart: a store on a new client (a restarted replica) reads all
// that the log held, and the running execution's owner, back from Redis.
func TestRestart(t *testing.T) {
	checkLeaks(t)
	srv := redisserver.Start(t)
	until := time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())
	before := newStore(t, newClient(t, srv), redisstore.Options{})
	claim(t, before, "sess_1", until)
	appendAll(t, before, "sess_1", entries(0, 7))
	want := read(t, before, "sess_1", 0)

	after := newStore(t, newClient(t, srv), redisstore.Options{})
	got := read(t, after, "sess_1", 0)
	if got.Execution != want.Execution {
		t.Fatalf("record after restart %+v, want %+v", got.Execution, want.Execution)
	}
	checkPage(t, "after restart", got, 0, entries(0, 7))
	// The new process is not the owner; the one named replica-1 is.
	if _, err := after.Append(context.Background(), "sess_1", "run_1", "replica-1", entries(7, 8)); err != nil {
		t.Fatalf("Append by the same owner name: %v", err)
	}
	checkPage(t, "appended after restart", read(t, before, "sess_1", 7), 7, entries(7, 8))
}

// TestKeys: the store makes two keys per session, both with the session
// id as hash tag (one Redis Cluster slot), under the prefix.
func TestKeys(t *testing.T) {
	checkLeaks(t)
	rdb := newClient(t, redisserver.Start(t))
	s := newStore(t, rdb, redisstore.Options{Prefix: "app1:"})
	claim(t, s, "sess_1", time.Now().Add(time.Hour))
	appendAll(t, s, "sess_1", entries(0, 1))
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if want := []string{"app1:{sess_1}:log", "app1:{sess_1}:state"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	if s.StateKey("sess_1") != "app1:{sess_1}:state" || s.LogKey("sess_1") != "app1:{sess_1}:log" {
		t.Fatalf("StateKey/LogKey: %q %q", s.StateKey("sess_1"), s.LogKey("sess_1"))
	}
}

func TestPrefixWithBrace(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with a brace in Prefix did not panic")
		}
	}()
	redisstore.New(nil, redisstore.Options{Prefix: "a{b}:"})
}

// TestNoRedisServerSkips: without redis-server on PATH (and CI unset) a
// test skips, with a message saying so.
func TestNoRedisServerSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "")
	t.Chdir(t.TempDir()) // the skip's stamp file goes there, not into the package folder
	skipped := false
	t.Run("without", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		redisserver.Binary(t)
	})
	if !skipped {
		t.Fatal("a test without redis-server did not skip")
	}
}
