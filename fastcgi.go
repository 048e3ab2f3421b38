package caddyingress

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy/fastcgi"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(new(FastCGITransport))
}

// FastCGITransport is the reverse_proxy transport of backends that speak
// FastCGI (ingress-nginx's backend-protocol FCGI): Caddy's own fastcgi
// transport, made to send the params that ingress-nginx sends. Those are
// nginx's fastcgi_params file, where it differs from what Caddy's
// transport sends on its own: SCRIPT_NAME is $fastcgi_script_name,
// DOCUMENT_URI the path, REDIRECT_STATUS 200, and PATH_INFO and
// PATH_TRANSLATED are empty. DOCUMENT_ROOT and SCRIPT_FILENAME are empty
// too: a backend has no use for the controller's directories, and
// ingress-nginx sends no SCRIPT_FILENAME unless asked to. Params then
// adds to them and replaces them. The request headers are sent as
// HTTP_* params, without Proxy (httpoxy), as Caddy's transport sends
// them; endpoints come from reverse_proxy's upstreams, as for any
// transport.
//
// Param values are data: the transport computes the variables of each
// value for the request and sends the result as it is. Nothing in them is
// a Caddy placeholder.
type FastCGITransport struct {
	// Index is appended to a path that ends in "/" in SCRIPT_NAME and
	// $fastcgi_script_name (nginx's fastcgi_index). Default: none.
	Index string `json:"index,omitempty"`

	// Params are the FastCGI params to send besides the defaults above,
	// replacing those of the same name: each a name (letters, digits and
	// _) and a value made of literal text and variables, among
	// ingress.FastCGIVars.
	Params []ingress.FastCGIParam `json:"params,omitempty"`

	// DialTimeout, ReadTimeout and WriteTimeout bound connecting to the
	// backend and each read from and write to it. Default: Caddy's (3s
	// to connect, no limit to read or write).
	DialTimeout  caddy.Duration `json:"dial_timeout,omitempty"`
	ReadTimeout  caddy.Duration `json:"read_timeout,omitempty"`
	WriteTimeout caddy.Duration `json:"write_timeout,omitempty"`

	// params are the defaults and Params, each once, by name.
	params []fastcgiParam
	fcgi   *fastcgi.Transport
}

// fastcgiParam is a param with its placeholder: the replacer key under
// which RoundTrip puts the param's value for Caddy's transport to read.
type fastcgiParam struct {
	key   string
	value []ingress.FastCGIPart
}

// fastcgiDefaults are the params of nginx's fastcgi_params that Caddy's
// transport sends otherwise, or does not send.
var fastcgiDefaults = []ingress.FastCGIParam{
	{Name: "SCRIPT_NAME", Value: []ingress.FastCGIPart{{Var: "fastcgi_script_name"}}},
	{Name: "DOCUMENT_URI", Value: []ingress.FastCGIPart{{Var: "document_uri"}}},
	{Name: "DOCUMENT_ROOT"},
	{Name: "SCRIPT_FILENAME"},
	{Name: "PATH_INFO"},
	{Name: "PATH_TRANSLATED"},
	{Name: "REDIRECT_STATUS", Value: []ingress.FastCGIPart{{Text: "200"}}},
}

// fastcgiParamName is what a param name may be.
var fastcgiParamName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// fastcgiKeyPrefix starts the replacer keys of the params.
const fastcgiKeyPrefix = "ingress_fastcgi."

// CaddyModule returns the Caddy module information.
func (*FastCGITransport) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.transport." + ingress.FastCGITransportModule,
		New: func() caddy.Module { return new(FastCGITransport) },
	}
}

// Provision checks the params and provisions Caddy's fastcgi transport.
func (t *FastCGITransport) Provision(ctx caddy.Context) error {
	if t.Index != "" && strings.ContainsAny(t.Index, "/\x00") {
		return fmt.Errorf("index %q: want a file name", t.Index)
	}
	env := make(map[string]string)
	t.params = nil
	for _, p := range append(slices.Clone(fastcgiDefaults), t.Params...) {
		if !fastcgiParamName.MatchString(p.Name) {
			return fmt.Errorf("param %q: want a name of letters, digits and _", p.Name)
		}
		for _, part := range p.Value {
			if part.Var != "" && !slices.Contains(ingress.FastCGIVars, part.Var) {
				return fmt.Errorf("param %s: unknown variable %q", p.Name, part.Var)
			}
		}
		key := fastcgiKeyPrefix + p.Name
		if _, dup := env[p.Name]; dup {
			i := slices.IndexFunc(t.params, func(q fastcgiParam) bool { return q.key == key })
			t.params[i].value = p.Value
			continue
		}
		// The only placeholder Caddy's transport expands: ours, whose
		// value it writes as it is.
		env[p.Name] = "{" + key + "}"
		t.params = append(t.params, fastcgiParam{key: key, value: p.Value})
	}
	t.fcgi = &fastcgi.Transport{
		// Not the process's working directory, which Caddy's default
		// would send; DOCUMENT_ROOT and SCRIPT_FILENAME are replaced.
		Root:         "/",
		EnvVars:      env,
		DialTimeout:  t.DialTimeout,
		ReadTimeout:  t.ReadTimeout,
		WriteTimeout: t.WriteTimeout,
	}
	return t.fcgi.Provision(ctx)
}

// RoundTrip computes the params of r and sends it to the backend.
func (t *FastCGITransport) RoundTrip(r *http.Request) (*http.Response, error) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return nil, fmt.Errorf("fastcgi: request without replacer")
	}
	vars := fastcgiVars{r: r, index: t.Index}
	var b strings.Builder
	for _, p := range t.params {
		b.Reset()
		for _, part := range p.value {
			if part.Var != "" {
				b.WriteString(vars.get(part.Var))
			} else {
				b.WriteString(part.Text)
			}
		}
		repl.Set(p.key, b.String())
	}
	return t.fcgi.RoundTrip(r)
}

// fastcgiVars are the nginx variables of a request.
type fastcgiVars struct {
	r     *http.Request
	index string
	uri   string
}

func (v *fastcgiVars) get(name string) string {
	switch name {
	case "uri", "document_uri":
		return v.path()
	case "fastcgi_script_name":
		p := v.path()
		if v.index != "" && strings.HasSuffix(p, "/") {
			p += v.index
		}
		return p
	case "request_uri":
		if orig, ok := v.r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
			return orig.URL.RequestURI()
		}
		return v.r.URL.RequestURI()
	case "request_method":
		return v.r.Method
	case "query_string", "args", "scheme", "host":
		// As every other annotation's nginx variables (writeVar).
		var b strings.Builder
		writeVar(&b, ingress.HashKeyPart{Kind: name}, v.r)
		return b.String()
	}
	return ""
}

// path is nginx's $uri: the path, decoded, with dot segments resolved
// and slashes merged, as Caddy's transport cleans it.
func (v *fastcgiVars) path() string {
	if v.uri == "" {
		v.uri = caddyhttp.NormalizedPath(v.r.URL.Path, true)
	}
	return v.uri
}

// DefaultBufferSizes is that of Caddy's fastcgi transport: request
// bodies are buffered, as php-fpm needs their length.
func (t *FastCGITransport) DefaultBufferSizes() (int64, int64) {
	return t.fcgi.DefaultBufferSizes()
}

// RequiresContentLength is that of Caddy's fastcgi transport.
func (t *FastCGITransport) RequiresContentLength() bool {
	return t.fcgi.RequiresContentLength()
}

// Interface guards
var (
	_ caddy.Provisioner                           = (*FastCGITransport)(nil)
	_ http.RoundTripper                           = (*FastCGITransport)(nil)
	_ reverseproxy.BufferedTransport              = (*FastCGITransport)(nil)
	_ reverseproxy.ContentLengthRequiredTransport = (*FastCGITransport)(nil)
)
