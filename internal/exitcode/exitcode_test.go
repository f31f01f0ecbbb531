package exitcode

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("boom")
	cases := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, OK},
		{"plain", base, Unexpected},
		{"coded", New(Auth, base), Auth},
		{"wrapped coded", fmt.Errorf("web1: %w", New(Swap, base)), Swap},
		{"outermost wins", New(Partial, fmt.Errorf("x: %w", New(Upload, base))), Partial},
		{"cancelled", fmt.Errorf("upload: %w", context.Canceled), Interrupted},
		{"errorf keeps chain", Errorf(Verify, "web1: %w", base), Verify},
	}
	for _, c := range cases {
		if got := Of(c.err); got != c.want {
			t.Errorf("%s: Of = %d, want %d", c.name, got, c.want)
		}
	}
	if !errors.Is(Errorf(Verify, "x: %w", base), base) {
		t.Error("Errorf lost the wrapped error")
	}
	if New(Auth, nil) != nil {
		t.Error("New(code, nil) must be nil")
	}
}
