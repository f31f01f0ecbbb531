package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// SharedEndpoint is one scheme://host:port that the admin links of more
// than one server reach.
type SharedEndpoint struct {
	Origin  string   // scheme://host:port, the default port made explicit
	Servers []string // in profile order
}

// Warning says why sharing one endpoint breaks a deploy, and what to do.
func (e SharedEndpoint) Warning() string {
	return fmt.Sprintf("servers %s all reach %s: if that is a load balancer, one server's upload may land on one node and its swap on another, "+
		"which then holds its users for about 3 s and fails with nothing staged; point each server's url (or its upload_url, update_url "+
		"and status_url) at its own node, e.g. https://web1.internal/App/, and take nodes out of the balancer with rollout.hooks "+
		"(docs/rollouts.md, \"Behind a load balancer\"); two applications on one machine may share a host and port: then ignore this",
		strings.Join(e.Servers, ", "), e.Origin)
}

// SharedEndpoints lists the scheme+host+port combinations that the admin
// links (upload, update, status) of two or more servers share, in the order
// of their first server. Doctor and deploy warn about each.
func SharedEndpoints(servers []Server) []SharedEndpoint {
	var out []SharedEndpoint
	at := map[string]int{}
	for _, s := range servers {
		seen := map[string]bool{}
		for _, link := range []string{s.UploadURL, s.UpdateURL, s.StatusURL, s.URL} {
			o := origin(link)
			if o == "" || seen[o] {
				continue
			}
			seen[o] = true
			i, ok := at[o]
			if !ok {
				i = len(out)
				at[o] = i
				out = append(out, SharedEndpoint{Origin: o})
			}
			out[i].Servers = append(out[i].Servers, s.Name)
		}
	}
	shared := out[:0]
	for _, e := range out {
		if len(e.Servers) > 1 {
			shared = append(shared, e)
		}
	}
	return shared
}

// origin is scheme://host:port in lower case with the default port, or ""
// for a link that does not parse.
func origin(link string) string {
	u, err := url.Parse(link)
	if err != nil || u.Host == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
