package octavus

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// GenerateID returns an id of the reference's form: the Unix time in
// milliseconds, a dash, and seven base-36 characters. It is for client-side
// ids (messages, parts); it is not a secret.
func GenerateID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [7]byte
	for i := range b {
		b[i] = digits[rand.IntN(len(digits))]
	}
	return strconv.FormatInt(time.Now().UnixMilli(), 10) + "-" + string(b[:])
}
