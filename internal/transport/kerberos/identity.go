package kerberos

import (
	"fmt"
	"strings"
	"time"
)

// Identity describes the Kerberos identity a login would use. It holds no
// secret: names, paths and times only.
type Identity struct {
	// Source is keytab, ticket cache or password; empty when there is
	// nothing to log in with.
	Source string `json:"source,omitempty"`
	// Principal is the client principal the login would use.
	Principal string `json:"principal,omitempty"`
	// Config is the krb5.conf read ("" when none: KDCs from DNS).
	Config string `json:"config,omitempty"`
	// Keytab and KeytabPrincipals: the client keytab found and who is in it.
	Keytab           string   `json:"keytab,omitempty"`
	KeytabPrincipals []string `json:"keytab_principals,omitempty"`
	// CCache, CCachePrincipal and CCacheExpires: the ticket cache found.
	CCache          string    `json:"ccache,omitempty"`
	CCachePrincipal string    `json:"ccache_principal,omitempty"`
	CCacheExpires   time.Time `json:"ccache_expires,omitzero"`
	// SPN is the service principal checked; SPNOK says a ticket for it was
	// had; SPNError says why not.
	SPN      string `json:"spn,omitempty"`
	SPNOK    bool   `json:"spn_ok,omitempty"`
	SPNError string `json:"spn_error,omitempty"`
	// SPNErrorKind is what went wrong (KindSPN: the KDC knows no such
	// service principal).
	SPNErrorKind Kind `json:"spn_error_kind,omitempty"`
}

// Describe says which Kerberos identity a login with s would use. When spn
// is set and the identity needs no password (keytab or ticket cache), it
// asks the KDC for a ticket for spn (no request goes to the web server).
// It never reads or shows a password.
func Describe(s Settings, spn string) Identity {
	var id Identity
	cfg, cfgPath, err := loadConfig(s)
	if err != nil {
		id.SPNError = err.Error()
		return id
	}
	id.Config = cfgPath
	user, realm := splitUser(s.User, cfg)
	if kt, p := findKeytab(s); p != "" {
		id.Keytab = p
		if kt != nil {
			for _, e := range kt.Entries {
				name := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm
				if !contains(id.KeytabPrincipals, name) {
					id.KeytabPrincipals = append(id.KeytabPrincipals, name)
				}
			}
		}
	}
	if cc, p := loadCCache(s); p != "" {
		id.CCache = p
		if cc != nil {
			id.CCachePrincipal = cc.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + cc.DefaultPrincipal.Realm
			id.CCacheExpires = tgtEnd(cc)
		}
	}
	c, err := New(s, nil)
	switch {
	case err == ErrNoCredentials:
		if user != "" {
			id.Source, id.Principal = SourcePassword, user
			if realm != "" {
				id.Principal += "@" + realm
			}
		}
		return id
	case err != nil:
		id.SPNError = err.Error()
		return id
	}
	id.Source, id.Principal = c.Source(), c.Principal()
	if spn != "" {
		id.SPN = spn
		if _, err := c.Header(spn); err != nil {
			id.SPNError = err.Error()
			if ke, ok := err.(*Error); ok {
				id.SPNErrorKind = ke.Kind
			}
		} else {
			id.SPNOK = true
		}
	}
	return id
}

// String is one line for a terminal.
func (id Identity) String() string {
	if id.Source == "" {
		return "no Kerberos credentials (no keytab, no ticket cache, no user for a password login)"
	}
	s := fmt.Sprintf("%s from %s", id.Principal, id.Source)
	switch id.Source {
	case SourceKeytab:
		s += " " + id.Keytab
	case SourceCCache:
		s += " " + id.CCache
		if !id.CCacheExpires.IsZero() {
			s += ", expires " + id.CCacheExpires.Local().Format("2006-01-02 15:04")
		}
	}
	switch {
	case id.SPNOK:
		s += "; ticket for " + id.SPN + ": ok"
	case id.SPNError != "":
		s += "; " + id.SPNError
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
