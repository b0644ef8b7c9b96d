package octavus

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
)

// TruncatedResult reports a tool result that was reduced so that the
// continuation body fits ClientOptions.MaxContinuationBody: the reference's
// onToolResultTruncated information, plus the session.
type TruncatedResult struct {
	SessionID  string
	ToolCallID string
	ToolName   string
	// OriginalBytes is the UTF-8 size of the result's content before the
	// cut: the result as it travels (a string result as the string, any
	// other as its JSON), or the error when there is no result.
	OriginalBytes int
	// KeptBytes is the UTF-8 size of what replaced it: the preview, or the
	// error that replaced a variable capture.
	KeptBytes int
	// VariableCapture is set when the result was captured into an
	// outputVariable: it was replaced by an error instead of cut to a
	// preview, since a partial capture would silently corrupt the variable.
	VariableCapture bool
}

// The reference's size constants (tool-result-size.ts).
const (
	// continuationReserve is the room kept for the body's other fields:
	// the tool results get MaxContinuationBody minus this (at most half).
	continuationReserve = 256 << 10
	// truncateMinBytes: a result whose content is at most this is never
	// cut, as a preview could not shrink it.
	truncateMinBytes = 16 << 10
	// truncatePreviewChars is the length of a preview's head and tail
	// together, in UTF-16 code units as JavaScript counts characters.
	truncatePreviewChars = 16 << 10
)

// toolResultsBudget is the size the serialized tool results must fit for
// a body limit of maxBody.
func toolResultsBudget(maxBody int) int {
	return maxBody - min(continuationReserve, maxBody/2)
}

// fitResults keeps results under budget bytes of JSON as the reference's
// enforceToolResultsSize does: while they are over it, for at most
// len(results) passes, the result with the largest content (first of
// equals) is reduced: its content becomes a note and a head-and-tail
// preview, or, for an outputVariable capture, the result is replaced by an
// error. A pass that finds the largest content at or under 16 KiB stops.
// results is not modified; overflow reports that the reduced results are
// still over budget.
func fitResults(results []ToolResult, budget int) (out []ToolResult, truncations []TruncatedResult, overflow bool) {
	if len(results) == 0 || resultsSize(results) <= budget {
		return results, nil, false
	}
	out = slices.Clone(results)
	for pass := 0; pass < len(out) && resultsSize(out) > budget; pass++ {
		best, bestBytes := -1, -1
		for i := range out {
			c, _ := contentOf(out[i])
			if len(c) > bestBytes {
				best, bestBytes = i, len(c)
			}
		}
		if best < 0 {
			break
		}
		tr, ok := shrinkResult(&out[best])
		if !ok {
			break
		}
		truncations = append(truncations, tr)
	}
	return out, truncations, resultsSize(out) > budget
}

// resultsSize is the size of the results' JSON; a result that is not JSON
// counts as too large.
func resultsSize(results []ToolResult) int {
	b, err := marshalJSON(results)
	if err != nil {
		return int(^uint(0) >> 1)
	}
	return len(b)
}

// contentOf returns the content the reference measures: the result as it
// travels (a string as itself, any other value as its JSON text), or the
// error when there is no result.
func contentOf(tr ToolResult) (content string, hasResult bool) {
	if tr.Result == nil {
		return tr.Error, false
	}
	raw, ok := tr.Result.(json.RawMessage)
	if !ok {
		b, err := marshalJSON(tr.Result)
		if err != nil {
			return "", true
		}
		raw = b
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw), true
	}
	return buf.String(), true
}

// shrinkResult reduces one result in place (see fitResults); ok is false
// when its content is too small to be worth it.
func shrinkResult(tr *ToolResult) (TruncatedResult, bool) {
	raw, hasResult := contentOf(*tr)
	info := TruncatedResult{ToolCallID: tr.ToolCallID, ToolName: tr.ToolName, OriginalBytes: len(raw)}
	if len(raw) <= truncateMinBytes {
		return info, false
	}
	if hasResult && tr.OutputVariable != "" {
		msg := "Result omitted: it was " + formatBytes(len(raw)) + ", too large to capture into " +
			`variable "` + tr.OutputVariable + `" and send back. Reduce the output - add filters or a ` +
			"limit, request fewer fields, paginate, or write it to a file and return a reference " +
			"instead of inline data."
		tr.Result = nil
		tr.Error = msg
		info.KeptBytes, info.VariableCapture = len(msg), true
		return info, true
	}
	note := "[Octavus: this tool result was too large to send (" + formatBytes(len(raw)) + "), so only " +
		"the start and end are shown below. To use the full data, reduce the output - add filters or " +
		"a limit, request fewer fields, paginate, or write it to a file and return a reference " +
		"instead of inline data.]"
	combined := note + "\n\n" + headTailPreview(raw, truncatePreviewChars)
	if hasResult {
		b, _ := marshalJSON(combined)
		tr.Result = json.RawMessage(b)
	} else {
		tr.Error = combined
	}
	info.KeptBytes = len(combined)
	return info, true
}

// headTailPreview keeps the first ceil(0.6*keep) and the last of keep
// characters of raw, with a marker saying how many were removed between
// them. Characters are UTF-16 code units, as JavaScript's string length
// counts them; half of a surrogate pair cut off at an edge becomes U+FFFD
// (JavaScript would keep the lone surrogate).
func headTailPreview(raw string, keep int) string {
	units := utf16.Encode([]rune(raw))
	if len(units) <= keep {
		return raw
	}
	head := int(math.Ceil(float64(keep) * 0.6)) // in float64, as JavaScript
	tail := keep - head
	removed := len(units) - head - tail
	return string(utf16.Decode(units[:head])) +
		"\n\n...[Octavus trimmed " + groupThousands(removed) + " characters]...\n\n" +
		string(utf16.Decode(units[len(units)-tail:]))
}

// groupThousands formats n as JavaScript's toLocaleString does in en-US:
// 1234567 is "1,234,567".
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}

// formatBytes writes a size as the reference's guidance messages do:
// "X.X MB" from 1 MiB, "N KB" from 1 KiB, else "N B" (rounding half up,
// as JavaScript's toFixed and Math.round do here).
func formatBytes(n int) string {
	switch {
	case n >= 1<<20:
		tenths := (n*10 + 1<<19) >> 20
		return strconv.Itoa(tenths/10) + "." + strconv.Itoa(tenths%10) + " MB"
	case n >= 1<<10:
		return strconv.Itoa((n+1<<9)>>10) + " KB"
	}
	return strconv.Itoa(n) + " B"
}
