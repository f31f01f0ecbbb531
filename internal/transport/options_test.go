package transport

import (
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// TestTimeoutsAsGiven: the client uses the caller's timeouts (the defaults
// are config's); zero leaves the bound to the request's context, a negative
// value is a usage error.
func TestTimeoutsAsGiven(t *testing.T) {
	c, err := New("https://web1/app", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if base := baseOf(c); base.TLSHandshakeTimeout != 0 || base.ResponseHeaderTimeout != 0 {
		t.Errorf("zero options became %v %v: transport chose a default of its own", base.TLSHandshakeTimeout, base.ResponseHeaderTimeout)
	}
	for _, o := range []Options{{ConnectTimeout: -time.Second}, {ResponseHeaderTimeout: -time.Second}} {
		if _, err := New("https://web1/app", o); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("%+v: %v, want a usage error", o, err)
		}
	}
}
