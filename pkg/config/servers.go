package config

import (
	"fmt"
	"net/url"
	"strings"
)

// ServerSPN is the Kerberos service principal set for the named server
// (spn:), or "".
func (p Profile) ServerSPN(name string) string {
	for _, s := range p.Servers {
		if strings.EqualFold(s.Name, name) {
			return s.SPN
		}
	}
	return ""
}

type fileServer struct {
	Name      string         `mapstructure:"name"`
	URL       string         `mapstructure:"url"`
	Flavor    string         `mapstructure:"flavor"`
	Group     string         `mapstructure:"group"`
	UploadURL string         `mapstructure:"upload_url"`
	UpdateURL string         `mapstructure:"update_url"`
	StatusURL string         `mapstructure:"status_url"`
	SPN       string         `mapstructure:"spn"`
	Vars      map[string]any `mapstructure:"vars"`
}

// serverEntry is a server with where it came from, for errors.
type serverEntry struct {
	s   Server
	src string
}

// servers builds the server list: --url / WCDEPLOY_URL replaces the file's
// list with one server; --server and --group narrow it; explicit links from
// flags or env apply to the one server left; then every link is derived or
// checked.
func (m *merger) servers(raw any, flavor string) ([]Server, error) {
	list, err := m.serverEntries(raw, flavor)
	if err != nil {
		return nil, err
	}
	if err := uniqueNames(list); err != nil {
		return nil, err
	}
	if list, err = m.narrow(list); err != nil {
		return nil, err
	}
	if err := m.linkOverrides(list); err != nil {
		return nil, err
	}
	out := make([]Server, 0, len(list))
	for _, e := range list {
		s, err := withLinks(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// serverEntries is the one server of --url / WCDEPLOY_URL, else the file's list.
func (m *merger) serverEntries(raw any, flavor string) ([]serverEntry, error) {
	if v, lay, src := m.pick(flagURL, nil, ""); lay != fromDefault {
		base, err := NormalizeBaseURL(v.(string))
		if err != nil {
			return nil, usageErr("%s: the URL %s", src, err)
		}
		u, _ := url.Parse(base)
		return []serverEntry{{Server{Name: u.Host, URL: base, Flavor: flavor}, src}}, nil
	}
	if raw == nil {
		return nil, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, usageErr("%s: must be a list of servers (- name: web1, url: https://...), not %s; a list keeps names as written", m.fileKey("servers"), describe(raw))
	}
	list := make([]serverEntry, 0, len(items))
	for i, item := range items {
		e, err := m.fileServer(fmt.Sprintf("servers[%d]", i), item, flavor)
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return list, nil
}

// fileServer reads one entry of the file's servers list.
func (m *merger) fileServer(at string, item any, flavor string) (serverEntry, error) {
	key := m.fileKey(at)
	var fs fileServer
	if err := decodeStrict(item, &fs); err != nil {
		return serverEntry{}, usageErr("%s: %s; keys: name, url, flavor, group, upload_url, update_url, status_url, spn, vars", m.strictKey(at, err), err)
	}
	if fs.URL == "" {
		return serverEntry{}, usageErr("%s.url: is required, e.g. https://web1.example.com/App/", key)
	}
	base, err := NormalizeBaseURL(fs.URL)
	if err != nil {
		return serverEntry{}, usageErr("%s: %s", m.fileKey(at+".url"), err)
	}
	s := Server{Name: strings.TrimSpace(fs.Name), URL: base, Flavor: strings.TrimSpace(fs.Flavor),
		Group: strings.TrimSpace(fs.Group), UploadURL: fs.UploadURL, UpdateURL: fs.UpdateURL, StatusURL: fs.StatusURL, SPN: strings.TrimSpace(fs.SPN)}
	if s.Vars, err = serverVars(fs.Vars); err != nil {
		return serverEntry{}, usageErr("%s.%s", key, err)
	}
	if s.Name == "" {
		u, _ := url.Parse(base)
		s.Name = u.Host
	}
	if s.Flavor == "" {
		s.Flavor = flavor
	} else if s.Flavor, err = ParseFlavor(s.Flavor); err != nil {
		return serverEntry{}, usageErr("%s: %s", m.fileKey(at+".flavor"), err)
	}
	return serverEntry{s, key}, nil
}

// uniqueNames refuses two servers of one name (names are case-insensitive).
func uniqueNames(list []serverEntry) error {
	seen := map[string]string{}
	for _, e := range list {
		ln := strings.ToLower(e.s.Name)
		if prev, ok := seen[ln]; ok {
			return usageErr("%s: server name %q is used twice (also %s); names are case-insensitive and default to the URL's host: give each server a distinct name", e.src, e.s.Name, prev)
		}
		seen[ln] = e.src
	}
	return nil
}

// narrow keeps the servers --server and --group select: each given filter
// must match, and together they must leave a server.
func (m *merger) narrow(list []serverEntry) ([]serverEntry, error) {
	names, nsrc := m.listValue(flagServer)
	groups, gsrc := m.listValue(flagGroup)
	if len(names) == 0 && len(groups) == 0 {
		return list, nil
	}
	var all, allGroups []string
	for _, e := range list {
		all = append(all, e.s.Name)
		if e.s.Group != "" && !containsFold(allGroups, e.s.Group) {
			allGroups = append(allGroups, e.s.Group)
		}
	}
	for _, n := range names {
		if !containsFold(all, n) {
			return nil, usageErr("%s: no server named %q in profile %q; servers: %s", nsrc, n, m.profile, listOrNone(all))
		}
	}
	for _, g := range groups {
		if !containsFold(allGroups, g) {
			return nil, usageErr("%s: no server in group %q in profile %q; groups: %s", gsrc, g, m.profile, listOrNone(allGroups))
		}
	}
	var kept []serverEntry
	for _, e := range list {
		if (len(names) == 0 || containsFold(names, e.s.Name)) && (len(groups) == 0 || containsFold(groups, e.s.Group)) {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return nil, usageErr("%s and %s together select no server; servers: %s", nsrc, gsrc, listOrNone(all))
	}
	return kept, nil
}

// linkOverrides applies links given by flag or env, which name exactly one
// server's links.
func (m *merger) linkOverrides(list []serverEntry) error {
	for _, l := range []struct {
		flag string
		set  func(*Server, string)
	}{
		{flagUploadURL, func(s *Server, v string) { s.UploadURL = v }},
		{flagUpdateURL, func(s *Server, v string) { s.UpdateURL = v }},
		{flagStatusURL, func(s *Server, v string) { s.StatusURL = v }},
	} {
		v, lay, src := m.pick(l.flag, nil, "")
		if lay == fromDefault {
			continue
		}
		if len(list) != 1 {
			return usageErr("%s applies to one server, but %d are selected; add --server NAME, or set the link per server in wcdeploy.yaml", src, len(list))
		}
		l.set(&list[0].s, v.(string))
		list[0].src = src
	}
	return nil
}

// withLinks derives the links a server leaves out and checks the ones it gives.
func withLinks(e serverEntry) (Server, error) {
	s := e.s
	up, upd, st, err := DeriveURLs(s.Flavor, s.URL)
	if err != nil {
		return s, usageErr("%s: %s", e.src, err)
	}
	for _, l := range []struct {
		key     string
		ptr     *string
		derived string
	}{{"upload_url", &s.UploadURL, up}, {"update_url", &s.UpdateURL, upd}, {"status_url", &s.StatusURL, st}} {
		if strings.TrimSpace(*l.ptr) == "" {
			*l.ptr = l.derived
			continue
		}
		v, err := CheckLink(*l.ptr, s.URL)
		if err != nil {
			return s, usageErr("%s (server %q): %s: %s", e.src, s.Name, l.key, err)
		}
		*l.ptr = v
	}
	return s, nil
}

// listValue returns a repeatable flag's values, else the comma-separated
// environment variable, with where they came from.
func (m *merger) listValue(flag string) ([]string, string) {
	if v, ok := m.flagList(flag); ok {
		var out []string
		for _, s := range v {
			out = append(out, splitList(s)...)
		}
		return out, "--" + flag
	}
	env := envName(flag)
	if v := m.getenv(env); v != "" {
		return splitList(v), "environment variable " + env
	}
	return nil, ""
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}
