package wire

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustDecode(t *testing.T, s string) *Object {
	t.Helper()
	o, err := Decode([]byte(s))
	require.NoError(t, err, s)
	return o
}

func TestWireDecode(t *testing.T) {
	for _, s := range []string{`{}`, ` {"a":1} `, "\n\t{\"a\":{\"b\":[1,2]}}\r\n"} {
		o, err := Decode([]byte(s))
		require.NoError(t, err, s)
		require.NoError(t, o.Err())
	}
	for s, want := range map[string]string{
		``:                 "value: want object, got nothing",
		`   `:              "value: want object, got nothing",
		`null`:             "value: want object, got null",
		`[]`:               "value: want object, got array",
		`[{}]`:             "value: want object, got array",
		`"{}"`:             "value: want object, got string",
		`1`:                "value: want object, got number",
		`-1`:               "value: want object, got number",
		`true`:             "value: want object, got boolean",
		`false`:            "value: want object, got boolean",
		`{`:                "value: ",
		`{"a":}`:           "value: ",
		`{"a":1}x`:         "value: ",
		`{"a":1}{}`:        "value: ",
		`{'a':1}`:          "value: ",
		`{"a":1,}`:         "value: ",
		`{"a":NaN}`:        "value: ",
		`{"a":1e400x}`:     "value: ",
		`{"a":"\x"}`:       "value: ",
		`{"a":[1,2}`:       "value: ",
		"{\"a\":\"\x01\"}": "value: ",
	} {
		o, err := Decode([]byte(s))
		require.Error(t, err, "%q", s)
		require.Nil(t, o)
		require.Contains(t, err.Error(), want, "%q", s)
	}
}

func TestWireStringAccessors(t *testing.T) {
	o := mustDecode(t, `{"s":"hi","e":"","u":"caf\u00e9 <&>"}`)
	require.Equal(t, "hi", o.String("s"))
	require.Equal(t, "", o.String("e"))
	require.Equal(t, "café <&>", o.String("u"))
	require.NoError(t, o.Err())

	o = mustDecode(t, `{"s":"hi"}`)
	s, ok := o.OptString("s")
	require.True(t, ok)
	require.Equal(t, "hi", s)
	s, ok = o.OptString("missing")
	require.False(t, ok)
	require.Equal(t, "", s)
	require.NoError(t, o.Err())

	// An empty string is present.
	o = mustDecode(t, `{"s":""}`)
	_, ok = o.OptString("s")
	require.True(t, ok)

	for _, v := range []string{`null`, `1`, `0`, `true`, `false`, `{}`, `[]`, `["a"]`} {
		o := mustDecode(t, `{"s":`+v+`}`)
		_, ok := o.OptString("s")
		require.False(t, ok, v)
		require.ErrorContains(t, o.Err(), `field "s": want string`, v)

		o = mustDecode(t, `{"s":`+v+`}`)
		require.Equal(t, "", o.String("s"))
		require.ErrorContains(t, o.Err(), `field "s": want string`, v)
	}

	o = mustDecode(t, `{}`)
	require.Equal(t, "", o.String("s"))
	require.EqualError(t, o.Err(), `field "s": required`)

	// Keys are case sensitive.
	o = mustDecode(t, `{"S":"x"}`)
	o.String("s")
	require.EqualError(t, o.Err(), `field "s": required`)
}

func TestWireEnumAndLiteral(t *testing.T) {
	o := mustDecode(t, `{"k":"b"}`)
	require.Equal(t, "b", o.Enum("k", "a", "b"))
	require.NoError(t, o.Err())

	for _, v := range []string{`"c"`, `"B"`, `" b"`, `""`} {
		o := mustDecode(t, `{"k":`+v+`}`)
		require.Equal(t, "", o.Enum("k", "a", "b"))
		require.ErrorContains(t, o.Err(), `field "k": `, v)
		require.ErrorContains(t, o.Err(), `is not one of`, v)
	}
	for _, v := range []string{`null`, `1`, `true`, `{}`, `[]`} {
		o := mustDecode(t, `{"k":`+v+`}`)
		require.Equal(t, "", o.Enum("k", "a", "b"))
		require.ErrorContains(t, o.Err(), `field "k": want string`, v)
	}
	o = mustDecode(t, `{}`)
	o.Enum("k", "a")
	require.EqualError(t, o.Err(), `field "k": required`)

	// OptEnum: absent is fine, present must be allowed.
	o = mustDecode(t, `{"k":"a"}`)
	require.Equal(t, "a", o.OptEnum("k", "a", "b"))
	require.Equal(t, "", o.OptEnum("absent", "a", "b"))
	require.NoError(t, o.Err())
	for _, v := range []string{`"c"`, `""`, `null`, `1`, `{}`} {
		o := mustDecode(t, `{"k":`+v+`}`)
		require.Equal(t, "", o.OptEnum("k", "a", "b"))
		require.ErrorContains(t, o.Err(), `field "k": `, v)
	}

	o = mustDecode(t, `{"t":"url"}`)
	o.Literal("t", "url")
	require.NoError(t, o.Err())
	o = mustDecode(t, `{"t":"URL"}`)
	o.Literal("t", "url")
	require.EqualError(t, o.Err(), `field "t": want "url", got "URL"`)
	o = mustDecode(t, `{"t":null}`)
	o.Literal("t", "url")
	require.ErrorContains(t, o.Err(), `field "t": want string, got null`)
	o = mustDecode(t, `{}`)
	o.Literal("t", "url")
	require.EqualError(t, o.Err(), `field "t": required`)
}

func TestWireBool(t *testing.T) {
	o := mustDecode(t, `{"t":true,"f":false,"w":  true  }`)
	require.True(t, o.Bool("t"))
	require.False(t, o.Bool("f"))
	b, ok := o.OptBool("w")
	require.True(t, ok)
	require.True(t, b)
	b, ok = o.OptBool("absent")
	require.False(t, ok)
	require.False(t, b)
	require.NoError(t, o.Err())

	for _, v := range []string{`"true"`, `"false"`, `1`, `0`, `null`, `{}`, `[]`} {
		o := mustDecode(t, `{"b":`+v+`}`)
		_, ok := o.OptBool("b")
		require.False(t, ok, v)
		require.ErrorContains(t, o.Err(), `field "b": want boolean`, v)

		o = mustDecode(t, `{"b":`+v+`}`)
		o.Bool("b")
		require.ErrorContains(t, o.Err(), `field "b": want boolean`, v)
	}
	o = mustDecode(t, `{}`)
	require.False(t, o.Bool("b"))
	require.EqualError(t, o.Err(), `field "b": required`)
}

func TestWireNumber(t *testing.T) {
	for v, want := range map[string]float64{
		`0`: 0, `1`: 1, `-1`: -1, `1.5`: 1.5, `1e3`: 1000, `1E-2`: 0.01, `-2.5e+2`: -250,
		`1e-400`: 0, `1.7976931348623157e308`: math.MaxFloat64, `12345678901234567890`: 12345678901234567890,
	} {
		o := mustDecode(t, `{"n":`+v+`}`)
		f, ok := o.OptNumber("n")
		require.True(t, ok, v)
		require.Equal(t, want, f, v)
		require.NoError(t, o.Err(), v)
	}

	// -0 reads as +0 (JSON.stringify writes -0 as 0).
	o := mustDecode(t, `{"n":-0}`)
	f, ok := o.OptNumber("n")
	require.True(t, ok)
	require.False(t, math.Signbit(f))
	o = mustDecode(t, `{"n":-0.0e5}`)
	f, _ = o.OptNumber("n")
	require.False(t, math.Signbit(f))

	o = mustDecode(t, `{}`)
	f, ok = o.OptNumber("n")
	require.False(t, ok)
	require.Equal(t, 0.0, f)
	require.NoError(t, o.Err())

	for _, v := range []string{`"1"`, `""`, `true`, `null`, `{}`, `[]`, `[1]`} {
		o := mustDecode(t, `{"n":`+v+`}`)
		_, ok := o.OptNumber("n")
		require.False(t, ok, v)
		require.ErrorContains(t, o.Err(), `field "n": want number`, v)
	}
	for _, v := range []string{`1e400`, `-1e400`, `2e308`} {
		o := mustDecode(t, `{"n":`+v+`}`)
		_, ok := o.OptNumber("n")
		require.False(t, ok, v)
		require.EqualError(t, o.Err(), `field "n": number out of range`, v)
	}
}

func TestWireNumberRaw(t *testing.T) {
	// The raw text comes back as written, so a caller can echo a number it
	// cannot keep in its own field (a fractional block index).
	for v, want := range map[string]float64{`0`: 0, `1.5`: 1.5, `2e1`: 20, `-7`: -7, `4294967296`: 4294967296} {
		o := mustDecode(t, `{"i":`+v+`}`)
		f, raw, ok := o.OptNumberRaw("i")
		require.True(t, ok, v)
		require.Equal(t, want, f, v)
		require.Equal(t, v, string(raw), v)
		require.NoError(t, o.Err(), v)
	}
	o := mustDecode(t, `{}`)
	f, raw, ok := o.OptNumberRaw("i")
	require.False(t, ok)
	require.Zero(t, f)
	require.Nil(t, raw)
	require.NoError(t, o.Err())

	for _, v := range []string{`"1"`, `null`, `true`, `{}`, `[]`, `1e400`} {
		o := mustDecode(t, `{"i":`+v+`}`)
		_, raw, ok := o.OptNumberRaw("i")
		require.False(t, ok, v)
		require.Nil(t, raw, v)
		require.ErrorContains(t, o.Err(), `field "i": `, v)
	}
}

func TestWireUnknown(t *testing.T) {
	for _, v := range []string{`null`, `0`, `"s"`, `true`, `[]`, `[1,{"a":null}]`, `{}`, `{"a":{"b":1}}`, `12345678901234567890`} {
		o := mustDecode(t, `{"u":`+v+`}`)
		require.Equal(t, json.RawMessage(v), o.Unknown("u"), v)
		require.NoError(t, o.Err())
		require.False(t, o.Extra())
	}
	o := mustDecode(t, `{}`)
	require.Nil(t, o.Unknown("u"))
	require.NoError(t, o.Err())
}

func TestWireRecord(t *testing.T) {
	for _, v := range []string{`{}`, `{"a":1}`, `{"a":[null],"b":{"c":"d"}}`} {
		o := mustDecode(t, `{"r":`+v+`}`)
		require.Equal(t, json.RawMessage(v), o.Record("r"))
		require.NoError(t, o.Err())
	}
	for _, v := range []string{`[]`, `[{}]`, `null`, `"{}"`, `1`, `true`} {
		o := mustDecode(t, `{"r":`+v+`}`)
		require.Nil(t, o.Record("r"), v)
		require.ErrorContains(t, o.Err(), `field "r": want object`, v)
	}
	o := mustDecode(t, `{}`)
	require.Nil(t, o.Record("r"))
	require.EqualError(t, o.Err(), `field "r": required`)
}

func TestWireOptObject(t *testing.T) {
	o := mustDecode(t, `{"p":{"name":"n","extra":1}}`)
	p := o.OptObject("p")
	require.NotNil(t, p)
	require.Equal(t, "n", p.String("name"))
	require.True(t, p.Extra())
	o.Adopt(p)
	require.NoError(t, o.Err())
	require.False(t, o.Extra())

	o = mustDecode(t, `{}`)
	require.Nil(t, o.OptObject("p"))
	require.NoError(t, o.Err())

	for _, v := range []string{`null`, `[]`, `"x"`, `1`, `true`} {
		o := mustDecode(t, `{"p":`+v+`}`)
		require.Nil(t, o.OptObject("p"), v)
		require.ErrorContains(t, o.Err(), `field "p": want object`, v)
	}

	// A nested error names the full path once adopted.
	o = mustDecode(t, `{"p":{"q":{"statusCode":"500"}}}`)
	p = o.OptObject("p")
	q := p.OptObject("q")
	q.OptNumber("statusCode")
	p.Adopt(q)
	o.Adopt(p)
	require.EqualError(t, o.Err(), `field "p.q.statusCode": want number, got string`)

	o = mustDecode(t, `{"provider":{}}`)
	p = o.OptObject("provider")
	p.String("name")
	require.NoError(t, o.Err(), "not adopted yet")
	o.Adopt(p)
	require.EqualError(t, o.Err(), `field "provider.name": required`)

	// Adopt of nil or of an object without error changes nothing.
	o = mustDecode(t, `{}`)
	o.Adopt(nil)
	o.Adopt(mustDecode(t, `{}`))
	require.NoError(t, o.Err())
}

func TestWireArray(t *testing.T) {
	o := mustDecode(t, `{"a":[{"x":"1"},{"x":"2"}],"e":[]}`)
	items := o.Array("a")
	require.Len(t, items, 2)
	require.Equal(t, "1", items[0].String("x"))
	require.Equal(t, "2", items[1].String("x"))
	empty, ok := o.OptArray("e")
	require.True(t, ok)
	require.NotNil(t, empty)
	require.Empty(t, empty)
	none, ok := o.OptArray("absent")
	require.False(t, ok)
	require.Nil(t, none)
	require.NoError(t, o.Err())

	o = mustDecode(t, `{}`)
	require.Nil(t, o.Array("a"))
	require.EqualError(t, o.Err(), `field "a": required`)

	for _, v := range []string{`{}`, `null`, `"[]"`, `1`, `true`} {
		o := mustDecode(t, `{"a":`+v+`}`)
		arr, ok := o.OptArray("a")
		require.False(t, ok, v)
		require.Nil(t, arr)
		require.ErrorContains(t, o.Err(), `field "a": want array`, v)
	}
	for v, want := range map[string]string{
		`[null]`:     `field "a": item 0: want object, got null`,
		`[1]`:        `field "a": item 0: want object, got number`,
		`[{},"x"]`:   `field "a": item 1: want object, got string`,
		`[{},{},[]]`: `field "a": item 2: want object, got array`,
		`[{},true]`:  `field "a": item 1: want object, got boolean`,
	} {
		o := mustDecode(t, `{"a":`+v+`}`)
		arr, ok := o.OptArray("a")
		require.False(t, ok, v)
		require.Nil(t, arr)
		require.EqualError(t, o.Err(), want, v)
	}

	// Item errors name the item's path.
	o = mustDecode(t, `{"toolCalls":[{"args":{}},{"args":[]}]}`)
	items = o.Array("toolCalls")
	for _, it := range items {
		it.Record("args")
		o.Adopt(it)
	}
	require.EqualError(t, o.Err(), `field "toolCalls[1].args": want object, got array`)

	// And inside a nested object.
	o = mustDecode(t, `{"p":{"items":[{"n":1}]}}`)
	p := o.OptObject("p")
	items = p.Array("items")
	items[0].String("n")
	p.Adopt(items[0])
	o.Adopt(p)
	require.EqualError(t, o.Err(), `field "p.items[0].n": want string, got number`)
}

func TestWireFirstErrorWins(t *testing.T) {
	o := mustDecode(t, `{"a":1,"b":"x","c":"y"}`)
	require.Equal(t, "", o.String("a"))
	// Later accessors return zero values and keep the first error.
	require.Equal(t, "", o.String("b"))
	require.Equal(t, "", o.Enum("c", "y"))
	_, ok := o.OptString("b")
	require.False(t, ok)
	require.Nil(t, o.Record("missing"))
	require.Nil(t, o.OptObject("b"))
	require.Nil(t, o.Array("missing"))
	require.EqualError(t, o.Err(), `field "a": want string, got number`)

	sub := mustDecode(t, `{"x":null}`)
	sub.String("x")
	o.Adopt(sub)
	require.EqualError(t, o.Err(), `field "a": want string, got number`)
}

func TestWireExtraUnread(t *testing.T) {
	o := mustDecode(t, `{"a":"1","b":2,"c":{"d":3}}`)
	require.True(t, o.Extra())
	o.String("a")
	require.True(t, o.Extra())
	require.Equal(t, map[string]json.RawMessage{"b": json.RawMessage(`2`), "c": json.RawMessage(`{"d":3}`)}, o.Unread())
	require.Equal(t, map[string]json.RawMessage{"c": json.RawMessage(`{"d":3}`)}, o.Unread("b"))
	require.Nil(t, o.Unread("b", "c"))

	// Reading a key twice does not hide another unread key.
	o.String("a")
	require.True(t, o.Extra())
	o.OptNumber("b")
	o.Unknown("c")
	require.False(t, o.Extra())
	require.Nil(t, o.Unread())

	// Absent keys that were asked for do not count.
	o = mustDecode(t, `{"x":1}`)
	o.OptString("y")
	o.Unknown("z")
	require.True(t, o.Extra())
	require.Equal(t, map[string]json.RawMessage{"x": json.RawMessage(`1`)}, o.Unread("y", "z"))

	// A failed read still counts as read.
	o = mustDecode(t, `{"x":1}`)
	o.OptString("x")
	require.Error(t, o.Err())
	require.False(t, o.Extra())

	o = mustDecode(t, `{}`)
	require.False(t, o.Extra())
	require.Nil(t, o.Unread())

	// Duplicate keys: one key, the last value.
	o = mustDecode(t, `{"a":1,"a":"two"}`)
	require.Equal(t, "two", o.String("a"))
	require.NoError(t, o.Err())
	require.False(t, o.Extra())
}

func TestWireKindHas(t *testing.T) {
	o := mustDecode(t, `{"o":{},"a":[],"s":"x","t":true,"f":false,"n":null,"neg":-1,"d":7,"sp":  "x"}`)
	for key, want := range map[string]byte{
		"o": '{', "a": '[', "s": '"', "t": 't', "f": 'f', "n": 'n', "neg": '-', "d": '7', "sp": '"', "absent": 0,
	} {
		require.Equal(t, want, o.Kind(key), key)
	}
	require.True(t, o.Has("n"), "null is present")
	require.True(t, o.Has("o"))
	require.False(t, o.Has("absent"))
	require.False(t, o.Has("O"))
	// Kind and Has are not reads.
	require.True(t, o.Extra())
	require.Len(t, o.Unread(), 9)
	require.NoError(t, o.Err())
}

func TestWireOptRecord(t *testing.T) {
	for _, v := range []string{`{}`, `{"a":1}`} {
		o := mustDecode(t, `{"r":`+v+`}`)
		require.Equal(t, json.RawMessage(v), o.OptRecord("r"))
		require.NoError(t, o.Err())
		require.False(t, o.Extra())
	}
	o := mustDecode(t, `{}`)
	require.Nil(t, o.OptRecord("r"))
	require.NoError(t, o.Err())
	// null is refused, as for every optional field.
	for _, v := range []string{`null`, `[]`, `"{}"`, `1`, `false`} {
		o := mustDecode(t, `{"r":`+v+`}`)
		require.Nil(t, o.OptRecord("r"), v)
		require.ErrorContains(t, o.Err(), `field "r": want object`, v)
	}
	// After an error, nothing more is read.
	o = mustDecode(t, `{"a":1,"r":{}}`)
	o.String("a")
	require.Nil(t, o.OptRecord("r"))
	require.ErrorContains(t, o.Err(), `field "a"`)
}

func TestWireRequiredObject(t *testing.T) {
	o := mustDecode(t, `{"cost":{"currency":"USD"}}`)
	c := o.Object("cost")
	require.NotNil(t, c)
	require.Equal(t, "USD", c.String("currency"))
	o.Adopt(c)
	require.NoError(t, o.Err())
	require.False(t, o.Extra())

	o = mustDecode(t, `{}`)
	require.Nil(t, o.Object("cost"))
	require.EqualError(t, o.Err(), `field "cost": required`)

	for _, v := range []string{`null`, `[]`, `"x"`, `1`} {
		o := mustDecode(t, `{"cost":`+v+`}`)
		require.Nil(t, o.Object("cost"), v)
		require.ErrorContains(t, o.Err(), `field "cost": want object`, v)
	}

	// A nested error is named by its path.
	o = mustDecode(t, `{"cost":{"totalFee":"1"}}`)
	c = o.Object("cost")
	c.Number("totalFee")
	o.Adopt(c)
	require.EqualError(t, o.Err(), `field "cost.totalFee": want number, got string`)
}

func TestWireRequiredNumber(t *testing.T) {
	o := mustDecode(t, `{"n":1.5,"z":-0}`)
	require.Equal(t, 1.5, o.Number("n"))
	require.Equal(t, 0.0, o.Number("z"))
	require.NoError(t, o.Err())

	o = mustDecode(t, `{}`)
	require.Equal(t, 0.0, o.Number("n"))
	require.EqualError(t, o.Err(), `field "n": required`)

	for _, v := range []string{`null`, `"1"`, `true`, `{}`, `1e400`} {
		o := mustDecode(t, `{"n":`+v+`}`)
		o.Number("n")
		require.Error(t, o.Err(), v)
	}
}
