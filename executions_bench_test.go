package octavus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// benchAnswer is a 500-delta answer of the fake platform.
func benchAnswer(b *testing.B) (*octavustest.Server, *octavus.Client, string) {
	b.Helper()
	platform := octavustest.NewServer(octavustest.WithScript(octavustest.Repeat(octavustest.Stream(octavustest.Text(deltas(500)...)))), octavustest.WithConcurrentRuns())
	b.Cleanup(platform.Close)
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	if err != nil {
		b.Fatal(err)
	}
	return platform, client, platform.AddSession(octavustest.Session{})
}

// BenchmarkExecuteAnswer is the baseline: the answer read from Execute's
// channel, as Handler streams it.
func BenchmarkExecuteAnswer(b *testing.B) {
	_, client, session := benchAnswer(b)
	s := client.AgentSessions.Attach(session, octavus.AttachOptions{})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for range s.Execute(context.Background(), userMessage) {
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkExecutionsAnswer: the same answer run detached by Executions,
// logged in the in-memory store and read back from the log by a reader
// that waits on it (a long poll), as NewPollingHandler does.
func BenchmarkExecutionsAnswer(b *testing.B) {
	_, client, session := benchAnswer(b)
	execs := octavus.NewExecutions(client, octavus.ExecutionsOptions{})
	b.Cleanup(func() { _ = execs.Close() })
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := execs.Start(ctx, session, userMessage); err != nil {
			b.Fatal(err)
		}
		cursor := 0
		for {
			p, err := execs.Read(ctx, octavus.LogRead{SessionID: session, Cursor: cursor, Wait: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Entries)
			cursor = p.Next
			if p.Execution.Status != octavus.StatusRunning {
				break
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMemoryStoreAppend appends events one at a time (batch 1) and 16
// at a time, as Executions does with what the platform sent at once.
func BenchmarkMemoryStoreAppend(b *testing.B) {
	ev := octavus.LoggedEvent{Type: "text-delta", Data: json.RawMessage(`{"type":"text-delta","id":"text_1","delta":"word "}`)}
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := octavus.NewMemoryStore(octavus.MemoryStoreOptions{})
			ctx := context.Background()
			if _, err := s.Claim(ctx, octavus.Claim{SessionID: "s", ID: "r", Owner: "o", LeaseUntil: time.Now().Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			entries := make([]octavus.LoggedEvent, batch)
			for i := range entries {
				entries[i] = ev
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Append(ctx, "s", "r", "o", entries); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
