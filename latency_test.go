package octavus

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEventsAreNotHeldForTheNext proves that every event reaches the
// browser as soon as the SDK has read it: the platform writes one event,
// then waits until the browser has read that event before it writes the
// next one. Were any event held until more data came (a reader waiting for
// the blank line, for the LF after a CR, for a full buffer; a writer
// flushing late), the stream would stop there. No timing is measured; the
// guard only turns such a stop into a failure instead of a hang.
func TestEventsAreNotHeldForTheNext(t *testing.T) {
	delta := func(i int) string { return fmt.Sprintf(`data: {"type":"text-delta","id":"t","delta":"d%d"}`, i) }
	// Each step is written and flushed on its own; a step that completes
	// event i waits for the browser to have it.
	type step struct {
		write string
		event int // -1: not complete yet
	}
	steps := []step{
		{"data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\n", -1},
		{delta(0) + "\n\n", 0},
		{delta(1) + "\n", 1},                              // no blank line after it
		{": heartbeat\n\n" + delta(2) + "\r", 2},          // ended by a lone CR
		{"\n" + delta(3) + "\r\n", 3},                     // the LF of the CR came late
		{delta(4)[:20], -1},                               // half an event...
		{delta(4)[20:] + "\n", 4},                         // ...and the rest
		{"\r\n" + delta(5) + "\n\n" + delta(6) + "\n", 6}, // two events in one write
		{"data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n", -1},
	}

	seen := make(chan int)
	guardCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	guard := guardCtx.Done()
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for _, s := range steps {
			_, _ = io.WriteString(w, s.write)
			_ = rc.Flush()
			if s.event < 0 {
				continue
			}
			for {
				select {
				case i := <-seen:
					if i < s.event {
						continue
					}
				case <-guard:
					t.Errorf("event d%d did not reach the browser before the platform wrote more", s.event)
					return
				case <-r.Context().Done():
					return
				}
				break
			}
		}
	}))
	defer platform.Close()

	c, err := NewClient(ClientOptions{BaseURL: platform.URL, APIKey: testKey, HTTPClient: platform.Client()})
	require.NoError(t, err)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ToSSEStream(c.AgentSessions.Attach("s", AttachOptions{}).Execute(r.Context(), userMessage)).ServeHTTP(w, r)
	}))
	defer app.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, app.URL, nil)
	require.NoError(t, err)
	resp, err := app.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var payloads []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		p, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: ")
		if !ok {
			continue
		}
		payloads = append(payloads, p)
		var i int
		if _, err := fmt.Sscanf(p, `{"type":"text-delta","id":"t","delta":"d%d"}`, &i); err == nil {
			select {
			case seen <- i:
			case <-guard:
				t.Fatalf("the platform stopped waiting for event d%d", i)
			}
		}
	}
	want := []string{`{"type":"start","executionId":"e1"}`}
	for i := range 7 {
		want = append(want, fmt.Sprintf(`{"type":"text-delta","id":"t","delta":"d%d"}`, i))
	}
	want = append(want, `{"type":"finish","finishReason":"stop"}`, "[DONE]")
	require.Equal(t, want, payloads)
}
