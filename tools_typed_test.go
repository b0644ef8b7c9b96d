package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type orderArgs struct {
	OrderID string `json:"orderId"`
	Count   int64  `json:"count"`
	Tags    []string
}

type orderResult struct {
	ID    string `json:"id"`
	Count int64  `json:"count"`
}

func TestToolTypedThroughExecute(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(
			`{"type":"start","messageId":"m1","executionId":"e1"}`,
			// 9007199254740993 is 2^53+1: exact only if decoded from the raw JSON.
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"order","args":{"orderId":"o1","count":9007199254740993,"extra":true}},{"toolCallId":"c2","toolName":"order","args":{"orderId":7}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`),
	)
	tools := ToolHandlers{"order": Tool(func(_ context.Context, a orderArgs) (orderResult, error) {
		return orderResult{ID: a.OrderID, Count: a.Count}, nil
	})}
	got := execute(t, f, AttachOptions{Tools: tools}, userMessage)
	requireJSONList(t, []string{
		`{"type":"start","messageId":"m1","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":{"id":"o1","count":9007199254740993}}`,
		`{"type":"tool-output-error","toolCallId":"c2","error":"invalid arguments: field \"orderId\" must be string, got number"}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}, got)
}

func TestToolCalledDirectly(t *testing.T) {
	h := Tool(func(_ context.Context, a orderArgs) (*orderResult, error) {
		if a.OrderID == "" {
			return nil, errors.New("orderId is required")
		}
		return &orderResult{ID: a.OrderID, Count: a.Count}, nil
	})
	r, err := h(context.Background(), map[string]any{"orderId": "o2", "count": float64(3)})
	require.NoError(t, err)
	assert.Equal(t, &orderResult{ID: "o2", Count: 3}, r)

	_, err = h(context.Background(), map[string]any{})
	assert.EqualError(t, err, "orderId is required")

	_, err = h(context.Background(), map[string]any{"Tags": "x"})
	assert.EqualError(t, err, `invalid arguments: field "Tags" must be array, got string`)
	_, err = h(context.Background(), map[string]any{"count": 1.5})
	assert.EqualError(t, err, `invalid arguments: field "count" must be an integer, got number 1.5`)
}

func TestToolArgumentsNotAnObject(t *testing.T) {
	h := Tool(func(_ context.Context, n int) (int, error) { return n, nil })
	ctx := context.WithValue(context.Background(), rawArgsKey{}, []byte(`"x"`))
	_, err := h(ctx, nil)
	// A []byte is not a json.RawMessage: the map is re-encoded (null).
	require.NoError(t, err)
	ctx = context.WithValue(context.Background(), rawArgsKey{}, json.RawMessage(`"x"`))
	_, err = h(ctx, nil)
	assert.EqualError(t, err, `invalid arguments: must be an integer, got string`)
}
