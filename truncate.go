package octavus

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
