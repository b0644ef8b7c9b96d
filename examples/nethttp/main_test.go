package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine,
// with a channel that reports each write.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	select {
	case b.writes <- struct{}{}:
	default:
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestExampleServesAToolRound runs the example as `go run` would (with the
// built-in fake platform) and plays the README's curl line against it.
func TestExampleServesAToolRound(t *testing.T) {
	t.Setenv("OCTAVUS_API_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{writes: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", out) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	curl := regexp.MustCompile(`curl -N -X POST (\S+) -H 'Content-Type: application/json' -d '(.+)'`)
	var m []string
	for m == nil {
		select {
		case <-out.writes:
			m = curl.FindStringSubmatch(out.String())
		case err := <-done:
			t.Fatalf("run ended early: %v\n%s", err, out.String())
		}
	}
	url, body := m[1], m[2]

	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	var types, text []string
	var sawDone bool
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		p, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if p == "[DONE]" {
			sawDone = true
			continue
		}
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(p), &ev))
		types = append(types, ev["type"].(string))
		if ev["type"] == "text-delta" {
			text = append(text, ev["delta"].(string))
		}
		if ev["type"] == "tool-output-available" {
			assert.Equal(t, map[string]any{"name": "Demo User", "plan": "pro"}, ev["output"])
		}
	}
	require.NoError(t, sc.Err())
	assert.True(t, sawDone)
	assert.Contains(t, types, "tool-output-available", "the server tool ran")
	assert.NotContains(t, types, "tool-request", "tool requests are consumed by the SDK")
	assert.Equal(t, "finish", types[len(types)-1])
	assert.Equal(t, "Let me look you up.You are Demo User on the pro plan.", strings.Join(text, ""))

	// POST /api/sessions makes another session.
	resp2, err := http.Post(strings.TrimSuffix(url, "/api/trigger")+"/api/sessions", "application/json", strings.NewReader(`{"input":{"COMPANY_NAME":"X"}}`))
	require.NoError(t, err)
	defer resp2.Body.Close()
	b, _ := io.ReadAll(resp2.Body)
	assert.Equal(t, http.StatusOK, resp2.StatusCode, string(b))
	assert.Regexp(t, `^\{"sessionId":"[^"]+"\}\n$`, string(b))
	http.DefaultClient.CloseIdleConnections()
}
