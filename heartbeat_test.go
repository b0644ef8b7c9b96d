package octavus

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chanWriter is a ResponseWriter that hands each write to the test.
type chanWriter struct {
	h      http.Header
	writes chan string
}

func (w *chanWriter) Header() http.Header         { return w.h }
func (w *chanWriter) WriteHeader(int)             {}
func (w *chanWriter) Flush()                      {}
func (w *chanWriter) Write(b []byte) (int, error) { w.writes <- string(b); return len(b), nil }

func TestSSEHeartbeat(t *testing.T) {
	events := make(chan StreamEvent)
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	var every time.Duration
	h := sseHandler{events: events, heartbeat: 15 * time.Second, ticker: func(d time.Duration) (<-chan time.Time, func()) {
		every = d
		return ticks, func() { close(stopped) }
	}}
	w := &chanWriter{h: http.Header{}, writes: make(chan string)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	}()

	ticks <- time.Time{} // quiet since the start: a heartbeat
	assert.Equal(t, ": heartbeat\n\n", <-w.writes)
	events <- &TextDeltaEvent{ID: "t", Delta: "a"}
	assert.Equal(t, `data: {"type":"text-delta","id":"t","delta":"a"}`+"\n\n", <-w.writes)
	ticks <- time.Time{} // an event since the last tick: nothing
	events <- &TextDeltaEvent{ID: "t", Delta: "b"}
	assert.Equal(t, `data: {"type":"text-delta","id":"t","delta":"b"}`+"\n\n", <-w.writes, "no heartbeat while events flow")
	ticks <- time.Time{}
	ticks <- time.Time{}
	assert.Equal(t, ": heartbeat\n\n", <-w.writes)
	close(events)
	assert.Equal(t, "data: [DONE]\n\n", <-w.writes)
	<-done
	<-stopped
	assert.Equal(t, 15*time.Second, every)
}

func TestSSEHeartbeatOptions(t *testing.T) {
	assert.Equal(t, 15*time.Second, ToSSEStream(nil).(sseHandler).heartbeat)
	assert.Equal(t, time.Second, ToSSEStream(nil, SSEOptions{Heartbeat: time.Second}).(sseHandler).heartbeat)
	assert.Zero(t, ToSSEStream(nil, SSEOptions{Heartbeat: -1}).(sseHandler).heartbeat, "negative turns it off")

	// Off: no ticker is started at all.
	events := make(chan StreamEvent, 1)
	events <- &FinishEvent{FinishReason: FinishStop}
	close(events)
	h := ToSSEStream(events, SSEOptions{Heartbeat: -1}).(sseHandler)
	h.ticker = func(time.Duration) (<-chan time.Time, func()) { t.Fatal("ticker started"); return nil, nil }
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	assert.Equal(t, `data: {"type":"finish","finishReason":"stop"}`+"\n\ndata: [DONE]\n\n", rec.Body.String())
}

func TestSSEHeartbeatStopsWhenClientGone(t *testing.T) {
	events := make(chan StreamEvent)
	ticks := make(chan time.Time)
	h := sseHandler{events: events, heartbeat: time.Second, ticker: func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} }}
	ctx, cancel := context.WithCancel(context.Background())
	w := &chanWriter{h: http.Header{}, writes: make(chan string, 8)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil).WithContext(ctx))
	}()
	cancel()
	// The handler now drains the channel; a producer is never blocked.
	events <- &TextDeltaEvent{ID: "t", Delta: "lost"}
	close(events)
	<-done
	require.Empty(t, w.writes, "nothing written after the client left")
}
