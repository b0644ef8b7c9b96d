package octavus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The expected values in this file are written by hand from the reference's
// zod schemas (@octavus/core 6.4.0, src/stream/schemas.ts at d304930);
// events_oracle_test.go checks every input of these tables against the
// official SDK's own parse.

func evtPtr[T any](v T) *T { return &v }

type evtEventCase struct {
	name string
	in   string      // wire JSON given to ParseStreamEvent
	want StreamEvent // the decoded event
	wire string      // json.Marshal of the event, in the reference's key order
	typ  EventType
}

// Full inputs (every optional field set), in the reference's key order.
const (
	evtFullStart            = `{"type":"start","messageId":"msg_1","executionId":"exec_1","lastMessageId":"msg_0","sessionId":"sess_1"}`
	evtFullFinish           = `{"type":"finish","finishReason":"client-tool-calls","executionId":"exec_1"}`
	evtFullError            = `{"type":"error","errorType":"rate_limit_error","message":"Too many requests","retryable":true,"source":"provider","retryAfter":2.5,"code":"RATE_LIMITED","provider":{"name":"anthropic","model":"claude-sonnet","statusCode":429,"errorType":"overloaded_error","requestId":"req_123"},"tool":{"name":"web_search","callId":"call_9"}}`
	evtFullTextStart        = `{"type":"text-start","id":"t1","responseType":"json","workerId":"w1"}`
	evtFullTextDelta        = `{"type":"text-delta","id":"t1","delta":"Hello","workerId":"w1"}`
	evtFullTextEnd          = `{"type":"text-end","id":"t1","workerId":"w1"}`
	evtFullReasoningStart   = `{"type":"reasoning-start","id":"r1","workerId":"w1"}`
	evtFullReasoningDelta   = `{"type":"reasoning-delta","id":"r1","delta":"Thinking","workerId":"w1"}`
	evtFullReasoningEnd     = `{"type":"reasoning-end","id":"r1","workerId":"w1"}`
	evtFullToolInputStart   = `{"type":"tool-input-start","toolCallId":"call_1","toolName":"get_weather","title":"Weather","display":"title","workerId":"w1"}`
	evtFullToolInputDelta   = `{"type":"tool-input-delta","toolCallId":"call_1","inputTextDelta":"{\"city\":","workerId":"w1"}`
	evtFullToolInputEnd     = `{"type":"tool-input-end","toolCallId":"call_1","workerId":"w1"}`
	evtFullToolInputAvail   = `{"type":"tool-input-available","toolCallId":"call_1","toolName":"get_weather","input":{"city":"Paris","days":3},"workerId":"w1"}`
	evtFullToolOutput       = `{"type":"tool-output-available","toolCallId":"call_1","output":{"temp":21.5,"ok":true},"workerId":"w1"}`
	evtFullToolOutputErr    = `{"type":"tool-output-error","toolCallId":"call_1","error":"city not found","workerId":"w1"}`
	evtFullSourceURL        = `{"type":"source","sourceType":"url","id":"s1","url":"https://example.com/a","title":"Example","workerId":"w1"}`
	evtFullSourceDoc        = `{"type":"source","sourceType":"document","id":"s2","mediaType":"application/pdf","title":"Report","filename":"report.pdf","workerId":"w1"}`
	evtFullBlockStart       = `{"type":"block-start","blockId":"b1","blockName":"Summarize","blockType":"next-message","display":"stream","description":"Writing a summary","outputToChat":false,"thread":"research","workerId":"w1"}`
	evtFullBlockEnd         = `{"type":"block-end","blockId":"b1","summary":"done","workerId":"w1"}`
	evtFullResource         = `{"type":"resource-update","name":"notes","value":["a","b"]}`
	evtFullToolRequest      = `{"type":"tool-request","toolCalls":[{"toolCallId":"call_1","toolName":"get_weather","args":{"city":"Paris"},"source":"block","outputVariable":"weather","blockIndex":0,"thread":"research","workerId":"w1"},{"toolCallId":"call_2","toolName":"noop","args":{}}],"workerId":"w1"}`
	evtFullClientTools      = `{"type":"client-tool-request","executionId":"exec_1","toolCalls":[{"toolCallId":"call_2","toolName":"pick_color","args":{"palette":["red"]},"source":"llm","outputVariable":"color","blockIndex":3,"thread":"research","workerId":"w1"},{"toolCallId":"call_4","toolName":"confirm","args":{"q":"ok?"}}],"serverToolResults":[{"toolCallId":"call_1","toolName":"get_weather","result":{"temp":21},"error":"partial","files":[{"id":"f1","mediaType":"image/png","url":"https://cdn.example.com/f1.png","filename":"chart.png","size":2048},{"id":"f2","mediaType":"text/plain","url":"https://cdn.example.com/f2.txt"}],"outputVariable":"weather","blockIndex":0,"thread":"research","workerId":"w1"},{"toolCallId":"call_3"}]}`
	evtFullFileAvailable    = `{"type":"file-available","id":"f1","mediaType":"image/png","url":"https://cdn.example.com/f1.png","filename":"chart.png","size":2048,"toolCallId":"call_1","workerId":"w1"}`
	evtFullTodoUpdate       = `{"type":"todo-update","todos":[{"id":"1","content":"Find flights","status":"in_progress"},{"id":"2","content":"Book hotel","status":"pending"}],"workerId":"w1"}`
	evtFullWorkerStart      = `{"type":"worker-start","workerId":"w1","workerSlug":"researcher","description":"Research the topic","input":{"topic":"go","depth":2}}`
	evtFullWorkerResult     = `{"type":"worker-result","workerId":"w1","output":{"summary":"done","sources":[1,2]},"error":"partial"}`
	evtFullWorkerInputStart = `{"type":"worker-input-start","workerId":"w1","workerSlug":"researcher","description":"Research the topic"}`
	evtFullWorkerInputDelta = `{"type":"worker-input-delta","workerId":"w1","delta":"{\"topic\":"}`
	evtFullWorkerInputReady = `{"type":"worker-input-ready","workerId":"w1","input":{"topic":"go"}}`
	evtFullUsage            = `{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.0001,"providerFee":0.0123,"totalFee":0.0124,"byok":false,"estimatedProviderFee":0.0123},"tokens":{"inputTokens":1200,"outputTokens":340,"totalTokens":1540}}`
)

var evtEventCases = []evtEventCase{
	{
		name: "start/full", typ: EventStart, in: evtFullStart, wire: evtFullStart,
		want: &StartEvent{MessageID: "msg_1", ExecutionID: "exec_1", LastMessageID: "msg_0", SessionID: "sess_1"},
	},
	{
		name: "start/min", typ: EventStart, in: `{"type":"start"}`, wire: `{"type":"start"}`,
		want: &StartEvent{},
	},
	{
		name: "finish/full", typ: EventFinish, in: evtFullFinish, wire: evtFullFinish,
		want: &FinishEvent{FinishReason: FinishClientToolCalls, ExecutionID: "exec_1"},
	},
	{
		name: "finish/min", typ: EventFinish,
		in: `{"type":"finish","finishReason":"stop"}`, wire: `{"type":"finish","finishReason":"stop"}`,
		want: &FinishEvent{FinishReason: FinishStop},
	},
	{
		name: "error/full", typ: EventError, in: evtFullError, wire: evtFullError,
		want: &ErrorEvent{
			ErrorType:  ErrorTypeRateLimit,
			Message:    "Too many requests",
			Source:     ErrorSourceProvider,
			Retryable:  true,
			RetryAfter: evtPtr(2.5),
			Code:       "RATE_LIMITED",
			Provider: &ProviderErrorInfo{
				Name: "anthropic", Model: "claude-sonnet", StatusCode: evtPtr(429.0),
				ErrorType: "overloaded_error", RequestID: "req_123",
			},
			Tool: &ToolErrorInfo{Name: "web_search", CallID: "call_9"},
		},
	},
	{
		name: "error/min", typ: EventError,
		in:   `{"type":"error","errorType":"internal_error","message":"boom","retryable":false,"source":"platform"}`,
		wire: `{"type":"error","errorType":"internal_error","message":"boom","retryable":false,"source":"platform"}`,
		want: &ErrorEvent{ErrorType: ErrorTypeInternal, Message: "boom", Source: ErrorSourcePlatform},
	},
	{
		name: "error/nested-min", typ: EventError,
		in:   `{"type":"error","errorType":"tool_error","message":"m","retryable":false,"source":"tool","provider":{"name":"openai"},"tool":{"name":"t"}}`,
		wire: `{"type":"error","errorType":"tool_error","message":"m","retryable":false,"source":"tool","provider":{"name":"openai"},"tool":{"name":"t"}}`,
		want: &ErrorEvent{
			ErrorType: ErrorTypeTool, Message: "m", Source: ErrorSourceTool,
			Provider: &ProviderErrorInfo{Name: "openai"}, Tool: &ToolErrorInfo{Name: "t"},
		},
	},
	{
		name: "text-start/full", typ: EventTextStart, in: evtFullTextStart, wire: evtFullTextStart,
		want: &TextStartEvent{ID: "t1", ResponseType: "json", WorkerID: "w1"},
	},
	{
		name: "text-start/min", typ: EventTextStart,
		in: `{"type":"text-start","id":"t1"}`, wire: `{"type":"text-start","id":"t1"}`,
		want: &TextStartEvent{ID: "t1"},
	},
	{
		name: "text-delta/full", typ: EventTextDelta, in: evtFullTextDelta, wire: evtFullTextDelta,
		want: &TextDeltaEvent{ID: "t1", Delta: "Hello", WorkerID: "w1"},
	},
	{
		// A required string that is empty is still written.
		name: "text-delta/empty", typ: EventTextDelta,
		in: `{"type":"text-delta","id":"","delta":""}`, wire: `{"type":"text-delta","id":"","delta":""}`,
		want: &TextDeltaEvent{},
	},
	{
		name: "text-end/full", typ: EventTextEnd, in: evtFullTextEnd, wire: evtFullTextEnd,
		want: &TextEndEvent{ID: "t1", WorkerID: "w1"},
	},
	{
		name: "text-end/empty", typ: EventTextEnd,
		in: `{"type":"text-end","id":""}`, wire: `{"type":"text-end","id":""}`,
		want: &TextEndEvent{},
	},
	{
		name: "reasoning-start/full", typ: EventReasoningStart, in: evtFullReasoningStart, wire: evtFullReasoningStart,
		want: &ReasoningStartEvent{ID: "r1", WorkerID: "w1"},
	},
	{
		name: "reasoning-start/empty", typ: EventReasoningStart,
		in: `{"type":"reasoning-start","id":""}`, wire: `{"type":"reasoning-start","id":""}`,
		want: &ReasoningStartEvent{},
	},
	{
		name: "reasoning-delta/full", typ: EventReasoningDelta, in: evtFullReasoningDelta, wire: evtFullReasoningDelta,
		want: &ReasoningDeltaEvent{ID: "r1", Delta: "Thinking", WorkerID: "w1"},
	},
	{
		name: "reasoning-delta/empty", typ: EventReasoningDelta,
		in: `{"type":"reasoning-delta","id":"","delta":""}`, wire: `{"type":"reasoning-delta","id":"","delta":""}`,
		want: &ReasoningDeltaEvent{},
	},
	{
		name: "reasoning-end/full", typ: EventReasoningEnd, in: evtFullReasoningEnd, wire: evtFullReasoningEnd,
		want: &ReasoningEndEvent{ID: "r1", WorkerID: "w1"},
	},
	{
		name: "reasoning-end/empty", typ: EventReasoningEnd,
		in: `{"type":"reasoning-end","id":""}`, wire: `{"type":"reasoning-end","id":""}`,
		want: &ReasoningEndEvent{},
	},
	{
		name: "tool-input-start/full", typ: EventToolInputStart, in: evtFullToolInputStart, wire: evtFullToolInputStart,
		want: &ToolInputStartEvent{ToolCallID: "call_1", ToolName: "get_weather", Title: "Weather", Display: DisplayTitle, WorkerID: "w1"},
	},
	{
		name: "tool-input-start/min", typ: EventToolInputStart,
		in:   `{"type":"tool-input-start","toolCallId":"call_1","toolName":"get_weather"}`,
		wire: `{"type":"tool-input-start","toolCallId":"call_1","toolName":"get_weather"}`,
		want: &ToolInputStartEvent{ToolCallID: "call_1", ToolName: "get_weather"},
	},
	{
		name: "tool-input-delta/full", typ: EventToolInputDelta, in: evtFullToolInputDelta, wire: evtFullToolInputDelta,
		want: &ToolInputDeltaEvent{ToolCallID: "call_1", InputTextDelta: `{"city":`, WorkerID: "w1"},
	},
	{
		name: "tool-input-delta/empty", typ: EventToolInputDelta,
		in:   `{"type":"tool-input-delta","toolCallId":"","inputTextDelta":""}`,
		wire: `{"type":"tool-input-delta","toolCallId":"","inputTextDelta":""}`,
		want: &ToolInputDeltaEvent{},
	},
	{
		name: "tool-input-end/full", typ: EventToolInputEnd, in: evtFullToolInputEnd, wire: evtFullToolInputEnd,
		want: &ToolInputEndEvent{ToolCallID: "call_1", WorkerID: "w1"},
	},
	{
		name: "tool-input-end/empty", typ: EventToolInputEnd,
		in: `{"type":"tool-input-end","toolCallId":""}`, wire: `{"type":"tool-input-end","toolCallId":""}`,
		want: &ToolInputEndEvent{},
	},
	{
		name: "tool-input-available/full", typ: EventToolInputAvailable, in: evtFullToolInputAvail, wire: evtFullToolInputAvail,
		want: &ToolInputAvailableEvent{ToolCallID: "call_1", ToolName: "get_weather", Input: json.RawMessage(`{"city":"Paris","days":3}`), WorkerID: "w1"},
	},
	{
		name: "tool-input-available/min", typ: EventToolInputAvailable,
		in:   `{"type":"tool-input-available","toolCallId":"call_1","toolName":"get_weather","input":null}`,
		wire: `{"type":"tool-input-available","toolCallId":"call_1","toolName":"get_weather","input":null}`,
		want: &ToolInputAvailableEvent{ToolCallID: "call_1", ToolName: "get_weather", Input: json.RawMessage("null")},
	},
	{
		name: "tool-output-available/full", typ: EventToolOutputAvail, in: evtFullToolOutput, wire: evtFullToolOutput,
		want: &ToolOutputAvailableEvent{ToolCallID: "call_1", Output: json.RawMessage(`{"temp":21.5,"ok":true}`), WorkerID: "w1"},
	},
	{
		name: "tool-output-available/min", typ: EventToolOutputAvail,
		in:   `{"type":"tool-output-available","toolCallId":"call_1","output":null}`,
		wire: `{"type":"tool-output-available","toolCallId":"call_1","output":null}`,
		want: &ToolOutputAvailableEvent{ToolCallID: "call_1", Output: json.RawMessage("null")},
	},
	{
		name: "tool-output-error/full", typ: EventToolOutputError, in: evtFullToolOutputErr, wire: evtFullToolOutputErr,
		want: &ToolOutputErrorEvent{ToolCallID: "call_1", Error: "city not found", WorkerID: "w1"},
	},
	{
		name: "tool-output-error/empty", typ: EventToolOutputError,
		in:   `{"type":"tool-output-error","toolCallId":"","error":""}`,
		wire: `{"type":"tool-output-error","toolCallId":"","error":""}`,
		want: &ToolOutputErrorEvent{},
	},
	{
		name: "source-url/full", typ: EventSource, in: evtFullSourceURL, wire: evtFullSourceURL,
		want: &SourceURLEvent{ID: "s1", URL: "https://example.com/a", Title: "Example", WorkerID: "w1"},
	},
	{
		name: "source-url/min", typ: EventSource,
		in:   `{"type":"source","sourceType":"url","id":"s1","url":"https://example.com/a"}`,
		wire: `{"type":"source","sourceType":"url","id":"s1","url":"https://example.com/a"}`,
		want: &SourceURLEvent{ID: "s1", URL: "https://example.com/a"},
	},
	{
		name: "source-document/full", typ: EventSource, in: evtFullSourceDoc, wire: evtFullSourceDoc,
		want: &SourceDocumentEvent{ID: "s2", MediaType: "application/pdf", Title: "Report", Filename: "report.pdf", WorkerID: "w1"},
	},
	{
		name: "source-document/min", typ: EventSource,
		in:   `{"type":"source","sourceType":"document","id":"s2","mediaType":"application/pdf","title":"Report"}`,
		wire: `{"type":"source","sourceType":"document","id":"s2","mediaType":"application/pdf","title":"Report"}`,
		want: &SourceDocumentEvent{ID: "s2", MediaType: "application/pdf", Title: "Report"},
	},
	{
		// title is required for a document: an empty one is still written.
		name: "source-document/empty-title", typ: EventSource,
		in:   `{"type":"source","sourceType":"document","id":"s2","mediaType":"text/plain","title":""}`,
		wire: `{"type":"source","sourceType":"document","id":"s2","mediaType":"text/plain","title":""}`,
		want: &SourceDocumentEvent{ID: "s2", MediaType: "text/plain"},
	},
	{
		name: "block-start/full", typ: EventBlockStart, in: evtFullBlockStart, wire: evtFullBlockStart,
		want: &BlockStartEvent{
			BlockID: "b1", BlockName: "Summarize", BlockType: "next-message", Display: DisplayStream,
			Description: "Writing a summary", OutputToChat: evtPtr(false), Thread: "research", WorkerID: "w1",
		},
	},
	{
		name: "block-start/min", typ: EventBlockStart,
		in:   `{"type":"block-start","blockId":"b1","blockName":"Summarize","blockType":"next-message","display":"hidden"}`,
		wire: `{"type":"block-start","blockId":"b1","blockName":"Summarize","blockType":"next-message","display":"hidden"}`,
		want: &BlockStartEvent{BlockID: "b1", BlockName: "Summarize", BlockType: "next-message", Display: DisplayHidden},
	},
	{
		name: "block-start/output-to-chat-true", typ: EventBlockStart,
		in:   `{"type":"block-start","blockId":"b1","blockName":"n","blockType":"t","display":"description","outputToChat":true}`,
		wire: `{"type":"block-start","blockId":"b1","blockName":"n","blockType":"t","display":"description","outputToChat":true}`,
		want: &BlockStartEvent{BlockID: "b1", BlockName: "n", BlockType: "t", Display: DisplayDescription, OutputToChat: evtPtr(true)},
	},
	{
		name: "block-end/full", typ: EventBlockEnd, in: evtFullBlockEnd, wire: evtFullBlockEnd,
		want: &BlockEndEvent{BlockID: "b1", Summary: "done", WorkerID: "w1"},
	},
	{
		name: "block-end/min", typ: EventBlockEnd,
		in: `{"type":"block-end","blockId":"b1"}`, wire: `{"type":"block-end","blockId":"b1"}`,
		want: &BlockEndEvent{BlockID: "b1"},
	},
	{
		name: "resource-update/full", typ: EventResourceUpdate, in: evtFullResource, wire: evtFullResource,
		want: &ResourceUpdateEvent{Name: "notes", Value: json.RawMessage(`["a","b"]`)},
	},
	{
		name: "resource-update/min", typ: EventResourceUpdate,
		in: `{"type":"resource-update","name":"notes","value":null}`, wire: `{"type":"resource-update","name":"notes","value":null}`,
		want: &ResourceUpdateEvent{Name: "notes", Value: json.RawMessage("null")},
	},
	{
		name: "tool-request/full", typ: EventToolRequest, in: evtFullToolRequest, wire: evtFullToolRequest,
		want: &ToolRequestEvent{ToolCalls: []PendingToolCall{
			{
				ToolCallID: "call_1", ToolName: "get_weather", Args: json.RawMessage(`{"city":"Paris"}`),
				Source: "block", OutputVariable: "weather", BlockIndex: evtPtr(0), Thread: "research", WorkerID: "w1",
			},
			{ToolCallID: "call_2", ToolName: "noop", Args: json.RawMessage(`{}`)},
		}, WorkerID: "w1"},
	},
	{
		name: "tool-request/min", typ: EventToolRequest,
		in: `{"type":"tool-request","toolCalls":[]}`, wire: `{"type":"tool-request","toolCalls":[]}`,
		want: &ToolRequestEvent{ToolCalls: []PendingToolCall{}},
	},
	{
		name: "client-tool-request/full", typ: EventClientToolRequest, in: evtFullClientTools, wire: evtFullClientTools,
		want: &ClientToolRequestEvent{
			ExecutionID: "exec_1",
			ToolCalls: []PendingToolCall{
				{
					ToolCallID: "call_2", ToolName: "pick_color", Args: json.RawMessage(`{"palette":["red"]}`),
					Source: "llm", OutputVariable: "color", BlockIndex: evtPtr(3), Thread: "research", WorkerID: "w1",
				},
				{ToolCallID: "call_4", ToolName: "confirm", Args: json.RawMessage(`{"q":"ok?"}`)},
			},
			ServerToolResults: []ToolResult{
				{
					ToolCallID: "call_1", ToolName: "get_weather", Result: json.RawMessage(`{"temp":21}`),
					Error: "partial", OutputVariable: "weather", BlockIndex: evtPtr(0), Thread: "research", WorkerID: "w1",
					Files: []FileReference{
						{ID: "f1", MediaType: "image/png", URL: "https://cdn.example.com/f1.png", Filename: "chart.png", Size: evtPtr(2048.0)},
						{ID: "f2", MediaType: "text/plain", URL: "https://cdn.example.com/f2.txt"},
					},
				},
				{ToolCallID: "call_3"},
			},
		},
	},
	{
		name: "client-tool-request/min", typ: EventClientToolRequest,
		in:   `{"type":"client-tool-request","executionId":"exec_1","toolCalls":[]}`,
		wire: `{"type":"client-tool-request","executionId":"exec_1","toolCalls":[]}`,
		want: &ClientToolRequestEvent{ExecutionID: "exec_1", ToolCalls: []PendingToolCall{}},
	},
	{
		name: "file-available/full", typ: EventFileAvailable, in: evtFullFileAvailable, wire: evtFullFileAvailable,
		want: &FileAvailableEvent{
			ID: "f1", MediaType: "image/png", URL: "https://cdn.example.com/f1.png",
			Filename: "chart.png", Size: evtPtr(2048.0), ToolCallID: "call_1", WorkerID: "w1",
		},
	},
	{
		name: "todo-update/full", typ: EventTodoUpdate, in: evtFullTodoUpdate, wire: evtFullTodoUpdate,
		want: &TodoUpdateEvent{Todos: []TodoItem{
			{ID: "1", Content: "Find flights", Status: TodoInProgress},
			{ID: "2", Content: "Book hotel", Status: TodoPending},
		}, WorkerID: "w1"},
	},
	{
		name: "todo-update/min", typ: EventTodoUpdate,
		in: `{"type":"todo-update","todos":[]}`, wire: `{"type":"todo-update","todos":[]}`,
		want: &TodoUpdateEvent{Todos: []TodoItem{}},
	},
	{
		name: "todo-update/every-status", typ: EventTodoUpdate,
		in:   `{"type":"todo-update","todos":[{"id":"a","content":"","status":"pending"},{"id":"b","content":"x","status":"in_progress"},{"id":"c","content":"y","status":"completed"},{"id":"d","content":"z","status":"cancelled"}]}`,
		wire: `{"type":"todo-update","todos":[{"id":"a","content":"","status":"pending"},{"id":"b","content":"x","status":"in_progress"},{"id":"c","content":"y","status":"completed"},{"id":"d","content":"z","status":"cancelled"}]}`,
		want: &TodoUpdateEvent{Todos: []TodoItem{
			{ID: "a", Status: TodoPending}, {ID: "b", Content: "x", Status: TodoInProgress},
			{ID: "c", Content: "y", Status: TodoCompleted}, {ID: "d", Content: "z", Status: TodoCancelled},
		}},
	},
	{
		name: "worker-start/full", typ: EventWorkerStart, in: evtFullWorkerStart, wire: evtFullWorkerStart,
		want: &WorkerStartEvent{WorkerID: "w1", WorkerSlug: "researcher", Description: "Research the topic", Input: json.RawMessage(`{"topic":"go","depth":2}`)},
	},
	{
		name: "worker-start/min", typ: EventWorkerStart,
		in: `{"type":"worker-start","workerId":"w1","workerSlug":"researcher"}`, wire: `{"type":"worker-start","workerId":"w1","workerSlug":"researcher"}`,
		want: &WorkerStartEvent{WorkerID: "w1", WorkerSlug: "researcher"},
	},
	{
		name: "worker-result/full", typ: EventWorkerResult, in: evtFullWorkerResult, wire: evtFullWorkerResult,
		want: &WorkerResultEvent{WorkerID: "w1", Output: json.RawMessage(`{"summary":"done","sources":[1,2]}`), Error: "partial"},
	},
	{
		name: "worker-result/min", typ: EventWorkerResult,
		in: `{"type":"worker-result","workerId":"w1"}`, wire: `{"type":"worker-result","workerId":"w1"}`,
		want: &WorkerResultEvent{WorkerID: "w1"},
	},
	{
		// The TS type's cancelled is not in the schema: stripped.
		name: "worker-result/cancelled-stripped", typ: EventWorkerResult,
		in:   `{"type":"worker-result","workerId":"w1","output":null,"cancelled":true}`,
		wire: `{"type":"worker-result","workerId":"w1","output":null}`,
		want: &WorkerResultEvent{WorkerID: "w1", Output: json.RawMessage("null")},
	},
	{
		name: "worker-input-start/full", typ: EventWorkerInputStart, in: evtFullWorkerInputStart, wire: evtFullWorkerInputStart,
		want: &WorkerInputStartEvent{WorkerID: "w1", WorkerSlug: "researcher", Description: "Research the topic"},
	},
	{
		name: "worker-input-start/min", typ: EventWorkerInputStart,
		in: `{"type":"worker-input-start","workerId":"w1","workerSlug":"r"}`, wire: `{"type":"worker-input-start","workerId":"w1","workerSlug":"r"}`,
		want: &WorkerInputStartEvent{WorkerID: "w1", WorkerSlug: "r"},
	},
	{
		name: "worker-input-delta/full", typ: EventWorkerInputDelta, in: evtFullWorkerInputDelta, wire: evtFullWorkerInputDelta,
		want: &WorkerInputDeltaEvent{WorkerID: "w1", Delta: `{"topic":`},
	},
	{
		name: "worker-input-delta/empty", typ: EventWorkerInputDelta,
		in: `{"type":"worker-input-delta","workerId":"","delta":""}`, wire: `{"type":"worker-input-delta","workerId":"","delta":""}`,
		want: &WorkerInputDeltaEvent{},
	},
	{
		name: "worker-input-ready/full", typ: EventWorkerInputReady, in: evtFullWorkerInputReady, wire: evtFullWorkerInputReady,
		want: &WorkerInputReadyEvent{WorkerID: "w1", Input: json.RawMessage(`{"topic":"go"}`)},
	},
	{
		name: "worker-input-ready/empty-input", typ: EventWorkerInputReady,
		in: `{"type":"worker-input-ready","workerId":"w1","input":{}}`, wire: `{"type":"worker-input-ready","workerId":"w1","input":{}}`,
		want: &WorkerInputReadyEvent{WorkerID: "w1", Input: json.RawMessage(`{}`)},
	},
	{
		name: "usage/full", typ: EventUsage, in: evtFullUsage, wire: evtFullUsage,
		want: &UsageEvent{
			Cost:   UsageCost{Currency: "USD", BandwidthFee: 0.0001, ProviderFee: 0.0123, TotalFee: 0.0124, EstimatedProviderFee: evtPtr(0.0123)},
			Tokens: UsageTokens{InputTokens: 1200, OutputTokens: 340, TotalTokens: 1540},
		},
	},
	{
		name: "usage/min", typ: EventUsage,
		in:   `{"type":"usage","cost":{"currency":"EUR","bandwidthFee":0,"providerFee":0,"totalFee":0,"byok":true},"tokens":{"inputTokens":0,"outputTokens":0,"totalTokens":0}}`,
		wire: `{"type":"usage","cost":{"currency":"EUR","bandwidthFee":0,"providerFee":0,"totalFee":0,"byok":true},"tokens":{"inputTokens":0,"outputTokens":0,"totalTokens":0}}`,
		want: &UsageEvent{Cost: UsageCost{Currency: "EUR", BYOK: true}},
	},
	{
		name: "block-start/display-title", typ: EventBlockStart,
		in:   `{"type":"block-start","blockId":"b1","blockName":"n","blockType":"t","display":"title"}`,
		wire: `{"type":"block-start","blockId":"b1","blockName":"n","blockType":"t","display":"title"}`,
		want: &BlockStartEvent{BlockID: "b1", BlockName: "n", BlockType: "t", Display: DisplayTitle},
	},
	{
		name: "text-delta/worker-empty", typ: EventTextDelta,
		in:   `{"type":"text-delta","id":"t","delta":"d","workerId":""}`,
		wire: `{"type":"text-delta","id":"t","delta":"d","workerId":""}`,
		want: &TextDeltaEvent{ID: "t", Delta: "d", extra: extras{"workerId": json.RawMessage(`""`)}},
	},
	{
		name: "file-available/min", typ: EventFileAvailable,
		in:   `{"type":"file-available","id":"f1","mediaType":"image/png","url":"https://cdn.example.com/f1.png"}`,
		wire: `{"type":"file-available","id":"f1","mediaType":"image/png","url":"https://cdn.example.com/f1.png"}`,
		want: &FileAvailableEvent{ID: "f1", MediaType: "image/png", URL: "https://cdn.example.com/f1.png"},
	},
}

func TestParseStreamEventTable(t *testing.T) {
	for _, tc := range evtEventCases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseStreamEvent([]byte(tc.in))
			require.NoError(t, err)
			require.IsType(t, tc.want, ev)
			require.Equal(t, tc.want, ev)
			require.Equal(t, tc.typ, ev.EventType())

			got, err := json.Marshal(ev)
			require.NoError(t, err)
			require.JSONEq(t, tc.wire, string(got))

			// The hand-built event marshals the same way.
			built, err := json.Marshal(tc.want)
			require.NoError(t, err)
			require.JSONEq(t, tc.wire, string(built))
		})
	}
}

// The wire JSON is written in the reference's key order: "type" first, then
// the schema's fields in their order (zod builds its output in shape order).
func TestStreamEventMarshalKeyOrder(t *testing.T) {
	for _, tc := range evtEventCases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseStreamEvent([]byte(tc.in))
			require.NoError(t, err)
			got, err := ev.(json.Marshaler).MarshalJSON()
			require.NoError(t, err)
			require.Equal(t, tc.wire, string(got))
		})
	}
}

func TestStreamEventTypes(t *testing.T) {
	// Every event type of the protocol, by its wire name.
	want := map[StreamEvent]string{
		&StartEvent{}:               "start",
		&FinishEvent{}:              "finish",
		&ErrorEvent{}:               "error",
		&TextStartEvent{}:           "text-start",
		&TextDeltaEvent{}:           "text-delta",
		&TextEndEvent{}:             "text-end",
		&ReasoningStartEvent{}:      "reasoning-start",
		&ReasoningDeltaEvent{}:      "reasoning-delta",
		&ReasoningEndEvent{}:        "reasoning-end",
		&ToolInputStartEvent{}:      "tool-input-start",
		&ToolInputDeltaEvent{}:      "tool-input-delta",
		&ToolInputEndEvent{}:        "tool-input-end",
		&ToolInputAvailableEvent{}:  "tool-input-available",
		&ToolOutputAvailableEvent{}: "tool-output-available",
		&ToolOutputErrorEvent{}:     "tool-output-error",
		&SourceURLEvent{}:           "source",
		&SourceDocumentEvent{}:      "source",
		&BlockStartEvent{}:          "block-start",
		&BlockEndEvent{}:            "block-end",
		&ResourceUpdateEvent{}:      "resource-update",
		&ToolRequestEvent{}:         "tool-request",
		&ClientToolRequestEvent{}:   "client-tool-request",
		&FileAvailableEvent{}:       "file-available",
		&TodoUpdateEvent{}:          "todo-update",
		&WorkerStartEvent{}:         "worker-start",
		&WorkerResultEvent{}:        "worker-result",
		&WorkerInputStartEvent{}:    "worker-input-start",
		&WorkerInputDeltaEvent{}:    "worker-input-delta",
		&WorkerInputReadyEvent{}:    "worker-input-ready",
		&UsageEvent{}:               "usage",
	}
	require.Len(t, want, 30) // 29 types, "source" twice
	for ev, typ := range want {
		require.Equal(t, EventType(typ), ev.EventType(), "%T", ev)
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		var head struct {
			Type       string  `json:"type"`
			SourceType *string `json:"sourceType"`
		}
		require.NoError(t, json.Unmarshal(b, &head))
		require.Equal(t, typ, head.Type, "%T", ev)
		switch ev.(type) {
		case *SourceURLEvent:
			require.Equal(t, "url", *head.SourceType)
		case *SourceDocumentEvent:
			require.Equal(t, "document", *head.SourceType)
		default:
			require.Nil(t, head.SourceType, "%T", ev)
		}
	}
}

func TestParseStreamEventEnums(t *testing.T) {
	for _, r := range []string{"stop", "tool-calls", "client-tool-calls", "length", "content-filter", "error", "other"} {
		ev, err := ParseStreamEvent([]byte(`{"type":"finish","finishReason":"` + r + `"}`))
		require.NoError(t, err, r)
		require.Equal(t, FinishReason(r), ev.(*FinishEvent).FinishReason)
	}
	for _, et := range []string{
		"authentication_error", "permission_error", "validation_error", "not_found_error",
		"rate_limit_error", "quota_exceeded_error", "provider_error", "provider_overloaded",
		"provider_timeout", "execution_error", "tool_error", "protocol_error", "internal_error", "unknown_error",
	} {
		for _, src := range []string{"platform", "provider", "tool", "client"} {
			in := `{"type":"error","errorType":"` + et + `","message":"m","retryable":true,"source":"` + src + `"}`
			ev, err := ParseStreamEvent([]byte(in))
			require.NoError(t, err, in)
			require.Equal(t, ErrorType(et), ev.(*ErrorEvent).ErrorType)
			require.Equal(t, ErrorSource(src), ev.(*ErrorEvent).Source)
		}
	}
	for _, d := range []string{"hidden", "name", "description", "stream", "title"} {
		ev, err := ParseStreamEvent([]byte(`{"type":"block-start","blockId":"b","blockName":"n","blockType":"t","display":"` + d + `"}`))
		require.NoError(t, err, d)
		require.Equal(t, DisplayMode(d), ev.(*BlockStartEvent).Display)
	}
	for _, s := range []string{"llm", "block"} {
		ev, err := ParseStreamEvent([]byte(`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"source":"` + s + `"}]}`))
		require.NoError(t, err, s)
		require.Equal(t, s, ev.(*ToolRequestEvent).ToolCalls[0].Source)
	}
}

type evtRejectCase struct {
	name string
	in   string
	// field, when set, must be named in the error message.
	field string
}

var evtRejectCases = []evtRejectCase{
	{name: "empty", in: ``},
	{name: "whitespace", in: "  \n"},
	{name: "not JSON", in: `data: {"type":"start"}`},
	{name: "truncated", in: `{"type":"start"`},
	{name: "trailing garbage", in: `{"type":"start"} x`},
	{name: "two objects", in: `{"type":"start"}{"type":"start"}`},
	{name: "DONE marker", in: `[DONE]`},
	{name: "null", in: `null`},
	{name: "array", in: `[{"type":"start"}]`},
	{name: "string", in: `"start"`},
	{name: "number", in: `1`},
	{name: "boolean", in: `true`},
	{name: "empty object", in: `{}`, field: "type"},
	{name: "missing type", in: `{"messageId":"m"}`, field: "type"},
	{name: "type null", in: `{"type":null}`, field: "type"},
	{name: "type number", in: `{"type":1}`, field: "type"},
	{name: "type array", in: `{"type":["start"]}`, field: "type"},
	{name: "type object", in: `{"type":{"name":"start"}}`, field: "type"},
	{name: "type unknown", in: `{"type":"begin"}`},
	{name: "type empty", in: `{"type":""}`},
	{name: "type wrong case", in: `{"type":"Start"}`},
	{name: "type with space", in: `{"type":"start "}`},
	{name: "type key wrong case", in: `{"Type":"start"}`, field: "type"},
	{name: "field key wrong case", in: `{"type":"finish","FinishReason":"stop"}`, field: "finishReason"},
	{name: "last duplicate type wins", in: `{"type":"start","type":"begin"}`},
	{name: "last duplicate field wins", in: `{"type":"finish","finishReason":"stop","finishReason":"done"}`, field: "finishReason"},
	{name: "finishReason outside enum", in: `{"type":"finish","finishReason":"done"}`, field: "finishReason"},
	{name: "finishReason wrong case", in: `{"type":"finish","finishReason":"STOP"}`, field: "finishReason"},
	{name: "finishReason underscore", in: `{"type":"finish","finishReason":"tool_calls"}`, field: "finishReason"},
	{name: "errorType outside enum", in: `{"type":"error","errorType":"server_error","message":"m","retryable":false,"source":"platform"}`, field: "errorType"},
	{name: "source outside enum", in: `{"type":"error","errorType":"internal_error","message":"m","retryable":false,"source":"server"}`, field: "source"},
	{name: "retryAfter string", in: `{"type":"error","errorType":"internal_error","message":"m","retryable":false,"source":"platform","retryAfter":"5"}`, field: "retryAfter"},
	{name: "retryAfter null", in: `{"type":"error","errorType":"internal_error","message":"m","retryable":false,"source":"platform","retryAfter":null}`, field: "retryAfter"},
	{name: "retryAfter overflow", in: `{"type":"error","errorType":"internal_error","message":"m","retryable":false,"source":"platform","retryAfter":1e400}`, field: "retryAfter"},
	{name: "retryable string", in: `{"type":"error","errorType":"internal_error","message":"m","retryable":"false","source":"platform"}`, field: "retryable"},
	{name: "provider without name", in: `{"type":"error","errorType":"provider_error","message":"m","retryable":false,"source":"provider","provider":{"model":"x"}}`, field: "provider.name"},
	{name: "provider null", in: `{"type":"error","errorType":"provider_error","message":"m","retryable":false,"source":"provider","provider":null}`, field: "provider"},
	{name: "provider statusCode string", in: `{"type":"error","errorType":"provider_error","message":"m","retryable":false,"source":"provider","provider":{"name":"p","statusCode":"500"}}`, field: "provider.statusCode"},
	{name: "tool without name", in: `{"type":"error","errorType":"tool_error","message":"m","retryable":false,"source":"tool","tool":{"callId":"c"}}`, field: "tool.name"},
	{name: "display outside enum", in: `{"type":"block-start","blockId":"b","blockName":"n","blockType":"t","display":"visible"}`, field: "display"},
	{name: "sourceType outside enum", in: `{"type":"source","sourceType":"web","id":"s","url":"u"}`, field: "sourceType"},
	{name: "sourceType wrong case", in: `{"type":"source","sourceType":"URL","id":"s","url":"u"}`, field: "sourceType"},
	{name: "sourceType missing", in: `{"type":"source","id":"s","url":"u"}`, field: "sourceType"},
	{name: "source url with document fields only", in: `{"type":"source","sourceType":"url","id":"s","mediaType":"m","title":"t"}`, field: "url"},
	{name: "source document without title", in: `{"type":"source","sourceType":"document","id":"s","mediaType":"m","url":"u"}`, field: "title"},
	{name: "outputToChat string", in: `{"type":"block-start","blockId":"b","blockName":"n","blockType":"t","display":"name","outputToChat":"true"}`, field: "outputToChat"},
	{name: "outputToChat null", in: `{"type":"block-start","blockId":"b","blockName":"n","blockType":"t","display":"name","outputToChat":null}`, field: "outputToChat"},
	{name: "outputToChat number", in: `{"type":"block-start","blockId":"b","blockName":"n","blockType":"t","display":"name","outputToChat":1}`, field: "outputToChat"},
	{name: "optional string null", in: `{"type":"start","messageId":null}`, field: "messageId"},
	{name: "optional string number", in: `{"type":"start","executionId":42}`, field: "executionId"},
	{name: "required string null", in: `{"type":"text-delta","id":"t","delta":null}`, field: "delta"},
	{name: "required string number", in: `{"type":"text-delta","id":1,"delta":"d"}`, field: "id"},
	{name: "toolCalls missing", in: `{"type":"tool-request"}`, field: "toolCalls"},
	{name: "toolCalls null", in: `{"type":"tool-request","toolCalls":null}`, field: "toolCalls"},
	{name: "toolCalls object", in: `{"type":"tool-request","toolCalls":{"toolCallId":"c","toolName":"n","args":{}}}`, field: "toolCalls"},
	{name: "toolCalls string", in: `{"type":"tool-request","toolCalls":"[]"}`, field: "toolCalls"},
	{name: "toolCalls item null", in: `{"type":"tool-request","toolCalls":[null]}`, field: "toolCalls"},
	{name: "toolCalls item string", in: `{"type":"tool-request","toolCalls":["c"]}`, field: "toolCalls"},
	{name: "toolCalls item array", in: `{"type":"tool-request","toolCalls":[[]]}`, field: "toolCalls"},
	{name: "toolCalls second item not object", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{}},7]}`, field: "toolCalls"},
	{name: "args array", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":[]}]}`, field: "toolCalls[0].args"},
	{name: "args null", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":null}]}`, field: "toolCalls[0].args"},
	{name: "args string", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":"{}"}]}`, field: "toolCalls[0].args"},
	{name: "args missing", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n"}]}`, field: "toolCalls[0].args"},
	{name: "args of second call array", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{}},{"toolCallId":"d","toolName":"n","args":[1]}]}`, field: "toolCalls[1].args"},
	{name: "toolCallId missing in call", in: `{"type":"tool-request","toolCalls":[{"toolName":"n","args":{}}]}`, field: "toolCalls[0].toolCallId"},
	{name: "pending source outside enum", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"source":"user"}]}`, field: "toolCalls[0].source"},
	{name: "pending source null", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"source":null}]}`, field: "toolCalls[0].source"},
	{name: "blockIndex string", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"blockIndex":"1"}]}`, field: "toolCalls[0].blockIndex"},
	{name: "blockIndex overflow", in: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"blockIndex":1e400}]}`, field: "toolCalls[0].blockIndex"},
	{name: "client executionId missing", in: `{"type":"client-tool-request","toolCalls":[]}`, field: "executionId"},
	{name: "serverToolResults item without toolCallId", in: `{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":[{"toolName":"t","result":1}]}`, field: "serverToolResults[0].toolCallId"},
	{name: "serverToolResults null", in: `{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":null}`, field: "serverToolResults"},
	{name: "serverToolResults object", in: `{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":{}}`, field: "serverToolResults"},
	{name: "serverToolResults item null", in: `{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":[null]}`, field: "serverToolResults"},
	{name: "serverToolResults error null", in: `{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":[{"toolCallId":"c","error":null}]}`, field: "serverToolResults[0].error"},
	{name: "size string", in: `{"type":"file-available","id":"f","mediaType":"m","url":"u","size":"10"}`, field: "size"},
	{name: "size overflow", in: `{"type":"file-available","id":"f","mediaType":"m","url":"u","size":1e400}`, field: "size"},
	{name: "size negative overflow", in: `{"type":"file-available","id":"f","mediaType":"m","url":"u","size":-1e400}`, field: "size"},
	{name: "size null", in: `{"type":"file-available","id":"f","mediaType":"m","url":"u","size":null}`, field: "size"},
	{name: "tool-input-available without toolName", in: `{"type":"tool-input-available","toolCallId":"c","input":{}}`, field: "toolName"},
	{name: "tool-output-available without toolCallId", in: `{"type":"tool-output-available","output":1}`, field: "toolCallId"},
	{name: "resource-update without name", in: `{"type":"resource-update","value":1}`, field: "name"},
}

func TestParseStreamEventRejects(t *testing.T) {
	for _, tc := range evtRejectCases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseStreamEvent([]byte(tc.in))
			require.Error(t, err)
			require.Nil(t, ev)
			require.True(t, errors.Is(err, ErrInvalidEvent), "%v", err)
			if tc.field != "" {
				require.Contains(t, err.Error(), `"`+tc.field+`"`)
			}
		})
	}
}

// A field of an event schema, as the reference's zod schema declares it.
// path is dotted, with array indexes as numbers ("toolCalls.1.args").
type evtSchemaField struct {
	path     string
	kind     string // string, number, int, bool, enum, record, unknown, object, array
	required bool
	enum     []string
}

type evtEventSchema struct {
	name   string
	full   string // a valid input with every field present
	fields []evtSchemaField
}

func evtPendingCallFields(prefix string) []evtSchemaField {
	return []evtSchemaField{
		{path: prefix + ".toolCallId", kind: "string", required: true},
		{path: prefix + ".toolName", kind: "string", required: true},
		{path: prefix + ".args", kind: "record", required: true},
		{path: prefix + ".source", kind: "enum", enum: []string{"llm", "block"}},
		{path: prefix + ".outputVariable", kind: "string"},
		{path: prefix + ".blockIndex", kind: "int"},
		{path: prefix + ".thread", kind: "string"},
		{path: prefix + ".workerId", kind: "string"},
	}
}

var evtEventSchemas = []evtEventSchema{
	{name: "start", full: evtFullStart, fields: []evtSchemaField{
		{path: "messageId", kind: "string"},
		{path: "executionId", kind: "string"},
		{path: "lastMessageId", kind: "string"},
		{path: "sessionId", kind: "string"},
	}},
	{name: "finish", full: evtFullFinish, fields: []evtSchemaField{
		{path: "finishReason", kind: "enum", required: true, enum: []string{"stop", "tool-calls", "client-tool-calls", "length", "content-filter", "error", "other"}},
		{path: "executionId", kind: "string"},
	}},
	{name: "error", full: evtFullError, fields: []evtSchemaField{
		{path: "errorType", kind: "enum", required: true, enum: []string{
			"authentication_error", "permission_error", "validation_error", "not_found_error",
			"rate_limit_error", "quota_exceeded_error", "provider_error", "provider_overloaded",
			"provider_timeout", "execution_error", "tool_error", "protocol_error", "internal_error", "unknown_error",
		}},
		{path: "message", kind: "string", required: true},
		{path: "retryable", kind: "bool", required: true},
		{path: "source", kind: "enum", required: true, enum: []string{"platform", "provider", "tool", "client"}},
		{path: "retryAfter", kind: "number"},
		{path: "code", kind: "string"},
		{path: "provider", kind: "object"},
		{path: "provider.name", kind: "string", required: true},
		{path: "provider.model", kind: "string"},
		{path: "provider.statusCode", kind: "number"},
		{path: "provider.errorType", kind: "string"},
		{path: "provider.requestId", kind: "string"},
		{path: "tool", kind: "object"},
		{path: "tool.name", kind: "string", required: true},
		{path: "tool.callId", kind: "string"},
	}},
	{name: "text-start", full: evtFullTextStart, fields: []evtSchemaField{
		{path: "id", kind: "string", required: true},
		{path: "responseType", kind: "string"},
		{path: "workerId", kind: "string"},
	}},
	{name: "text-delta", full: evtFullTextDelta, fields: []evtSchemaField{
		{path: "id", kind: "string", required: true},
		{path: "delta", kind: "string", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "text-end", full: evtFullTextEnd, fields: []evtSchemaField{
		{path: "id", kind: "string", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "reasoning-start", full: evtFullReasoningStart, fields: []evtSchemaField{
		{path: "id", kind: "string", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "reasoning-delta", full: evtFullReasoningDelta, fields: []evtSchemaField{
		{path: "id", kind: "string", required: true},
		{path: "delta", kind: "string", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "reasoning-end", full: evtFullReasoningEnd, fields: []evtSchemaField{
		{path: "id", kind: "string", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "tool-input-start", full: evtFullToolInputStart, fields: []evtSchemaField{
		{path: "toolCallId", kind: "string", required: true},
		{path: "toolName", kind: "string", required: true},
		{path: "title", kind: "string"},
		{path: "display", kind: "enum", enum: []string{"hidden", "name", "description", "stream", "title"}},
		{path: "workerId", kind: "string"},
	}},
	{name: "tool-input-delta", full: evtFullToolInputDelta, fields: []evtSchemaField{
		{path: "toolCallId", kind: "string", required: true},
		{path: "inputTextDelta", kind: "string", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "tool-input-end", full: evtFullToolInputEnd, fields: []evtSchemaField{
		{path: "toolCallId", kind: "string", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "tool-input-available", full: evtFullToolInputAvail, fields: []evtSchemaField{
		{path: "toolCallId", kind: "string", required: true},
		{path: "toolName", kind: "string", required: true},
		{path: "input", kind: "unknown", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "tool-output-available", full: evtFullToolOutput, fields: []evtSchemaField{
		{path: "toolCallId", kind: "string", required: true},
		{path: "output", kind: "unknown", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "tool-output-error", full: evtFullToolOutputErr, fields: []evtSchemaField{
		{path: "toolCallId", kind: "string", required: true},
		{path: "error", kind: "string", required: true},
		{path: "workerId", kind: "string"},
	}},
	{name: "source-url", full: evtFullSourceURL, fields: []evtSchemaField{
		{path: "sourceType", kind: "literal", required: true, enum: []string{"url"}},
		{path: "id", kind: "string", required: true},
		{path: "url", kind: "string", required: true},
		{path: "title", kind: "string"},
		{path: "workerId", kind: "string"},
	}},
	{name: "source-document", full: evtFullSourceDoc, fields: []evtSchemaField{
		{path: "sourceType", kind: "literal", required: true, enum: []string{"document"}},
		{path: "id", kind: "string", required: true},
		{path: "mediaType", kind: "string", required: true},
		{path: "title", kind: "string", required: true},
		{path: "filename", kind: "string"},
		{path: "workerId", kind: "string"},
	}},
	{name: "block-start", full: evtFullBlockStart, fields: []evtSchemaField{
		{path: "blockId", kind: "string", required: true},
		{path: "blockName", kind: "string", required: true},
		{path: "blockType", kind: "string", required: true},
		{path: "display", kind: "enum", required: true, enum: []string{"hidden", "name", "description", "stream", "title"}},
		{path: "description", kind: "string"},
		{path: "outputToChat", kind: "bool"},
		{path: "thread", kind: "string"},
		{path: "workerId", kind: "string"},
	}},
	{name: "block-end", full: evtFullBlockEnd, fields: []evtSchemaField{
		{path: "blockId", kind: "string", required: true},
		{path: "summary", kind: "string"},
		{path: "workerId", kind: "string"},
	}},
	{name: "resource-update", full: evtFullResource, fields: []evtSchemaField{
		{path: "name", kind: "string", required: true},
		{path: "value", kind: "unknown", required: true},
	}},
	{name: "tool-request", full: evtFullToolRequest, fields: append(append([]evtSchemaField{
		{path: "toolCalls", kind: "array", required: true},
		{path: "workerId", kind: "string"},
	}, evtPendingCallFields("toolCalls.0")...), evtPendingCallFields("toolCalls.1")...)},
	{name: "client-tool-request", full: evtFullClientTools, fields: append(append([]evtSchemaField{
		{path: "executionId", kind: "string", required: true},
		{path: "toolCalls", kind: "array", required: true},
		{path: "serverToolResults", kind: "array"},
		{path: "serverToolResults.1.toolCallId", kind: "string", required: true},
		{path: "serverToolResults.0.toolCallId", kind: "string", required: true},
		{path: "serverToolResults.0.toolName", kind: "string"},
		{path: "serverToolResults.0.result", kind: "unknown"},
		{path: "serverToolResults.0.error", kind: "string"},
		{path: "serverToolResults.0.outputVariable", kind: "string"},
		{path: "serverToolResults.0.blockIndex", kind: "int"},
		{path: "serverToolResults.0.files", kind: "array"},
		{path: "serverToolResults.0.files.0.id", kind: "string", required: true},
		{path: "serverToolResults.0.files.0.mediaType", kind: "string", required: true},
		{path: "serverToolResults.0.files.0.url", kind: "string", required: true},
		{path: "serverToolResults.0.files.0.filename", kind: "string"},
		{path: "serverToolResults.0.files.0.size", kind: "number"},
		{path: "serverToolResults.0.files.1.url", kind: "string", required: true},
		{path: "serverToolResults.0.thread", kind: "string"},
		{path: "serverToolResults.0.workerId", kind: "string"},
	}, evtPendingCallFields("toolCalls.0")...), evtPendingCallFields("toolCalls.1")...)},
	{name: "file-available", full: evtFullFileAvailable, fields: []evtSchemaField{
		{path: "id", kind: "string", required: true},
		{path: "mediaType", kind: "string", required: true},
		{path: "url", kind: "string", required: true},
		{path: "filename", kind: "string"},
		{path: "size", kind: "number"},
		{path: "toolCallId", kind: "string"},
		{path: "workerId", kind: "string"},
	}},
	{name: "todo-update", full: evtFullTodoUpdate, fields: []evtSchemaField{
		{path: "todos", kind: "array", required: true},
		{path: "todos.0.id", kind: "string", required: true},
		{path: "todos.0.content", kind: "string", required: true},
		{path: "todos.0.status", kind: "enum", required: true, enum: []string{"pending", "in_progress", "completed", "cancelled"}},
		{path: "todos.1.status", kind: "enum", required: true, enum: []string{"pending", "in_progress", "completed", "cancelled"}},
		{path: "workerId", kind: "string"},
	}},
	{name: "worker-start", full: evtFullWorkerStart, fields: []evtSchemaField{
		{path: "workerId", kind: "string", required: true},
		{path: "workerSlug", kind: "string", required: true},
		{path: "description", kind: "string"},
		{path: "input", kind: "record"},
	}},
	{name: "worker-result", full: evtFullWorkerResult, fields: []evtSchemaField{
		{path: "workerId", kind: "string", required: true},
		{path: "output", kind: "unknown"},
		{path: "error", kind: "string"},
	}},
	{name: "worker-input-start", full: evtFullWorkerInputStart, fields: []evtSchemaField{
		{path: "workerId", kind: "string", required: true},
		{path: "workerSlug", kind: "string", required: true},
		{path: "description", kind: "string"},
	}},
	{name: "worker-input-delta", full: evtFullWorkerInputDelta, fields: []evtSchemaField{
		{path: "workerId", kind: "string", required: true},
		{path: "delta", kind: "string", required: true},
	}},
	{name: "worker-input-ready", full: evtFullWorkerInputReady, fields: []evtSchemaField{
		{path: "workerId", kind: "string", required: true},
		{path: "input", kind: "record", required: true},
	}},
	{name: "usage", full: evtFullUsage, fields: []evtSchemaField{
		{path: "cost", kind: "object", required: true},
		{path: "cost.currency", kind: "string", required: true},
		{path: "cost.bandwidthFee", kind: "number", required: true},
		{path: "cost.providerFee", kind: "number", required: true},
		{path: "cost.totalFee", kind: "number", required: true},
		{path: "cost.byok", kind: "bool", required: true},
		{path: "cost.estimatedProviderFee", kind: "number"},
		{path: "tokens", kind: "object", required: true},
		{path: "tokens.inputTokens", kind: "number", required: true},
		{path: "tokens.outputTokens", kind: "number", required: true},
		{path: "tokens.totalTokens", kind: "number", required: true},
	}},
}

// Values that a field of each kind refuses.
var evtBadValues = map[string][]string{
	"string":  {`1`, `0`, `true`, `false`, `null`, `{}`, `[]`, `["s"]`},
	"number":  {`"1"`, `""`, `true`, `null`, `{}`, `[]`, `[1]`, `1e400`, `-1e400`},
	"int":     {`"1"`, `true`, `null`, `{}`, `[]`, `1e400`},
	"bool":    {`"true"`, `"false"`, `1`, `0`, `null`, `{}`, `[]`},
	"enum":    {`""`, `"x"`, `1`, `true`, `null`, `{}`, `[]`},
	"literal": {`""`, `"x"`, `1`, `true`, `null`, `{}`, `[]`},
	"record":  {`[]`, `[{}]`, `null`, `"{}"`, `1`, `true`},
	"object":  {`null`, `[]`, `[{}]`, `"x"`, `1`, `true`},
	"array":   {`{}`, `null`, `"[]"`, `1`, `true`, `[null]`, `[1]`, `["x"]`, `[[]]`, `[{}]`, `[{},{}]`},
}

// Values that a field of each kind accepts; the marshalled event carries
// them unchanged (JSON-equal).
var evtGoodValues = map[string][]string{
	"string":  {`""`, `"x"`, `"<b>&amp;</b>"`, `"日本語 😀"`, `"line\nbreak \"quoted\" \\ slash"`},
	"number":  {`0`, `1`, `-1`, `1.5`, `1e3`, `12.25`, `-7.125`, `1e-7`},
	"int":     {`0`, `1`, `7`, `2147483647`, `1.5`, `-0.25`, `1e-3`, `4294967296`},
	"bool":    {`true`, `false`},
	"record":  {`{}`, `{"a":1}`, `{"a":null,"b":[1,{"c":"d"}],"e":{"f":true}}`},
	"unknown": {`null`, `0`, `-1.5`, `"s"`, `""`, `true`, `false`, `[]`, `[1,"a",null,{}]`, `{}`, `{"a":{"b":[null]}}`},
}

// evtCaseEnumVariants gives near misses of an enum's values: other case, other
// separators, surrounding space.
func evtCaseEnumVariants(allowed []string) []string {
	var out []string
	for _, a := range allowed {
		out = append(out,
			strconv.Quote(strings.ToUpper(a)),
			strconv.Quote(" "+a),
			strconv.Quote(a+" "),
		)
		if r := strings.NewReplacer("-", "_", "_", "-").Replace(a); r != a {
			out = append(out, strconv.Quote(r))
		}
	}
	return out
}

// evtEditJSON sets (or, when raw is "", deletes) the value at path in the JSON
// object doc. The test's own helper: it uses encoding/json only.
func evtEditJSON(t testing.TB, doc, path, raw string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var root any
	require.NoError(t, dec.Decode(&root))
	keys := strings.Split(path, ".")
	cur := root
	for _, k := range keys[:len(keys)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			require.NoError(t, err)
			cur = c[i]
		default:
			t.Fatalf("path %s: %T", path, cur)
		}
	}
	m, ok := cur.(map[string]any)
	require.True(t, ok, "path %s", path)
	last := keys[len(keys)-1]
	if raw == "" {
		delete(m, last)
	} else {
		m[last] = json.RawMessage(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(root))
	return strings.TrimSpace(buf.String())
}

// evtLookupJSON returns the raw value at path in doc, and whether it is there.
func evtLookupJSON(t testing.TB, doc []byte, path string) (json.RawMessage, bool) {
	t.Helper()
	cur := json.RawMessage(doc)
	for _, k := range strings.Split(path, ".") {
		if i, err := strconv.Atoi(k); err == nil {
			var arr []json.RawMessage
			require.NoError(t, json.Unmarshal(cur, &arr))
			if i >= len(arr) {
				return nil, false
			}
			cur = arr[i]
			continue
		}
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(cur, &m))
		v, ok := m[k]
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}

// evtErrPath is how an error message names a field: "toolCalls[1].args".
func evtErrPath(path string) string {
	var b strings.Builder
	for i, k := range strings.Split(path, ".") {
		if _, err := strconv.Atoi(k); err == nil {
			b.WriteString("[" + k + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(k)
	}
	return b.String()
}

type evtGenCase struct {
	name    string
	in      string
	accept  bool
	req     bool // the field is required
	kind    string
	path    string // the field the case is about
	value   string // the value set at path ("" when the field was deleted)
	errName string // for rejections: the field named in the error
}

// evtSchemaCases derives, from the hand-written schemas above, one case per
// field and per value: required fields missing, optional fields missing,
// every refused value and every accepted value.
func evtSchemaCases(t testing.TB) []evtGenCase {
	var out []evtGenCase
	for _, s := range evtEventSchemas {
		for _, f := range s.fields {
			name := s.name + "/" + f.path
			p := evtErrPath(f.path)
			out = append(out, evtGenCase{
				name: name + "/absent", in: evtEditJSON(t, s.full, f.path, ""), accept: !f.required, path: f.path, errName: p,
			})
			bad := evtBadValues[f.kind]
			if f.kind == "enum" || f.kind == "literal" {
				bad = append(append([]string{}, bad...), evtCaseEnumVariants(f.enum)...)
			}
			for _, v := range bad {
				out = append(out, evtGenCase{
					name: name + "=" + v, in: evtEditJSON(t, s.full, f.path, v), path: f.path, value: v, errName: p,
				})
			}
			good := evtGoodValues[f.kind]
			if f.kind == "enum" {
				for _, e := range f.enum {
					good = append(good, strconv.Quote(e))
				}
			}
			for _, v := range good {
				out = append(out, evtGenCase{
					name: name + "=" + v, in: evtEditJSON(t, s.full, f.path, v), accept: true, req: f.required, kind: f.kind, path: f.path, value: v,
				})
			}
		}
	}
	return out
}

func TestParseStreamEventSchemaFields(t *testing.T) {
	cases := evtSchemaCases(t)
	require.Greater(t, len(cases), 500)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseStreamEvent([]byte(tc.in))
			if !tc.accept {
				require.Error(t, err, tc.in)
				require.Nil(t, ev)
				require.True(t, errors.Is(err, ErrInvalidEvent), "%v", err)
				require.Contains(t, err.Error(), tc.errName, tc.in)
				return
			}
			require.NoError(t, err, tc.in)
			out, err := json.Marshal(ev)
			require.NoError(t, err)
			got, ok := evtLookupJSON(t, out, tc.path)
			switch {
			case tc.value == "":
				require.False(t, ok, "%s: absent field written: %s", tc.path, out)
			default:
				require.True(t, ok, "%s missing from %s", tc.path, out)
				require.JSONEq(t, tc.value, string(got))
			}
		})
	}
}

func TestParseStreamEventDropsUnknownKeys(t *testing.T) {
	cases := []struct{ name, in, wire string }{
		{
			name: "top level",
			in:   `{"type":"text-delta","id":"t","delta":"d","extra":1,"Delta":"x","meta":{"a":[1]},"nil":null}`,
			wire: `{"type":"text-delta","id":"t","delta":"d"}`,
		},
		{
			name: "source url keeps no document fields",
			in:   `{"type":"source","sourceType":"url","id":"s","url":"u","mediaType":"text/html","filename":"x.html"}`,
			wire: `{"type":"source","sourceType":"url","id":"s","url":"u"}`,
		},
		{
			name: "error provider and tool",
			in:   `{"type":"error","errorType":"provider_error","message":"m","retryable":true,"source":"provider","stack":"at x","provider":{"name":"p","region":"eu","statusCode":500},"tool":{"name":"t","args":{}}}`,
			wire: `{"type":"error","errorType":"provider_error","message":"m","retryable":true,"source":"provider","provider":{"name":"p","statusCode":500},"tool":{"name":"t"}}`,
		},
		{
			name: "toolCalls items",
			in:   `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{"keep":"me","extra":1},"extra":true,"status":"pending"}],"extra":[]}`,
			wire: `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{"keep":"me","extra":1}}]}`,
		},
		{
			name: "serverToolResults items",
			in:   `{"type":"client-tool-request","executionId":"e","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"x":1}],"serverToolResults":[{"toolCallId":"s","result":{"kept":1},"extra":"drop","isError":false}]}`,
			wire: `{"type":"client-tool-request","executionId":"e","toolCalls":[{"toolCallId":"c","toolName":"n","args":{}}],"serverToolResults":[{"toolCallId":"s","result":{"kept":1}}]}`,
		},
		{
			name: "unknown values are not stripped inside",
			in:   `{"type":"tool-output-available","toolCallId":"c","output":{"type":"x","extra":{"deep":true}},"extra":1}`,
			wire: `{"type":"tool-output-available","toolCallId":"c","output":{"type":"x","extra":{"deep":true}}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseStreamEvent([]byte(tc.in))
			require.NoError(t, err)
			b, err := json.Marshal(ev)
			require.NoError(t, err)
			require.JSONEq(t, tc.wire, string(b))
		})
	}
}

func TestParseStreamEventUnknownValues(t *testing.T) {
	values := []string{`null`, `{}`, `{"a":[1,2,{"b":null}]}`, `[]`, `[1,"two",null]`, `"text"`, `""`, `0`, `-12.5e3`, `true`, `false`}
	for _, v := range values {
		in := `{"type":"tool-output-available","toolCallId":"c","output":` + v + `}`
		ev, err := ParseStreamEvent([]byte(in))
		require.NoError(t, err, v)
		require.Equal(t, json.RawMessage(v), ev.(*ToolOutputAvailableEvent).Output)
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		require.JSONEq(t, in, string(b))

		in = `{"type":"tool-input-available","toolCallId":"c","toolName":"n","input":` + v + `}`
		ev, err = ParseStreamEvent([]byte(in))
		require.NoError(t, err, v)
		require.Equal(t, json.RawMessage(v), ev.(*ToolInputAvailableEvent).Input)
		b, err = json.Marshal(ev)
		require.NoError(t, err)
		require.JSONEq(t, in, string(b))

		in = `{"type":"resource-update","name":"r","value":` + v + `}`
		ev, err = ParseStreamEvent([]byte(in))
		require.NoError(t, err, v)
		require.Equal(t, json.RawMessage(v), ev.(*ResourceUpdateEvent).Value)
		b, err = json.Marshal(ev)
		require.NoError(t, err)
		require.JSONEq(t, in, string(b))
	}

	// null is kept as null, not dropped.
	ev, err := ParseStreamEvent([]byte(`{"type":"tool-output-available","toolCallId":"c","output":null}`))
	require.NoError(t, err)
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.Equal(t, `{"type":"tool-output-available","toolCallId":"c","output":null}`, string(b))

	// Absent: zod 4.4+ (the version the reference resolves to) requires
	// a key declared z.unknown(), so the event is refused.
	_, err = ParseStreamEvent([]byte(`{"type":"resource-update","name":"r"}`))
	require.ErrorIs(t, err, ErrInvalidEvent)
	// A Go-built event with no value leaves the key out.
	b, err = json.Marshal(&ResourceUpdateEvent{Name: "r"})
	require.NoError(t, err)
	require.Equal(t, `{"type":"resource-update","name":"r"}`, string(b))

	// A serverToolResults result: null kept, absence kept.
	ev, err = ParseStreamEvent([]byte(`{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":[{"toolCallId":"a","result":null},{"toolCallId":"b"}]}`))
	require.NoError(t, err)
	res := ev.(*ClientToolRequestEvent).ServerToolResults
	require.Equal(t, json.RawMessage("null"), res[0].Result)
	require.Nil(t, res[1].Result)
	b, err = json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":[{"toolCallId":"a","result":null},{"toolCallId":"b"}]}`, string(b))
}

func TestParseStreamEventDuplicateKeys(t *testing.T) {
	cases := []struct{ in, wire string }{
		{`{"type":"text-delta","id":"t","delta":"first","delta":"last"}`, `{"type":"text-delta","id":"t","delta":"last"}`},
		{`{"type":"begin","type":"start","messageId":"m"}`, `{"type":"start","messageId":"m"}`},
		{`{"type":"finish","finishReason":1,"finishReason":"length"}`, `{"type":"finish","finishReason":"length"}`},
		{`{"type":"start","messageId":null,"messageId":"m"}`, `{"type":"start","messageId":"m"}`},
		{`{"type":"error","errorType":"tool_error","message":"m","retryable":false,"source":"tool","tool":{"name":"a","name":"b"}}`, `{"type":"error","errorType":"tool_error","message":"m","retryable":false,"source":"tool","tool":{"name":"b"}}`},
		{`{"type":"tool-request","toolCalls":[],"toolCalls":[{"toolCallId":"c","toolCallId":"d","toolName":"n","args":[],"args":{}}]}`, `{"type":"tool-request","toolCalls":[{"toolCallId":"d","toolName":"n","args":{}}]}`},
		{`{"type":"tool-output-available","toolCallId":"c","output":{"a":1},"output":null}`, `{"type":"tool-output-available","toolCallId":"c","output":null}`},
	}
	for _, tc := range cases {
		ev, err := ParseStreamEvent([]byte(tc.in))
		require.NoError(t, err, tc.in)
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		require.JSONEq(t, tc.wire, string(b), tc.in)
	}
	// The last value decides, also when it is the bad one.
	_, err := ParseStreamEvent([]byte(`{"type":"text-delta","id":"t","delta":"ok","delta":5}`))
	require.ErrorIs(t, err, ErrInvalidEvent)
}

func TestParseStreamEventWhitespaceAndEscapes(t *testing.T) {
	in := " \n\t{ \"type\" : \"block-start\" ,\r\n \"blockId\":\"b\\u0031\", \"blockName\" : \"n\", \"blockType\":\"t\",\"display\" : \"name\", \"outputToChat\" :  true , \"thread\":\"\\u0074hread\" }\n "
	ev, err := ParseStreamEvent([]byte(in))
	require.NoError(t, err)
	require.Equal(t, &BlockStartEvent{BlockID: "b1", BlockName: "n", BlockType: "t", Display: DisplayName, OutputToChat: evtPtr(true), Thread: "thread"}, ev)

	// An escaped key is the same key.
	ev, err = ParseStreamEvent([]byte(`{"\u0074ype":"start","message\u0049d":"m"}`))
	require.NoError(t, err)
	require.Equal(t, &StartEvent{MessageID: "m"}, ev)
}

func TestParseStreamEventUnicodeAndHTML(t *testing.T) {
	const text = "<script>alert(\"x\") && y</script> caf\u00e9 \u65e5\u672c \U0001F600 \u2028 \u2029 tab\there"
	quoted, err := json.Marshal(text) // encoding/json escapes <, >, & and U+2028: fine as input
	require.NoError(t, err)
	in := `{"type":"text-delta","id":"t","delta":` + string(quoted) + `}`
	ev, err := ParseStreamEvent([]byte(in))
	require.NoError(t, err)
	require.Equal(t, text, ev.(*TextDeltaEvent).Delta)

	// What the SDK writes (ToSSEStream encodes events without HTML
	// escaping): the characters themselves, as JSON.stringify writes them.
	raw, err := ev.(json.Marshaler).MarshalJSON()
	require.NoError(t, err)
	want := "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"<script>alert(\\\"x\\\") && y</script> caf\u00e9 \u65e5\u672c \U0001F600 \u2028 \u2029 tab\\there\"}"
	require.Equal(t, want, string(raw))
	for _, esc := range []string{`\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`} {
		require.NotContains(t, string(raw), esc)
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(ev))
	require.Equal(t, want+"\n", buf.String())

	// json.Marshal always HTML-escapes (encoding/json re-compacts a
	// MarshalJSON result with escaping on): the same JSON value.
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, want, string(b))

	// Raw values (unknown fields) keep their characters too, and a \u2028
	// escape inside one is written as the character, as JSON.stringify does.
	ev, err = ParseStreamEvent([]byte(`{"type":"tool-output-available","toolCallId":"c","output":{"html":"<a href=\"x?a=1&b=2\">\u2028</a>","lit":"\\u2028"}}`))
	require.NoError(t, err)
	raw, err = ev.(json.Marshaler).MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, "{\"type\":\"tool-output-available\",\"toolCallId\":\"c\",\"output\":{\"html\":\"<a href=\\\"x?a=1&b=2\\\">\u2028</a>\",\"lit\":\"\\\\u2028\"}}", string(raw))

	// Strings nested in a Go-built event.
	raw, err = (&ToolRequestEvent{ToolCalls: []PendingToolCall{{ToolCallID: "<&>", ToolName: "a\u2029b", Args: json.RawMessage(`{"q":"<i>"}`)}}}).MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, "{\"type\":\"tool-request\",\"toolCalls\":[{\"toolCallId\":\"<&>\",\"toolName\":\"a\u2029b\",\"args\":{\"q\":\"<i>\"}}]}", string(raw))
}

func TestParseStreamEventNumbers(t *testing.T) {
	cases := []struct {
		in   string
		size float64
		wire string
	}{
		{`0`, 0, `0`},
		{`-0`, 0, `0`}, // JSON.stringify(-0) is "0"
		{`1.50`, 1.5, `1.5`},
		{`1e3`, 1000, `1000`},
		{`1E+2`, 100, `100`},
		{`2.5e-1`, 0.25, `0.25`},
		{`1e-400`, 0, `0`}, // underflows to 0 in JavaScript too
		{`12345678901234567890`, 12345678901234567890, `12345678901234567000`},
		{`1e21`, 1e21, `1e+21`},
		{`0.0000001`, 1e-7, `1e-7`},
		{`1.7976931348623157e308`, 1.7976931348623157e308, `1.7976931348623157e+308`},
	}
	for _, tc := range cases {
		ev, err := ParseStreamEvent([]byte(`{"type":"file-available","id":"f","mediaType":"m","url":"u","size":` + tc.in + `}`))
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.size, *ev.(*FileAvailableEvent).Size, tc.in)
		raw, err := ev.(json.Marshaler).MarshalJSON()
		require.NoError(t, err)
		require.Equal(t, `{"type":"file-available","id":"f","mediaType":"m","url":"u","size":`+tc.wire+`}`, string(raw), tc.in)
	}

	// Whole block indexes in any notation.
	for in, want := range map[string]int{`0`: 0, `-0`: 0, `3`: 3, `3.0`: 3, `2e1`: 20, `-1`: -1, `2147483647`: 2147483647} {
		ev, err := ParseStreamEvent([]byte(`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"blockIndex":` + in + `}]}`))
		require.NoError(t, err, in)
		require.Equal(t, want, *ev.(*ToolRequestEvent).ToolCalls[0].BlockIndex, in)
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		require.JSONEq(t, fmt.Sprintf(`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"blockIndex":%d}]}`, want), string(b))
	}
}

func TestParseStreamEventEmptyOptionalString(t *testing.T) {
	// An optional string present as "" is written back as "", as the
	// reference forwards it; the Go field reads "".
	ev, err := ParseStreamEvent([]byte(`{"type":"start","messageId":"","executionId":""}`))
	require.NoError(t, err)
	start := ev.(*StartEvent)
	require.Equal(t, "", start.MessageID)
	require.Equal(t, "", start.ExecutionID)
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"start","messageId":"","executionId":""}`, string(b))
	// Setting the field afterwards wins over the remembered "".
	start.ExecutionID = "e1"
	b, err = json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"start","messageId":"","executionId":"e1"}`, string(b))
}

func TestParseStreamEventFractionalBlockIndex(t *testing.T) {
	// The reference accepts any number; a block index that is not a whole
	// int is kept as it came (BlockIndex stays nil).
	ev, err := ParseStreamEvent([]byte(`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"blockIndex":1.5}]}`))
	require.NoError(t, err)
	tc := ev.(*ToolRequestEvent).ToolCalls[0]
	require.Nil(t, tc.BlockIndex)
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{},"blockIndex":1.5}]}`, string(b))
}

func TestStreamEventMarshalGoBuilt(t *testing.T) {
	cases := []struct {
		name string
		ev   StreamEvent
		wire string
	}{
		{"tool-request nil calls", &ToolRequestEvent{}, `{"type":"tool-request","toolCalls":[]}`},
		{"client-tool-request nil calls", &ClientToolRequestEvent{ExecutionID: "e"}, `{"type":"client-tool-request","executionId":"e","toolCalls":[]}`},
		{"client-tool-request empty results", &ClientToolRequestEvent{ExecutionID: "e", ToolCalls: []PendingToolCall{}, ServerToolResults: []ToolResult{}}, `{"type":"client-tool-request","executionId":"e","toolCalls":[]}`},
		{
			"pending call nil args",
			&ToolRequestEvent{ToolCalls: []PendingToolCall{{ToolCallID: "c", ToolName: "n"}}},
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{}}]}`,
		},
		{
			"pending call zero block index",
			&ToolRequestEvent{ToolCalls: []PendingToolCall{{ToolCallID: "c", ToolName: "n", Args: json.RawMessage(`{"a":1}`), BlockIndex: evtPtr(0)}}},
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"n","args":{"a":1},"blockIndex":0}]}`,
		},
		{
			"server results",
			&ClientToolRequestEvent{
				ExecutionID: "e",
				ToolCalls:   []PendingToolCall{{ToolCallID: "c2", ToolName: "ui", Args: json.RawMessage(`{}`), Source: "llm"}},
				ServerToolResults: []ToolResult{
					{ToolCallID: "c1", ToolName: "srv", Result: map[string]any{"n": 1}, BlockIndex: evtPtr(0), OutputVariable: "v"},
					{ToolCallID: "c3", ToolName: "srv", Error: "Tool execution failed"},
					{ToolCallID: "c4", Result: json.RawMessage("null")},
					{ToolCallID: "c5"},
				},
			},
			`{"type":"client-tool-request","executionId":"e","toolCalls":[{"toolCallId":"c2","toolName":"ui","args":{},"source":"llm"}],"serverToolResults":[{"toolCallId":"c1","toolName":"srv","result":{"n":1},"outputVariable":"v","blockIndex":0},{"toolCallId":"c3","toolName":"srv","error":"Tool execution failed"},{"toolCallId":"c4","result":null},{"toolCallId":"c5"}]}`,
		},
		{"finish", &FinishEvent{FinishReason: FinishClientToolCalls, ExecutionID: "e"}, `{"type":"finish","finishReason":"client-tool-calls","executionId":"e"}`},
		{"finish zero", &FinishEvent{}, `{"type":"finish","finishReason":""}`},
		{"output nil", &ToolOutputAvailableEvent{ToolCallID: "c"}, `{"type":"tool-output-available","toolCallId":"c"}`},
		{"output null", &ToolOutputAvailableEvent{ToolCallID: "c", Output: json.RawMessage("null")}, `{"type":"tool-output-available","toolCallId":"c","output":null}`},
		{"output error", &ToolOutputErrorEvent{ToolCallID: "c", Error: "Tool execution failed"}, `{"type":"tool-output-error","toolCallId":"c","error":"Tool execution failed"}`},
		{"block start false", &BlockStartEvent{BlockID: "b", Display: DisplayName, OutputToChat: evtPtr(false)}, `{"type":"block-start","blockId":"b","blockName":"","blockType":"","display":"name","outputToChat":false}`},
		{"file zero size", &FileAvailableEvent{ID: "f", Size: evtPtr(0.0)}, `{"type":"file-available","id":"f","mediaType":"","url":"","size":0}`},
		{"error zero", &ErrorEvent{}, `{"type":"error","errorType":"","message":"","retryable":false,"source":""}`},
		{"error retryAfter zero", &ErrorEvent{ErrorType: ErrorTypeRateLimit, Message: "m", Source: ErrorSourcePlatform, Retryable: true, RetryAfter: evtPtr(0.0)}, `{"type":"error","errorType":"rate_limit_error","message":"m","retryable":true,"source":"platform","retryAfter":0}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.ev)
			require.NoError(t, err)
			require.JSONEq(t, tc.wire, string(b))
		})
	}

	// Marshalling does not change the event.
	ev := &ToolRequestEvent{ToolCalls: []PendingToolCall{{ToolCallID: "c", ToolName: "n"}}}
	_, err := json.Marshal(ev)
	require.NoError(t, err)
	require.Nil(t, ev.ToolCalls[0].Args)
	ctr := &ClientToolRequestEvent{ExecutionID: "e"}
	_, err = json.Marshal(ctr)
	require.NoError(t, err)
	require.Nil(t, ctr.ToolCalls)

	// Events marshal as values inside other structures too (a slice of
	// the interface, as a channel consumer would collect them).
	b, err := json.Marshal([]StreamEvent{&StartEvent{ExecutionID: "e"}, &TextDeltaEvent{ID: "t", Delta: "d"}})
	require.NoError(t, err)
	require.JSONEq(t, `[{"type":"start","executionId":"e"},{"type":"text-delta","id":"t","delta":"d"}]`, string(b))
}

func TestToolResultExtraKeys(t *testing.T) {
	// Decoded with json.Unmarshal (a result from the browser): unknown keys
	// are passed on.
	var tr ToolResult
	require.NoError(t, json.Unmarshal([]byte(`{"toolCallId":"c","result":{"a":1},"extraKey":{"x":[1]},"isError":false}`), &tr))
	b, err := json.Marshal(tr)
	require.NoError(t, err)
	require.JSONEq(t, `{"toolCallId":"c","result":{"a":1},"extraKey":{"x":[1]},"isError":false}`, string(b))

	// Inside a parsed client-tool-request: dropped, as the schema strips them.
	ev, err := ParseStreamEvent([]byte(`{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":[{"toolCallId":"c","result":{"a":1},"extraKey":{"x":[1]}}]}`))
	require.NoError(t, err)
	b, err = json.Marshal(ev.(*ClientToolRequestEvent).ServerToolResults[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"toolCallId":"c","result":{"a":1}}`, string(b))
	b, err = json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"client-tool-request","executionId":"e","toolCalls":[],"serverToolResults":[{"toolCallId":"c","result":{"a":1}}]}`, string(b))
}

var evtWireTypeRE = regexp.MustCompile(`^\{"type":"([a-z-]+)"`)

// evtCheckRoundTrip is the fuzz property: an accepted event marshals, the
// output parses again to an event of the same type, and that marshals to
// the same bytes.
func evtCheckRoundTrip(t *testing.T, data []byte) {
	ev, err := ParseStreamEvent(data)
	if err != nil {
		require.Nil(t, ev)
		require.True(t, errors.Is(err, ErrInvalidEvent), "%v", err)
		return
	}
	require.NotNil(t, ev)
	b1, err := json.Marshal(ev)
	require.NoError(t, err)
	require.True(t, json.Valid(b1))
	raw1, err := ev.(json.Marshaler).MarshalJSON()
	require.NoError(t, err)
	require.True(t, json.Valid(raw1), "%q", raw1)
	m := evtWireTypeRE.FindSubmatch(raw1)
	require.NotNil(t, m, "%s", raw1)
	require.Equal(t, string(ev.EventType()), string(m[1]))

	ev2, err := ParseStreamEvent(b1)
	require.NoError(t, err, "re-parsing %s", b1)
	require.Equal(t, ev.EventType(), ev2.EventType())
	b2, err := json.Marshal(ev2)
	require.NoError(t, err)
	require.Equal(t, string(b1), string(b2))

	ev3, err := ParseStreamEvent(raw1)
	require.NoError(t, err, "re-parsing %s", raw1)
	raw3, err := ev3.(json.Marshaler).MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, string(raw1), string(raw3))
}

func TestParseStreamEventRoundTrip(t *testing.T) {
	for _, tc := range evtEventCases {
		evtCheckRoundTrip(t, []byte(tc.in))
	}
	for _, tc := range evtSchemaCases(t) {
		evtCheckRoundTrip(t, []byte(tc.in))
	}
}

func FuzzParseStreamEvent(f *testing.F) {
	for _, tc := range evtEventCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range evtRejectCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range evtSchemaCases(f) {
		f.Add([]byte(tc.in))
	}
	for _, in := range evtOracleExtraInputs {
		f.Add([]byte(in))
	}
	f.Add([]byte(`{"type":"text-delta","id":"t","delta":"\u2028<&>\ud800"}`))
	f.Add([]byte("{\"type\":\"tool-output-available\",\"toolCallId\":\"c\",\"output\":\"\xff\xfe\"}"))
	f.Add([]byte(`{"type":"tool-output-available","toolCallId":"c","output":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		evtCheckRoundTrip(t, data)
	})
}

// TestWorkerStreamForwarded runs a 6.4.0 worker stream through Execute and
// ToSSEStream over HTTP: every event of the worker reaches the browser with
// its workerId (the fast path's deltas included), the cancelled key of
// worker-result is stripped, and the usage event after finish is forwarded,
// as 6.4.0's reader keeps reading after finish.
func TestWorkerStreamForwarded(t *testing.T) {
	lines := []string{
		`{"type":"start","messageId":"m1","executionId":"e1","lastMessageId":"m0"}`,
		`{"type":"worker-input-start","workerId":"w1","workerSlug":"researcher"}`,
		`{"type":"worker-input-delta","workerId":"w1","delta":"{\"topic\":"}`,
		`{"type":"worker-input-ready","workerId":"w1","input":{"topic":"go"}}`,
		`{"type":"worker-start","workerId":"w1","workerSlug":"researcher","input":{"topic":"go"}}`,
		`{"type":"text-start","id":"t1","workerId":"w1"}`,
		`{"type":"text-delta","id":"t1","delta":"Found it","workerId":"w1"}`,
		`{"type":"text-end","id":"t1","workerId":"w1"}`,
		`{"type":"todo-update","todos":[{"id":"1","content":"Read","status":"completed"}],"workerId":"w1"}`,
		`{"type":"worker-result","workerId":"w1","output":{"summary":"ok"},"cancelled":false}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
		`{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.0001,"providerFee":0.02,"totalFee":0.0201,"byok":false},"tokens":{"inputTokens":10,"outputTokens":5,"totalTokens":15}}`,
	}
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(lines...))
	events := f.client(t).AgentSessions.Attach("s", AttachOptions{}).Execute(context.Background(), userMessage)
	rec := httptest.NewRecorder()
	ToSSEStream(events).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	var want strings.Builder
	for _, l := range lines {
		l = strings.Replace(l, `,"cancelled":false`, "", 1)
		want.WriteString("data: " + l + "\n\n")
	}
	want.WriteString("data: [DONE]\n\n")
	require.Equal(t, want.String(), rec.Body.String())
}
