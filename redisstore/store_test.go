package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
	"github.com/octavus-go/octavus/redisstore"
	"github.com/octavus-go/octavus/redisstore/internal/redisserver"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// newClient returns a client of srv, closed when t ends.
func newClient(t testing.TB, srv *redisserver.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket})
	t.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			t.Errorf("close redis client: %v", err)
		}
	})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping redis: %v", err)
	}
	return rdb
}

// newStore returns a store on rdb, closed when t ends.
func newStore(t testing.TB, rdb redis.UniversalClient, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	s := redisstore.New(rdb, opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close the store: %v", err)
		}
	})
	return s
}

// checkLeaks checks, after every other cleanup of t (the redis-server
// process and the clients are stopped in cleanups), that no goroutine is
// left.
func checkLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func TestExecutionStore(t *testing.T) {
	checkLeaks(t)
	srv := redisserver.Start(t)
	rdb := newClient(t, srv)
	var n atomic.Int64
	octavustest.TestExecutionStore(t, func(t *testing.T) octavus.ExecutionStore {
		return newStore(t, rdb, redisstore.Options{Prefix: fmt.Sprintf("suite%d:", n.Add(1))})
	})
}
