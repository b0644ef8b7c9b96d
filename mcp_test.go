package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// prArgs is the Go equivalent of the zod schema of oracleMCPScript's
// github/get-pr tool.
type prArgs struct {
	Owner      string             `json:"owner"`
	Repo       string             `json:"repo"`
	PullNumber int                `json:"pullNumber"`
	Labels     []string           `json:"labels,omitempty"`
	Meta       map[string]float64 `json:"meta"`
	When       time.Time          `json:"when"`
	Ptr        *string            `json:"ptr,omitempty"`
	Nested     struct {
		A bool `json:"a"`
	} `json:"nested"`
}

type prOverview struct {
	Title     string  `json:"title"`
	Additions float64 `json:"additions"`
}

func prServer(t *testing.T, fn func(context.Context, prArgs) (prOverview, error)) *InlineMCPServer {
	t.Helper()
	if fn == nil {
		fn = func(context.Context, prArgs) (prOverview, error) { return prOverview{Title: "x", Additions: 1}, nil }
	}
	srv, err := NewInlineMCPServer("github", MCPToolWithOutput("get-pr", "Get a PR", fn))
	require.NoError(t, err)
	return srv
}

func TestInlineMCPServerNames(t *testing.T) {
	noop := func(context.Context, struct{}) (any, error) { return nil, nil }
	for _, ns := range []string{"github", "a", "my-server2"} {
		_, err := NewInlineMCPServer(ns, MCPTool("t", "", noop))
		require.NoError(t, err, ns)
	}
	// 6.4.0's words (S/inline-mcp.ts validateNamespace).
	for _, ns := range []string{"", "GitHub", "1abc", "a_b", "-a", "a.b", "a b", `a"b`, "ünï"} {
		_, err := NewInlineMCPServer(ns)
		require.EqualError(t, err, `Invalid MCP namespace "`+ns+`". Must contain only lowercase letters, digits, and hyphens, and start with a letter.`)
	}
	for _, name := range []string{"get", "get-pr", "get_pr", "a1"} {
		_, err := NewInlineMCPServer("ns", MCPTool(name, "", noop))
		require.NoError(t, err, name)
	}
	// validateToolName.
	for _, name := range []string{"", "Get", "1get", "_get", "get.pr", "get pr"} {
		_, err := NewInlineMCPServer("ns", MCPTool(name, "", noop))
		require.EqualError(t, err, `Invalid MCP tool name "`+name+`" in namespace "ns". Must contain only lowercase letters, digits, underscores, and hyphens, and start with a letter.`)
	}
	_, err := NewInlineMCPServer("ns", MCPTool("a", "", noop), MCPTool("a", "", noop))
	require.EqualError(t, err, `Duplicate MCP tool name "a" in namespace "ns".`)

	srv, err := NewInlineMCPServer("ns", MCPTool("b-tool", "B", noop), MCPTool("a_tool", "A", noop))
	require.NoError(t, err)
	require.Equal(t, "ns", srv.Namespace())
	var names []string
	for _, s := range srv.ToolSchemas() {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"ns__b-tool", "ns__a_tool"}, names, "namespace__tool, in the order given")
	require.Len(t, srv.ToolHandlers(), 2)
	require.NotNil(t, srv.ToolHandlers()["ns__a_tool"])
	var _ MCPServer = srv
}

func TestMCPToolBadTypes(t *testing.T) {
	_, err := NewInlineMCPServer("ns", MCPTool("t", "", func(context.Context, string) (any, error) { return nil, nil }))
	require.ErrorContains(t, err, `MCP tool "t" in namespace "ns": arguments must be a struct or a map, not string`)
	_, err = NewInlineMCPServer("ns", MCPTool("t", "", func(context.Context, struct{ C chan int }) (any, error) { return nil, nil }))
	require.ErrorContains(t, err, `MCP tool "t" in namespace "ns": arguments schema:`)
	_, err = NewInlineMCPServer("ns", MCPToolWithOutput("t", "", func(context.Context, struct{}) (func(), error) { return nil, nil }))
	require.ErrorContains(t, err, `output schema:`)
	_, err = NewInlineMCPServer("ns", RawMCPTool("t", "", json.RawMessage(`{"type":`), nil, func(context.Context, map[string]any) (any, error) { return nil, nil }))
	require.ErrorContains(t, err, `input schema`)
	_, err = NewInlineMCPServer("ns", RawMCPTool("t", "", nil, nil, nil))
	require.EqualError(t, err, `MCP tool "t" in namespace "ns": no handler`)
}

// TestMCPToolSchemaFromGoTypes checks the schemas inferred from Go types
// against jsonschema-go's documented rules (infer.go, For): struct fields by
// json name, required unless omitempty/omitzero, additionalProperties false;
// pointers and slices also null; maps as additionalProperties; plus this
// package's time.Time, []byte and json.RawMessage schemas.
func TestMCPToolSchemaFromGoTypes(t *testing.T) {
	type item struct {
		SKU string `json:"sku" jsonschema:"the stock keeping unit"`
		Qty uint8  `json:"qty,omitzero"`
	}
	type args struct {
		Name    string            `json:"name"`
		Count   int               `json:"count,omitempty"`
		Ratio   float64           `json:"ratio"`
		OK      bool              `json:"ok"`
		Items   []item            `json:"items"`
		Tags    map[string]string `json:"tags,omitempty"`
		At      time.Time         `json:"at"`
		Maybe   *time.Time        `json:"maybe,omitempty"`
		Blob    []byte            `json:"blob,omitempty"`
		Any     any               `json:"any,omitempty"`
		Raw     json.RawMessage   `json:"raw,omitempty"`
		Skipped string            `json:"-"`
	}
	srv, err := NewInlineMCPServer("shop", MCPToolWithOutput("order", "Place an order", func(context.Context, args) ([]item, error) { return nil, nil }))
	require.NoError(t, err)
	sc := srv.ToolSchemas()[0]
	require.Equal(t, "shop__order", sc.Name)
	require.Equal(t, "Place an order", sc.Description)
	require.JSONEq(t, `{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object",
		"properties": {
			"name": {"type": "string"},
			"count": {"type": "integer"},
			"ratio": {"type": "number"},
			"ok": {"type": "boolean"},
			"items": {"type": ["null", "array"], "items": {
				"type": "object",
				"properties": {
					"sku": {"type": "string", "description": "the stock keeping unit"},
					"qty": {"type": "integer", "minimum": 0, "maximum": 255}
				},
				"required": ["sku"],
				"additionalProperties": false
			}},
			"tags": {"type": "object", "additionalProperties": {"type": "string"}},
			"at": {"type": "string", "format": "date-time"},
			"maybe": {"type": ["null", "string"], "format": "date-time"},
			"blob": {"type": "string", "contentEncoding": "base64"},
			"any": {},
			"raw": {}
		},
		"required": ["name", "ratio", "ok", "items", "at"],
		"additionalProperties": false
	}`, string(sc.InputSchema))
	require.JSONEq(t, `{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": ["null", "array"],
		"items": {
			"type": "object",
			"properties": {
				"sku": {"type": "string", "description": "the stock keeping unit"},
				"qty": {"type": "integer", "minimum": 0, "maximum": 255}
			},
			"required": ["sku"],
			"additionalProperties": false
		}
	}`, string(sc.OutputSchema))
	// Properties go out in field order, as zod keeps the shape's order.
	require.Less(t, strings.Index(string(sc.InputSchema), `"name"`), strings.Index(string(sc.InputSchema), `"count"`))
	require.Less(t, strings.Index(string(sc.InputSchema), `"count"`), strings.Index(string(sc.InputSchema), `"at"`))

	// A pointer to a struct is still an object of arguments; a map too.
	srv, err = NewInlineMCPServer("ns",
		MCPTool("p", "", func(context.Context, *struct {
			X string `json:"x"`
		}) (any, error) {
			return nil, nil
		}),
		MCPTool("m", "", func(context.Context, map[string]int) (any, error) { return nil, nil }),
		MCPTool("e", "", func(context.Context, struct{}) (any, error) { return nil, nil }),
	)
	require.NoError(t, err)
	require.JSONEq(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"x":{"type":"string"}},"required":["x"],"additionalProperties":false}`, string(srv.ToolSchemas()[0].InputSchema))
	require.JSONEq(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":{"type":"integer"}}`, string(srv.ToolSchemas()[1].InputSchema))
	require.JSONEq(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false}`, string(srv.ToolSchemas()[2].InputSchema))
	require.Nil(t, srv.ToolSchemas()[0].OutputSchema, "MCPTool declares no output schema")
	b, err := json.Marshal(srv.ToolSchemas()[0])
	require.NoError(t, err)
	require.NotContains(t, string(b), "outputSchema")
}

// callTool runs a handler as Execute does, with the raw arguments in ctx.
func callTool(t *testing.T, h ToolHandler, args string) (any, error) {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(args), &m))
	return h(context.WithValue(context.Background(), rawArgsKey{}, json.RawMessage(args)), m)
}

// prCases are arguments for github__get-pr with 6.4.0's answer for each,
// from the oracle (see TestMCPValidationOracle, which checks them live).
var prCases = []struct{ args, want string }{
	{`{}`, `Invalid arguments for "github__get-pr": owner: Invalid input: expected string, received undefined; repo: Invalid input: expected string, received undefined; pullNumber: Invalid input: expected number, received undefined; meta: Invalid input: expected record, received undefined; when: Invalid input: expected string, received undefined; nested: Invalid input: expected object, received undefined`},
	{`{"owner":5,"repo":"r","pullNumber":1.5,"meta":{"x":"y"},"when":"nope","nested":{"a":"no"},"extra":1}`, `Invalid arguments for "github__get-pr": owner: Invalid input: expected string, received number; pullNumber: Invalid input: expected int, received number; meta.x: Invalid input: expected number, received string; when: Invalid ISO datetime; nested.a: Invalid input: expected boolean, received string`},
	{`{"owner":"o","repo":"r","pullNumber":1,"meta":{},"when":"2024-01-01T00:00:00Z","nested":{"a":true},"labels":[1]}`, `Invalid arguments for "github__get-pr": labels.0: Invalid input: expected string, received number`},
	{`{"owner":"o","repo":"r","pullNumber":"1","meta":[],"when":"2024-01-01T00:00:00Z","nested":null}`, `Invalid arguments for "github__get-pr": pullNumber: Invalid input: expected number, received string; meta: Invalid input: expected record, received array; nested: Invalid input: expected object, received null`},
	{`{"owner":"o","repo":"r","pullNumber":7,"meta":{"a":1},"when":"2024-01-01T00:00:00Z","nested":{"a":true},"labels":["x"],"extra":true}`, `{"title":"o/r#7","additions":1}`},
}

func TestMCPToolValidation(t *testing.T) {
	var got prArgs
	srv := prServer(t, func(_ context.Context, a prArgs) (prOverview, error) {
		got = a
		return prOverview{Title: a.Owner + "/" + a.Repo + "#" + strconv.Itoa(a.PullNumber), Additions: a.Meta["a"]}, nil
	})
	h := srv.ToolHandlers()["github__get-pr"]
	for _, c := range prCases {
		got = prArgs{}
		r, err := callTool(t, h, c.args)
		if strings.HasPrefix(c.want, "Invalid") {
			require.EqualError(t, err, c.want, c.args)
			var ve *MCPValidationError
			require.True(t, errors.As(err, &ve))
			require.Equal(t, "github__get-pr", ve.Tool)
			require.False(t, ve.Output)
			require.Equal(t, prArgs{}, got, "the function does not run on invalid arguments")
			continue
		}
		require.NoError(t, err, c.args)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.JSONEq(t, c.want, string(b))
		require.Equal(t, 7, got.PullNumber)
		require.Equal(t, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), got.When)
		require.Equal(t, []string{"x"}, got.Labels)
	}

	// Called directly (not by Execute): the map is re-encoded.
	r, err := h(context.Background(), map[string]any{"owner": "o", "repo": "r", "pullNumber": 7, "meta": map[string]any{}, "when": "2024-01-01T00:00:00Z", "nested": map[string]any{"a": false}})
	require.NoError(t, err)
	b, _ := json.Marshal(r)
	require.JSONEq(t, `{"title":"o/r#7","additions":0}`, string(b))
	_, err = h(context.Background(), nil)
	require.ErrorContains(t, err, `Invalid arguments for "github__get-pr": owner: Invalid input: expected string, received undefined;`)

	// What the schema cannot say fails in decoding, with the field named.
	srv, err = NewInlineMCPServer("ns", MCPTool("small", "", func(context.Context, struct {
		N int8 `json:"n"`
	}) (any, error) {
		return nil, nil
	}))
	require.NoError(t, err)
	_, err = callTool(t, srv.ToolHandlers()["ns__small"], `{"n":300}`)
	require.EqualError(t, err, `Invalid arguments for "ns__small": n: Too big: expected number to be <=127`)
	// A number the field cannot hold passes the schema (int64 has no
	// bounds there) and fails in decoding, with the field named.
	srv, err = NewInlineMCPServer("ns", MCPTool("big", "", func(context.Context, struct {
		N int64 `json:"n"`
	}) (any, error) {
		return nil, nil
	}))
	require.NoError(t, err)
	_, err = callTool(t, srv.ToolHandlers()["ns__big"], `{"n":1e30}`)
	require.EqualError(t, err, `Invalid arguments for "ns__big": n: Invalid input: expected an integer, received number 1e30`)
	// The function's own error passes through untouched.
	boom := errors.New("upstream down")
	srv, err = NewInlineMCPServer("ns", MCPTool("f", "", func(context.Context, struct{}) (any, error) { return nil, boom }))
	require.NoError(t, err)
	_, err = callTool(t, srv.ToolHandlers()["ns__f"], `{}`)
	require.ErrorIs(t, err, boom)
}

func TestMCPToolOutputValidation(t *testing.T) {
	type out struct {
		Title string   `json:"title"`
		Tags  []string `json:"tags"`
		Score *int     `json:"score"`
	}
	var ret out
	srv, err := NewInlineMCPServer("ns", MCPToolWithOutput("t", "", func(context.Context, struct{}) (out, error) { return ret, nil }))
	require.NoError(t, err)
	h := srv.ToolHandlers()["ns__t"]
	// Nil slices and pointers are null, which the inferred schema allows.
	r, err := callTool(t, h, `{}`)
	require.NoError(t, err)
	require.Equal(t, json.RawMessage(`{"title":"","tags":null,"score":null}`), r)

	// An output of any type: the empty schema, written {} as zod does.
	srv, err = NewInlineMCPServer("ns", MCPToolWithOutput("a", "", func(context.Context, struct{}) (any, error) { return nil, nil }))
	require.NoError(t, err)
	require.JSONEq(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema"}`, string(srv.ToolSchemas()[0].OutputSchema))
	// A result that is not JSON.
	srv, err = NewInlineMCPServer("ns", MCPToolWithOutput("c", "", func(context.Context, struct{}) (any, error) { return json.RawMessage(`{`), nil }))
	require.NoError(t, err)
	_, err = callTool(t, srv.ToolHandlers()["ns__c"], `{}`)
	require.ErrorContains(t, err, `Tool ns__c returned a result that is not JSON`)

	// An output schema of your own that the result misses.
	srv, err = NewInlineMCPServer("ns", RawMCPTool("raw", "", nil,
		json.RawMessage(`{"type":"object","properties":{"title":{"type":"string","minLength":1},"tags":{"type":"array","items":{"type":"string"},"maxItems":1}},"required":["title","tags"]}`),
		func(_ context.Context, args map[string]any) (any, error) { return args["give"], nil }))
	require.NoError(t, err)
	h = srv.ToolHandlers()["ns__raw"]
	_, err = callTool(t, h, `{"give":{"title":"","tags":["a",2,"c"]}}`)
	// A schema of your own has no field order: its properties are checked
	// in the order of their names.
	require.EqualError(t, err, `Invalid output from "ns__raw": tags: Too big: expected array to have <=1 items; tags.1: Invalid input: expected string, received number; title: Too small: expected string to have >=1 characters`)
	var ve *MCPValidationError
	require.True(t, errors.As(err, &ve))
	require.True(t, ve.Output)
	require.Equal(t, []MCPIssue{
		{Path: "tags", Message: "Too big: expected array to have <=1 items"},
		{Path: "tags.1", Message: "Invalid input: expected string, received number"},
		{Path: "title", Message: "Too small: expected string to have >=1 characters"},
	}, ve.Issues)
	_, err = callTool(t, h, `{}`)
	require.EqualError(t, err, `Invalid output from "ns__raw": <root>: Invalid input: expected object, received null`)
	r, err = callTool(t, h, `{"give":{"title":"t","tags":[]}}`)
	require.NoError(t, err)
	require.JSONEq(t, `{"title":"t","tags":[]}`, string(r.(json.RawMessage)))
}

func TestRawMCPTool(t *testing.T) {
	var calls int
	srv, err := NewInlineMCPServer("crm", RawMCPTool("find", "Find a contact",
		json.RawMessage(`{"type":"object","properties":{"q":{"type":"string","pattern":"^[a-z]+$"},"kind":{"enum":["person","company"]},"limit":{"type":"integer","minimum":1,"maximum":50}},"required":["q"],"additionalProperties":false}`),
		nil,
		func(_ context.Context, args map[string]any) (any, error) {
			calls++
			return map[string]any{"q": args["q"]}, nil
		}))
	require.NoError(t, err)
	sc := srv.ToolSchemas()[0]
	require.Equal(t, "crm__find", sc.Name)
	require.JSONEq(t, `{"type":"object","properties":{"q":{"type":"string","pattern":"^[a-z]+$"},"kind":{"enum":["person","company"]},"limit":{"type":"integer","minimum":1,"maximum":50}},"required":["q"],"additionalProperties":false}`, string(sc.InputSchema))
	h := srv.ToolHandlers()["crm__find"]
	for _, c := range []struct{ args, want string }{
		{`{"q":"Ada","kind":"robot","limit":0,"x":1}`, `Invalid arguments for "crm__find": kind: Invalid option: expected one of "person"|"company"; limit: Too small: expected number to be >=1; q: Invalid string: must match pattern /^[a-z]+$/; <root>: Unrecognized key: "x"`},
		{`{"limit":51.5}`, `Invalid arguments for "crm__find": limit: Invalid input: expected int, received number; q: Invalid input: expected string, received undefined`},
	} {
		_, err := callTool(t, h, c.args)
		require.EqualError(t, err, c.want)
	}
	require.Zero(t, calls)
	r, err := callTool(t, h, `{"q":"ada","limit":50}`)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"q": "ada"}, r)

	// A keyword the walk does not explain: the library's own message.
	srv, err = NewInlineMCPServer("ns", RawMCPTool("one", "", json.RawMessage(`{"type":"object","properties":{"v":{"oneOf":[{"type":"string"},{"type":"number"}]}}}`), nil,
		func(context.Context, map[string]any) (any, error) { return "ok", nil }))
	require.NoError(t, err)
	_, err = callTool(t, srv.ToolHandlers()["ns__one"], `{"v":true}`)
	require.ErrorContains(t, err, `Invalid arguments for "ns__one": <root>: oneOf: did not validate against any of`)
	r, err = callTool(t, srv.ToolHandlers()["ns__one"], `{"v":1}`)
	require.NoError(t, err)
	require.Equal(t, "ok", r)
}

func TestResolveMCP(t *testing.T) {
	noop := func(context.Context, struct{}) (any, error) { return nil, nil }
	a, err := NewInlineMCPServer("a", MCPTool("x", "", noop), MCPTool("y", "", noop))
	require.NoError(t, err)
	a2, err := NewInlineMCPServer("a", MCPTool("z", "", noop))
	require.NoError(t, err)
	b, err := NewInlineMCPServer("b", MCPTool("x", "", noop))
	require.NoError(t, err)
	static := ToolHandlers{"plain": func(context.Context, map[string]any) (any, error) { return nil, nil }}
	dyn := []ToolSchema{{Name: "device__shot", InputSchema: json.RawMessage(`{}`)}}

	// 6.4.0's words (S/resolve-mcp-servers.ts).
	_, _, err = resolveMCP(static, []MCPServer{a, b, a2}, nil)
	require.EqualError(t, err, `Duplicate MCP namespace "a". Each inline MCP server must have a unique namespace.`)
	clash := ToolHandlers{"a__y": func(context.Context, map[string]any) (any, error) { return nil, nil }}
	_, _, err = resolveMCP(clash, []MCPServer{a}, nil)
	require.EqualError(t, err, `Tool name collision: "a__y" is already registered. Ensure no overlap between MCP-namespaced tools and static tool handlers.`)
	_, _, err = resolveMCP(static, []MCPServer{a}, []ToolSchema{{Name: "a__x"}})
	require.EqualError(t, err, `Tool schema name collision: "a__x" is already registered as a dynamic tool schema.`)
	// A server of your own whose schema repeats another's name.
	odd := fakeMCP{ns: "c", schemas: []ToolSchema{{Name: "b__x"}}}
	_, _, err = resolveMCP(nil, []MCPServer{b, odd}, nil)
	require.EqualError(t, err, `Tool schema name collision: "b__x" is already registered as a dynamic tool schema.`)

	handlers, schemas, err := resolveMCP(static, []MCPServer{a, nil, b}, dyn)
	require.NoError(t, err)
	require.Len(t, handlers, 4)
	for _, n := range []string{"plain", "a__x", "a__y", "b__x"} {
		require.NotNil(t, handlers[n], n)
	}
	require.Len(t, static, 1, "static is not modified")
	var names []string
	for _, s := range schemas {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"device__shot", "a__x", "a__y", "b__x"}, names, "dynamic first, then the servers' (workers.ts)")
	require.Len(t, dyn, 1)

	// No servers: everything as it was, nil stays nil (no key is sent).
	handlers, schemas, err = resolveMCP(static, nil, nil)
	require.NoError(t, err)
	require.Equal(t, len(static), len(handlers))
	require.Nil(t, schemas)
}

type fakeMCP struct {
	ns      string
	schemas []ToolSchema
}

func (f fakeMCP) Namespace() string          { return f.ns }
func (f fakeMCP) ToolHandlers() ToolHandlers { return nil }
func (f fakeMCP) ToolSchemas() []ToolSchema  { return f.schemas }

func TestExecuteInlineMCP(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(
			`{"type":"start","messageId":"m1","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"github__get-pr","args":{"owner":"o","repo":"r","pullNumber":7,"meta":{"a":3},"when":"2024-01-01T00:00:00Z","nested":{"a":true}}},{"toolCallId":"c2","toolName":"github__get-pr","args":{"owner":1}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(
			`{"type":"text-delta","id":"t","delta":"done"}`,
			`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
		),
	)
	var mu sync.Mutex
	var seen []prArgs
	srv := prServer(t, func(_ context.Context, a prArgs) (prOverview, error) {
		mu.Lock()
		seen = append(seen, a)
		mu.Unlock()
		return prOverview{Title: "PR " + a.Owner, Additions: a.Meta["a"]}, nil
	})
	got := execute(t, f, AttachOptions{MCPServers: []MCPServer{srv}}, userMessage)
	requireJSONList(t, []string{
		`{"type":"start","messageId":"m1","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":{"title":"PR o","additions":3}}`,
		`{"type":"tool-output-error","toolCallId":"c2","error":"Invalid arguments for \"github__get-pr\": owner: Invalid input: expected string, received number; repo: Invalid input: expected string, received undefined; pullNumber: Invalid input: expected number, received undefined; meta: Invalid input: expected record, received undefined; when: Invalid input: expected string, received undefined; nested: Invalid input: expected object, received undefined"}`,
		`{"type":"text-delta","id":"t","delta":"done"}`,
		`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
	}, got)
	require.Len(t, seen, 1)
	require.Equal(t, 7, seen[0].PullNumber)

	bodies := f.triggerBodies()
	require.Len(t, bodies, 2)
	wantSchemas := `[{"name":"github__get-pr","description":"Get a PR","inputSchema":` + string(srv.ToolSchemas()[0].InputSchema) + `,"outputSchema":` + string(srv.ToolSchemas()[0].OutputSchema) + `}]`
	for i, b := range bodies {
		var body map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(b), &body))
		require.JSONEq(t, wantSchemas, string(body["dynamicToolSchemas"]), "leg %d", i)
	}
	var leg2 struct {
		ToolResults []map[string]any `json:"toolResults"`
	}
	require.NoError(t, json.Unmarshal([]byte(bodies[1]), &leg2))
	require.Len(t, leg2.ToolResults, 2)
	require.Equal(t, map[string]any{"title": "PR o", "additions": 3.0}, leg2.ToolResults[0]["result"])
	require.Contains(t, leg2.ToolResults[1]["error"], `Invalid arguments for "github__get-pr": owner:`)
}

func TestExecuteInlineMCPWithDynamicTools(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
		eventsLeg(`{"type":"finish","finishReason":"stop"}`),
	)
	noop := func(context.Context, struct{}) (any, error) { return nil, nil }
	srv, err := NewInlineMCPServer("kb", MCPTool("search", "Search", noop))
	require.NoError(t, err)
	sess := f.client(t).AgentSessions.Attach("s1", AttachOptions{MCPServers: []MCPServer{srv}})
	dyn := DynamicTools(DynamicTool{Schema: ToolSchema{Name: "device__shot", Description: "d", InputSchema: json.RawMessage(`{"type":"object"}`)}, Handler: func(context.Context, map[string]any) (any, error) { return nil, nil }})

	collect(sess.Execute(context.Background(), userMessage))
	sess.SetDynamicTools(dyn)
	collect(sess.Execute(context.Background(), userMessage))
	sess.SetDynamicTools(nil)
	collect(sess.Execute(context.Background(), userMessage))

	kb := `{"name":"kb__search","description":"Search","inputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false}}`
	dev := `{"name":"device__shot","description":"d","inputSchema":{"type":"object"}}`
	// 6.4.0's collectDynamicSchemas: the MCP schemas, then the dynamic ones.
	for i, want := range []string{"[" + kb + "]", "[" + kb + "," + dev + "]", "[" + kb + "]"} {
		var body map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(f.triggerBodies()[i]), &body))
		require.JSONEq(t, want, string(body["dynamicToolSchemas"]), "trigger %d", i)
	}
	tools, _ := sess.toolSet()
	require.NotNil(t, tools["kb__search"], "MCP handlers stay after SetDynamicTools(nil)")

	// Servers without tools send no key, as 6.4.0 (no MCP schemas).
	empty, err := NewInlineMCPServer("none")
	require.NoError(t, err)
	_, dynamic := f.client(t).AgentSessions.Attach("s2", AttachOptions{MCPServers: []MCPServer{empty}}).toolSet()
	require.Nil(t, dynamic)
}

func TestExecuteInlineMCPClash(t *testing.T) {
	f := newFakePlatform(t)
	noop := func(context.Context, struct{}) (any, error) { return nil, nil }
	srv, err := NewInlineMCPServer("kb", MCPTool("search", "", noop))
	require.NoError(t, err)
	sess := f.client(t).AgentSessions.Attach("s1", AttachOptions{MCPServers: []MCPServer{srv, srv}})
	for range 2 {
		got := collect(sess.Execute(context.Background(), userMessage))
		requireJSONList(t, []string{
			`{"type":"error","errorType":"internal_error","message":"Duplicate MCP namespace \"kb\". Each inline MCP server must have a unique namespace.","source":"platform","retryable":false}`,
		}, wireJSON(t, got))
	}
	require.Empty(t, f.reqs(), "nothing is sent to the platform")
}

// oracleMCPScript builds the zod twin of prArgs/prOverview with 6.4.0's
// createInlineMcpServer (zod is bundled in the oracle but not exported: a
// copy of the bundle exports it) and prints its schemas and the answer to
// each of the arguments on stdin.
const oracleMCPScript = `
import fs from 'node:fs';
const dir = process.argv[2], tmp = process.argv[3];
fs.writeFileSync(tmp, fs.readFileSync(dir + '/server-sdk-6.4.0.mjs', 'utf8') + '\nexport { external_exports as __z };\n');
const m = await import(tmp);
const z = m.__z;
const srv = m.createInlineMcpServer('github', { tools: {
  'get-pr': m.defineInlineMcpTool({
    description: 'Get a PR',
    parameters: z.object({ owner: z.string(), repo: z.string(), pullNumber: z.number().int(),
      labels: z.array(z.string()).optional(), meta: z.record(z.string(), z.number()), when: z.iso.datetime(),
      ptr: z.string().nullable().optional(), nested: z.object({ a: z.boolean() }) }),
    output: z.object({ title: z.string(), additions: z.number() }),
    handler: async (a) => ({ title: a.owner + '/' + a.repo + '#' + a.pullNumber, additions: a.meta.a ?? 0 }),
  }),
}});
const answers = [];
for (const args of JSON.parse(fs.readFileSync(0, 'utf8'))) {
  try { answers.push(JSON.stringify(await srv.toolHandlers()['github__get-pr'](args))); } catch (e) { answers.push(e.message); }
}
console.log(JSON.stringify({ schemas: srv.toolSchemas(), answers }));
`

// TestMCPValidationOracle runs 6.4.0's createInlineMcpServer on the zod
// twin of prArgs and compares: the answers to prCases (exactly), and the
// key structure of the schemas. Known differences, by design of the
// schema inference: jsonschema-go writes a nullable type as ["null", T]
// where zod writes [T, "null"]; a Go slice is ["null","array"] (nil
// encodes as null); zod adds integer bounds, a date-time pattern and a
// record's propertyNames, which the Go schema leaves out.
func TestMCPValidationOracle(t *testing.T) {
	dir := requireOracle(t, "prCases hold its recorded answers")
	tmp := t.TempDir()
	script := filepath.Join(tmp, "mcp.mjs")
	require.NoError(t, os.WriteFile(script, []byte(oracleMCPScript), 0o600))
	var args []json.RawMessage
	for _, c := range prCases {
		args = append(args, json.RawMessage(c.args))
	}
	in, _ := json.Marshal(args)
	out := runNode(t, 0, in, script, dir, filepath.Join(tmp, "oracle.mjs"))
	var ref struct {
		Schemas []ToolSchema `json:"schemas"`
		Answers []string     `json:"answers"`
	}
	require.NoError(t, json.Unmarshal(out, &ref))
	for i, c := range prCases {
		if strings.HasPrefix(ref.Answers[i], "{") {
			require.JSONEq(t, ref.Answers[i], c.want, c.args)
		} else {
			require.Equal(t, ref.Answers[i], c.want, c.args)
		}
	}

	srv := prServer(t, nil)
	mine, theirs := srv.ToolSchemas()[0], ref.Schemas[0]
	require.Equal(t, theirs.Name, mine.Name)
	require.Equal(t, theirs.Description, mine.Description)
	require.Equal(t, schemaShape(t, theirs.InputSchema), schemaShape(t, mine.InputSchema))
	require.Equal(t, schemaShape(t, theirs.OutputSchema), schemaShape(t, mine.OutputSchema))
}

// schemaShape reduces a schema to its key structure: for each path, the
// sorted non-null types, the required names and whether extra properties
// are refused.
func schemaShape(t *testing.T, raw json.RawMessage) map[string]string {
	t.Helper()
	var s map[string]any
	require.NoError(t, json.Unmarshal(raw, &s))
	shape := map[string]string{}
	var walk func(path string, n map[string]any)
	walk = func(path string, n map[string]any) {
		var types []string
		switch ty := n["type"].(type) {
		case string:
			types = []string{ty}
		case []any:
			for _, x := range ty {
				if x != "null" {
					types = append(types, x.(string))
				}
			}
		}
		if len(types) == 1 && types[0] == "integer" {
			types[0] = "number" // zod's int is "integer"; a Go float64 "number"
		}
		desc := strings.Join(types, "|")
		if r, ok := n["required"].([]any); ok {
			var names []string
			for _, x := range r {
				names = append(names, x.(string))
			}
			desc += " required=" + strings.Join(names, ",")
		}
		if ap, ok := n["additionalProperties"]; ok {
			if m, ok := ap.(map[string]any); ok {
				walk(path+"{}", m)
			} else {
				desc += " additionalProperties=" + strings.TrimSpace(strings.ToLower(strings.Trim(string(mustJSON(t, ap)), `"`)))
			}
		}
		if f, ok := n["format"].(string); ok {
			desc += " format=" + f
		}
		shape[path] = desc
		if props, ok := n["properties"].(map[string]any); ok {
			for k, v := range props {
				walk(path+"."+k, v.(map[string]any))
			}
		}
		if items, ok := n["items"].(map[string]any); ok {
			walk(path+"[]", items)
		}
	}
	walk("", s)
	return shape
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
