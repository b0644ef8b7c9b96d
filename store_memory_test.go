package octavus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

func TestMemoryStoreConformance(t *testing.T) {
	octavustest.TestExecutionStore(t, func(t *testing.T) octavus.ExecutionStore {
		return octavus.NewMemoryStore(octavus.MemoryStoreOptions{})
	})
}

func logged(i int) octavus.LoggedEvent {
	return octavus.LoggedEvent{Type: "text-delta", Data: json.RawMessage(fmt.Sprintf(`{"type":"text-delta","id":"t","delta":"%d"}`, i))}
}

func TestMemoryStoreMaxEntries(t *testing.T) {
	ctx := context.Background()
	s := octavus.NewMemoryStore(octavus.MemoryStoreOptions{MaxEntries: 3})
	if _, err := s.Claim(ctx, octavus.Claim{SessionID: "s", ID: "r", Owner: "o", LeaseUntil: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if next, err := s.Append(ctx, "s", "r", "o", []octavus.LoggedEvent{logged(i)}); err != nil || next != i+1 {
			t.Fatalf("Append %d = %d, %v", i, next, err)
		}
	}
	if err := s.Finish(ctx, "s", "r", "o", octavus.StatusDone, []octavus.LoggedEvent{logged(5)}); err != nil {
		t.Fatal(err)
	}
	// Six entries were logged; the three last are kept, at their cursors.
	p, err := s.Read(ctx, octavus.LogRead{SessionID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Start != 3 || p.Next != 6 || len(p.Entries) != 3 || string(p.Entries[0].Data) != string(logged(3).Data) || string(p.Entries[2].Data) != string(logged(5).Data) {
		t.Fatalf("trimmed log: start %d next %d entries %v", p.Start, p.Next, p.Entries)
	}
	p, err = s.Read(ctx, octavus.LogRead{SessionID: "s", Cursor: 4})
	if err != nil {
		t.Fatal(err)
	}
	if p.Start != 4 || len(p.Entries) != 2 || string(p.Entries[0].Data) != string(logged(4).Data) {
		t.Fatalf("read from 4: start %d entries %v", p.Start, p.Entries)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestMemoryStoreMaxAge(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	s := octavus.NewMemoryStore(octavus.MemoryStoreOptions{MaxAge: time.Minute, Now: clock.Now})
	run := func(session string, status octavus.ExecutionStatus) {
		t.Helper()
		if _, err := s.Claim(ctx, octavus.Claim{SessionID: session, ID: "r", Owner: "o", LeaseUntil: clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, session, "r", "o", []octavus.LoggedEvent{logged(0)}); err != nil {
			t.Fatal(err)
		}
		if status != "" {
			if err := s.Finish(ctx, session, "r", "o", status, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	status := func(session string) octavus.ExecutionStatus {
		t.Helper()
		p, err := s.Read(ctx, octavus.LogRead{SessionID: session})
		if err != nil {
			t.Fatal(err)
		}
		if p.Execution.ID == "" {
			if len(p.Entries) != 0 {
				t.Fatalf("%s: entries without an execution", session)
			}
			return ""
		}
		return p.Execution.Status
	}
	run("old", octavus.StatusDone)
	clock.Add(30 * time.Second)
	run("young", octavus.StatusFailed)
	run("running", "")
	clock.Add(30 * time.Second)
	if got := status("old"); got != "" {
		t.Fatalf("log ended a minute ago: status %q, want it gone", got)
	}
	if got := status("young"); got != octavus.StatusFailed {
		t.Fatalf("log ended 30 s ago: status %q, want failed", got)
	}
	clock.Add(time.Hour)
	if got := status("young"); got != "" {
		t.Fatalf("log ended an hour ago: status %q, want it gone", got)
	}
	if got := status("running"); got != octavus.StatusRunning {
		t.Fatalf("a running log is never aged out: status %q", got)
	}
	// A log replaced by a newer execution of its session is not removed
	// by the older one's age.
	run("again", octavus.StatusDone)
	clock.Add(59 * time.Second)
	if _, err := s.Claim(ctx, octavus.Claim{SessionID: "again", ID: "r2", Owner: "o", LeaseUntil: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, "again", "r2", "o", octavus.StatusDone, nil); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Second)
	if got := status("again"); got != octavus.StatusDone {
		t.Fatalf("newer log of the session: status %q, want done", got)
	}
}
