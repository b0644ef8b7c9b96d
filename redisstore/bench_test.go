package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/redisstore"
	"github.com/octavus-go/octavus/redisstore/internal/redisserver"
)

// benchEvent is a text-delta of about 100 bytes of JSON, as a model streams
// them.
var benchEvent = octavus.LoggedEvent{Type: "text-delta", Data: json.RawMessage(`{"type":"text-delta","id":"text_1","delta":"` + strings.Repeat("lorem ", 10) + `"}`)}

func benchStore(b *testing.B) (*redisstore.Store, context.Context) {
	b.Helper()
	rdb := newClient(b, redisserver.Start(b))
	return newStore(b, rdb, redisstore.Options{MaxLen: -1}), context.Background()
}

// BenchmarkAppend: one Append of batch events (one script call) to a
// running execution, over a unix socket.
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, ctx := benchStore(b)
			if _, err := s.Claim(ctx, octavus.Claim{SessionID: "s", ID: "x", Owner: "o", LeaseUntil: time.Now().Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			es := make([]octavus.LoggedEvent, batch)
			for i := range es {
				es[i] = benchEvent
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Append(ctx, "s", "x", "o", es); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkRead: one Read of up to 100 events from a cursor of a 10 000
// event log (a poll).
func BenchmarkRead(b *testing.B) {
	s, ctx := benchStore(b)
	if _, err := s.Claim(ctx, octavus.Claim{SessionID: "s", ID: "x", Owner: "o", LeaseUntil: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	es := make([]octavus.LoggedEvent, 100)
	for i := range es {
		es[i] = benchEvent
	}
	for range 100 {
		if _, err := s.Append(ctx, "s", "x", "o", es); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cursor := 0
	for b.Loop() {
		p, err := s.Read(ctx, octavus.LogRead{SessionID: "s", Cursor: cursor, Limit: 100})
		if err != nil || len(p.Entries) != 100 {
			b.Fatalf("Read: %d entries, %v", len(p.Entries), err)
		}
		cursor = (cursor + 100) % 9900
	}
}
