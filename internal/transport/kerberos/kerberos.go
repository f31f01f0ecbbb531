// Package kerberos gets Kerberos service tickets for HTTP servers and turns
// them into SPNEGO "Authorization: Negotiate" headers, without cgo: from a
// keytab, the ticket cache that kinit filled, or a password. It follows the
// MIT conventions (KRB5_CONFIG, KRB5CCNAME, KRB5_CLIENT_KTNAME) so a machine
// set up for kinit and curl --negotiate works as it is.
//
// A Negotiate header built here is valid on its own: send it with the
// request itself (no 401 leg), so a request body crosses the wire once.
package kerberos

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// The environment variables MIT Kerberos (and so kinit, curl) honour.
const (
	EnvConfig       = "KRB5_CONFIG"
	EnvCCache       = "KRB5CCNAME"
	EnvClientKeytab = "KRB5_CLIENT_KTNAME"
)

// Sources of Kerberos credentials, in the order they are tried.
const (
	SourceKeytab   = "keytab"
	SourceCCache   = "ticket cache"
	SourcePassword = "password"
)

// Settings say where the credentials and krb5.conf are.
type Settings struct {
	// User is the profile's user: user@REALM, DOMAIN\user or user; empty
	// takes the principal of the keytab or ticket cache.
	User string
	// Keytab and Config are the profile's kerberos.keytab and
	// kerberos.config; empty falls back to the environment and the OS.
	Keytab, Config string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// NoStored leaves the keytab and the ticket cache alone: the password
	// only (login checks a password, not a keytab).
	NoStored bool
}

func (s Settings) getenv(k string) string {
	if s.Getenv == nil {
		return os.Getenv(k)
	}
	return s.Getenv(k)
}

// Client makes Negotiate headers for one user. It is safe for concurrent
// use.
type Client struct {
	mu        sync.Mutex
	cl        *client.Client
	source    string
	principal string
	expires   time.Time // ticket cache: the TGT's end time
	cfgPath   string
}

// Source says where the credentials came from: keytab, ticket cache or
// password.
func (c *Client) Source() string { return c.source }

// Principal is the client principal, user@REALM.
func (c *Client) Principal() string { return c.principal }

// SPN is the service principal for a server URL's host, HTTP/<host>,
// unless spn is set.
func SPN(host, spn string) string {
	if spn != "" {
		return spn
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return "HTTP/" + strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
}

// Header returns "Negotiate <token>" for spn: a fresh AP-REQ from a
// service ticket (cached after the first).
func (c *Client) Header(spn string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.source == SourceCCache && !c.expires.IsZero() && time.Now().After(c.expires) {
		return "", &Error{Kind: KindExpired, Principal: c.principal, SPN: spn, Detail: "the ticket expired at " + c.expires.Format(time.RFC3339)}
	}
	s := spnego.SPNEGOClient(c.cl, spn)
	if err := s.AcquireCred(); err != nil {
		return "", c.classify(err, spn)
	}
	tok, err := s.InitSecContext()
	if err != nil {
		return "", c.classify(err, spn)
	}
	b, err := tok.Marshal()
	if err != nil {
		return "", c.classify(err, spn)
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(b), nil
}

// ErrNoCredentials means neither a keytab nor a ticket cache is at hand and
// no password was given.
var ErrNoCredentials = errors.New("no Kerberos credentials")

// New finds the credentials: a keytab, then the ticket cache, then the
// password (when password returns one). It contacts no KDC: that happens on
// the first Header.
func New(s Settings, password func() (string, error)) (*Client, error) {
	cfg, cfgPath, err := loadConfig(s)
	if err != nil {
		return nil, err
	}
	user, realm := splitUser(s.User, cfg)
	if s.NoStored {
		return passwordClient(user, realm, cfgPath, cfg, password)
	}
	if kt, ktPath := findKeytab(s); kt != nil {
		if user == "" {
			user, realm = keytabPrincipal(kt, realm)
		}
		if keytabHas(kt, user, realm) {
			return &Client{cl: client.NewWithKeytab(user, realm, kt, cfg, client.DisablePAFXFAST(true)),
				source: SourceKeytab, principal: user + "@" + realm, cfgPath: cfgPath}, nil
		} else if s.Keytab != "" {
			return nil, &Error{Kind: KindConfig, Principal: user + "@" + realm,
				Detail: fmt.Sprintf("the keytab %s has no key for %s@%s (kerberos.keytab)", ktPath, user, realm)}
		}
	}
	if cc, _ := loadCCache(s); cc != nil && ccacheMatches(cc, user, realm) {
		cl, err := client.NewFromCCache(cc, cfg, client.DisablePAFXFAST(true))
		if err == nil {
			c := &Client{cl: cl, source: SourceCCache, cfgPath: cfgPath,
				principal: cc.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + cc.DefaultPrincipal.Realm}
			c.expires = tgtEnd(cc)
			return c, nil
		}
	}
	return passwordClient(user, realm, cfgPath, cfg, password)
}

// passwordClient is New's last resort: a ticket from the KDC for the
// password.
func passwordClient(user, realm, cfgPath string, cfg *config.Config, password func() (string, error)) (*Client, error) {
	if password == nil || user == "" {
		return nil, ErrNoCredentials
	}
	pw, err := password()
	if err != nil {
		return nil, err
	}
	if pw == "" {
		return nil, ErrNoCredentials
	}
	if realm == "" {
		return nil, &Error{Kind: KindConfig, Principal: user,
			Detail: "no realm: write the user as user@REALM or set default_realm in krb5.conf (kerberos.config)"}
	}
	return &Client{cl: client.NewWithPassword(user, realm, pw, cfg, client.DisablePAFXFAST(true)),
		source: SourcePassword, principal: user + "@" + realm, cfgPath: cfgPath}, nil
}

// HasStoredCredentials says whether a keytab or ticket cache for the user
// is at hand, without contacting a KDC and without reading a password.
func HasStoredCredentials(s Settings) bool {
	cfg, _, err := loadConfig(s)
	if err != nil || s.NoStored {
		return false
	}
	user, realm := splitUser(s.User, cfg)
	if kt, _ := findKeytab(s); kt != nil {
		if user == "" {
			user, realm = keytabPrincipal(kt, realm)
		}
		if keytabHas(kt, user, realm) {
			return true
		}
	}
	cc, _ := loadCCache(s)
	return cc != nil && ccacheMatches(cc, user, realm) && (tgtEnd(cc).IsZero() || time.Now().Before(tgtEnd(cc)))
}

// loadConfig reads krb5.conf: the profile's kerberos.config, KRB5_CONFIG,
// or the OS default. With none, a config that finds the realm's KDCs in DNS
// (as a domain-joined Windows machine can).
func loadConfig(s Settings) (*config.Config, string, error) {
	paths := []string{s.Config}
	if s.Config == "" {
		paths = filepath.SplitList(s.getenv(EnvConfig))
		if len(paths) == 0 {
			paths = defaultConfigPaths(s)
		}
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			if s.Config != "" {
				return nil, "", &Error{Kind: KindConfig, Detail: fmt.Sprintf("cannot read kerberos.config: %v", err)}
			}
			continue
		}
		cfg, err := config.Load(p)
		if err != nil {
			return nil, "", &Error{Kind: KindConfig, Detail: fmt.Sprintf("cannot parse %s: %v", p, err)}
		}
		return cfg, p, nil
	}
	cfg := config.New()
	cfg.LibDefaults.DNSLookupKDC = true
	cfg.LibDefaults.UDPPreferenceLimit = 1
	if d := s.getenv("USERDNSDOMAIN"); d != "" { // Windows, in a domain
		cfg.LibDefaults.DefaultRealm = strings.ToUpper(d)
	}
	return cfg, "", nil
}

func defaultConfigPaths(s Settings) []string {
	switch runtime.GOOS {
	case "windows":
		return []string{filepath.Join(s.getenv("ProgramData"), "MIT", "Kerberos5", "krb5.ini"), `C:\Windows\krb5.ini`}
	case "darwin":
		return []string{"/etc/krb5.conf", "/Library/Preferences/edu.mit.Kerberos"}
	}
	return []string{"/etc/krb5.conf"}
}

// splitUser turns the profile's user into a principal name and realm:
// user@realm, DOMAIN\user (the default realm) or user.
func splitUser(user string, cfg *config.Config) (string, string) {
	realm := cfg.LibDefaults.DefaultRealm
	if _, u, ok := strings.Cut(user, `\`); ok {
		user = u
	}
	if u, r, ok := strings.Cut(user, "@"); ok {
		user, realm = u, strings.ToUpper(r)
	}
	return user, realm
}

func findKeytab(s Settings) (*keytab.Keytab, string) {
	p := s.Keytab
	if p == "" {
		p = s.getenv(EnvClientKeytab)
	}
	p = strings.TrimPrefix(p, "FILE:")
	if p == "" {
		return nil, ""
	}
	kt, err := keytab.Load(p)
	if err != nil {
		return nil, p
	}
	return kt, p
}

func keytabPrincipal(kt *keytab.Keytab, realm string) (string, string) {
	for _, e := range kt.Entries {
		if len(e.Principal.Components) == 1 && (realm == "" || strings.EqualFold(e.Principal.Realm, realm)) {
			return e.Principal.Components[0], e.Principal.Realm
		}
	}
	return "", realm
}

func keytabHas(kt *keytab.Keytab, user, realm string) bool {
	for _, e := range kt.Entries {
		if strings.EqualFold(strings.Join(e.Principal.Components, "/"), user) && strings.EqualFold(e.Principal.Realm, realm) {
			return true
		}
	}
	return false
}

// ccachePath is KRB5CCNAME (FILE: caches only), else the MIT default
// /tmp/krb5cc_<uid>.
func ccachePath(s Settings) string {
	p := s.getenv(EnvCCache)
	switch {
	case strings.HasPrefix(p, "FILE:"):
		return strings.TrimPrefix(p, "FILE:")
	case p != "" && !strings.Contains(p, ":"):
		return p
	case p != "":
		return "" // KEYRING:, KCM:, API:, MSLSA: are not files
	}
	if runtime.GOOS == "windows" {
		return ""
	}
	return filepath.Join(os.TempDir(), "krb5cc_"+strconv.Itoa(os.Getuid()))
}

func loadCCache(s Settings) (*credentials.CCache, string) {
	p := ccachePath(s)
	if p == "" {
		return nil, s.getenv(EnvCCache)
	}
	cc, err := credentials.LoadCCache(p)
	if err != nil {
		return nil, p
	}
	return cc, p
}

func ccacheMatches(cc *credentials.CCache, user, realm string) bool {
	if user == "" {
		return true
	}
	name := cc.DefaultPrincipal.PrincipalName.PrincipalNameString()
	return strings.EqualFold(name, user) && (realm == "" || strings.EqualFold(cc.DefaultPrincipal.Realm, realm))
}

func tgtEnd(cc *credentials.CCache) time.Time {
	for _, c := range cc.GetEntries() {
		if len(c.Server.PrincipalName.NameString) > 0 && c.Server.PrincipalName.NameString[0] == "krbtgt" {
			return c.EndTime
		}
	}
	return time.Time{}
}

// CanUsePassword says whether a password login to a KDC is possible: a
// krb5.conf was found (or the machine is in a Windows domain) and the
// user's realm is known, with KDCs listed for it or looked up in DNS.
func CanUsePassword(s Settings) bool {
	cfg, path, err := loadConfig(s)
	if err != nil || s.User == "" || (path == "" && s.getenv("USERDNSDOMAIN") == "") {
		return false
	}
	_, realm := splitUser(s.User, cfg)
	if realm == "" {
		return false
	}
	if cfg.LibDefaults.DNSLookupKDC {
		return true
	}
	for _, r := range cfg.Realms {
		if strings.EqualFold(r.Realm, realm) && len(r.KDC) > 0 {
			return true
		}
	}
	return false
}
