package channel

import (
	"crypto/rand"
	"io"
)

// randOr returns r, or crypto/rand's reader for nil.
func randOr(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
