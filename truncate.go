package octavus

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// TruncatedResult reports a tool result that was cut to fit
// ClientOptions.MaxContinuationBody.
type TruncatedResult struct {
	SessionID  string
	ToolCallID string
	ToolName   string
	// Size is the size of the result's JSON before the cut, Kept the size
	// of the preview that replaced it, in bytes.
	Size, Kept int
}

// minPreview is the smallest preview a cut leaves of one result, in bytes.
const minPreview = 1 << 10

// truncateNote opens the preview of a cut result. The model reads it, so it
// says what happened and what to do.
const truncateNote = "[octavus-go: this tool result was %d bytes, too large to send back, so only its start and end are kept below. Call the tool again asking for less: a narrower query, fewer fields, or one page at a time.]\n"

// fitResults cuts the largest results of results, in place, until their
// JSON is at most excess bytes shorter, so that the continuation body fits
// MaxContinuationBody. A cut result becomes a JSON string: the note, the
// head and the tail of the result's JSON text.
func (x *execution) fitResults(results []ToolResult, excess int) {
	order := make([]int, 0, len(results))
	for i := range results {
		if raw, ok := results[i].Result.(json.RawMessage); ok && len(raw) > minPreview {
			order = append(order, i)
		}
	}
	size := func(i int) int { return len(results[i].Result.(json.RawMessage)) }
	slices.SortStableFunc(order, func(a, b int) int { return size(b) - size(a) })
	for _, i := range order {
		if excess <= 0 {
			return
		}
		raw := results[i].Result.(json.RawMessage)
		keep := max(len(raw)-excess, minPreview)
		preview := previewOf(raw, keep)
		b, err := marshalJSON(preview)
		if err != nil || len(b) >= len(raw) {
			continue
		}
		// Escaping can make the string longer than keep: shrink once more.
		if over := len(b) - keep; over > 0 && keep-over >= minPreview/2 {
			preview = previewOf(raw, keep-over)
			if b2, err := marshalJSON(preview); err == nil {
				b = b2
			}
		}
		excess -= len(raw) - len(b)
		results[i].Result = json.RawMessage(b)
		tr := TruncatedResult{SessionID: x.s.id, ToolCallID: results[i].ToolCallID, ToolName: results[i].ToolName, Size: len(raw), Kept: len(b)}
		x.s.c.log.Debug("octavus: tool result cut to fit the continuation body", "session", tr.SessionID, "tool", tr.ToolName, "toolCallId", tr.ToolCallID, "size", tr.Size, "kept", tr.Kept)
		if x.s.c.onTruncate != nil {
			x.s.c.onTruncate(tr)
		}
	}
}

// previewOf returns the note, then the head and the tail of raw, about
// budget bytes in all, cut at UTF-8 boundaries.
func previewOf(raw []byte, budget int) string {
	note := fmt.Sprintf(truncateNote, len(raw))
	const gap = "\n[...]\n"
	half := max((budget-len(note)-len(gap))/2, 64)
	head := raw[:min(half, len(raw))]
	for len(head) > 0 && !utf8.Valid(head[len(head)-min(len(head), utf8.UTFMax):]) {
		head = head[:len(head)-1]
	}
	tail := raw[max(len(raw)-half, 0):]
	for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
		tail = tail[1:]
	}
	return note + string(head) + gap + string(tail)
}
