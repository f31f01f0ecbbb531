package credentials

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const secret = "S3cr3t-pa55"

func TestCredentialNeverPrintsPassword(t *testing.T) {
	c := Credential{User: `CORP\deploy`, Password: secret, Source: SourceEnv}
	type holder struct {
		Name string
		Cred Credential
		Ptr  *Credential
	}
	h := holder{Name: "web1", Cred: c, Ptr: &c}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10v", "%-20s"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, &c), fmt.Sprintf(verb, h), fmt.Sprintf(verb, []Credential{c}))
	}
	outs = append(outs, fmt.Sprint(c), fmt.Sprintln(c, &c), c.String(), c.GoString())
	outs = append(outs, fmt.Errorf("login as %v failed: %w", c, errors.New("401")).Error())

	for _, v := range []any{c, &c, h, map[string]Credential{"a": c}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		outs = append(outs, string(b))
	}
	if b, err := xml.Marshal(h); err == nil {
		outs = append(outs, string(b))
	} else {
		t.Fatalf("xml.Marshal: %v", err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("resolved", "cred", c)
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("resolved", "cred", c, "holder", h)
	outs = append(outs, logBuf.String())

	for _, o := range outs {
		if strings.Contains(o, secret) {
			t.Errorf("password leaked: %s", o)
		}
		if !strings.Contains(o, "deploy") && !strings.Contains(o, "6465706c6f79") && !strings.Contains(o, "6465706C6F79") {
			// Every form should still say whose credential it is (hex forms too).
			t.Errorf("user missing from %q", o)
		}
	}
	if got := fmt.Sprintf("%#v", c); !strings.HasPrefix(got, "credentials.Credential{") || !strings.Contains(got, redacted) {
		t.Errorf("%%#v = %s", got)
	}
	var back map[string]string
	b, _ := json.Marshal(c)
	if err := json.Unmarshal(b, &back); err != nil || back["user"] != c.User || back["source"] != "env" || back["password"] != redacted {
		t.Errorf("json = %s (%v)", b, err)
	}
}
