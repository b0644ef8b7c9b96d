package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/redisstore"
	"github.com/octavus-go/octavus/redisstore/internal/redisserver"
)

// TestWaitChurn: waiting reads of one session come and go (each
// subscription and unsubscription of its channel races the next) while
// the log grows; every read returns the entry after its cursor.
func TestWaitChurn(t *testing.T) {
	checkLeaks(t)
	rdb := newClient(t, redisserver.Start(t))
	s := newStore(t, rdb, redisstore.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	claim(t, s, "sess_1", time.Now().Add(time.Hour))
	const n = 300
	const readers = 4
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cursor := 0; cursor < n; {
				p, err := s.Read(ctx, octavus.LogRead{SessionID: "sess_1", Cursor: cursor, Wait: time.Minute})
				if err != nil {
					errs <- err
					return
				}
				cursor = p.Next
			}
		}()
	}
	for i := range n {
		appendAll(t, s, "sess_1", entries(i, i+1))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
