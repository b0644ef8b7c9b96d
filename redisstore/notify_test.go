package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/redisstore"
	"github.com/octavus-go/octavus/redisstore/internal/redisserver"
	"github.com/redis/go-redis/v9"
)

type readResult struct {
	page octavus.LogPage
	err  error
}

func readAsync(ctx context.Context, s *redisstore.Store, r octavus.LogRead) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		p, err := s.Read(ctx, r)
		ch <- readResult{p, err}
	}()
	return ch
}

// TestWaitingReadsHoldNoConnection: many more waiting reads than the
// client's pool has connections leave the pool to the writers, and each
// is woken by its append.
func TestWaitingReadsHoldNoConnection(t *testing.T) {
	checkLeaks(t)
	srv := redisserver.Start(t)
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket, PoolSize: 2, PoolTimeout: time.Minute})
	t.Cleanup(func() { _ = rdb.Close() })
	s := newStore(t, rdb, redisstore.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const readers = 30
	var waits []<-chan readResult
	for i := range readers {
		session := fmt.Sprintf("sess_%d", i)
		claim(t, s, session, time.Now().Add(time.Hour))
		waits = append(waits, readAsync(ctx, s, octavus.LogRead{SessionID: session, Wait: time.Hour}))
	}
	for i := range readers {
		appendAll(t, s, fmt.Sprintf("sess_%d", i), entries(i, i+1))
	}
	for i, ch := range waits {
		r := <-ch
		if r.err != nil {
			t.Fatalf("reader %d: %v", i, r.err)
		}
		checkPage(t, fmt.Sprintf("reader %d", i), r.page, 0, entries(i, i+1))
	}
}

// TestCloseEndsWaitingReads: Close wakes the waiting reads, with an
// error, whenever it comes (before, during or after their subscription),
// and a read after Close that would wait fails at once.
func TestCloseEndsWaitingReads(t *testing.T) {
	checkLeaks(t)
	rdb := newClient(t, redisserver.Start(t))
	for i := range 40 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		s := redisstore.New(rdb, redisstore.Options{Prefix: fmt.Sprintf("close%d:", i)})
		claim(t, s, "sess_1", time.Now().Add(time.Hour))
		ch := readAsync(ctx, s, octavus.LogRead{SessionID: "sess_1", Wait: time.Hour})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		r := <-ch
		if errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("round %d: the waiting read was not woken by Close", i)
		}
		if r.err == nil {
			t.Fatalf("round %d: a waiting read after Close returned %+v, want an error", i, r.page)
		}
		if _, err := s.Read(ctx, octavus.LogRead{SessionID: "sess_1", Wait: time.Hour}); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: a waiting read after Close: %v, want the store's error", i, err)
		}
		// A read that need not wait still works.
		if p := read(t, s, "sess_1", 0); p.Execution.ID != "run_1" {
			t.Fatalf("read after Close: %+v", p.Execution)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		cancel()
	}
}

// TestPubSubReconnect: when the Pub/Sub connection is killed under a
// waiting read, go-redis reconnects and subscribes again, and the read
// still gets the entry appended meanwhile.
func TestPubSubReconnect(t *testing.T) {
	checkLeaks(t)
	rdb := newClient(t, redisserver.Start(t))
	s := newStore(t, rdb, redisstore.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	claim(t, s, "sess_1", time.Now().Add(time.Hour))
	ch := readAsync(ctx, s, octavus.LogRead{SessionID: "sess_1", Wait: time.Hour})
	// Wait for the subscription, as Redis sees it.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := rdb.PubSubNumSub(ctx, s.LogKey("sess_1")).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[s.LogKey("sess_1")] == 1 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the waiting read did not subscribe")
		}
	}
	if err := rdb.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	appendAll(t, s, "sess_1", entries(0, 1))
	r := <-ch
	if r.err != nil {
		t.Fatalf("the read across the reconnection: %v", r.err)
	}
	checkPage(t, "across the reconnection", r.page, 0, entries(0, 1))
}

// TestWaitEndsOnExpire: a read waiting on an execution returns when
// another replica expired it.
func TestWaitEndsOnExpire(t *testing.T) {
	checkLeaks(t)
	rdb := newClient(t, redisserver.Start(t))
	s := newStore(t, rdb, redisstore.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	claim(t, s, "sess_1", time.Now().Add(time.Hour))
	ch := readAsync(ctx, s, octavus.LogRead{SessionID: "sess_1", Cursor: 0, Wait: time.Hour})
	if ok, err := s.Expire(ctx, "sess_1", "run_1", time.Now().Add(2*time.Hour), nil); !ok || err != nil {
		t.Fatalf("Expire = %v, %v", ok, err)
	}
	r := <-ch
	if r.err != nil || r.page.Execution.Status != octavus.StatusFailed {
		t.Fatalf("read after Expire: %+v, %v", r.page.Execution, r.err)
	}
}
