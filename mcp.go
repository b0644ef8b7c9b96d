package octavus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
)

// Inline MCP servers (6.4.0 createInlineMcpServer, defineInlineMcpTool and
// resolveMcpServers): groups of tools, under a namespace, that run in this
// process. The platform sees them as an MCP server of source "consumer":
// their schemas ride the dynamicToolSchemas of every request, and their
// calls come back as ordinary tool requests for "namespace__tool".

var (
	// mcpNamespacePattern is 6.4.0's NAMESPACE_PATTERN.
	mcpNamespacePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	// mcpToolNamePattern is 6.4.0's TOOL_NAME_PATTERN: the right-hand side
	// of the platform's namespaced tool name, so "namespace__tool" is a
	// name the runtime and the LLM providers accept.
	mcpToolNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
)

// jsonSchemaDialect is the $schema of the generated schemas, as zod's
// toJSONSchema writes it in 6.4.0.
const jsonSchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// MCPServer is an inline MCP server as sessions and workers take it: a
// ToolProvider whose tool names are all "Namespace()__tool". The usual one is
// an *InlineMCPServer; implement it yourself only to build the tools some
// other way (6.4.0's InlineMcpServer interface).
type MCPServer interface {
	ToolProvider
	// Namespace is the server's namespace, unique among the servers of a
	// session or worker.
	Namespace() string
}

// InlineMCPServer is a namespace and its tools, made with
// NewInlineMCPServer. Give it to AttachOptions.MCPServers (or a worker's
// MCPServers): each tool is exposed to the agent as "namespace__tool", its
// schema is sent as one of the dynamicToolSchemas, and its calls run here.
// It is immutable and safe for concurrent use; build it once and share it
// between sessions.
type InlineMCPServer struct {
	namespace string
	handlers  ToolHandlers
	schemas   []ToolSchema
}

// Namespace returns the server's namespace.
func (s *InlineMCPServer) Namespace() string { return s.namespace }

// ToolHandlers returns the handlers by namespaced tool name. Each validates
// its arguments against the tool's input schema before the tool's function
// runs (and its result against the output schema, when the tool has one).
func (s *InlineMCPServer) ToolHandlers() ToolHandlers { return maps.Clone(s.handlers) }

// ToolSchemas returns the tools' schemas, in the order of the tools given to
// NewInlineMCPServer, with namespaced names.
func (s *InlineMCPServer) ToolSchemas() []ToolSchema { return slices.Clone(s.schemas) }

// InlineMCPTool is one tool of an inline MCP server, made with MCPTool,
// MCPToolWithOutput or RawMCPTool. Its name is the tool's name inside its
// namespace; NewInlineMCPServer checks it.
type InlineMCPTool struct {
	name, description string
	// in and out are the schemas sent to the platform (out may be nil);
	// inCheck and outCheck are the ones arguments and results are checked
	// against, which for Go-typed tools allow properties the Go type does
	// not read (zod strips them; encoding/json ignores them).
	in, out, inCheck, outCheck *jsonschema.Schema
	// inRaw and outRaw, for RawMCPTool, are the schemas as written, sent
	// verbatim.
	inRaw, outRaw json.RawMessage
	// call runs the tool on arguments that passed the input schema.
	call func(ctx context.Context, name string, args map[string]any) (any, error)
	err  error
}

// Name returns the tool's name inside its namespace.
func (t InlineMCPTool) Name() string { return t.name }

// MCPTool is a Go-typed tool of an inline MCP server (6.4.0's
// defineInlineMcpTool with parameters and no output). The JSON Schema of its
// arguments is generated from A with github.com/google/jsonschema-go: A is a
// struct (or a map with string keys); a field is a property named by its
// json tag, required unless tagged omitempty or omitzero, and described by a
// `jsonschema:"..."` tag. Pointers and slices may also be null, time.Time is
// a date-time string, []byte a base64 string, json.RawMessage any value.
//
// A call's arguments are validated against that schema before fn runs;
// arguments that do not fit fail the call, without running fn, with an
// *MCPValidationError whose message names each field in 6.4.0's words:
//
//	Invalid arguments for "github__get-pr": owner: Invalid input: expected string, received number
//
// Properties A does not have are allowed and ignored, as zod strips them. The
// R that fn returns is the tool's result, encoded with encoding/json; an
// error fails the call with its message, as for any ToolHandler.
//
// A type the schema cannot describe (a channel, a func, a cycle, a map with
// other keys, or arguments that are not an object) makes NewInlineMCPServer
// return an error.
func MCPTool[A, R any](name, description string, fn func(ctx context.Context, args A) (R, error)) InlineMCPTool {
	t := InlineMCPTool{name: name, description: description}
	t.in, t.inCheck, t.err = argsSchema[A]()
	t.call = typedCall(fn)
	return t
}

// MCPToolWithOutput is MCPTool with an output schema, as 6.4.0's
// defineInlineMcpTool with output: the JSON Schema of R is generated too,
// sent as the tool's outputSchema (for providers with structured tool
// outputs), and each result is validated against it before it is sent. A
// result that does not fit fails the call with an *MCPValidationError:
//
//	Invalid output from "github__get-pr": title: Invalid input: expected string, received null
//
// (a nil slice or pointer where the schema wants a value is the usual case
// in Go: tag such fields omitempty, or fill them).
func MCPToolWithOutput[A, R any](name, description string, fn func(ctx context.Context, args A) (R, error)) InlineMCPTool {
	t := MCPTool(name, description, fn)
	if t.err == nil {
		t.out, t.outCheck, t.err = goSchema[R]("output")
	}
	return t
}

// RawMCPTool is a tool of an inline MCP server with a JSON Schema of your
// own, for schemas a Go type cannot express or that come from elsewhere.
// inputSchema is the JSON Schema of the arguments (an object schema, draft
// 2020-12 or draft-07; nil means any object); outputSchema, when not nil, is
// the JSON Schema of the result. Arguments are validated against
// inputSchema before h runs, and h's result against outputSchema, as for
// MCPTool, with the schemas as written (additionalProperties: false
// refuses unknown properties here). A schema that is not valid JSON Schema
// makes NewInlineMCPServer return an error.
func RawMCPTool(name, description string, inputSchema, outputSchema json.RawMessage, h ToolHandler) InlineMCPTool {
	t := InlineMCPTool{name: name, description: description}
	if h == nil {
		t.err = errors.New("no handler")
		return t
	}
	t.call = func(ctx context.Context, _ string, args map[string]any) (any, error) { return h(ctx, args) }
	if inputSchema == nil {
		inputSchema = json.RawMessage(`{"type":"object"}`)
	}
	t.in, t.err = rawSchema("input", inputSchema)
	if t.err == nil && outputSchema != nil {
		t.out, t.err = rawSchema("output", outputSchema)
	}
	t.inRaw, t.outRaw = slices.Clone(inputSchema), slices.Clone(outputSchema)
	t.inCheck, t.outCheck = t.in, t.out
	return t
}

func rawSchema(which string, raw json.RawMessage) (*jsonschema.Schema, error) {
	s := new(jsonschema.Schema)
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("%s schema: %w", which, err)
	}
	return s, nil
}

// jsQuote quotes s as 6.4.0's messages do ("${s}"), without escapes.
func jsQuote(s string) string { return `"` + s + `"` }

// NewInlineMCPServer makes an inline MCP server of tools under namespace
// (6.4.0's createInlineMcpServer). The namespace must match
// ^[a-z][a-z0-9-]*$ and each tool name ^[a-z][a-z0-9_-]*$; the tools are
// exposed as "namespace__name". The error, for a bad name, a tool name given
// twice, or a tool whose schema could not be made, uses 6.4.0's words, e.g.
//
//	Invalid MCP namespace "GitHub". Must contain only lowercase letters, digits, and hyphens, and start with a letter.
func NewInlineMCPServer(namespace string, tools ...InlineMCPTool) (*InlineMCPServer, error) {
	if !mcpNamespacePattern.MatchString(namespace) {
		return nil, errors.New("Invalid MCP namespace " + jsQuote(namespace) + ". Must contain only lowercase letters, digits, and hyphens, and start with a letter.")
	}
	s := &InlineMCPServer{namespace: namespace, handlers: make(ToolHandlers, len(tools)), schemas: make([]ToolSchema, 0, len(tools))}
	for _, t := range tools {
		if !mcpToolNamePattern.MatchString(t.name) {
			return nil, errors.New("Invalid MCP tool name " + jsQuote(t.name) + " in namespace " + jsQuote(namespace) + ". Must contain only lowercase letters, digits, underscores, and hyphens, and start with a letter.")
		}
		if t.err != nil {
			return nil, fmt.Errorf("MCP tool %q in namespace %q: %w", t.name, namespace, t.err)
		}
		full := namespace + "__" + t.name
		if _, dup := s.handlers[full]; dup {
			return nil, errors.New("Duplicate MCP tool name " + jsQuote(t.name) + " in namespace " + jsQuote(namespace) + ".")
		}
		in, err := resolveSchema(t.inCheck)
		if err != nil {
			return nil, fmt.Errorf("MCP tool %q in namespace %q: input schema: %w", t.name, namespace, err)
		}
		var out *jsonschema.Resolved
		if t.outCheck != nil {
			if out, err = resolveSchema(t.outCheck); err != nil {
				return nil, fmt.Errorf("MCP tool %q in namespace %q: output schema: %w", t.name, namespace, err)
			}
		}
		sc := ToolSchema{Name: full, Description: t.description, InputSchema: t.inRaw, OutputSchema: t.outRaw}
		if sc.InputSchema == nil {
			if sc.InputSchema, err = schemaJSON(t.in); err != nil {
				return nil, fmt.Errorf("MCP tool %q in namespace %q: input schema: %w", t.name, namespace, err)
			}
		}
		if t.out != nil && sc.OutputSchema == nil {
			if sc.OutputSchema, err = schemaJSON(t.out); err != nil {
				return nil, fmt.Errorf("MCP tool %q in namespace %q: output schema: %w", t.name, namespace, err)
			}
		}
		s.schemas = append(s.schemas, sc)
		s.handlers[full] = checkedHandler(full, in, out, t.call)
	}
	return s, nil
}

// schemaJSON encodes a generated schema. jsonschema-go writes the empty
// schema (a field of type any or json.RawMessage) as true; it is rewritten
// as {}, zod's form, which every provider reads as a schema.
// The $schema keyword is written first, as zod does.
func schemaJSON(s *jsonschema.Schema) (json.RawMessage, error) {
	c := *s
	c.Schema = ""
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out bytes.Buffer
	if err := rewriteSchema(dec, &out, kindSchema); err != nil {
		return nil, err
	}
	if s.Schema == "" {
		return out.Bytes(), nil
	}
	d, _ := json.Marshal(s.Schema)
	head := `{"$schema":` + string(d)
	if rest := out.Bytes(); len(rest) > 2 {
		return json.RawMessage(head + "," + string(rest[1:])), nil
	}
	return json.RawMessage(head + "}"), nil
}

// The kinds of JSON value rewriteSchema copies.
const (
	kindValue      = iota // any JSON, copied as it is
	kindSchema            // a schema: true becomes {}
	kindProperties        // an object of schemas by name
)

// rewriteSchema copies one JSON value from dec to out, keeping the key
// order, with every schema true written as {}.
func rewriteSchema(dec *json.Decoder, out *bytes.Buffer, kind int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok := tok.(type) {
	case json.Delim:
		open := tok == '{'
		out.WriteByte(byte(tok))
		for i := 0; dec.More(); i++ {
			if i > 0 {
				out.WriteByte(',')
			}
			child := kindValue
			if open {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				b, _ := json.Marshal(key)
				out.Write(b)
				out.WriteByte(':')
				switch {
				case kind == kindProperties:
					child = kindSchema
				case kind == kindSchema && key == "properties":
					child = kindProperties
				case kind == kindSchema && (key == "items" || key == "additionalProperties"):
					child = kindSchema
				}
			}
			if err := rewriteSchema(dec, out, child); err != nil {
				return err
			}
		}
		end, err := dec.Token()
		if err != nil {
			return err
		}
		out.WriteByte(byte(end.(json.Delim)))
	case bool:
		if tok && kind == kindSchema {
			out.WriteString("{}")
		} else {
			out.WriteString(strconv.FormatBool(tok))
		}
	default:
		b, err := json.Marshal(tok)
		if err != nil {
			return err
		}
		out.Write(b)
	}
	return nil
}

// resolveSchema prepares s for validation. The dialect is cleared on the
// copy that is resolved, so a schema that names another draft is still
// checked with the keywords the library knows.
func resolveSchema(s *jsonschema.Schema) (*jsonschema.Resolved, error) {
	c := s.CloneSchemas()
	switch c.Schema {
	case "", jsonSchemaDialect, "http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema":
	default:
		c.Schema = ""
	}
	return c.Resolve(nil)
}

// checkedHandler is the ToolHandler of a tool named name: it validates the
// arguments, runs call, and validates the result when out is set.
func checkedHandler(name string, in, out *jsonschema.Resolved, call func(context.Context, string, map[string]any) (any, error)) ToolHandler {
	return func(ctx context.Context, args map[string]any) (any, error) {
		if _, fromExecute := ctx.Value(rawArgsKey{}).(json.RawMessage); !fromExecute && args != nil {
			// Called directly: check the arguments as their JSON, as the
			// platform would send them (numbers as float64).
			b, err := json.Marshal(args)
			if err != nil {
				return nil, fmt.Errorf("invalid arguments: %w", err)
			}
			args = nil
			if err := json.Unmarshal(b, &args); err != nil {
				return nil, fmt.Errorf("invalid arguments: %w", err)
			}
		}
		if args == nil {
			args = map[string]any{}
		}
		if issues := validate(in, args); issues != nil {
			return nil, &MCPValidationError{Tool: name, Issues: issues}
		}
		r, err := call(ctx, name, args)
		if err != nil || out == nil {
			return r, err
		}
		raw, err := encodeResult(r)
		if err != nil {
			return nil, fmt.Errorf("Tool %s returned a result that is not JSON: %w", name, err)
		}
		var v any
		if raw != nil {
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("Tool %s returned a result that is not JSON: %w", name, err)
			}
		}
		// A missing result (nil) is checked as JSON null.
		if issues := validate(out, v); issues != nil {
			return nil, &MCPValidationError{Tool: name, Output: true, Issues: issues}
		}
		return raw, nil
	}
}

// typedCall decodes the arguments into A and runs fn. The arguments were
// validated already; what is left is what the schema cannot say (a
// date-time that does not parse, a number too big for the field).
func typedCall[A, R any](fn func(ctx context.Context, args A) (R, error)) func(context.Context, string, map[string]any) (any, error) {
	return func(ctx context.Context, name string, m map[string]any) (any, error) {
		raw, ok := ctx.Value(rawArgsKey{}).(json.RawMessage)
		if !ok {
			b, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			raw = b
		}
		var args A
		if err := json.Unmarshal(raw, &args); err != nil {
			issue := MCPIssue{Message: err.Error()}
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				issue = MCPIssue{Path: te.Field, Message: "Invalid input: expected " + jsonType(te.Type.String()) + ", received " + te.Value}
			}
			return nil, &MCPValidationError{Tool: name, Issues: []MCPIssue{issue}}
		}
		r, err := fn(ctx, args)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// MCPValidationError is the error of an inline MCP tool call whose
// arguments, or whose result, do not fit the tool's schema. Its message, the
// tool error the model sees, is 6.4.0's:
//
//	Invalid arguments for "<tool>": <path>: <message>; <path>: <message>
//	Invalid output from "<tool>": <path>: <message>
//
// where a path names the field, dotted, with array indexes ("items.0.sku"),
// and "<root>" is the value itself. Match it with errors.As.
type MCPValidationError struct {
	// Tool is the namespaced tool name.
	Tool string
	// Output is true when the tool's result was invalid, false for its
	// arguments.
	Output bool
	// Issues are the problems found, at least one.
	Issues []MCPIssue
}

// MCPIssue is one problem of an MCPValidationError.
type MCPIssue struct {
	// Path is the dotted path of the field ("" for the value itself).
	Path string
	// Message says what is wrong, in zod's words where they apply
	// ("Invalid input: expected string, received number").
	Message string
}

func (e *MCPValidationError) Error() string {
	var b strings.Builder
	if e.Output {
		b.WriteString("Invalid output from ")
	} else {
		b.WriteString("Invalid arguments for ")
	}
	b.WriteString(jsQuote(e.Tool))
	b.WriteString(": ")
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		p := is.Path
		if p == "" {
			p = "<root>"
		}
		b.WriteString(p)
		b.WriteString(": ")
		b.WriteString(is.Message)
	}
	return b.String()
}

// goTypeSchemas are the schemas of types whose JSON is not what their Go
// kind suggests.
var goTypeSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[time.Time]():       {Type: "string", Format: "date-time"},
	reflect.TypeFor[[]byte]():          {Type: "string", ContentEncoding: "base64"},
	reflect.TypeFor[json.RawMessage](): {},
	reflect.TypeFor[json.Number]():     {Type: "number"},
}

// argsSchema is the schema of A as tool arguments, which must be an object.
func argsSchema[A any]() (sent, check *jsonschema.Schema, err error) {
	t := reflect.TypeFor[A]()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct && t.Kind() != reflect.Map || goTypeSchemas[t] != nil {
		return nil, nil, fmt.Errorf("arguments must be a struct or a map, not %s", reflect.TypeFor[A]())
	}
	sent, check, err = goSchema[A]("arguments")
	if err != nil {
		return nil, nil, err
	}
	// Arguments are always an object: *A's null is not offered.
	sent.Type, sent.Types = "object", nil
	check.Type, check.Types = "object", nil
	return sent, check, nil
}

// goSchema infers the schema of T: the one sent, and the one values are
// checked against, which allows properties a struct does not have.
func goSchema[T any](which string) (sent, check *jsonschema.Schema, err error) {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: goTypeSchemas})
	if err != nil {
		return nil, nil, fmt.Errorf("%s schema: %w", which, err)
	}
	s.Schema = jsonSchemaDialect
	check = s.CloneSchemas()
	allowExtra(check)
	return s, check, nil
}

// allowExtra drops additionalProperties: false from the object schemas of
// structs, so properties the struct does not read pass, as zod strips them.
func allowExtra(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if isFalseSchema(s.AdditionalProperties) {
		s.AdditionalProperties = nil
	}
	for _, p := range s.Properties {
		allowExtra(p)
	}
	allowExtra(s.Items)
	allowExtra(s.AdditionalProperties)
}

func isFalseSchema(s *jsonschema.Schema) bool {
	return s != nil && s.Not != nil && reflect.ValueOf(*s.Not).IsZero()
}

// validate checks v against rs. It returns nil when v is valid, else the
// issues, each with the path of the field: the library decides validity,
// and a walk of the common keywords names the fields (the library's own
// error names only the schema location, and only the first problem).
func validate(rs *jsonschema.Resolved, v any) []MCPIssue {
	var w issueWalker
	w.walk(rs.Schema(), v, nil)
	err := rs.Validate(v)
	if err == nil && len(w.issues) == 0 {
		return nil
	}
	if len(w.issues) == 0 {
		w.issues = append(w.issues, MCPIssue{Message: libraryMessage(err)})
	}
	return w.issues
}

// libraryMessage is the innermost part of a jsonschema-go validation
// error, without its "validating <schema location>: " prefixes.
func libraryMessage(err error) string {
	msg := err.Error()
	for {
		rest, ok := strings.CutPrefix(msg, "validating ")
		if !ok {
			return msg
		}
		i := strings.Index(rest, ": ")
		if i < 0 {
			return msg
		}
		msg = rest[i+2:]
	}
}

// issueWalker collects issues for the keywords jsonschema-go infers from
// Go types and most tool schemas use: type, enum, const, bounds, lengths,
// pattern, format date-time, properties, required, additionalProperties,
// items. Anything else (combinators, references) is left to the library.
type issueWalker struct {
	issues []MCPIssue
}

func (w *issueWalker) add(path []string, msg string) {
	w.issues = append(w.issues, MCPIssue{Path: strings.Join(path, "."), Message: msg})
}

func (w *issueWalker) walk(s *jsonschema.Schema, v any, path []string) {
	if s == nil {
		return
	}
	types := s.Types
	if s.Type != "" {
		types = []string{s.Type}
	}
	got := jsonKind(v)
	if len(types) > 0 && !slices.ContainsFunc(types, func(t string) bool { return kindFits(got, v, t) }) {
		w.add(path, "Invalid input: expected "+expectedName(s, types, got)+", received "+got)
		return
	}
	if s.Enum != nil && !slices.ContainsFunc(s.Enum, func(e any) bool { return mcpSameJSON(e, v) }) {
		opts := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			b, _ := json.Marshal(e)
			opts[i] = string(b)
		}
		w.add(path, "Invalid option: expected one of "+strings.Join(opts, "|"))
		return
	}
	if s.Const != nil && !mcpSameJSON(*s.Const, v) {
		b, _ := json.Marshal(*s.Const)
		w.add(path, "Invalid input: expected "+string(b))
		return
	}
	switch x := v.(type) {
	case float64:
		w.number(s, x, path)
	case string:
		w.str(s, x, path)
	case []any:
		if s.MinItems != nil && len(x) < *s.MinItems {
			w.add(path, fmt.Sprintf("Too small: expected array to have >=%d items", *s.MinItems))
		}
		if s.MaxItems != nil && len(x) > *s.MaxItems {
			w.add(path, fmt.Sprintf("Too big: expected array to have <=%d items", *s.MaxItems))
		}
		for i, it := range x {
			w.walk(s.Items, it, append(slices.Clip(path), strconv.Itoa(i)))
		}
	case map[string]any:
		w.object(s, x, path)
	}
}

func (w *issueWalker) number(s *jsonschema.Schema, x float64, path []string) {
	bound := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch {
	case s.Minimum != nil && x < *s.Minimum:
		w.add(path, "Too small: expected number to be >="+bound(*s.Minimum))
	case s.ExclusiveMinimum != nil && x <= *s.ExclusiveMinimum:
		w.add(path, "Too small: expected number to be >"+bound(*s.ExclusiveMinimum))
	case s.Maximum != nil && x > *s.Maximum:
		w.add(path, "Too big: expected number to be <="+bound(*s.Maximum))
	case s.ExclusiveMaximum != nil && x >= *s.ExclusiveMaximum:
		w.add(path, "Too big: expected number to be <"+bound(*s.ExclusiveMaximum))
	case s.MultipleOf != nil && *s.MultipleOf != 0 && math.Mod(x, *s.MultipleOf) != 0:
		w.add(path, "Invalid number: must be a multiple of "+bound(*s.MultipleOf))
	}
}

func (w *issueWalker) str(s *jsonschema.Schema, x string, path []string) {
	n := utf8.RuneCountInString(x)
	switch {
	case s.MinLength != nil && n < *s.MinLength:
		w.add(path, fmt.Sprintf("Too small: expected string to have >=%d characters", *s.MinLength))
	case s.MaxLength != nil && n > *s.MaxLength:
		w.add(path, fmt.Sprintf("Too big: expected string to have <=%d characters", *s.MaxLength))
	case s.Pattern != "":
		if re, err := regexp.Compile(s.Pattern); err == nil && !re.MatchString(x) {
			w.add(path, "Invalid string: must match pattern /"+s.Pattern+"/")
		}
	case s.Format == "date-time":
		if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
			w.add(path, "Invalid ISO datetime")
		}
	}
}

func (w *issueWalker) object(s *jsonschema.Schema, x map[string]any, path []string) {
	names := slices.Clone(s.PropertyOrder)
	var rest []string
	for k := range s.Properties {
		if !slices.Contains(names, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)
	for _, r := range s.Required {
		if !slices.Contains(names, r) {
			names = append(names, r)
		}
	}
	for _, k := range names {
		p := append(slices.Clip(path), k)
		val, ok := x[k]
		if !ok {
			if slices.Contains(s.Required, k) {
				w.add(p, "Invalid input: expected "+expectedOf(s.Properties[k])+", received undefined")
			}
			continue
		}
		w.walk(s.Properties[k], val, p)
	}
	if s.AdditionalProperties == nil {
		return
	}
	var extra []string
	for k := range x {
		if _, known := s.Properties[k]; !known {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		if isFalseSchema(s.AdditionalProperties) {
			w.add(path, "Unrecognized key: "+strconv.Quote(k))
			continue
		}
		w.walk(s.AdditionalProperties, x[k], append(slices.Clip(path), k))
	}
}

// jsonKind is the JSON type of a decoded value, in zod's words.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func kindFits(got string, v any, want string) bool {
	switch want {
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f) && !math.IsInf(f, 0)
	case "number":
		return got == "number"
	}
	return got == want
}

// expectedName names the wanted type as zod does: an integer is "int" when
// a fractional number came and "number" otherwise, a map is "record", a
// nullable type is named without its null.
func expectedName(s *jsonschema.Schema, types []string, got string) string {
	var names []string
	for _, t := range types {
		switch {
		case t == "null" && len(types) > 1:
			continue
		case t == "integer" && got == "number":
			t = "int"
		case t == "integer":
			t = "number"
		case t == "object" && s.Properties == nil && s.AdditionalProperties != nil && !isFalseSchema(s.AdditionalProperties):
			t = "record"
		}
		names = append(names, t)
	}
	return strings.Join(names, "|")
}

func expectedOf(s *jsonschema.Schema) string {
	if s == nil {
		return "value"
	}
	types := s.Types
	if s.Type != "" {
		types = []string{s.Type}
	}
	if len(types) == 0 {
		return "value"
	}
	return expectedName(s, types, "undefined")
}

func mcpSameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// resolveMCP merges inline MCP servers into a set of tools, as 6.4.0's
// resolveMcpServers: the handlers are static's plus the servers', and the
// schemas are dynamic's followed by the servers'. It fails, in 6.4.0's
// words, on a namespace given twice, a server's handler whose name is
// already taken (by static or an earlier server), and a schema whose name is
// already taken (by dynamic or an earlier server). With no servers, static
// and dynamic are returned as they are. Nil servers are skipped. Workers
// call it with their Tools and DynamicToolSchemas; sessions with their
// Tools and no dynamic schemas (SetDynamicTools adds those later).
func resolveMCP(static ToolHandlers, servers []MCPServer, dynamic []ToolSchema) (ToolHandlers, []ToolSchema, error) {
	if len(servers) == 0 {
		return static, dynamic, nil
	}
	handlers := make(ToolHandlers, len(static))
	for k, h := range static {
		handlers[k] = h
	}
	schemas := slices.Clone(dynamic)
	seenSchema := make(map[string]bool, len(schemas))
	for _, s := range schemas {
		seenSchema[s.Name] = true
	}
	seenNS := map[string]bool{}
	for _, srv := range servers {
		if srv == nil {
			continue
		}
		ns := srv.Namespace()
		if seenNS[ns] {
			return nil, nil, errors.New("Duplicate MCP namespace " + jsQuote(ns) + ". Each inline MCP server must have a unique namespace.")
		}
		seenNS[ns] = true
		hs := srv.ToolHandlers()
		names := make([]string, 0, len(hs))
		for name := range hs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if handlers[name] != nil {
				return nil, nil, errors.New("Tool name collision: " + jsQuote(name) + " is already registered. Ensure no overlap between MCP-namespaced tools and static tool handlers.")
			}
			handlers[name] = hs[name]
		}
		for _, sc := range srv.ToolSchemas() {
			if seenSchema[sc.Name] {
				return nil, nil, errors.New("Tool schema name collision: " + jsQuote(sc.Name) + " is already registered as a dynamic tool schema.")
			}
			seenSchema[sc.Name] = true
			schemas = append(schemas, sc)
		}
	}
	return handlers, schemas, nil
}

// attachMCP resolves AttachOptions.MCPServers into the session: their
// handlers join the base tools and their schemas lead the
// dynamicToolSchemas of every leg, as 6.4.0's AgentSession does (its
// collectDynamicSchemas sends the MCP schemas, then the dynamic ones).
func (s *AgentSession) attachMCP(static ToolHandlers, servers []MCPServer) {
	if len(servers) == 0 {
		return
	}
	handlers, schemas, err := resolveMCP(static, servers, nil)
	if err != nil {
		s.mcpErr = err
		s.c.log.Error("octavus: inline MCP servers not attached; the session's executions will fail", "session", s.id, "error", err)
		return
	}
	s.base, s.tools = handlers, handlers
	open := []byte{'['}
	for _, sc := range schemas {
		b, err := marshalJSON(sc)
		if err != nil {
			s.c.log.Error("octavus: MCP tool schema is not JSON; tool left out", "session", s.id, "tool", sc.Name, "error", err)
			continue
		}
		if len(open) > 1 {
			open = append(open, ',')
		}
		open = append(open, b...)
	}
	if len(open) > 1 {
		s.mcpJSON = open
		s.dynamic = s.mcpOnly()
	}
}

// mcpOpen is the start of a dynamicToolSchemas array: "[" and the MCP
// schemas, if any, to be followed by more schemas and "]".
func (s *AgentSession) mcpOpen() []byte {
	if s.mcpJSON == nil {
		return []byte{'['}
	}
	return s.mcpJSON
}

// mcpOnly is the dynamicToolSchemas of the MCP schemas alone, or nil
// without any (no key is sent).
func (s *AgentSession) mcpOnly() []byte {
	if s.mcpJSON == nil {
		return nil
	}
	return append(slices.Clip(s.mcpJSON), ']')
}
