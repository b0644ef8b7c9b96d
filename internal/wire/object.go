// Package wire validates JSON objects the way the reference SDK's zod schemas
// do, so that octavus-go drops exactly the events the reference drops.
//
// The rules it reproduces (zod 4, as used by @octavus/core 2.0.0 and 6.4.0):
//   - keys are case sensitive; a key that appears twice keeps its last value
//     (JSON.parse semantics);
//   - a required field must be present and of its type;
//   - an optional field may be absent, but when present it must be of its type:
//     null is not accepted for an optional string, number, boolean or object;
//   - an "unknown" field accepts any JSON value, null included, or absence;
//   - a record must be a JSON object (an array or null is refused);
//   - keys a schema does not know are dropped (Object.Extra reports them).
package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Object is one decoded JSON object whose fields are read once each through
// the typed accessors. The first failing accessor records the error; later
// accessors return zero values, so a decoder can read every field and check
// Err once.
type Object struct {
	fields map[string]json.RawMessage
	read   map[string]bool
	err    error
	path   string
}

// Decode parses data as a JSON object. It fails for anything that is not an
// object, null included.
func Decode(data []byte) (*Object, error) {
	return decodeAt(data, "")
}

func decodeAt(data []byte, path string) (*Object, error) {
	if k := firstByte(data); k != '{' {
		return nil, fmt.Errorf("%s: want object, got %s", pathOr(path), describe(data))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", pathOr(path), err)
	}
	return &Object{fields: m, path: path}, nil
}

func pathOr(p string) string {
	if p == "" {
		return "value"
	}
	return p
}

// Err is the first error an accessor met, or nil.
func (o *Object) Err() error { return o.err }

// Extra reports whether the object holds keys that no accessor has read.
// Call it after all fields are read.
func (o *Object) Extra() bool {
	for k := range o.fields {
		if !o.read[k] {
			return true
		}
	}
	return false
}

// Kind returns the first byte of key's value ('{', '[', '"', 't', 'f', 'n',
// '-' or a digit), or 0 when key is absent. It does not count as a read.
func (o *Object) Kind(key string) byte {
	return firstByte(o.fields[key])
}

// Unread returns the keys that no accessor has read and that are not among
// known, with their raw values, or nil when there are none.
func (o *Object) Unread(known ...string) map[string]json.RawMessage {
	var rest map[string]json.RawMessage
	for k, v := range o.fields {
		if o.read[k] || slices.Contains(known, k) {
			continue
		}
		if rest == nil {
			rest = make(map[string]json.RawMessage)
		}
		rest[k] = v
	}
	return rest
}

// Has reports whether key is present (null counts as present).
func (o *Object) Has(key string) bool {
	_, ok := o.fields[key]
	return ok
}

func (o *Object) fail(key, format string, args ...any) {
	if o.err == nil {
		p := key
		if o.path != "" {
			p = o.path + "." + key
		}
		o.err = fmt.Errorf("field %q: %s", p, fmt.Sprintf(format, args...))
	}
}

// take returns the raw value of key and whether it is present. It counts the
// key as read.
func (o *Object) take(key string) (json.RawMessage, bool) {
	raw, ok := o.fields[key]
	if ok {
		if o.read == nil {
			o.read = make(map[string]bool, len(o.fields))
		}
		o.read[key] = true
	}
	return raw, ok
}

// String reads a required string.
func (o *Object) String(key string) string {
	s, ok := o.OptString(key)
	if !ok && o.err == nil {
		o.fail(key, "required")
	}
	return s
}

// OptString reads an optional string; ok is false when it is absent.
func (o *Object) OptString(key string) (s string, ok bool) {
	raw, ok := o.take(key)
	if !ok || o.err != nil {
		return "", false
	}
	if firstByte(raw) != '"' {
		o.fail(key, "want string, got %s", describe(raw))
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		o.fail(key, "%v", err)
		return "", false
	}
	return s, true
}

// Enum reads a required string that must be one of allowed.
func (o *Object) Enum(key string, allowed ...string) string {
	return o.oneOf(key, o.String(key), allowed)
}

// OptEnum reads an optional string that, when present, must be one of allowed.
func (o *Object) OptEnum(key string, allowed ...string) string {
	s, ok := o.OptString(key)
	if !ok {
		return ""
	}
	return o.oneOf(key, s, allowed)
}

// oneOf returns s when it is one of allowed (and no error came before),
// else records the error and returns "".
func (o *Object) oneOf(key, s string, allowed []string) string {
	if o.err != nil {
		return ""
	}
	if slices.Contains(allowed, s) {
		return s
	}
	o.fail(key, "%q is not one of %q", s, allowed)
	return ""
}

// Literal checks that key holds exactly the string want.
func (o *Object) Literal(key, want string) {
	if s := o.String(key); o.err == nil && s != want {
		o.fail(key, "want %q, got %q", want, s)
	}
}

// Bool reads a required boolean.
func (o *Object) Bool(key string) bool {
	b, ok := o.OptBool(key)
	if !ok && o.err == nil {
		o.fail(key, "required")
	}
	return b
}

// OptBool reads an optional boolean.
func (o *Object) OptBool(key string) (b, ok bool) {
	raw, ok := o.take(key)
	if !ok || o.err != nil {
		return false, false
	}
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	o.fail(key, "want boolean, got %s", describe(raw))
	return false, false
}

// OptNumber reads an optional finite number.
func (o *Object) OptNumber(key string) (f float64, ok bool) {
	raw, ok := o.take(key)
	if !ok || o.err != nil {
		return 0, false
	}
	if c := firstByte(raw); c != '-' && (c < '0' || c > '9') {
		o.fail(key, "want number, got %s", describe(raw))
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) {
		o.fail(key, "number out of range")
		return 0, false
	}
	if f == 0 {
		f = 0 // -0 is written back as 0, as JSON.stringify does
	}
	return f, true
}

// Number reads a required finite number.
func (o *Object) Number(key string) float64 {
	f, ok := o.OptNumber(key)
	if !ok && o.err == nil {
		o.fail(key, "required")
	}
	return f
}

// OptNumberRaw reads an optional finite number and also returns its raw
// JSON text.
func (o *Object) OptNumberRaw(key string) (f float64, raw json.RawMessage, ok bool) {
	raw = o.fields[key]
	f, ok = o.OptNumber(key)
	if !ok {
		return 0, nil, false
	}
	return f, raw, true
}

// Unknown reads a field of any JSON value (zod's z.unknown()). It returns nil
// when the key is absent, and the raw bytes (possibly "null") otherwise.
func (o *Object) Unknown(key string) json.RawMessage {
	raw, _ := o.take(key)
	return raw
}

// Present reads a field of any JSON value that must be present (zod 4.4+
// treats a key declared z.unknown() as required): null is accepted,
// absence is not.
func (o *Object) Present(key string) json.RawMessage {
	raw, ok := o.take(key)
	if !ok && o.err == nil {
		o.fail(key, "required")
	}
	return raw
}

// Record reads a required JSON object of any values (zod's z.record).
func (o *Object) Record(key string) json.RawMessage {
	raw, ok := o.take(key)
	if o.err != nil {
		return nil
	}
	if !ok {
		o.fail(key, "required")
		return nil
	}
	if firstByte(raw) != '{' {
		o.fail(key, "want object, got %s", describe(raw))
		return nil
	}
	return raw
}

// OptRecord reads an optional JSON object of any values; it returns nil
// when absent. null is refused, as for every optional field.
func (o *Object) OptRecord(key string) json.RawMessage {
	if _, ok := o.fields[key]; !ok || o.err != nil {
		return nil
	}
	return o.Record(key)
}

// Object reads a required nested object; it returns nil when absent or
// not an object (the error is recorded).
func (o *Object) Object(key string) *Object {
	if _, ok := o.fields[key]; !ok {
		o.take(key)
		if o.err == nil {
			o.fail(key, "required")
		}
		return nil
	}
	return o.OptObject(key)
}

// OptObject reads an optional nested object; it returns nil when absent.
func (o *Object) OptObject(key string) *Object {
	raw, ok := o.take(key)
	if !ok || o.err != nil {
		return nil
	}
	sub, err := decodeAt(raw, o.sub(key))
	if err != nil {
		o.fail(key, "want object, got %s", describe(raw))
		return nil
	}
	return sub
}

// Array reads a required array of objects.
func (o *Object) Array(key string) []*Object {
	arr, ok := o.OptArray(key)
	if !ok && o.err == nil {
		o.fail(key, "required")
	}
	return arr
}

// OptArray reads an optional array of objects.
func (o *Object) OptArray(key string) ([]*Object, bool) {
	raw, ok := o.take(key)
	if !ok || o.err != nil {
		return nil, false
	}
	if firstByte(raw) != '[' {
		o.fail(key, "want array, got %s", describe(raw))
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		o.fail(key, "%v", err)
		return nil, false
	}
	out := make([]*Object, len(items))
	for i, it := range items {
		sub, err := decodeAt(it, fmt.Sprintf("%s[%d]", o.sub(key), i))
		if err != nil {
			o.fail(key, "item %d: want object, got %s", i, describe(it))
			return nil, false
		}
		out[i] = sub
	}
	return out, true
}

// Adopt records the error of a nested object, if any, as this object's.
func (o *Object) Adopt(sub *Object) {
	if sub != nil && sub.err != nil && o.err == nil {
		o.err = sub.err
	}
}

func (o *Object) sub(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

func describe(raw []byte) string {
	switch firstByte(raw) {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case 0:
		return "nothing"
	}
	return "number"
}
