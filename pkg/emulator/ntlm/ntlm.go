// Package ntlm is the server side of NTLM (MS-NLMP) as IIS Windows
// authentication performs it: it answers a NEGOTIATE message with a CHALLENGE
// carrying a random server challenge and target information, parses the
// client's AUTHENTICATE message and verifies its NTLMv2 response against a
// known password. It exists so the emulator can prove that clients really
// complete the handshake, instead of accepting any token.
package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// Message types.
const (
	TypeNegotiate    = 1
	TypeChallenge    = 2
	TypeAuthenticate = 3
)

// Negotiate flags used by the challenge (MS-NLMP 2.2.2.5).
const (
	flagUnicode        = 0x00000001
	flagOEM            = 0x00000002
	flagRequestTarget  = 0x00000004
	flagNTLM           = 0x00000200
	flagAlwaysSign     = 0x00008000
	flagTargetDomain   = 0x00010000
	flagExtendedSec    = 0x00080000
	flagTargetInfo     = 0x00800000
	flagVersion        = 0x02000000
	flag128            = 0x20000000
	flag56             = 0x80000000
	challengeFlagsBase = flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetDomain |
		flagExtendedSec | flagTargetInfo | flagVersion | flag128 | flag56
)

var signature = []byte("NTLMSSP\x00")

// Errors callers can test with errors.Is.
var (
	ErrMalformed   = errors.New("malformed NTLM message")
	ErrNotV2       = errors.New("only NTLMv2 responses are accepted")
	ErrAnonymous   = errors.New("anonymous NTLM logon is not accepted")
	ErrBadResponse = errors.New("the NTLMv2 response does not match the password")
)

// MessageType returns the type (1, 2 or 3) of an NTLM message.
func MessageType(b []byte) (int, error) {
	if len(b) < 12 || !bytes.Equal(b[:8], signature) {
		return 0, ErrMalformed
	}
	t := binary.LittleEndian.Uint32(b[8:12])
	if t < TypeNegotiate || t > TypeAuthenticate {
		return 0, fmt.Errorf("%w: unknown message type %d", ErrMalformed, t)
	}
	return int(t), nil
}

// ParseNegotiate checks a NEGOTIATE message and returns its flags.
func ParseNegotiate(b []byte) (uint32, error) {
	t, err := MessageType(b)
	if err != nil {
		return 0, err
	}
	if t != TypeNegotiate || len(b) < 16 {
		return 0, fmt.Errorf("%w: expected a NEGOTIATE message", ErrMalformed)
	}
	return binary.LittleEndian.Uint32(b[12:16]), nil
}

// Challenge is one CHALLENGE message and the server challenge inside it,
// which the server must remember for the connection.
type Challenge struct {
	ServerChallenge [8]byte
	Message         []byte
}

// NewChallenge builds a CHALLENGE for target (a NetBIOS domain or computer
// name) in answer to a NEGOTIATE with clientFlags, with a fresh random
// server challenge.
func NewChallenge(target string, clientFlags uint32) (*Challenge, error) {
	var c Challenge
	if _, err := rand.Read(c.ServerChallenge[:]); err != nil {
		return nil, fmt.Errorf("ntlm: no random server challenge: %w", err)
	}
	c.Message = buildChallenge(target, clientFlags, c.ServerChallenge, time.Now())
	return &c, nil
}

func buildChallenge(target string, clientFlags uint32, sc [8]byte, now time.Time) []byte {
	flags := uint32(challengeFlagsBase)
	if clientFlags&flagUnicode != 0 || clientFlags&flagOEM == 0 {
		flags |= flagUnicode
	} else {
		flags |= flagOEM
	}
	upper := strings.ToUpper(target)
	name := encodeString(upper, flags)
	dns := strings.ToLower(target)

	var ti bytes.Buffer
	av := func(id uint16, v []byte) {
		_ = binary.Write(&ti, binary.LittleEndian, id)
		_ = binary.Write(&ti, binary.LittleEndian, uint16(len(v)))
		ti.Write(v)
	}
	av(2, utf16le(upper)) // MsvAvNbDomainName
	av(1, utf16le(upper)) // MsvAvNbComputerName
	av(4, utf16le(dns))   // MsvAvDnsDomainName
	av(3, utf16le(dns))   // MsvAvDnsComputerName
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, uint64(now.UnixNano()/100)+116444736000000000)
	av(7, ts) // MsvAvTimestamp
	av(0, nil)

	const headerLen = 56
	b := make([]byte, headerLen, headerLen+len(name)+ti.Len())
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], TypeChallenge)
	putField(b[12:], len(name), headerLen)
	binary.LittleEndian.PutUint32(b[20:], flags)
	copy(b[24:32], sc[:])
	putField(b[40:], ti.Len(), headerLen+len(name))
	// Version: Windows 10.0 build 17763, NTLM revision 15.
	copy(b[48:56], []byte{10, 0, 0x63, 0x45, 0, 0, 0, 15})
	b = append(b, name...)
	b = append(b, ti.Bytes()...)
	return b
}

func putField(b []byte, n, off int) {
	binary.LittleEndian.PutUint16(b[0:], uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

// Authenticate is a parsed AUTHENTICATE message.
type Authenticate struct {
	User        string
	Domain      string
	Workstation string
	LMResponse  []byte
	NTResponse  []byte
	Flags       uint32
}

// ParseAuthenticate parses an AUTHENTICATE message. Every offset is checked
// against the message length: the bytes come from the network.
func ParseAuthenticate(b []byte) (*Authenticate, error) {
	t, err := MessageType(b)
	if err != nil {
		return nil, err
	}
	if t != TypeAuthenticate || len(b) < 64 {
		return nil, fmt.Errorf("%w: expected an AUTHENTICATE message", ErrMalformed)
	}
	field := func(at int) ([]byte, error) {
		n := int(binary.LittleEndian.Uint16(b[at:]))
		off := int(binary.LittleEndian.Uint32(b[at+4:]))
		if n == 0 {
			return nil, nil
		}
		if off < 0 || off > len(b) || n > len(b)-off {
			return nil, fmt.Errorf("%w: field at %d points outside the message", ErrMalformed, at)
		}
		return b[off : off+n], nil
	}
	a := &Authenticate{Flags: binary.LittleEndian.Uint32(b[60:64])}
	var raw [5][]byte
	for i, at := range []int{12, 20, 28, 36, 44} {
		if raw[i], err = field(at); err != nil {
			return nil, err
		}
	}
	a.LMResponse, a.NTResponse = raw[0], raw[1]
	a.Domain = decodeString(raw[2], a.Flags)
	a.User = decodeString(raw[3], a.Flags)
	a.Workstation = decodeString(raw[4], a.Flags)
	return a, nil
}

// Verify checks the NTLMv2 response against password and the server
// challenge that was sent on this connection.
func (a *Authenticate) Verify(serverChallenge [8]byte, password string) error {
	if a.User == "" && len(a.NTResponse) == 0 {
		return ErrAnonymous
	}
	if len(a.NTResponse) <= 24 {
		// 24 bytes is an NTLMv1 response; v1 is broken and not offered.
		return ErrNotV2
	}
	proof, blob := a.NTResponse[:16], a.NTResponse[16:]
	want := ProofStr(password, a.User, a.Domain, serverChallenge, blob)
	if !hmac.Equal(proof, want) {
		return ErrBadResponse
	}
	return nil
}

// NTHash is MD4(UTF-16LE(password)).
func NTHash(password string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	return h.Sum(nil)
}

// V2Hash is HMAC-MD5(NT hash, UTF-16LE(upper(user) + domain)).
func V2Hash(password, user, domain string) []byte {
	m := hmac.New(md5.New, NTHash(password))
	m.Write(utf16le(strings.ToUpper(user) + domain))
	return m.Sum(nil)
}

// ProofStr is NTProofStr = HMAC-MD5(v2 hash, server challenge + blob).
func ProofStr(password, user, domain string, serverChallenge [8]byte, blob []byte) []byte {
	m := hmac.New(md5.New, V2Hash(password, user, domain))
	m.Write(serverChallenge[:])
	m.Write(blob)
	return m.Sum(nil)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func encodeString(s string, flags uint32) []byte {
	if flags&flagUnicode != 0 {
		return utf16le(s)
	}
	return []byte(s)
}

func decodeString(b []byte, flags uint32) string {
	if flags&flagUnicode == 0 {
		return string(b)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
