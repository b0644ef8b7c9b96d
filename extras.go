package octavus

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/octavus-go/octavus/internal/wire"
)

// extras holds the keys of a decoded value that its typed fields cannot
// express, so that the value is written back as the reference would: an
// optional string present as "", a block index that is not a whole number
// (the reference accepts any number), unknown keys of a browser's tool
// result. A key is written back only while the typed fields leave it out.
type extras map[string]json.RawMessage

func (x *extras) set(key string, raw json.RawMessage) {
	if *x == nil {
		*x = make(extras, 1)
	}
	(*x)[key] = raw
}

// str reads an optional string, remembering a present "".
func (x *extras) str(o *wire.Object, key string) string {
	s, ok := o.OptString(key)
	if ok && s == "" && o.Err() == nil {
		x.set(key, json.RawMessage(`""`))
	}
	return s
}

// blockIndex reads an optional number as an int, remembering a number
// that is not a whole int as raw JSON.
func (x *extras) blockIndex(o *wire.Object, key string) *int {
	f, raw, ok := o.OptNumberRaw(key)
	if !ok || o.Err() != nil {
		return nil
	}
	if f == math.Trunc(f) && f <= math.MaxInt32 && f >= math.MinInt32 {
		n := int(f)
		return &n
	}
	// The reference writes the number back as JSON.stringify does (1e-3
	// as 0.001); encoding/json's float64 formatting is the same.
	if b, err := marshalJSON(f); err == nil {
		raw = b
	}
	x.set(key, raw)
	return nil
}

// marshalWithExtra encodes v (a struct, or a pointer to one, without a
// MarshalJSON method) and merges extra in.
func marshalWithExtra(v any, extra extras) ([]byte, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	if len(extra) == 0 {
		return b, nil
	}
	return mergeExtra(b, extra, jsonFieldOrder(reflect.TypeOf(v)))
}

// fieldOrders caches jsonFieldOrder by type.
var fieldOrders sync.Map // reflect.Type -> []string

// jsonFieldOrder returns the JSON keys of struct type t (or of the struct
// a pointer type points to), in field order.
func jsonFieldOrder(t reflect.Type) []string {
	if o, ok := fieldOrders.Load(t); ok {
		return o.([]string)
	}
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	var order []string
	if st.Kind() == reflect.Struct {
		for i := range st.NumField() {
			f := st.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			order = append(order, name)
		}
	}
	fieldOrders.Store(t, order)
	return order
}

// mergeExtra adds to body (a JSON object) the keys of extra it lacks. The
// keys of order (the struct's fields) come in that order, as the
// reference's schema writes them, a present empty string in its place;
// the other keys of extra (unknown keys of a browser's value) follow,
// sorted.
func mergeExtra(body []byte, extra extras, order []string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	added := false
	for k := range extra {
		if _, ok := fields[k]; !ok {
			added = true
			break
		}
	}
	if !added {
		return body, nil
	}
	out := make([]byte, 0, len(body)+64)
	out = append(out, '{')
	write := func(k string, v json.RawMessage) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		kb, _ := marshalJSON(k)
		out = append(out, kb...)
		out = append(out, ':')
		out = append(out, v...)
	}
	known := make(map[string]bool, len(order))
	for _, k := range order {
		known[k] = true
		if v, ok := fields[k]; ok {
			write(k, v)
		} else if v, ok := extra[k]; ok {
			write(k, v)
		}
	}
	// Keys of body outside order (none for the SDK's structs) keep their
	// place after the fields.
	var rest []string
	for k := range fields {
		if !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		write(k, fields[k])
	}
	rest = rest[:0]
	for k := range extra {
		if _, ok := fields[k]; !ok && !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		write(k, extra[k])
	}
	return append(out, '}'), nil
}
