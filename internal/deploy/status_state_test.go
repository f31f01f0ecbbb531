package deploy

import "testing"

func TestVersionState(t *testing.T) {
	for _, c := range []struct{ running, local, want string }{
		{"1.2.3.4", "1.2.3.5", StateBehind},
		{"1.2.3.10", "1.2.3.9", StateAhead},
		{"2.0", "1.9.9.9", StateAhead},
		{"1.2", "1.2.0.0", StateDiffers},
		{"beta", "1.0.0.0", StateDiffers},
	} {
		if got := versionState(c.running, c.local); got != c.want {
			t.Errorf("running %s, local %s: %s, want %s", c.running, c.local, got, c.want)
		}
	}
}
