package ingress

import (
	"strings"
	"testing"
)

func TestParseSnippet(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		auth       bool
		headers    string
		ret        snippetReturn
		err        string
	}{
		{name: "more_set_headers", text: `more_set_headers "X-Frame-Options: DENY" 'X-A: b c';`, headers: "set|X-Frame-Options|DENY;set|X-A|b c"},
		{name: "more_clear_headers", text: "more_clear_headers Server X-Powered-*;", headers: "del|Server|;del|X-Powered-|*"},
		{name: "add_header", text: "add_header Cache-Control no-store;\nadd_header X-Robots-Tag \"noindex, nofollow\" always;", headers: "add|Cache-Control|no-store;add-always|X-Robots-Tag|noindex, nofollow"},
		{name: "proxy_set_header", text: "proxy_set_header X-Tenant acme; proxy_set_header Accept-Encoding \"\";", headers: "req-set|X-Tenant|acme;req-del|Accept-Encoding|"},
		{name: "more_set_input_headers", text: `more_set_input_headers "X-Env: prod";`, headers: "req-set|X-Env|prod"},
		{name: "comments and blank lines", text: "# security\n\nmore_set_headers \"X-A: 1\"; # trailing\n", headers: "set|X-A|1"},
		{name: "return text", text: `return 200 "ok";`, ret: snippetReturn{200, "ok"}},
		{name: "return redirect", text: "return 301 https://example.com/new;", ret: snippetReturn{301, "https://example.com/new"}},
		{name: "return code only", text: "return 403;", ret: snippetReturn{403, ""}},
		{name: "auth: proxy_set_header", text: "proxy_set_header X-Auth-Tenant acme;", auth: true, headers: "req-set|X-Auth-Tenant|acme"},
		{name: "proxy_set_header with variables", text: "proxy_set_header X-Forwarded-Host $http_host; proxy_set_header X-Orig \"$scheme://$host$request_uri\";", headers: "req-set-vars|X-Forwarded-Host|$http_host;req-set-vars|X-Orig|$scheme://$host$request_uri"},
		{name: "more_set_input_headers with a variable", text: `more_set_input_headers "X-Client: ${remote_addr}";`, headers: "req-set-vars|X-Client|${remote_addr}"},
		{name: "auth: proxy_set_header with a variable", text: "proxy_set_header X-Forwarded-Host $http_host;", auth: true, headers: "req-set-vars|X-Forwarded-Host|$http_host"},
		{name: "request header with an unknown variable refused", text: "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", err: "uses an nginx variable that is not translated"},
		{name: "request header with a stray $ refused", text: "proxy_set_header X-A \"a$\";", err: "uses an nginx variable that is not translated"},
		// ingress-nginx's own configuration-snippet example.
		{name: "response header with the request ID", text: "more_set_headers \"Request-Id: $req_id\";", headers: "set-vars|Request-Id|$req_id"},
		{name: "add_header with variables", text: "add_header X-Served-Host \"$host$uri\" always; add_header X-Id $req_id;", headers: "add-always-vars|X-Served-Host|$host$uri;add-vars|X-Id|$req_id"},
		{name: "response header with an unknown variable refused", text: "more_set_headers \"X-Upstream: $upstream_addr\";", err: "uses an nginx variable that is not translated"},
		{name: "auth: response header with a variable refused", text: "more_set_headers \"X-Host: $host\";", auth: true, err: "uses an nginx variable"},
		{name: "redirect with variables refused", text: "return 301 https://$host$request_uri;", err: "uses an nginx variable"},
		{name: "unknown directive names the annotation", text: "proxy_read_timeout 300;", err: `directive "proxy_read_timeout 300" is not supported; the proxy-read-timeout annotation does the same`},
		{name: "lua refused", text: "access_by_lua_block { ngx.exit(403) }", err: "blocks ({ }) are not supported"},
		{name: "if refused", text: "if ($http_x) { return 403; }", err: "blocks ({ }) are not supported"},
		{name: "options of more_set_headers refused", text: "more_set_headers -s 404 \"X-A: b\";", err: "options such as -s"},
		{name: "missing semicolon", text: "more_set_headers \"X-A: b\"", err: "does not end with ;"},
		{name: "unterminated quote", text: "more_set_headers \"X-A: b;", err: "unterminated quote"},
		{name: "bad header name", text: "add_header \"X A\" b;", err: "not a header name"},
		{name: "return out of range", text: "return 999;", err: "status from 200 to 599"},
		{name: "redirect to a non-URL", text: "return 302 /relative;", err: "http or https URL"},
		{name: "response headers not in auth-snippet", text: "more_set_headers \"X-A: b\";", auth: true, err: "not supported in auth-snippet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			part, err := parseSnippet(tt.text, tt.auth)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := strings.NewReplacer("\x00", "|", "\n", ";").Replace(string(part.headers))
			if got != tt.headers || part.ret != tt.ret {
				t.Errorf("got %q %+v, want %q %+v", got, part.ret, tt.headers, tt.ret)
			}
		})
	}
}

func TestSnippetAnnotations(t *testing.T) {
	runAnnotationCases(t, []annotationCase{
		{name: "subset", annotations: nginx("configuration-snippet", `more_set_headers "X-A: b";`),
			check: is(func(c *ingressConfig) headerOps { return c.snippet.location.headers }, headerOps("set\x00X-A\x00b"))},
		{name: "refused directive fails closed", annotations: nginx("configuration-snippet", "gzip on;"), wantProblem: `directive "gzip on" is not supported`, wantFail: "denied"},
		{name: "refused server-snippet fails closed", annotations: nginx("server-snippet", "listen 8080;"), wantProblem: "is not supported", wantFail: "denied"},
		{name: "auth-snippet without auth-url", annotations: nginx("auth-snippet", "proxy_set_header X-A b;"), wantProblem: "no effect without auth-url"},
	})
	c, problems := readFor(t, nginx("configuration-snippet", "gzip on;"), Options{DropUnsupportedSnippets: true})
	if c.denied != "" || len(problems) != 1 || !strings.Contains(problems[0].Reason, "the snippet is dropped") {
		t.Errorf("drop: got denied %q, problems %v; want the snippet dropped, reported", c.denied, problems)
	}
}

// FuzzParseSnippet: any text either is refused or yields header changes
// with valid names and values without line breaks, literal but for the
// -vars ops, whose values are templates.
func FuzzParseSnippet(f *testing.F) {
	for _, s := range []string{`more_set_headers "X-A: b";`, "add_header X b always;", "return 200 'ok';", "proxy_set_header A \"\";", `more_clear_headers "X-*";`, "if ($x) { return 403; }", "# c\nreturn 301 https://a/;"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, auth bool) {
		part, err := parseSnippet(text, auth)
		if err != nil {
			return
		}
		for _, op := range renderOps(part.headers) {
			if !snippetName.MatchString(op["name"]) || strings.ContainsAny(op["value"], "\r\n\x00") {
				t.Fatalf("%q: op %v", text, op)
			}
			if strings.HasSuffix(op["op"], "-vars") {
				if _, err := ParseHeaderTemplate(op["value"]); err != nil {
					t.Fatalf("%q: op %v: %v", text, op, err)
				}
			} else if strings.Contains(op["value"], "$") {
				t.Fatalf("%q: op %v", text, op)
			}
		}
		if strings.Contains(part.ret.text, "$") {
			t.Fatalf("%q: return %q", text, part.ret.text)
		}
	})
}
