package ingress

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// affinityConfig is what affinity and the session-cookie-* annotations
// say: the sticky-session cookie of an Ingress's paths.
type affinityConfig struct {
	on   bool
	mode string // "balanced" or "persistent"
	// name, path and domain of the cookie; path "" means the Ingress
	// path.
	name, path, domain string
	// maxAge and expires are seconds; 0 leaves them out.
	maxAge, expires int
	// sameSite is "", "None", "Lax" or "Strict"; conditionalSameSiteNone
	// leaves None out for clients known to reject it.
	sameSite                string
	conditionalSameSiteNone bool
	// secure forces the Secure attribute (it is set on HTTPS anyway).
	secure bool
	// changeOnFailure moves a session whose endpoint fails to another.
	changeOnFailure bool
}

// Affinity is the sticky-session cookie of a path, as the ingress
// selection policy takes it.
type Affinity struct {
	Name                    string `json:"name"`
	Path                    string `json:"path"`
	Domain                  string `json:"domain,omitempty"`
	MaxAge                  int    `json:"max_age,omitempty"`
	Expires                 int    `json:"expires,omitempty"`
	SameSite                string `json:"samesite,omitempty"`
	ConditionalSameSiteNone bool   `json:"conditional_samesite_none,omitempty"`
	Secure                  bool   `json:"secure,omitempty"`
	ChangeOnFailure         bool   `json:"change_on_failure,omitempty"`
}

// AffinityPolicy is the name of the reverse_proxy selection policy
// (http.reverse_proxy.selection_policies.<name>) that keeps sessions on
// one endpoint by a cookie.
const AffinityPolicy = "ingress_cookie"

var (
	cookieNameValue   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	cookiePathValue   = regexp.MustCompile(`^/[A-Za-z0-9_./~-]*$`)
	cookieDomainChars = regexp.MustCompile(`^\.?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
)

var affinityFamily = family{
	annotations: []annotationSpec{
		{name: "affinity", doc: "\"cookie\" keeps each client on one endpoint of the Ingress's Services with a cookie; an endpoint that goes away moves its clients. Default: none."},
		{name: "affinity-mode", doc: "balanced (default) or persistent.",
			differs: "Both keep a session on its endpoint while that endpoint is ready; balanced does not move sessions to endpoints added later."},
		{name: "session-cookie-name", doc: "The cookie's name (letters, digits, _ . -). Default INGRESSCOOKIE."},
		{name: "session-cookie-path", doc: "The cookie's Path. Default: the Ingress path (/ for a regular expression)."},
		{name: "session-cookie-domain", doc: "The cookie's Domain. Default: none (the host)."},
		{name: "session-cookie-max-age", doc: "The cookie's Max-Age, in seconds. Default: none (a session cookie)."},
		{name: "session-cookie-expires", doc: "Seconds from now for the cookie's Expires. Default: none."},
		{name: "session-cookie-samesite", doc: "The cookie's SameSite: None, Lax or Strict. Default: none."},
		{name: "session-cookie-conditional-samesite-none", doc: "\"true\" leaves SameSite=None out for clients known to reject it (Chrome 51-66, Safari on iOS 12 and macOS 10.14, UC Browser before 12.13.2). Default false."},
		{name: "session-cookie-secure", doc: "\"true\" sets Secure on every response; otherwise it is set on HTTPS responses. Default false."},
		{name: "session-cookie-change-on-failure", doc: "\"true\" moves a session to another endpoint when its endpoint fails; otherwise the request is retried on the same endpoint. Default false."},
		{name: "session-cookie-hash", doc: "Accepted (md5, sha1 or index) and has no effect: ingress-nginx removed it in 0.24 and ignores it since; the cookie's value is Caddy's own."},
	},
	parse: func(r *reader, c *ingressConfig) {
		a := &c.affinity
		if v, ok := r.value("affinity"); ok && v != "" {
			if v != "cookie" {
				r.invalid("affinity", fmt.Errorf("invalid value %s: want \"cookie\"", quoted(v)))
			} else {
				a.on = true
			}
		}
		a.mode, a.name = "balanced", "INGRESSCOOKIE"
		if v, ok := r.value("affinity-mode"); ok {
			if v != "balanced" && v != "persistent" {
				r.invalid("affinity-mode", fmt.Errorf("invalid value %s: want balanced or persistent", quoted(v)))
			} else {
				a.mode = v
			}
		}
		a.name = matchOr(r, "session-cookie-name", cookieNameValue, a.name, "a cookie name of letters, digits, _ . -")
		a.path = matchOr(r, "session-cookie-path", cookiePathValue, "", "a path such as /app")
		a.domain = matchOr(r, "session-cookie-domain", cookieDomainChars, "", "a domain such as example.com")
		a.maxAge = secondsOr(r, "session-cookie-max-age")
		a.expires = secondsOr(r, "session-cookie-expires")
		if v, ok := r.value("session-cookie-samesite"); ok && v != "" {
			switch strings.ToLower(v) {
			case "none":
				a.sameSite = "None"
			case "lax":
				a.sameSite = "Lax"
			case "strict":
				a.sameSite = "Strict"
			default:
				r.invalid("session-cookie-samesite", fmt.Errorf("invalid value %s: want None, Lax or Strict", quoted(v)))
			}
		}
		a.conditionalSameSiteNone, _ = r.parseBool("session-cookie-conditional-samesite-none")
		a.secure, _ = r.parseBool("session-cookie-secure")
		a.changeOnFailure, _ = r.parseBool("session-cookie-change-on-failure")
		if v, ok := r.value("session-cookie-hash"); ok && v != "" && v != "md5" && v != "sha1" && v != "index" {
			r.invalid("session-cookie-hash", fmt.Errorf("invalid value %s: want md5, sha1 or index (it has no effect either way)", quoted(v)))
		}
		if !a.on {
			for _, spec := range affinityFamilyNames[1:] {
				if r.has(spec) {
					r.warn(spec, "has no effect without affinity: cookie")
					break
				}
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		a := &c.affinity
		if !a.on {
			return
		}
		path := a.path
		if path == "" {
			path = s.path
			if path == "" || !cookiePathValue.MatchString(path) {
				path = "/"
			}
		}
		p.proxy.affinity = Affinity{
			Name: a.name, Path: path, Domain: a.domain, MaxAge: a.maxAge, Expires: a.expires,
			SameSite: a.sameSite, ConditionalSameSiteNone: a.conditionalSameSiteNone,
			Secure: a.secure, ChangeOnFailure: a.changeOnFailure,
		}
	},
}

// affinityFamilyNames are the annotations of affinityFamily, affinity
// first.
var affinityFamilyNames = []string{"affinity", "affinity-mode", "session-cookie-name", "session-cookie-path", "session-cookie-domain",
	"session-cookie-max-age", "session-cookie-expires", "session-cookie-samesite", "session-cookie-conditional-samesite-none",
	"session-cookie-secure", "session-cookie-change-on-failure"}

// matchOr returns the annotation name's value if it matches re, else def
// (reporting an invalid value, which wants what).
func matchOr(r *reader, name string, re *regexp.Regexp, def, what string) string {
	v, ok := r.value(name)
	if !ok || v == "" {
		return def
	}
	if !re.MatchString(v) {
		r.invalid(name, fmt.Errorf("invalid value %s: want %s", quoted(v), what))
		return def
	}
	return v
}

// secondsOr reads a number of seconds; 0 when unset or invalid.
func secondsOr(r *reader, name string) int {
	v, ok := r.value(name)
	if !ok || v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 10*365*86400 {
		r.invalid(name, fmt.Errorf("invalid value %s: want a number of seconds", quoted(v)))
		return 0
	}
	return n
}
