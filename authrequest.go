package caddyingress

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(AuthRequest{})
}

// AuthRequest asks an external service whether a request may pass, as
// ingress-nginx's auth-url does: a body-less request with the client's
// headers and the X-Original-* headers. A 2xx answer lets the request
// through with ResponseHeaders copied from the answer; 401 and 403 are
// the client's answer (401 redirects to Signin when set); anything else,
// or no answer, is 500.
type AuthRequest struct {
	// URL of the auth service, with the nginx variables that
	// ingress.ParseURLTemplate allows.
	URL string `json:"url"`
	// Method of the auth request. Default GET.
	Method string `json:"method,omitempty"`
	// Signin, when set, is where a 401 redirects (302), with the
	// request's URL in the query parameter RedirectParam.
	Signin        string `json:"signin,omitempty"`
	RedirectParam string `json:"redirect_param,omitempty"`
	// ResponseHeaders are copied from a 2xx answer to the request,
	// replacing the client's.
	ResponseHeaders []string `json:"response_headers,omitempty"`
	// RequestRedirect is the X-Auth-Request-Redirect header; default the
	// request URI.
	RequestRedirect string `json:"request_redirect,omitempty"`
	// ProxySetHeaders are set on the auth request, literally.
	ProxySetHeaders map[string]string `json:"proxy_set_headers,omitempty"`
	// ProxySetHeaderTemplates are set on the auth request after
	// ProxySetHeaders, with the nginx variables of
	// ingress.ParseHeaderTemplate filled in from the client's request.
	ProxySetHeaderTemplates map[string]string `json:"proxy_set_header_templates,omitempty"`
	// AlwaysSetCookie returns the answer's Set-Cookie with every
	// response status rather than with 2xx and 3xx ones only.
	AlwaysSetCookie bool `json:"always_set_cookie,omitempty"`
	// CacheKey (a template of nginx variables) caches answers for the
	// CacheDurations ("code ... duration" entries), kept apart by
	// CacheZone and the request's host.
	CacheKey       string   `json:"cache_key,omitempty"`
	CacheDurations []string `json:"cache_durations,omitempty"`
	CacheZone      string   `json:"cache_zone,omitempty"`

	url, signin, cacheKey []ingress.HashKeyPart
	headerTemplates       map[string][]ingress.HashKeyPart
	durations             map[int]time.Duration
	app                   *App
}

// CaddyModule returns the Caddy module information.
func (AuthRequest) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.AuthRequestModule,
		New: func() caddy.Module { return new(AuthRequest) },
	}
}

// Provision checks the settings and finds the ingress app.
func (h *AuthRequest) Provision(ctx caddy.Context) error {
	var err error
	if h.url, err = ingress.ParseURLTemplate(h.URL); err != nil {
		return fmt.Errorf("url: %v", err)
	}
	if h.Signin != "" {
		if h.signin, err = ingress.ParseURLTemplate(h.Signin); err != nil {
			return fmt.Errorf("signin: %v", err)
		}
		if h.RedirectParam == "" {
			h.RedirectParam = "rd"
		}
	}
	if h.CacheKey != "" {
		if h.cacheKey, err = ingress.ParseHashKey(h.CacheKey); err != nil {
			return fmt.Errorf("cache_key: %v", err)
		}
		if h.durations, err = parseCacheDurations(h.CacheDurations); err != nil {
			return fmt.Errorf("cache_durations: %v", err)
		}
	}
	for name, v := range h.ProxySetHeaderTemplates {
		parts, err := ingress.ParseHeaderTemplate(v)
		if err != nil {
			return fmt.Errorf("proxy_set_header_templates[%s]: %v", name, err)
		}
		if h.headerTemplates == nil {
			h.headerTemplates = make(map[string][]ingress.HashKeyPart)
		}
		h.headerTemplates[http.CanonicalHeaderKey(name)] = parts
	}
	for i, name := range h.ResponseHeaders {
		h.ResponseHeaders[i] = http.CanonicalHeaderKey(name)
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	h.app = app.(*App)
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *AuthRequest) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return serveChecked(h, w, r, next)
}

// authAnswer is what the auth service answered: its status and the
// headers that matter.
type authAnswer struct {
	status int
	header http.Header
}

// answerHeaders are the headers of an answer that are kept, beside the
// ResponseHeaders.
var answerHeaders = []string{"Set-Cookie", "Www-Authenticate"}

func (h *AuthRequest) check(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *refusal) {
	var key string
	var a *authAnswer
	if h.cacheKey != nil {
		key = h.CacheZone + "\x00" + requestHost(r.Host) + "\x00" + expand(h.cacheKey, r)
		a = h.app.authCache.get(key, time.Now())
	}
	if a == nil {
		var err error
		if a, err = h.ask(r); err != nil {
			return nil, nil, &refusal{status: http.StatusInternalServerError, err: fmt.Errorf("auth request: %v", err)}
		}
		if d, ok := h.durations[a.status]; ok && a.header.Get("Set-Cookie") == "" {
			h.app.authCache.put(key, a, time.Now().Add(d))
		}
	}
	cookies := a.header.Values("Set-Cookie")
	switch {
	case a.status >= 200 && a.status < 300:
		for _, name := range h.ResponseHeaders {
			if v := a.header.Values(name); len(v) > 0 {
				r.Header[name] = v
			} else {
				delete(r.Header, name)
			}
		}
		if len(cookies) > 0 {
			always := h.AlwaysSetCookie
			w = onFinalHeader(w, func(hdr http.Header, status int) {
				if always || addStatuses[status] {
					hdr["Set-Cookie"] = append(hdr["Set-Cookie"], cookies...)
				}
			})
		}
		return w, r, nil
	case a.status == http.StatusUnauthorized && h.signin != nil:
		return nil, nil, &refusal{status: http.StatusFound, header: http.Header{"Location": {h.signinURL(r)}, "Set-Cookie": cookies}}
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		f := &refusal{status: a.status, header: http.Header{}, err: fmt.Errorf("auth service answered %d", a.status)}
		if v := a.header.Values("Www-Authenticate"); a.status == http.StatusUnauthorized && len(v) > 0 {
			f.header["Www-Authenticate"] = v
		}
		if h.AlwaysSetCookie && len(cookies) > 0 {
			f.header["Set-Cookie"] = cookies
		}
		return nil, nil, f
	default:
		return nil, nil, &refusal{status: http.StatusInternalServerError, err: fmt.Errorf("auth service answered %d", a.status)}
	}
}

// hopHeaders are not passed to the auth service nor to mirrors.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "X-Forwarded-Proto"}

// endToEndHeaders returns a copy of h without hopHeaders and the headers
// its Connection header names.
func endToEndHeaders(h http.Header) http.Header {
	out := h.Clone()
	for _, name := range hopHeaders {
		delete(out, name)
	}
	if c := h.Get("Connection"); c != "" {
		for _, name := range strings.Split(c, ",") {
			out.Del(strings.TrimSpace(name))
		}
	}
	return out
}

// ask sends the auth request for r.
func (h *AuthRequest) ask(r *http.Request) (*authAnswer, error) {
	target := expand(h.url, r)
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || requestHost(u.Host) == "" && !strings.HasPrefix(u.Host, "[") {
		// Not quoted: filled in, it may hold the client's headers.
		return nil, fmt.Errorf("auth-url, filled in for this request, is not an http or https URL with a host")
	}
	method := h.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(r.Context(), method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header = endToEndHeaders(r.Header)
	req.Host = u.Hostname()
	client, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	req.Header.Set("X-Original-Url", scheme+"://"+r.Host+r.RequestURI)
	req.Header.Set("X-Original-Method", r.Method)
	req.Header.Set("X-Sent-From", "nginx-ingress-controller")
	req.Header.Set("X-Real-Ip", client)
	req.Header.Set("X-Forwarded-For", client)
	if h.RequestRedirect != "" {
		req.Header.Set("X-Auth-Request-Redirect", h.RequestRedirect)
	} else {
		req.Header.Set("X-Auth-Request-Redirect", r.RequestURI)
	}
	if h.Method != "" {
		req.Header.Set("X-Original-Uri", r.RequestURI)
		req.Header.Set("X-Scheme", requestScheme(r))
	}
	for k, v := range h.ProxySetHeaders {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	for k, parts := range h.headerTemplates {
		setExpanded(req.Header, k, parts, r)
	}
	resp, err := h.app.authClient.do(r.Context(), req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	a := &authAnswer{status: resp.StatusCode, header: make(http.Header)}
	for _, name := range append(answerHeaders, h.ResponseHeaders...) {
		if v := resp.Header.Values(name); len(v) > 0 {
			a.header[name] = v
		}
	}
	return a, nil
}

// signinURL is the sign-in redirect of r: Signin with the request's URL
// in RedirectParam, unless Signin's query already has that parameter.
func (h *AuthRequest) signinURL(r *http.Request) string {
	signin := expand(h.signin, r)
	u, err := url.Parse(signin)
	if err == nil && u.Query().Get(h.RedirectParam) != "" {
		return signin
	}
	sep := "?"
	if err == nil && u.RawQuery != "" || strings.Contains(signin, "?") {
		sep = "&"
	}
	return signin + sep + h.RedirectParam + "=" + requestScheme(r) + "://" + r.Host + escapeURIComponent(r.RequestURI)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*AuthRequest)(nil)
	_ caddyhttp.MiddlewareHandler = (*AuthRequest)(nil)
	_ accessCheck                 = (*AuthRequest)(nil)
)
