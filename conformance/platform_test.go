package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

const (
	sessionID   = "sess_conformance"
	apiKey      = "test-key"
	triggerPath = "/api/agent-sessions/" + sessionID + "/trigger"

	// chunkPause separates the writes of a `chunks` leg so that the reader
	// sees them as separate reads.
	chunkPause = 15 * time.Millisecond
)

// legServer is what both scripted platforms (platform, workerPlatform) are
// made of: a test server that answers the SDK's requests with a scenario's
// legs, in order, and keeps a request log for failure reports.
type legServer struct {
	srv  *httptest.Server
	legs []leg

	mu   sync.Mutex // guards next and log, and what the embedding platform records
	next int        // index of the next leg to serve
	log  []string   // one line per request, for failure reports
}

// start starts the server with handler h; it is closed when the test ends.
func (s *legServer) start(t *testing.T, legs []leg, h http.HandlerFunc) {
	t.Helper()
	s.legs = legs
	s.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// URL is the platform's base URL.
func (s *legServer) URL() string { return s.srv.URL }

// requestLog returns a copy of the request log.
func (s *legServer) requestLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *legServer) logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, fmt.Sprintf(format, args...))
}

// serveNextLeg answers a POST whose path the platform accepts: 401 without
// the API key, else the next leg (500 when there is none left).
func (s *legServer) serveNextLeg(w http.ResponseWriter, r *http.Request, body []byte) {
	if got := r.Header.Get("Authorization"); got != "Bearer "+apiKey {
		s.logf("POST %s (Authorization %q) -> 401", r.URL.Path, got)
		writeJSONError(w, http.StatusUnauthorized, "Invalid API key")
		return
	}

	s.mu.Lock()
	i := s.next
	s.next++
	s.mu.Unlock()
	if i >= len(s.legs) {
		s.logf("POST %s %s -> 500 (no leg %d)", r.URL.Path, logBody(body), i)
		writeJSONError(w, http.StatusInternalServerError, "unexpected request")
		return
	}
	s.logf("POST %s %s -> leg %d", r.URL.Path, logBody(body), i)
	serveLeg(w, s.legs[i])
}

// platform is a scripted Octavus platform: it answers the POSTs to /trigger
// with the scenario's legs, in order, and records what it was sent.
type platform struct {
	legServer

	bodies [][]byte // raw bodies of the POSTs to /trigger, in order; guarded by mu
}

// newPlatform starts a fresh scripted platform; it is closed when the test
// ends.
func newPlatform(t *testing.T, legs []leg) *platform {
	t.Helper()
	p := &platform{}
	p.start(t, legs, p.serveHTTP)
	return p
}

// triggerBodies returns a copy of the recorded /trigger bodies.
func (p *platform) triggerBodies() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.bodies...)
}

func writeJSONError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"error": message})
	_, _ = w.Write(body)
}

func (p *platform) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		p.logf("%s %s: reading body: %v", r.Method, r.URL, err)
		writeJSONError(w, http.StatusBadRequest, "unreadable body")
		return
	}
	if r.URL.Path != triggerPath {
		p.logf("%s %s: unknown path -> 404", r.Method, r.URL)
		writeJSONError(w, http.StatusNotFound, "not found")
		return
	}
	if r.Method != http.MethodPost {
		p.logf("%s %s: wrong method -> 405", r.Method, r.URL)
		writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}

	p.mu.Lock()
	p.bodies = append(p.bodies, body)
	p.mu.Unlock()

	p.serveNextLeg(w, r, body)
}

// logBody shortens a body for the request log: the size scenarios post
// megabytes.
func logBody(b []byte) string {
	const keep = 1000
	if len(b) <= keep {
		return string(b)
	}
	return fmt.Sprintf("%s...(%d bytes in all)", b[:keep], len(b))
}

// hangUp closes the connection under w at once, without ending the
// response: what a network error looks like to the client.
func hangUp(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("hijacking the connection: %v", err)) // httptest's HTTP/1.1 server supports it
	}
	_ = buf.Flush()
	_ = conn.Close()
}

// serveLeg writes one scripted answer.
func serveLeg(w http.ResponseWriter, l leg) {
	if l.Drop {
		hangUp(w)
		return
	}
	status := l.Status
	if status == 0 {
		status = http.StatusOK
	}
	contentType := l.ContentType
	if contentType == "" {
		if l.Events != nil || l.SSE != nil || l.Chunks != nil {
			contentType = "text/event-stream"
		} else {
			contentType = "application/json"
		}
	}
	w.Header().Set("Content-Type", contentType)
	if contentType == "text/event-stream" {
		w.Header().Set("Cache-Control", "no-cache")
	}
	for k, v := range l.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}

	switch {
	case l.Events != nil:
		var buf bytes.Buffer
		for _, ev := range l.Events {
			buf.WriteString("data: ")
			_ = json.Compact(&buf, ev) // checked when the scenario was loaded
			buf.WriteString("\n\n")
		}
		if !l.Cut && (l.Done == nil || *l.Done) {
			buf.WriteString("data: [DONE]\n\n")
		}
		_, _ = w.Write(buf.Bytes())
		if l.Cut {
			flush()
			hangUp(w)
			return
		}
	case l.SSE != nil:
		_, _ = io.WriteString(w, *l.SSE)
	case l.Chunks != nil:
		chunks, _ := decodeChunks(l.Chunks) // checked when the scenario was loaded
		for i, c := range chunks {
			if i > 0 {
				time.Sleep(chunkPause)
			}
			_, _ = w.Write(c)
			flush()
		}
	case l.Body != nil:
		_, _ = io.WriteString(w, *l.Body)
	}
	flush()
}

// decodeChunks turns the JSON strings of a `chunks` leg into the bytes of
// each write.
//
// The strings are read as UTF-16, like JavaScript reads them, so that a
// character can be split across writes: when one chunk ends with a high
// surrogate ("\ud83d") and the next starts with the matching low surrogate
// ("\ude00"), the character is written as UTF-8 and the write boundary falls
// after its first two bytes. Any other lone surrogate is an error.
func decodeChunks(raw []json.RawMessage) ([][]byte, error) {
	var units []uint16
	var bounds []int // unit index where each chunk after the first starts
	for i, r := range raw {
		u, err := jsonStringUnits(r)
		if err != nil {
			return nil, fmt.Errorf("chunks[%d]: %w", i, err)
		}
		if i > 0 {
			bounds = append(bounds, len(units))
		}
		units = append(units, u...)
	}

	var all []byte
	cut := make(map[int]int, len(bounds)) // unit index -> byte offset
	for i := 0; i < len(units); i++ {
		cut[i] = len(all)
		u := units[i]
		switch {
		case utf16.IsSurrogate(rune(u)):
			if i+1 >= len(units) {
				return nil, errors.New("lone surrogate at the end of the chunks")
			}
			r := utf16.DecodeRune(rune(u), rune(units[i+1]))
			if r == utf8.RuneError {
				return nil, fmt.Errorf("lone surrogate %#04x", u)
			}
			start := len(all)
			all = utf8.AppendRune(all, r)
			i++
			cut[i] = start + 2 // a boundary inside the pair splits the character
		default:
			all = utf8.AppendRune(all, rune(u))
		}
	}
	cut[len(units)] = len(all)

	out := make([][]byte, 0, len(raw))
	prev := 0
	for _, b := range bounds {
		off := cut[b]
		out = append(out, all[prev:off])
		prev = off
	}
	out = append(out, all[prev:])
	return out, nil
}

// jsonStringUnits decodes a JSON string literal into UTF-16 code units,
// keeping lone surrogates (encoding/json would turn them into U+FFFD).
func jsonStringUnits(raw json.RawMessage) ([]uint16, error) {
	s := string(bytes.TrimSpace(raw))
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return nil, errors.New("not a JSON string")
	}
	s = s[1 : len(s)-1]
	var units []uint16
	for i := 0; i < len(s); {
		c := s[i]
		if c == '"' || c < 0x20 {
			return nil, fmt.Errorf("invalid character %q in string", c)
		}
		if c != '\\' {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return nil, errors.New("invalid UTF-8 in string")
			}
			units = utf16.AppendRune(units, r)
			i += size
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("unterminated escape")
		}
		esc := s[i+1]
		i += 2
		switch esc {
		case '"', '\\', '/':
			units = append(units, uint16(esc))
		case 'b':
			units = append(units, '\b')
		case 'f':
			units = append(units, '\f')
		case 'n':
			units = append(units, '\n')
		case 'r':
			units = append(units, '\r')
		case 't':
			units = append(units, '\t')
		case 'u':
			if i+4 > len(s) {
				return nil, errors.New("short \\u escape")
			}
			v, err := strconv.ParseUint(s[i:i+4], 16, 16)
			if err != nil {
				return nil, fmt.Errorf("bad \\u escape %q", s[i:i+4])
			}
			units = append(units, uint16(v))
			i += 4
		default:
			return nil, fmt.Errorf("bad escape \\%c", esc)
		}
	}
	return units, nil
}

// TestDecodeChunks checks the UTF-16 reading of chunks, including a
// character split between two writes.
func TestDecodeChunks(t *testing.T) {
	raw := []json.RawMessage{
		json.RawMessage(`"data: {\"a\":\"x\ud83d"`),
		json.RawMessage(`"\ude00y\u00e9"`),
		json.RawMessage(`"\"}\n\n"`),
	}
	got, err := decodeChunks(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{
		[]byte("data: {\"a\":\"x\xf0\x9f"),
		[]byte("\x98\x80y\xc3\xa9"),
		[]byte("\"}\n\n"),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d chunks, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("chunk %d = %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := decodeChunks([]json.RawMessage{json.RawMessage(`"\ud83d"`)}); err == nil {
		t.Error("a lone high surrogate at the end was accepted")
	}
	if _, err := decodeChunks([]json.RawMessage{json.RawMessage(`"\ude00x"`)}); err == nil {
		t.Error("a lone low surrogate was accepted")
	}
}
