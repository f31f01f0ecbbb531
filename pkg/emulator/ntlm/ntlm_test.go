package ntlm

import (
	"encoding/hex"
	"errors"
	"testing"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

// TestKnownNTHash checks MD4(UTF-16LE) against the well-known NT hash of
// "Password" (MS-NLMP 4.2.1 uses the same password).
func TestKnownNTHash(t *testing.T) {
	got := hex.EncodeToString(NTHash("Password"))
	if got != "a4f49c406510bdcab6824ee7c30fd852" {
		t.Fatalf("NT hash of Password = %s", got)
	}
}

// TestV2HashSpec uses the MS-NLMP 4.2.4.1.1 test vector.
func TestV2HashSpec(t *testing.T) {
	got := hex.EncodeToString(V2Hash("Password", "User", "Domain"))
	if got != "0c868a403bfd7a93a3001ef22ef02e3f" {
		t.Fatalf("NTOWFv2 = %s", got)
	}
}

func TestHandshakeWithGoNTLMSSP(t *testing.T) {
	cases := []struct {
		name, login, password, check string
		wantErr                      error
		wantUser, wantDomain         string
	}{
		{"plain user", "wcadmin", "s3cret", "s3cret", nil, "wcadmin", ""},
		{"domain user", `WCEMU\wcadmin`, "s3cret", "s3cret", nil, "wcadmin", "WCEMU"},
		{"upn", "wcadmin@wcemu.local", "s3cret", "s3cret", nil, "wcadmin@wcemu.local", ""},
		{"wrong password", "wcadmin", "wrong", "s3cret", ErrBadResponse, "wcadmin", ""},
		{"unicode password", "wcadmin", "pässwört€", "pässwört€", nil, "wcadmin", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			neg, err := ntlmssp.NewNegotiateMessage("", "")
			if err != nil {
				t.Fatal(err)
			}
			flags, err := ParseNegotiate(neg)
			if err != nil {
				t.Fatalf("parse negotiate: %v", err)
			}
			ch, err := NewChallenge("WCEMU", flags)
			if err != nil {
				t.Fatal(err)
			}
			auth, err := ntlmssp.NewAuthenticateMessage(ch.Message, tc.login, tc.password, nil)
			if err != nil {
				t.Fatalf("client rejected our challenge: %v", err)
			}
			a, err := ParseAuthenticate(auth)
			if err != nil {
				t.Fatalf("parse authenticate: %v", err)
			}
			if a.User != tc.wantUser || a.Domain != tc.wantDomain {
				t.Errorf("user %q domain %q, want %q %q", a.User, a.Domain, tc.wantUser, tc.wantDomain)
			}
			err = a.Verify(ch.ServerChallenge, tc.check)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("verify: %v, want %v", err, tc.wantErr)
			}
			// The same response must fail against another server challenge:
			// a replayed message from an older handshake proves nothing.
			if tc.wantErr == nil {
				other := ch.ServerChallenge
				other[0] ^= 0xff
				if err := a.Verify(other, tc.check); !errors.Is(err, ErrBadResponse) {
					t.Errorf("verify with another challenge: %v", err)
				}
			}
		})
	}
}

func TestRejects(t *testing.T) {
	cases := map[string][]byte{
		"empty":         nil,
		"bad signature": []byte("NTLMSSX\x00\x01\x00\x00\x00"),
		"type 9":        append([]byte("NTLMSSP\x00"), 9, 0, 0, 0),
		"short type 3":  append([]byte("NTLMSSP\x00"), 3, 0, 0, 0),
	}
	for name, b := range cases {
		if _, err := ParseAuthenticate(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An offset past the end must be an error, not a panic.
	b := make([]byte, 64)
	copy(b, signature)
	b[8] = 3
	b[20], b[24] = 40, 200 // NT response: 40 bytes at offset 200
	if _, err := ParseAuthenticate(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("out of range field: %v", err)
	}
	// Anonymous and v1 responses are refused.
	a := &Authenticate{}
	if err := a.Verify([8]byte{}, "x"); !errors.Is(err, ErrAnonymous) {
		t.Errorf("anonymous: %v", err)
	}
	a = &Authenticate{User: "u", NTResponse: make([]byte, 24)}
	if err := a.Verify([8]byte{}, "x"); !errors.Is(err, ErrNotV2) {
		t.Errorf("v1: %v", err)
	}
}

func FuzzParseAuthenticate(f *testing.F) {
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	ch, _ := NewChallenge("WCEMU", 0)
	auth, _ := ntlmssp.NewAuthenticateMessage(ch.Message, `D\u`, "p", nil)
	f.Add(auth)
	f.Add(neg)
	f.Add(ch.Message)
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAuthenticate(b)
		if err == nil {
			_ = a.Verify(ch.ServerChallenge, "p")
		}
		_, _ = ParseNegotiate(b)
	})
}
