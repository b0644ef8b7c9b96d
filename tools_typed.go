package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Tool adapts a typed function to a ToolHandler. The call's arguments are
// decoded from their JSON into A (typically a struct with json tags; unknown
// fields are allowed, as the model may send more than you read), and the R
// it returns is encoded with encoding/json as the tool's result.
//
// Arguments that do not fit A fail the call with an error that names the
// field and the expected type, e.g.
//
//	invalid arguments: field "orderId" must be string, got number
//
// The model sees that error and can call the tool again correctly.
//
//	tools := octavus.ToolHandlers{
//		"get-order": octavus.Tool(func(ctx context.Context, in struct {
//			OrderID string `json:"orderId"`
//		}) (Order, error) {
//			return store.Order(ctx, in.OrderID)
//		}),
//	}
func Tool[A, R any](fn func(ctx context.Context, args A) (R, error)) ToolHandler {
	return func(ctx context.Context, m map[string]any) (any, error) {
		raw, ok := ctx.Value(rawArgsKey{}).(json.RawMessage)
		if !ok {
			// Called directly rather than by Execute: re-encode the map.
			b, err := json.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("invalid arguments: %w", err)
			}
			raw = b
		}
		var args A
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &args); err != nil {
				return nil, argsError(err)
			}
		}
		r, err := fn(ctx, args)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// rawArgsKey carries a call's raw JSON arguments to Tool's adapter, so it
// decodes them once and keeps integers exact.
type rawArgsKey struct{}

// argsError turns a decoding error into a message the model can act on.
func argsError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Errorf("invalid arguments: must be %s, got %s", jsonType(te.Type.String()), te.Value)
		}
		return fmt.Errorf("invalid arguments: field %q must be %s, got %s", te.Field, jsonType(te.Type.String()), te.Value)
	}
	return fmt.Errorf("invalid arguments: %v", err)
}

// jsonType names a Go type in the words of JSON where one fits.
func jsonType(goType string) string {
	switch goType {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "number"
	}
	if len(goType) > 2 && goType[:2] == "[]" {
		return "array"
	}
	if len(goType) > 4 && goType[:4] == "map[" {
		return "object"
	}
	return "object (" + goType + ")"
}
