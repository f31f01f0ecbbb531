package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DeriveURLs returns the upload, swap (update) and status links of a server
// from its base URL and flavor (wc-protocol.md §1.2–§1.5). The base gets a
// trailing slash if it has none.
func DeriveURLs(flavor, base string) (upload, update, status string, err error) {
	b, err := NormalizeBaseURL(base)
	if err != nil {
		return "", "", "", err
	}
	kind, err := ParseFlavor(flavor)
	if err != nil {
		return "", "", "", fmt.Errorf("unknown flavor: %w", err)
	}
	if kind == FlavorISAPI {
		// wc.dll has no upload of its own: the FoxPro server's wwMaint takes it.
		return b + "wc.wc?wwMaint~FileUpload", b + "wc.wc?_maintain~UpdateExe", b + "wc.wc?_maintain~ShowStatus", nil
	}
	// The module and the Web Server share the links.
	return b + "UploadExe.wc", b + "UpdateExe.wc", b + "ModuleAdministration.wc", nil
}

// NormalizeBaseURL checks an application's base URL and ends it with '/'.
// Error texts never repeat a user name or password written into the URL.
func NormalizeBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("is empty; give the application's base URL, e.g. https://host/App/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s is not a valid URL; give the application's base URL, e.g. https://host/App/", quote(redactURL(raw)))
	}
	if u.User != nil {
		return "", errors.New("contains a user name or password; remove it from the URL and use --user with 'wcdeploy login' or WCDEPLOY_PASSWORD")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%s must start with https:// (or http://), e.g. https://host/App/", quote(raw))
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%s has no host name, e.g. https://host/App/", quote(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("%s must be the application's folder without ?query or #fragment, e.g. https://host/App/; the links are derived from it (or set upload_url, update_url, status_url)", quote(raw))
	}
	lower := strings.ToLower(u.Path)
	if strings.HasSuffix(lower, ".wc") || strings.HasSuffix(lower, ".dll") {
		return "", fmt.Errorf("%s is a link, not the application's folder; use the folder (e.g. https://host/App/): the links are derived from it", quote(raw))
	}
	u.Scheme = scheme
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), nil
}

// CheckLink resolves an explicit upload, update or status link against the
// server's base URL and refuses what the server would misroute: a
// `_maintain~Action` query with anything appended (wc-protocol.md §1.1: the
// action would become "updateexe&t=1" and match nothing).
func CheckLink(raw, base string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s is not a valid URL", quote(redactURL(raw)))
	}
	if u.User != nil {
		return "", errors.New("contains a user name or password; remove it from the URL and use --user with 'wcdeploy login' or WCDEPLOY_PASSWORD")
	}
	if !u.IsAbs() {
		b, err := url.Parse(base)
		if err != nil || base == "" {
			return "", fmt.Errorf("%s is relative, and there is no server URL to resolve it against", quote(raw))
		}
		u = b.ResolveReference(u)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%s must be an http:// or https:// link", quote(raw))
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("%s has no host name", quote(raw))
	}
	if u.Fragment != "" {
		return "", fmt.Errorf("%s must not have a #fragment", quote(raw))
	}
	q := u.RawQuery
	if dq, err := url.QueryUnescape(q); err == nil {
		q = dq
	}
	if i := strings.Index(strings.ToLower(q), "_maintain"); i >= 0 {
		if j := strings.IndexByte(q, '&'); j >= 0 {
			return "", fmt.Errorf("%s has %q after the _maintain~ action; Web Connection would read the action as %q and not run it: remove everything from '&' on (a cache buster works only on the UpdateExe.wc form)",
				quote(raw), q[j:], actionOf(q))
		}
		if !strings.Contains(q[i:], "~") {
			return "", fmt.Errorf("%s has _maintain without ~Action (e.g. wc.wc?_maintain~UpdateExe)", quote(raw))
		}
	}
	u.Scheme = scheme
	return u.String(), nil
}

func actionOf(q string) string {
	parts := strings.Split(q, "~")
	if len(parts) < 2 {
		return ""
	}
	return strings.ToLower(parts[1])
}

// checkHealthURL accepts an absolute http(s) URL or a relative one (resolved
// per server later).
func checkHealthURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s is not a valid URL", quote(redactURL(raw)))
	}
	if u.User != nil {
		return errors.New("must not contain a user name or password")
	}
	if u.IsAbs() {
		s := strings.ToLower(u.Scheme)
		if (s != "http" && s != "https") || u.Hostname() == "" {
			return fmt.Errorf("%s must be an http:// or https:// URL, or a path relative to the server URL (e.g. default.wc)", quote(raw))
		}
	}
	return nil
}

// ResolveURL returns the health check's absolute URL for a server.
func (h Health) ResolveURL(serverURL string) (string, error) {
	ref, err := url.Parse(h.URL)
	if err != nil {
		return "", fmt.Errorf("health URL %s is not valid: %w", quote(redactURL(h.URL)), err)
	}
	if ref.IsAbs() {
		return ref.String(), nil
	}
	base, err := url.Parse(serverURL)
	if err != nil {
		return "", fmt.Errorf("server URL %s is not valid: %w", quote(redactURL(serverURL)), err)
	}
	return base.ResolveReference(ref).String(), nil
}

// redactURL hides anything between "//" and "@" so a password typed into a
// URL never reaches an error message.
func redactURL(raw string) string {
	i := strings.Index(raw, "//")
	if i < 0 {
		return raw
	}
	rest := raw[i+2:]
	end := len(rest)
	if k := strings.IndexAny(rest, "/?#"); k >= 0 {
		end = k
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		return raw[:i+2] + "REDACTED@" + rest[at+1:]
	}
	return raw
}
