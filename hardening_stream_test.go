package octavus

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// typedLeg answers 200 with body and the given Content-Type ("" for none).
func typedLeg(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType == "" {
			w.Header()["Content-Type"] = nil
		} else {
			w.Header().Set("Content-Type", contentType)
		}
		_, _ = io.WriteString(w, body)
	}
}

// A 200 answer that yields no event (a wrong BaseURL's HTML page, an empty
// or JSON body, only comments) ends with one non-retryable internal_error
// that says what came back, not a clean end.
func TestNotAnEventStreamIsAnError(t *testing.T) {
	html := "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title>...><body>" + strings.Repeat("x", 200) + "</body></html>\n"
	cases := []struct {
		name, contentType, body, want string
	}{
		{"html", "text/html; charset=utf-8", html,
			`Platform answered 200 without an event stream (Content-Type "text/html; charset=utf-8"; first bytes: "<!DOCTYPE html> <html><head><title>Welcome to nginx!</title>...")`},
		{"json", "application/json", `{"sessionId":"s","ok":true}` + "\n",
			`Platform answered 200 without an event stream (Content-Type "application/json"; first bytes: "{\"sessionId\":\"s\",\"ok\":true}")`},
		{"empty", "text/event-stream", "",
			`Platform answered 200 without an event stream (Content-Type "text/event-stream"; empty body)`},
		{"comments", "text/event-stream", ": ping\n\n: ping\n\n",
			`Platform answered 200 without an event stream (Content-Type "text/event-stream"; first bytes: ": ping : ping")`},
		{"no content type", "", "hello\x00\x01 world\n",
			`Platform answered 200 without an event stream (no Content-Type; first bytes: "hello.. world")`},
		{"invalid data only", "text/event-stream", "data: {not json\n\n",
			`Platform answered 200 without an event stream (Content-Type "text/event-stream"; first bytes: "data: {not json")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.addLegs(typedLeg(tc.contentType, tc.body))
			got := run(f.client(t), AttachOptions{}, userMessage)
			require.Len(t, got, 1)
			ee, ok := got[0].(*ErrorEvent)
			require.True(t, ok, "got %T", got[0])
			assert.Equal(t, ErrorTypeInternal, ee.ErrorType)
			assert.False(t, ee.Retryable, "a wrong BaseURL is not transient")
			assert.True(t, ee.terminal, "ToSSEStream writes no [DONE] after it")
			assert.Equal(t, tc.want, ee.Message)
			assert.Len(t, f.triggerBodies(), 1, "not retried")
		})
	}
}

// The API key is never in the message, even when the page echoes it.
func TestNotAnEventStreamRedactsTheKey(t *testing.T) {
	f := newFakePlatform(t)
	c := f.client(t)
	key := testKey
	f.addLegs(typedLeg("text/html", "<p>"+key+"</p>"))
	got := run(c, AttachOptions{}, userMessage)
	require.Len(t, got, 1)
	ee := got[0].(*ErrorEvent)
	assert.NotContains(t, ee.Message, key)
	assert.Contains(t, ee.Message, redacted)
}

// A stream with events but no [DONE], or only [DONE], is an event stream:
// unchanged.
func TestEventStreamWithoutDoneUnchanged(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(rawLeg(`data: {"type":"text-delta","id":"t","delta":"hi"}` + "\n\n"))
	got := wireJSON(t, run(f.client(t), AttachOptions{}, userMessage))
	requireJSONList(t, []string{`{"type":"text-delta","id":"t","delta":"hi"}`}, got)

	f = newFakePlatform(t)
	f.addLegs(rawLeg("data: [DONE]\n\n"))
	assert.Empty(t, run(f.client(t), AttachOptions{}, userMessage))
}
