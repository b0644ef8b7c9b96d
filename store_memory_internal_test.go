package octavus

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// With no MaxAge nothing is swept, so nothing is kept for the sweep: the
// store does not grow with the executions that ended.
func TestMemoryStoreNoMaxAgeKeepsNoEndedList(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore(MemoryStoreOptions{MaxAge: -1})
	for i := range 100 {
		id := "r" + strconv.Itoa(i)
		if _, err := m.Claim(ctx, Claim{SessionID: "s" + strconv.Itoa(i%3), ID: id, Owner: "o", LeaseUntil: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := m.Finish(ctx, "s"+strconv.Itoa(i%3), id, "o", StatusDone, nil); err != nil {
			t.Fatal(err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.ended) != 0 || len(m.logs) != 3 {
		t.Fatalf("%d ended records, %d logs", len(m.ended), len(m.logs))
	}
}
