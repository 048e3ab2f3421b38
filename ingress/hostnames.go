package ingress

import (
	"fmt"
	"slices"

	"github.com/caddy-ingress/caddy-ingress/secrets"
)

// addHostNames settles the names that serve a host besides its own: the
// aliases of server-alias, and the other name of from-to-www-redirect,
// which becomes a host of its own that only redirects. Names, sorted,
// are the hosts with rules; it returns them with the redirecting hosts
// added, sorted. A name that is a host with rules, or already serves
// another host, is not used. Both get the host's certificate when it
// covers them.
func (t *translation) addHostNames(names []string) []string {
	taken := make(map[string]string) // alias → host
	for _, name := range names {
		hr := t.hosts[name]
		if hr.aliases == nil {
			continue
		}
		var kept []string
		for _, alias := range hr.aliases.value {
			switch {
			case t.hosts[alias] != nil:
				hr.aliasReader.warn("server-alias", fmt.Sprintf("alias %q of host %q is a host with rules of its own; not used", alias, name))
			case taken[alias] != "":
				hr.aliasReader.warn("server-alias", fmt.Sprintf("alias %q of host %q is already an alias of host %q; not used", alias, name, taken[alias]))
			default:
				taken[alias] = name
				kept = append(kept, alias)
				t.shareCertificate(name, alias)
			}
		}
		hr.aliases.value = kept
		if len(kept) == 0 {
			hr.aliases = nil
		}
	}
	out := names
	for _, name := range names {
		hr := t.hosts[name]
		if hr.wwwRedirect == "" {
			continue
		}
		peer := wwwPeer(name)
		if peer == "" || t.hosts[peer] != nil || taken[peer] != "" {
			continue
		}
		taken[peer] = name
		t.hosts[peer] = &hostRules{redirect: &Redirect{Host: name}}
		t.shareCertificate(name, peer)
		out = append(out, peer)
	}
	slices.Sort(out)
	return out
}

// shareCertificate serves the certificate of host for name too, when it
// covers name and name has none of its own, and counts name as a TLS host
// when host is one.
func (t *translation) shareCertificate(host, name string) {
	if t.hostHasTLS(host) {
		t.tlsHosts[name] = true
	}
	c := t.certs[host]
	if c == nil || t.certs[name] != nil {
		return
	}
	s := t.secret(c.value)
	if s == nil {
		return
	}
	if pair, err := t.keyPair(s); err == nil && secrets.Covers(pair.Leaf, name) {
		t.certs[name] = &owned[string]{c.value, c.owner}
	}
}
