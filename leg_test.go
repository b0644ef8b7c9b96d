package octavus

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sse "github.com/tmaxmax/go-sse"
)

// chunkReader returns data in pieces of at most size bytes, then err (EOF
// when nil).
type chunkReader struct {
	data []byte
	size int
	err  error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := min(len(p), r.size, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// readAllLines runs the line reader to its end.
func readAllLines(r io.Reader, max int) (lines []string, err error) {
	lr := newLineReader(r, max)
	for {
		line, err := lr.next()
		if err != nil {
			return lines, err
		}
		lines = append(lines, string(line))
	}
}

func TestLineReaderSplitsLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\nb\n", []string{"a", "b"}},
		{"a\r\nb\r\n", []string{"a", "b"}},
		{"a\rb\r", []string{"a", "b"}},
		{"a\r\rb\n\nc\r\n\r\n", []string{"a", "", "b", "", "c", ""}},
		{"a\n\rb\r\n\nc", []string{"a", "", "b", ""}}, // "c": unterminated, dropped
		{"unterminated", nil},
		{"a\nunterminated", []string{"a"}},
		{"\xEF\xBB\xBFdata: x\n", []string{"data: x"}},                     // a BOM at the start is skipped
		{"\xEF\xBB\xBF\xEF\xBB\xBFx\n", []string{"\xEF\xBB\xBFx"}},         // only one
		{"a\n\xEF\xBB\xBFdata: x\n", []string{"a", "\xEF\xBB\xBFdata: x"}}, // only at the start
		{"\xEF\xBB", nil},
	} {
		for size := 1; size <= max(1, len(c.in)); size++ {
			got, err := readAllLines(&chunkReader{data: []byte(c.in), size: size}, 1<<20)
			require.ErrorIs(t, err, io.EOF)
			require.Equal(t, c.want, got, "%q in pieces of %d", c.in, size)
		}
	}
}

func TestLineReaderReadError(t *testing.T) {
	broken := errors.New("connection reset")
	// The complete lines first, then the error, even inside a line.
	for _, in := range []string{"a\nb\n", "a\nb\npartial", "a\nb\r"} {
		got, err := readAllLines(&chunkReader{data: []byte(in), size: 3, err: broken}, 1<<20)
		assert.ErrorIs(t, err, broken, "%q", in)
		assert.Equal(t, []string{"a", "b"}, got, "%q", in)
	}
	// Data and an error from the same Read.
	got, err := readAllLines(io.MultiReader(strings.NewReader("x\ny"), iotestErrReader{broken}), 1<<20)
	assert.ErrorIs(t, err, broken)
	assert.Equal(t, []string{"x"}, got)
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestLineReaderLimit(t *testing.T) {
	const limit = 10
	ok := strings.Repeat("x", limit)
	for _, end := range []string{"\n", "\r\n", "\r"} {
		got, err := readAllLines(strings.NewReader(ok+end+"y\n"), limit)
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, []string{ok, "y"}, got)

		got, err = readAllLines(strings.NewReader("y\n"+ok+"z"+end), limit)
		require.ErrorIs(t, err, errEventTooLarge)
		require.Equal(t, []string{"y"}, got)
	}

	// An endless line: the error comes once the line passed the limit,
	// with no more than the limit buffered (and at least lineBufMin).
	for _, limit := range []int{100, lineBufMin, 100_000, 1 << 20} {
		lr := newLineReader(io.MultiReader(strings.NewReader("data: "), endless('x')), limit)
		_, err := lr.next()
		require.ErrorIs(t, err, errEventTooLarge)
		assert.LessOrEqual(t, cap(lr.buf), max(limit+1, lineBufMin), "limit %d", limit)
	}
}

// endless is an endless stream of one byte.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

func TestLineReaderHugeLimit(t *testing.T) {
	// A limit too large to add one to still reads long lines.
	long := strings.Repeat("x", 3*lineBufMax)
	got, err := readAllLines(strings.NewReader(long+"\n"), math.MaxInt)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, []string{long}, got)
}

func TestLineReaderBuffer(t *testing.T) {
	// A slow stream keeps the small buffer.
	lr := newLineReader(&chunkReader{data: bytes.Repeat([]byte("data: {}\n\n"), 1000), size: 100}, defaultMaxEventSize)
	for {
		if _, err := lr.next(); err != nil {
			break
		}
	}
	assert.Equal(t, lineBufMin, cap(lr.buf))
	// A fast one is read in larger pieces, up to lineBufMax.
	lr = newLineReader(&chunkReader{data: bytes.Repeat([]byte("data: {}\n\n"), 100_000), size: 1 << 20}, defaultMaxEventSize)
	for {
		if _, err := lr.next(); err != nil {
			break
		}
	}
	assert.Equal(t, lineBufMax, cap(lr.buf))
}

// newTestExecution is an execution whose events go to a buffered channel.
func newTestExecution(t *testing.T, opts ClientOptions) (*execution, chan StreamEvent) {
	t.Helper()
	if opts.BaseURL == "" {
		opts.BaseURL = "http://platform.invalid"
	}
	c, err := NewClient(opts)
	require.NoError(t, err)
	out := make(chan StreamEvent, 1000)
	return &execution{s: c.AgentSessions.Attach("s", AttachOptions{}), ctx: context.Background(), out: out}, out
}

func TestReadLegEventLimit(t *testing.T) {
	const limit = 100
	line := func(n int) string { // a text-delta line of n bytes
		head := `data: {"type":"text-delta","id":"t","delta":"`
		return head + strings.Repeat("x", n-len(head)-2) + "\"}"
	}
	x, out := newTestExecution(t, ClientOptions{MaxEventSize: limit})
	var id string
	_, err := x.readLeg(strings.NewReader(line(limit)+"\n\n"+line(limit+1)+"\n\n"), &id)
	require.True(t, errors.Is(err, errEventTooLarge), "err = %v", err)
	require.Len(t, out, 1, "the line of exactly the limit is forwarded")
}

func TestReadLegRules(t *testing.T) {
	x, out := newTestExecution(t, ClientOptions{})
	id := "given"
	in := "\xEF\xBB\xBFdata: {\"type\":\"start\",\"executionId\":\"e1\"}\r\n\r\n" +
		": comment\n" +
		"event: x\nid: 1\nretry: 5\ndata\ndata:\ndata: \ndata: [DONE]\n" +
		"data:{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"a\"}\r" +
		"data: not json\n" +
		"data: {\"type\":\"text-delta\",\"id\":\"t\"}\n" +
		"data: {\"type\":\"tool-request\",\"toolCalls\":[{\"toolCallId\":\"c\",\"toolName\":\"n\",\"args\":{}}]}\n" +
		"data: {\"type\":\"finish\",\"finishReason\":\"tool-calls\"}\n" +
		"data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"dropped: unterminated\"}"
	l, err := x.readLeg(strings.NewReader(in), &id)
	require.NoError(t, err)
	assert.Equal(t, "e1", id)
	require.Len(t, l.calls, 1)
	assert.Equal(t, "c", l.calls[0].ToolCallID)
	assert.False(t, l.finished)
	close(out)
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"text-delta","id":"t","delta":"a"}`,
	}, wireJSON(t, collect(out)))
}

// modelDataLines is what readLeg must take from an SSE stream, written
// from the rules alone: a BOM at the very start is skipped; CRLF, LF and CR
// end lines; an unterminated last line is dropped; a line "data" or
// starting "data:" is a data line whose value loses one leading space; empty
// values and [DONE] carry nothing.
func modelDataLines(data []byte) []string {
	s := strings.TrimPrefix(string(data), "\xEF\xBB\xBF")
	var out []string
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return out
		}
		line := s[:i]
		if strings.HasPrefix(s[i:], "\r\n") {
			s = s[i+2:]
		} else {
			s = s[i+1:]
		}
		v, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		v = strings.TrimPrefix(v, " ")
		if v != "" && v != "[DONE]" {
			out = append(out, v)
		}
	}
}

// goSSEDataLines is what the go-sse based reader (readLeg before it had its
// own line reader) took from a stream: go-sse's events, each data split
// into its lines.
func goSSEDataLines(data []byte) []string {
	var out []string
	for ev, err := range sse.Read(bytes.NewReader(data), &sse.ReadConfig{MaxEventSize: 1 << 20}) {
		if err != nil {
			break
		}
		for _, line := range strings.Split(ev.Data, "\n") {
			if line != "" && line != "[DONE]" {
				out = append(out, line)
			}
		}
	}
	return out
}

// sameAsGoSSE reports whether go-sse reads data as the rules say. It does
// not where the SSE standard leaves room: it drops the whole last event
// (not only the unterminated line) of a stream that ends inside a line,
// and it skips a BOM after leading blank lines too.
func sameAsGoSSE(data []byte) bool {
	if len(data) == 0 {
		return true
	}
	if last := data[len(data)-1]; last != '\n' && last != '\r' {
		return false
	}
	rest := bytes.TrimLeft(data, "\r\n")
	return len(rest) == len(data) || !bytes.HasPrefix(rest, []byte("\xEF\xBB\xBF"))
}

func dataLinesOf(r io.Reader) ([]string, error) {
	lr := newLineReader(r, 1<<20)
	var out []string
	for {
		line, err := lr.next()
		if err != nil {
			return out, err
		}
		if v, ok := dataField(line); ok && len(v) > 0 && string(v) != "[DONE]" {
			out = append(out, string(v))
		}
	}
}

func FuzzReadLeg(f *testing.F) {
	for _, s := range []string{
		"data: {\"type\":\"start\"}\n\n",
		"data: a\r\n\r\ndata: b\rdata: c\n",
		"\xEF\xBB\xBFdata: x\n\n",
		"\n\n\xEF\xBB\xBFdata: x\n\n",
		": ping\n\nevent: e\nid: 1\ndata:x\ndata\ndata: [DONE]\n\n",
		"data: a\ndata: b",
		"datum: x\n data: y\nDATA: z\n",
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(200))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		got, err := dataLinesOf(&chunkReader{data: data, size: int(chunk)%17 + 1})
		if err != io.EOF {
			t.Fatalf("%q: error %v", data, err)
		}
		if want := modelDataLines(data); !equalLines(got, want) {
			t.Fatalf("%q: read %q, the rules say %q", data, got, want)
		}
		if sameAsGoSSE(data) {
			if want := goSSEDataLines(data); !equalLines(got, want) {
				t.Fatalf("%q: read %q, go-sse %q", data, got, want)
			}
		}
	})
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
