package ingress

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// AuthRequestModule (http.handlers.<name>) asks an external service
// whether a request may pass, as ingress-nginx's auth-url does.
const AuthRequestModule = "ingress_auth_request"

// ExternalAuth are the settings of external authentication as the
// auth-* annotations spell them; the app-wide global auth has the same.
type ExternalAuth struct {
	URL, Method, Signin, SigninRedirectParam, ResponseHeaders string
	RequestRedirect, CacheKey, CacheDuration                  string
	AlwaysSetCookie                                           bool
}

// externalAuth is checked external authentication, in canonical form.
type externalAuth struct {
	// url and signin are templates (ParseURLTemplate).
	url, method, signin, redirectParam string
	// responseHeaders are canonical header names, comma-separated.
	responseHeaders string
	requestRedirect string
	// proxySetHeaders are the auth-proxy-set-headers entries, sorted, as
	// "name\x00value" lines joined by "\n".
	proxySetHeaders string
	cacheKey        string
	// cacheDuration are the status and duration lists, "|"-separated.
	cacheDuration   string
	alwaysSetCookie bool
	// cacheZone, with a cache key, keeps the answers of one Ingress path
	// apart from the others'.
	cacheZone string
	// snippetHeaders are the request headers of auth-snippet.
	snippetHeaders headerOps
}

const defaultAuthCacheDuration = "200 202 401 5m"

var (
	authMethods      = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|CONNECT|OPTIONS|TRACE)$`)
	authHeaderName   = regexp.MustCompile(`^[A-Za-z0-9\-_]+$`)
	authParamName    = regexp.MustCompile(`^[A-Za-z0-9_.~-]{1,64}$`)
	authStatusCode   = regexp.MustCompile(`^[1-5][0-9][0-9]$`)
	authDurationPart = regexp.MustCompile(`^[0-9]{1,9}(ms|s|m|h|d|w|M|y)$`)
)

var externalAuthFamily = family{
	annotations: []annotationSpec{
		{name: "auth-url", fails: denyPaths, doc: "An http or https URL asked about every request before it is proxied: a body-less GET with the client's headers and X-Original-URL, X-Original-Method, X-Auth-Request-Redirect, X-Real-IP, X-Forwarded-For, X-Request-ID and X-Sent-From. A 2xx answer lets the request through, 401 and 403 are returned to the client (401 with the service's WWW-Authenticate), anything else, or no answer, is 500. The URL may use $host, $http_host, $best_http_host, $scheme, $request_uri, $escaped_request_uri, $uri, $args, $remote_addr, $http_<header>, $cookie_<name> and $arg_<name>. An invalid URL makes the paths answer 503.",
			differs: "The URL may not reach loopback, link-local, unspecified or this host's own addresses (Caddy's admin endpoint among them) unless the app's auth_allow_networks lists them. https certificates are verified unless auth_tls_insecure_skip_verify is on (ingress-nginx does not verify them). Other nginx variables make the paths answer 503."},
		{name: "auth-method", fails: denyPaths, doc: "The method of the auth request instead of GET; it then also carries X-Original-URI and X-Scheme."},
		{name: "auth-signin", fails: keepDefault, doc: "Where a 401 of the auth service redirects the client (302), with the request's URL in the query parameter rd (or auth-signin-redirect-param) unless the URL already has it. Takes the variables of auth-url."},
		{name: "auth-signin-redirect-param", fails: keepDefault, doc: "The query parameter of auth-signin that carries the request's URL. Default rd."},
		{name: "auth-response-headers", fails: denyPaths, doc: "Comma-separated headers copied from the auth service's 2xx answer to the request sent to the backend, replacing the client's (a header the answer lacks is removed)."},
		{name: "auth-request-redirect", fails: denyPaths, doc: "The X-Auth-Request-Redirect header of the auth request. Default: the request URI."},
		{name: "auth-proxy-set-headers", fails: denyPaths, doc: "A ConfigMap (name, or namespace/name with allow_cross_namespace_secrets) whose entries are headers set on the auth request. Missing: the paths answer 503."},
		{name: "auth-always-set-cookie", fails: keepDefault, doc: "\"true\" returns the auth service's Set-Cookie on every response; otherwise only on 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308. Default false."},
		{name: "auth-cache-key", fails: keepDefault, doc: "Caches the auth service's answers by this key (nginx variables such as $cookie_session, $http_authorization; with text), per host and Ingress path."},
		{name: "auth-cache-duration", fails: denyPaths, doc: "How long answers are cached, by status: comma-separated entries of status codes then a duration (ms, s, m, h, d, w, M, y), such as \"200 202 10m, 401 1m\". Default 200 202 401 5m."},
		{name: "auth-keepalive", doc: "Accepted: connections to the auth service are always reused."},
		{name: "auth-keepalive-share-vars", doc: "Accepted; no effect (no nginx variables to share)."},
		{name: "auth-keepalive-requests", doc: "Accepted: connections to the auth service are always reused."},
		{name: "auth-keepalive-timeout", doc: "Accepted: idle connections to the auth service close after 90 s."},
		{name: "enable-global-auth", fails: keepDefault, doc: "\"false\" leaves the Ingress's paths out of the app's global_auth_url. Default true."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.parseBool("enable-global-auth"); ok && !v {
			c.noGlobalAuth = true
		}
		for _, name := range []string{"auth-keepalive", "auth-keepalive-requests", "auth-keepalive-timeout"} {
			if v, ok := r.value(name); ok {
				if _, err := strconv.Atoi(v); err != nil {
					r.warn(name, fmt.Sprintf("invalid value %s: want a number; ignored", quoted(v)))
				}
			}
		}
		if v, ok := r.value("auth-keepalive-share-vars"); ok {
			if _, err := strconv.ParseBool(v); err != nil {
				r.warn("auth-keepalive-share-vars", fmt.Sprintf("invalid value %s: want \"true\" or \"false\"; ignored", quoted(v)))
			}
		}
		if !r.has("auth-url") {
			for _, name := range []string{"auth-method", "auth-signin", "auth-response-headers", "auth-request-redirect", "auth-proxy-set-headers", "auth-cache-key", "auth-cache-duration"} {
				if r.has(name) {
					r.warn(name, "has no effect without auth-url")
				}
			}
			return
		}
		var e ExternalAuth
		e.URL, _ = r.value("auth-url")
		e.Method, _ = r.value("auth-method")
		e.Signin, _ = r.value("auth-signin")
		e.SigninRedirectParam, _ = r.value("auth-signin-redirect-param")
		e.ResponseHeaders, _ = r.value("auth-response-headers")
		e.RequestRedirect, _ = r.value("auth-request-redirect")
		e.CacheKey, _ = r.value("auth-cache-key")
		e.CacheDuration, _ = r.value("auth-cache-duration")
		e.AlwaysSetCookie, _ = r.parseBool("auth-always-set-cookie")
		a, ok := checkExternalAuth(&e, "auth-", func(name string, err error) { r.invalid(name, err) })
		if ok {
			c.extAuth = &a
		}
		if v, ok := r.value("auth-proxy-set-headers"); ok {
			c.authProxySetHeaders = v
		}
	},
	resolve: func(t *translation, r *reader, c *ingressConfig) {
		if c.extAuth == nil || c.authProxySetHeaders == "" {
			return
		}
		headers, err := t.authProxyHeaders(r.ing.Namespace, c.authProxySetHeaders)
		if err != nil {
			r.invalid("auth-proxy-set-headers", err)
			c.extAuth = nil
			return
		}
		c.extAuth.proxySetHeaders = headers
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		a := c.extAuth
		if a == nil && !c.noGlobalAuth && s.globalAuth != nil && !noAuthLocation(s) {
			a = s.globalAuth
		}
		if a == nil {
			return
		}
		p.access.extAuth = *a
		if a.cacheKey != "" && s.ing != nil {
			p.access.extAuth.cacheZone = s.ing.Namespace + "/" + s.ing.Name + " " + s.path
		}
	},
}

// noAuthLocation reports whether the path of s is under one of the app's
// no_auth_locations, which global auth leaves out.
func noAuthLocation(s *site) bool {
	for _, l := range s.opts.NoAuthLocations {
		if strings.HasPrefix(s.path, l) {
			return true
		}
	}
	return false
}

// CheckGlobalAuth checks the app's global auth settings; the error names
// the setting at fault.
func CheckGlobalAuth(e *ExternalAuth) error {
	_, err := globalAuth(e)
	return err
}

// globalAuth checks the app's global auth settings; nil without a URL.
func globalAuth(e *ExternalAuth) (*externalAuth, error) {
	if e == nil || e.URL == "" {
		return nil, nil
	}
	var first error
	a, ok := checkExternalAuth(e, "", func(name string, err error) {
		if first == nil {
			first = fmt.Errorf("%s: %v", strings.ReplaceAll(name, "-", "_"), err)
		}
	})
	if first != nil || !ok {
		return nil, first
	}
	return &a, nil
}

// checkExternalAuth checks e; each invalid setting is passed to fail by
// its name (prefix and the annotation's name without "auth-"). ok is
// false when there is no usable URL.
func checkExternalAuth(e *ExternalAuth, prefix string, fail func(name string, err error)) (a externalAuth, ok bool) {
	name := func(n string) string { return prefix + n }
	if err := checkURLTemplate(e.URL); err != nil {
		fail(name("url"), err)
		return a, false
	}
	a.url = e.URL
	ok = true
	if e.Method != "" {
		if !authMethods.MatchString(e.Method) {
			fail(name("method"), fmt.Errorf("invalid value %s: want an HTTP method such as GET or POST", quoted(e.Method)))
		}
		if e.Method != http.MethodGet {
			a.method = e.Method
		}
	}
	if e.Signin != "" {
		if err := checkURLTemplate(e.Signin); err != nil {
			fail(name("signin"), err)
		} else {
			a.signin = e.Signin
		}
	}
	a.redirectParam = "rd"
	if v := e.SigninRedirectParam; v != "" {
		if !authParamName.MatchString(v) {
			fail(name("signin-redirect-param"), fmt.Errorf("invalid value %s: want a query parameter name", quoted(v)))
		} else {
			a.redirectParam = v
		}
	}
	if v := e.ResponseHeaders; v != "" {
		var names []string
		for _, h := range strings.Split(v, ",") {
			h = strings.TrimSpace(h)
			if h == "" {
				continue
			}
			if !authHeaderName.MatchString(h) {
				fail(name("response-headers"), fmt.Errorf("invalid header name %s", quoted(h)))
				names = nil
				break
			}
			names = append(names, http.CanonicalHeaderKey(h))
		}
		a.responseHeaders = strings.Join(names, ",")
	}
	if v := e.RequestRedirect; v != "" {
		if !headerValue.MatchString(v) {
			fail(name("request-redirect"), fmt.Errorf("invalid value %s: want printable text without $", quoted(v)))
		} else {
			a.requestRedirect = v
		}
	}
	if v := e.CacheKey; v != "" {
		if _, err := ParseHashKey(v); err != nil {
			fail(name("cache-key"), err)
		} else {
			a.cacheKey = v
			durations, err := parseAuthCacheDuration(e.CacheDuration)
			if err != nil {
				fail(name("cache-duration"), err)
			}
			a.cacheDuration = durations
		}
	}
	a.alwaysSetCookie = e.AlwaysSetCookie
	return a, ok
}

// headerValue is a literal header value: printable ASCII, no $ (which
// nginx would expand).
var headerValue = regexp.MustCompile(`^[\x20-\x23\x25-\x7e]{1,1000}$`)

// parseAuthCacheDuration checks an auth-cache-duration value and returns
// its entries "|"-separated, each as "code ... duration ...".
func parseAuthCacheDuration(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return defaultAuthCacheDuration, nil
	}
	var entries []string
	for _, entry := range strings.Split(v, ",") {
		fields := strings.Fields(entry)
		if len(fields) == 0 {
			continue
		}
		seenDuration := false
		for _, f := range fields {
			switch {
			case authStatusCode.MatchString(f) && !seenDuration:
			case authDurationPart.MatchString(f):
				seenDuration = true
			default:
				return "", fmt.Errorf("invalid entry %s: want status codes, then a duration such as 5m", quoted(strings.TrimSpace(entry)))
			}
		}
		if !seenDuration {
			return "", fmt.Errorf("invalid entry %s: no duration", quoted(strings.TrimSpace(entry)))
		}
		entries = append(entries, strings.Join(fields, " "))
	}
	return strings.Join(entries, "|"), nil
}

// urlVars are the nginx variables a URL template may use.
var urlVars = []string{"host", "http_host", "best_http_host", "server_name", "scheme", "pass_access_scheme", "request_uri", "escaped_request_uri", "uri", "args", "query_string", "remote_addr"}

// ParseURLTemplate splits an auth-url or auth-signin value into text and
// the nginx variables of urlVars, $http_<header>, $cookie_<name> and
// $arg_<name>.
func ParseURLTemplate(v string) ([]HashKeyPart, error) {
	return splitTemplate(v, func(name string) (HashKeyPart, error) { return urlVarPart(v, name) })
}

// urlVarPart is the part of variable name of template v, one of those
// ParseURLTemplate allows.
func urlVarPart(v, name string) (HashKeyPart, error) {
	if slices.Contains(urlVars, name) {
		return HashKeyPart{Kind: name}, nil
	}
	part, err := hashVarPart(name)
	if err != nil || part.Kind == "text" {
		return part, fmt.Errorf("%s: unknown variable $%s", quoted(v), name)
	}
	return part, nil
}

// authURLChars are the characters a URL template may hold.
var authURLChars = regexp.MustCompile(`^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%{}]+$`)

// checkURLTemplate checks that v is an http or https URL with a host,
// once its variables are filled in.
func checkURLTemplate(v string) error {
	if !authURLChars.MatchString(v) {
		return fmt.Errorf("invalid URL %s: want an http or https URL", quoted(withoutUserinfo(v)))
	}
	parts, err := ParseURLTemplate(v)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Kind == "text" {
			b.WriteString(p.Name)
		} else {
			b.WriteString("x")
		}
	}
	u, err := url.Parse(b.String())
	if err == nil && u.User != nil {
		// Never quoted: problems are logged and shown by the status API.
		return fmt.Errorf("invalid URL %s: want an http or https URL without credentials", quoted(withoutUserinfo(v)))
	}
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || strings.Contains(u.Host, "..") {
		return fmt.Errorf("invalid URL %s: want an http or https URL with a host", quoted(withoutUserinfo(v)))
	}
	return nil
}

// withoutUserinfo returns v, a URL as written, with the user and password
// of its authority (user:password@) replaced by "…@", so that an error
// quoting it does not hold them.
func withoutUserinfo(v string) string {
	i := strings.Index(v, "://")
	if i < 0 {
		return v
	}
	rest := v[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		return v[:i+3] + "…@" + rest[at+1:]
	}
	return v
}
