package decode_test

import (
	"errors"
	"testing"

	"mdcast/decode"
)

func TestRequest(t *testing.T) {
	sess := mustSession(t, "REQ1")
	b := decode.AppendRequest(nil, sess, 1001, 17)
	if len(b) != decode.RequestLen {
		t.Fatalf("len %d", len(b))
	}
	var r decode.Request
	if err := r.Wrap(b); err != nil {
		t.Fatal(err)
	}
	if r.Session() != sess || r.Sequence() != 1001 || r.Count() != 17 {
		t.Fatalf("got %v %d %d", r.Session(), r.Sequence(), r.Count())
	}
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"short", b[:19], decode.ErrRequestLength},
		{"long", append(append([]byte{}, b...), 0), decode.ErrRequestLength},
		{"zero count", decode.AppendRequest(nil, sess, 5, 0), decode.ErrRequestCount},
		{"zero sequence", decode.AppendRequest(nil, sess, 0, 5), decode.ErrRequestSequence},
		{"overflow", decode.AppendRequest(nil, sess, ^uint64(0), 2), decode.ErrSequenceOverflow},
	}
	for _, c := range cases {
		var r decode.Request
		if err := r.Wrap(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
		if r.Count() != 0 || r.Sequence() != 0 {
			t.Errorf("%s: failed Wrap left fields readable", c.name)
		}
	}
}
