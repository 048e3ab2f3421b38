package ingress

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// HeadersModule (http.handlers.<name>) sets literal request and response
// headers, and answers fixed responses: what the snippet subset,
// custom-headers and the app's header options ask for.
const HeadersModule = "ingress_headers"

// headerOps are literal header changes in canonical form: lines of
// "op\x00name\x00value" joined by "\n", in order. Ops: "set", "add",
// "add-always", "del" (response); "req-set", "req-del", "req-set-vars"
// (request; the value of req-set-vars is a ParseHeaderTemplate template).
type headerOps string

func (h headerOps) with(op, name, value string) headerOps {
	line := op + "\x00" + name + "\x00" + value
	if h == "" {
		return headerOps(line)
	}
	return h + "\n" + headerOps(line)
}

// snippetReturn is the fixed answer of a return directive.
type snippetReturn struct {
	code int
	// text is the body, or the Location of a redirect.
	text string
}

// snippetConfig is what the snippets say, once checked.
type snippetConfig struct {
	// location is configuration-snippet; server is server-snippet.
	location, server snippetPart
	// auth are the headers auth-snippet sets on the auth request.
	auth headerOps
}

type snippetPart struct {
	headers headerOps
	ret     snippetReturn
}

var snippetFamily = family{
	annotations: []annotationSpec{
		{name: "configuration-snippet", fails: denyPaths, doc: "nginx directives for the Ingress's paths. A safe subset is translated: more_set_headers \"Name: value\" (response headers, replacing the backend's), more_clear_headers (names, with a trailing * for a prefix), add_header Name value [always] (added to 2xx and 3xx responses, or to all with always), proxy_set_header and more_set_input_headers (request headers; an empty value removes one), and return code [text or URL]. Header values may hold the nginx variables $host, $http_host, $scheme, $request_uri, $uri, $args, $remote_addr, $req_id (the X-Request-ID), $http_<header>, $cookie_<name> and $arg_<name>, filled in per request as data; other values are literal. Any other directive makes the paths answer 503, with a problem that quotes it and names the annotation that does the same when there is one.",
			differs: "ingress-nginx refuses every snippet by default and passes them to nginx unchecked when allowed. Values with nginx variables ($) are refused, but for the header values' variables listed. return answers after the access checks, not before them. The app's snippets drop option drops a snippet with other directives instead, and serves the rest of the Ingress."},
		{name: "server-snippet", fails: denyPaths, doc: "As configuration-snippet, for every path of the Ingress's hosts; the oldest Ingress of a host sets it. A configuration-snippet's directives apply after it."},
		{name: "auth-snippet", fails: denyPaths, doc: "With auth-url: proxy_set_header Name value and more_set_input_headers \"Name: value\" set headers of the auth request, with the variables configuration-snippet allows there (such as proxy_set_header X-Forwarded-Host $http_host). Any other directive makes the paths answer 503."},
	},
	parse: func(r *reader, c *ingressConfig) {
		for _, s := range []struct {
			name string
			part *snippetPart
			auth bool
		}{{"server-snippet", &c.snippet.server, false}, {"configuration-snippet", &c.snippet.location, false}, {"auth-snippet", nil, true}} {
			v, ok := r.value(s.name)
			if !ok || strings.TrimSpace(v) == "" {
				continue
			}
			part, err := parseSnippet(v, s.auth)
			if err != nil {
				if r.dropSnippets {
					r.warn(s.name, err.Error()+"; the snippet is dropped (the app's snippets option)")
					continue
				}
				r.fail(s.name, denyPaths, err.Error())
				continue
			}
			if s.auth {
				if !r.has("auth-url") {
					r.warn(s.name, "has no effect without auth-url")
				}
				c.snippet.auth = part.headers
			} else {
				*s.part = part
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		h := &p.headers
		for _, part := range []*snippetPart{s.serverSnippet, &c.snippet.location} {
			if part == nil {
				continue
			}
			if part.headers != "" {
				h.ops = joinOps(h.ops, part.headers)
			}
			if part.ret.code != 0 {
				p.access.ret = part.ret
			}
		}
		if c.snippet.auth != "" && p.access.extAuth.url != "" {
			p.access.extAuth.snippetHeaders = c.snippet.auth
		}
	},
}

func joinOps(a, b headerOps) headerOps {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "\n" + b
}

// snippetAlternatives name the annotation that does what a refused
// directive does.
var snippetAlternatives = map[string]string{
	"rewrite": "rewrite-target", "proxy_read_timeout": "proxy-read-timeout", "proxy_send_timeout": "proxy-send-timeout",
	"proxy_connect_timeout": "proxy-connect-timeout", "client_max_body_size": "proxy-body-size", "proxy_buffering": "proxy-buffering",
	"proxy_request_buffering": "proxy-request-buffering", "proxy_buffer_size": "proxy-buffer-size", "allow": "whitelist-source-range",
	"deny": "denylist-source-range", "auth_basic": "auth-type", "auth_basic_user_file": "auth-secret", "auth_request": "auth-url",
	"limit_req": "limit-rps", "limit_conn": "limit-connections", "proxy_next_upstream": "proxy-next-upstream",
	"proxy_redirect": "proxy-redirect-from", "proxy_cookie_path": "proxy-cookie-path", "proxy_cookie_domain": "proxy-cookie-domain",
	"proxy_ssl_verify": "proxy-ssl-verify", "proxy_ssl_name": "proxy-ssl-name", "proxy_http_version": "proxy-http-version",
	"error_page": "custom-http-errors", "proxy_intercept_errors": "custom-http-errors", "proxy_hide_header": "configuration-snippet's more_clear_headers",
	"add_trailer": "", "ssl_ciphers": "ssl-ciphers", "access_log": "enable-access-log", "server_name": "server-alias",
}

// snippetName is a header name a snippet may set.
var snippetName = regexp.MustCompile(`^[A-Za-z0-9!#%&'*+.^_|~-]{1,256}$`)

// parseSnippet checks nginx snippet text against the subset; the error
// quotes the first directive outside it. auth allows only request headers.
func parseSnippet(text string, auth bool) (snippetPart, error) {
	var part snippetPart
	stmts, err := splitDirectives(text)
	if err != nil {
		return part, err
	}
	for _, args := range stmts {
		name := args[0]
		refuse := func(why string) error {
			msg := fmt.Sprintf("directive %s %s", quoted(strings.Join(args, " ")), why)
			if alt, ok := snippetAlternatives[name]; ok && alt != "" {
				msg += "; the " + alt + " annotation does the same"
			}
			return fmt.Errorf("%s", msg)
		}
		headerValues := name == "proxy_set_header" || name == "more_set_input_headers" ||
			!auth && (name == "more_set_headers" || name == "add_header")
		for _, a := range args[1:] {
			if !strings.Contains(a, "$") {
				continue
			}
			if !headerValues {
				return part, refuse("uses an nginx variable, and only literal values are translated")
			}
			if _, err := ParseHeaderTemplate(a); err != nil {
				return part, refuse("uses an nginx variable that is not translated (" + headerVarList + " are)")
			}
		}
		switch {
		case name == "proxy_set_header" && len(args) == 3:
			if !snippetName.MatchString(args[1]) || !requestHeaderValue(args[2]) {
				return part, refuse("is not a header name and literal value")
			}
			op := "req-set"
			if args[2] == "" {
				op = "req-del"
			} else if strings.Contains(args[2], "$") {
				op = "req-set-vars"
			}
			part.headers = part.headers.with(op, http.CanonicalHeaderKey(args[1]), args[2])
		case name == "more_set_input_headers" && len(args) > 1:
			if !part.addPairs("req-set", args[1:]) {
				return part, refuse("is not a list of \"Name: value\" headers")
			}
		case auth:
			return part, refuse("is not supported in auth-snippet (only proxy_set_header and more_set_input_headers are)")
		case name == "more_set_headers" && len(args) > 1:
			if !part.addPairs("set", args[1:]) {
				return part, refuse("is not a list of \"Name: value\" headers (options such as -s and -t are not supported)")
			}
		case name == "more_clear_headers" && len(args) > 1:
			for _, a := range args[1:] {
				k := strings.TrimSuffix(a, "*")
				if !snippetName.MatchString(k) || strings.HasPrefix(a, "-") {
					return part, refuse("is not a list of header names (options such as -s and -t are not supported)")
				}
				part.headers = part.headers.with("del", http.CanonicalHeaderKey(k), strings.Repeat("*", len(a)-len(k)))
			}
		case name == "add_header" && (len(args) == 3 || len(args) == 4 && args[3] == "always"):
			if !snippetName.MatchString(args[1]) || !requestHeaderValue(args[2]) {
				return part, refuse("is not a header name and literal value")
			}
			op := "add"
			if len(args) == 4 {
				op = "add-always"
			}
			if strings.Contains(args[2], "$") {
				op += "-vars"
			}
			part.headers = part.headers.with(op, http.CanonicalHeaderKey(args[1]), args[2])
		case name == "return" && (len(args) == 2 || len(args) == 3):
			code, err := strconv.Atoi(args[1])
			if err != nil || code < 200 || code > 599 || len(args[1]) != 3 {
				return part, refuse("needs a status from 200 to 599")
			}
			text := ""
			if len(args) == 3 {
				text = args[2]
			}
			redirect := code == 301 || code == 302 || code == 303 || code == 307 || code == 308
			if redirect && !absoluteURL.MatchString(text) || !redirect && !literalBody(text) {
				return part, refuse("needs an http or https URL for a redirect, or printable text")
			}
			part.ret = snippetReturn{code: code, text: text}
		default:
			return part, refuse("is not supported")
		}
	}
	return part, nil
}

// addPairs adds op for each "Name: value" of args; false if one is not
// such a pair (or is an option such as -s).
func (part *snippetPart) addPairs(op string, args []string) bool {
	for _, a := range args {
		k, v, ok := strings.Cut(a, ":")
		v = strings.TrimSpace(v)
		if !ok || !snippetName.MatchString(k) || !requestHeaderValue(v) || strings.HasPrefix(a, "-") {
			return false
		}
		o := op
		if strings.Contains(v, "$") {
			o += "-vars"
		}
		part.headers = part.headers.with(o, http.CanonicalHeaderKey(k), v)
	}
	return true
}

// headerVarList names the nginx variables of ParseHeaderTemplate, for
// problems.
const headerVarList = "$host, $http_host, $scheme, $request_uri, $uri, $args, $remote_addr, $req_id, $http_<header>, $cookie_<name>, $arg_<name> and the like"

// ParseHeaderTemplate splits the value of a header that a snippet sets
// (proxy_set_header, more_set_input_headers, more_set_headers, add_header)
// into text and the nginx variables that ParseURLTemplate allows, and
// $req_id: ingress-nginx's request ID, the X-Request-ID sent to the
// backend (the client's, or a new one). The values are filled in by our
// handlers, per request, as data.
func ParseHeaderTemplate(v string) ([]HashKeyPart, error) {
	return splitTemplate(v, func(name string) (HashKeyPart, error) {
		if name == "req_id" {
			return HashKeyPart{Kind: "req_id"}, nil
		}
		return urlVarPart(v, name)
	})
}

var absoluteURL = regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9\-._~!&'()*+,;=:@/%?]*)?$`)

func literalValue(v string) bool {
	return v == "" || headerValue.MatchString(v)
}

// requestHeaderValue is a literal value, or printable text with the
// variables of ParseHeaderTemplate.
func requestHeaderValue(v string) bool {
	if literalValue(v) {
		return true
	}
	if !printableValue.MatchString(v) {
		return false
	}
	_, err := ParseHeaderTemplate(v)
	return err == nil
}

var printableValue = regexp.MustCompile(`^[\x20-\x7e]{1,1000}$`)

func literalBody(v string) bool {
	for _, c := range v {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return len(v) <= 4096
}

// splitDirectives splits nginx text into directives: words separated by
// white space, quoted with ' or " (with \ escapes), ending with ;.
// Comments run from # to the end of a line. Blocks ({ }) are refused.
func splitDirectives(text string) ([][]string, error) {
	var stmts [][]string
	var args []string
	var word strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			args = append(args, word.String())
			word.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '#' && !inWord:
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == ';':
			flush()
			if len(args) > 0 {
				stmts = append(stmts, args)
			}
			args = nil
		case c == '{' || c == '}':
			return nil, fmt.Errorf("blocks ({ }) are not supported: near %s", quoted(snippetContext(text, i)))
		case c == '"' || c == '\'':
			quote := c
			inWord = true
			for i++; i < len(text) && text[i] != quote; i++ {
				if text[i] == '\\' && i+1 < len(text) {
					i++
				}
				word.WriteByte(text[i])
			}
			if i >= len(text) {
				return nil, fmt.Errorf("unterminated quote in %s", quoted(snippetContext(text, len(text)-1)))
			}
		default:
			if c == '\\' && i+1 < len(text) {
				i++
				c = text[i]
			}
			inWord = true
			word.WriteByte(c)
		}
	}
	flush()
	if len(args) > 0 {
		return nil, fmt.Errorf("directive %s does not end with ;", quoted(strings.Join(args, " ")))
	}
	return stmts, nil
}

// snippetContext is the line of text around position i.
func snippetContext(text string, i int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := strings.IndexByte(text[i:], '\n')
	if end < 0 {
		return strings.TrimSpace(text[start:])
	}
	return strings.TrimSpace(text[start : i+end])
}
