package ingress

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// corsPolicy is what enable-cors and the cors-* annotations say; lists are
// canonical, comma-separated.
type corsPolicy struct {
	on bool
	// origins is "*" or the allowed origins, lowercase.
	origins, methods, headers, expose string
	credentials                       bool
	maxAge                            int
}

// CORSModule (http.handlers.<name>) answers CORS preflights and sets the
// CORS headers of responses.
const CORSModule = "ingress_cors"

const (
	corsDefaultMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	corsDefaultHeaders = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization"
	corsDefaultMaxAge  = 1728000
)

var (
	corsMethodsValue = regexp.MustCompile(`^([A-Za-z]+,?\s?)+$`)
	corsHeadersValue = regexp.MustCompile(`^(([A-Za-z0-9\-_]+|\*),?\s?)+$`)
	// corsOriginValue is one origin: a scheme, a host (with one leading
	// "*." label at most) and an optional port.
	corsOriginValue = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$`)
)

var corsFamily = family{
	annotations: []annotationSpec{
		{name: "enable-cors", doc: "\"true\" answers CORS preflights (OPTIONS from an allowed origin) with 204 at the edge and sets the CORS headers on the responses of allowed origins, replacing the backend's. The other cors-* annotations do nothing without it. Default false."},
		{name: "cors-allow-origin", doc: "Comma-separated origins such as https://app.example.com, https://*.example.com (one label) or http://localhost:3000, compared case-insensitively; * or an empty list allows all (the header is then * on every response). Entries without a scheme are left out. Default *."},
		{name: "cors-allow-methods", doc: "Access-Control-Allow-Methods. Default GET, PUT, POST, DELETE, PATCH, OPTIONS."},
		{name: "cors-allow-headers", doc: "Access-Control-Allow-Headers. Default DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization."},
		{name: "cors-expose-headers", doc: "Access-Control-Expose-Headers. Default none."},
		{name: "cors-allow-credentials", doc: "Access-Control-Allow-Credentials: true. Default true."},
		{name: "cors-max-age", doc: "Access-Control-Max-Age, in seconds. Default 1728000."},
	},
	parse: func(r *reader, c *ingressConfig) {
		p := &c.cors
		p.on, _ = r.parseBool("enable-cors")
		p.methods, p.headers, p.credentials, p.maxAge = corsDefaultMethods, corsDefaultHeaders, true, corsDefaultMaxAge
		p.origins = "*"
		if v, ok := r.value("cors-allow-origin"); ok {
			p.origins = corsOrigins(r, v)
		}
		p.methods = matchOr(r, "cors-allow-methods", corsMethodsValue, p.methods, "methods such as GET, POST")
		p.headers = matchOr(r, "cors-allow-headers", corsHeadersValue, p.headers, "header names such as X-Requested-With, Content-Type")
		p.expose = matchOr(r, "cors-expose-headers", corsHeadersValue, "", "header names such as X-Total-Count")
		if v, ok := r.parseBool("cors-allow-credentials"); ok {
			p.credentials = v
		}
		if v, ok := r.value("cors-max-age"); ok {
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				r.invalid("cors-max-age", fmt.Errorf("invalid value %s: want seconds", quoted(v)))
			} else {
				p.maxAge = n
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		if c.cors.on {
			p.headers.cors = c.cors
		}
	},
}

// corsOrigins reads cors-allow-origin: "*" when it allows all, else the
// valid origins, lowercase, sorted; entries without a scheme are left out
// (and reported), as ingress-nginx leaves them out.
func corsOrigins(r *reader, v string) string {
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.ToLower(strings.TrimSpace(o))
		switch {
		case o == "":
			continue
		case o == "*":
			return "*"
		case !corsOriginValue.MatchString(o):
			r.warn("cors-allow-origin", fmt.Sprintf("origin %s: want scheme://host[:port], such as https://app.example.com; left out", quoted(o)))
			continue
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return "*"
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}
