package remote

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestLimitedBody: a body one byte under the limit or exactly at it is read whole, also when the
// body says it ended only in a read after its last byte (as a chunked response whose last chunk
// comes apart does); one a byte over is refused with *LimitError naming the limit.
func TestLimitedBody(t *testing.T) {
	const limit = 4096
	readers := map[string]func(string) io.Reader{
		"EOF apart":       func(s string) io.Reader { return strings.NewReader(s) },
		"EOF with data":   func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
		"one byte a read": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
	}
	for name, reader := range readers {
		for _, tc := range []struct {
			size int
			ok   bool
		}{{size: limit - 1, ok: true}, {size: limit, ok: true}, {size: limit + 1}} {
			body := strings.Repeat("x", tc.size)
			data, err := io.ReadAll(&limitedBody{body: io.NopCloser(reader(body)), url: "u", left: limit, max: limit})
			var limitErr *LimitError
			switch {
			case tc.ok && (err != nil || len(data) != tc.size):
				t.Errorf("%s, %d bytes: read %d bytes, %v; want all of them", name, tc.size, len(data), err)
			case !tc.ok && (!errors.As(err, &limitErr) || limitErr.Max != limit || err.Error() != "u: more than 4096 bytes; refused"):
				t.Errorf("%s, %d bytes: err = %v, want the limit of %d named", name, tc.size, err, limit)
			}
		}
	}
}

// TestSharedBudgetBody: the bodies of one Git fetch share a budget; one that ends exactly where
// the budget does is read whole, also when its end comes in a read of its own; a byte more is
// refused with *LimitError.
func TestSharedBudgetBody(t *testing.T) {
	const budget = 4096
	for _, tc := range []struct {
		size int
		ok   bool
	}{{size: budget - 1, ok: true}, {size: budget, ok: true}, {size: budget + 1}} {
		left := int64(budget)
		transport := &budgetTransport{url: "u", budget: &left, max: budget}
		body := &sharedBudgetBody{body: io.NopCloser(strings.NewReader(strings.Repeat("x", tc.size))), t: transport}
		data, err := io.ReadAll(body)
		var limitErr *LimitError
		switch {
		case tc.ok && (err != nil || len(data) != tc.size):
			t.Errorf("%d bytes: read %d bytes, %v; want all of them", tc.size, len(data), err)
		case !tc.ok && (!errors.As(err, &limitErr) || limitErr.Max != budget):
			t.Errorf("%d bytes: err = %v, want the limit of %d named", tc.size, err, budget)
		}
	}
}
