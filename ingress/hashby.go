package ingress

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// hashConfig is what upstream-hash-by and its subset annotations say.
type hashConfig struct {
	// by is the key template, such as "$request_uri".
	by string
	// subsetSize, when set, hashes to a subset of that many endpoints
	// and picks one of them at random.
	subsetSize int
}

// HashPolicy is the name of the reverse_proxy selection policy
// (http.reverse_proxy.selection_policies.<name>) that picks endpoints by a
// consistent hash of request values.
const HashPolicy = "ingress_hash"

// hashByChars are the characters ingress-nginx allows in upstream-hash-by.
var hashByChars = regexp.MustCompile(`^[A-Za-z0-9\-_${}]+$`)

var hashByFamily = family{
	annotations: []annotationSpec{
		{name: "upstream-hash-by", fails: ignoreIngress, doc: "Picks the endpoint by a consistent hash of request values, so that equal values go to the same endpoint while endpoints come and go: nginx variables $request_uri, $uri, $host, $remote_addr (the client, after trusted_proxies), $http_<header>, $cookie_<name> and $arg_<name>, alone or together, with text. Wins over load-balance; affinity wins over it.",
			differs: "Other nginx variables are reported and the annotation is not used. Rendezvous hashing rather than ketama: as consistent, not the same endpoint for a value as ingress-nginx picks."},
		{name: "upstream-hash-by-subset", doc: "\"true\" hashes to a subset of endpoints and picks one of them at random. Default false."},
		{name: "upstream-hash-by-subset-size", doc: "The size of that subset. Default 3."},
	},
	parse: func(r *reader, c *ingressConfig) {
		h := &c.hash
		v, ok := r.value("upstream-hash-by")
		if !ok || v == "" {
			return
		}
		if !hashByChars.MatchString(v) {
			r.invalid("upstream-hash-by", fmt.Errorf("invalid value %s: want nginx variables such as $request_uri", quoted(v)))
			return
		}
		if _, err := ParseHashKey(v); err != nil {
			r.warn("upstream-hash-by", err.Error()+"; not used")
			return
		}
		h.by = v
		if subset, _ := r.parseBool("upstream-hash-by-subset"); subset {
			h.subsetSize = 3
			if s, ok := r.value("upstream-hash-by-subset-size"); ok {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 || n > 100 {
					r.invalid("upstream-hash-by-subset-size", fmt.Errorf("invalid value %s: want a number from 1 to 100", quoted(s)))
				} else {
					h.subsetSize = n
				}
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		p.proxy.hash = c.hash
	},
}

// HashKeyPart is one part of a hash key: a request value or text.
type HashKeyPart struct {
	// Kind is "text", "request_uri", "uri", "host", "remote_addr",
	// "http", "cookie" or "arg".
	Kind string
	// Name is the text, or the header, cookie or argument name.
	Name string
}

// hashVar matches one nginx variable, $name or ${name}.
var hashVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)`)

// ParseHashKey splits an upstream-hash-by value into its parts.
func ParseHashKey(v string) ([]HashKeyPart, error) {
	parts, err := splitTemplate(v, hashVarPart)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 || !slicesContainsVar(parts) {
		return nil, fmt.Errorf("%s: no variable to hash", quoted(v))
	}
	return parts, nil
}

// splitTemplate splits v into text and the nginx variables ($name or
// ${name}) that varPart accepts.
func splitTemplate(v string, varPart func(name string) (HashKeyPart, error)) ([]HashKeyPart, error) {
	var parts []HashKeyPart
	last := 0
	for _, m := range hashVar.FindAllStringSubmatchIndex(v, -1) {
		if m[0] > last {
			parts = append(parts, HashKeyPart{Kind: "text", Name: v[last:m[0]]})
		}
		var name string
		if m[2] < 0 {
			name = v[m[4]:m[5]]
		} else {
			name = v[m[2]:m[3]]
		}
		part, err := varPart(name)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
		last = m[1]
	}
	if last < len(v) {
		parts = append(parts, HashKeyPart{Kind: "text", Name: v[last:]})
	}
	for _, p := range parts {
		if p.Kind == "text" && strings.ContainsAny(p.Name, "${}") {
			return nil, fmt.Errorf("%s: a $ or brace that is not a variable", quoted(v))
		}
	}
	return parts, nil
}

func slicesContainsVar(parts []HashKeyPart) bool {
	for _, p := range parts {
		if p.Kind != "text" {
			return true
		}
	}
	return false
}

func hashVarPart(name string) (HashKeyPart, error) {
	switch name {
	case "request_uri", "uri", "host":
		return HashKeyPart{Kind: name}, nil
	case "remote_addr", "binary_remote_addr":
		return HashKeyPart{Kind: "remote_addr"}, nil
	}
	for _, prefix := range []string{"http_", "cookie_", "arg_"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" {
			return HashKeyPart{Kind: strings.TrimSuffix(prefix, "_"), Name: rest}, nil
		}
	}
	return HashKeyPart{}, fmt.Errorf("nginx variable $%s is not supported (want $request_uri, $uri, $host, $remote_addr, $http_<header>, $cookie_<name> or $arg_<name>)", name)
}
