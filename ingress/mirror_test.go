package ingress

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestMirrorAnnotations(t *testing.T) {
	want := func(want mirrorConfig) func(*ingressConfig) string {
		return is(func(c *ingressConfig) mirrorConfig { return c.mirror }, want)
	}
	runAnnotationCases(t, []annotationCase{
		{name: "request_uri appended", annotations: nginx("mirror-target", "https://test.env.com$request_uri"),
			check: want(mirrorConfig{url: "https://test.env.com", requestURI: true, host: "test.env.com"})},
		{name: "request_uri after a slash, as ingress-nginx's e2e test writes it", annotations: nginx("mirror-target", "https://test.env.com/$request_uri"),
			check: want(mirrorConfig{url: "https://test.env.com/", requestURI: true, host: "test.env.com"})},
		{name: "request_uri in braces", annotations: nginx("mirror-target", "http://mirror:8080/copy${request_uri}"),
			check: want(mirrorConfig{url: "http://mirror:8080/copy", requestURI: true, host: "mirror"})},
		{name: "fixed path", annotations: nginx("mirror-target", "http://localhost/mirror"),
			check: want(mirrorConfig{url: "http://localhost/mirror", host: "localhost"})},
		{name: "host and body off", annotations: nginx("mirror-target", "https://1.2.3.4$request_uri", "mirror-host", "test.env.com", "mirror-request-body", "off"),
			check: want(mirrorConfig{url: "https://1.2.3.4", requestURI: true, host: "test.env.com", noBody: true})},
		{name: "body on", annotations: nginx("mirror-target", "http://m/", "mirror-request-body", "on"), check: want(mirrorConfig{url: "http://m/", host: "m"})},
		{name: "IPv6 target", annotations: nginx("mirror-target", "http://[2001:db8::1]:81$request_uri"),
			check: want(mirrorConfig{url: "http://[2001:db8::1]:81", requestURI: true, host: "[2001:db8::1]"})},
		{name: "not a URL mirrors nothing", annotations: nginx("mirror-target", "IamNotAURL"), wantProblem: "want an http or https URL with a host; nothing is mirrored", check: want(mirrorConfig{})},
		{name: "other variables mirror nothing", annotations: nginx("mirror-target", "http://some.test.env.com/$someparam"), wantProblem: `unknown variable "$someparam"`, check: want(mirrorConfig{})},
		{name: "host variable mirrors nothing", annotations: nginx("mirror-target", "http://$host$request_uri"), wantProblem: `unknown variable "$host"`, check: want(mirrorConfig{})},
		{name: "request_uri in the middle mirrors nothing", annotations: nginx("mirror-target", "http://m$request_uri/x"), wantProblem: "may only end the URL", check: want(mirrorConfig{})},
		{name: "placeholder mirrors nothing", annotations: nginx("mirror-target", "http://{env.HOST}/"), wantProblem: "want an http or https URL", check: want(mirrorConfig{})},
		{name: "query mirrors nothing", annotations: nginx("mirror-target", "http://m/copy?a=1"), wantProblem: "without query", check: want(mirrorConfig{})},
		{name: "credentials mirror nothing", annotations: nginx("mirror-target", "http://user:pw@m/"), wantProblem: "without credentials", check: want(mirrorConfig{})},
		{name: "other scheme mirrors nothing", annotations: nginx("mirror-target", "ftp://m/"), wantProblem: "want an http or https URL", check: want(mirrorConfig{})},
		{name: "bad port mirrors nothing", annotations: nginx("mirror-target", "http://m:99999/"), wantProblem: "want an http or https URL", check: want(mirrorConfig{})},
		{name: "empty mirrors nothing", annotations: nginx("mirror-target", ""), wantProblem: "want an http or https URL", check: want(mirrorConfig{})},
		{name: "invalid host keeps the target's", annotations: nginx("mirror-target", "http://some.test.env.com", "mirror-host", "someInvalidParam.%^&*()_=!@#'\""),
			wantProblem: "the copies are sent with Host some.test.env.com", check: want(mirrorConfig{url: "http://some.test.env.com", host: "some.test.env.com"})},
		{name: "host variable keeps the target's", annotations: nginx("mirror-target", "http://m/", "mirror-host", "$host"),
			wantProblem: "want a host name", check: want(mirrorConfig{url: "http://m/", host: "m"})},
		{name: "invalid body keeps it on", annotations: nginx("mirror-target", "http://m/", "mirror-request-body", "false"),
			wantProblem: "want on or off", check: want(mirrorConfig{url: "http://m/", host: "m"})},
		{name: "companions without target", annotations: nginx("mirror-request-body", "off"), wantProblem: "no effect without mirror-target", check: want(mirrorConfig{})},
	})
}

// TestMirrorProblemHidesCredentials: a refused target with a user and
// password is named in the problem without them.
func TestMirrorProblemHidesCredentials(t *testing.T) {
	for _, v := range []string{"https://user:s3cret@mirror.example.com/", "https://user:s3cret@mirror.example.com/$bad", "https://user:s3cret@mirror.example.com/?q"} {
		_, _, _, err := ParseMirrorTarget(v)
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "mirror.example.com") {
			t.Errorf("%s: got %v, want an error that names the host and not the password", v, err)
		}
	}
}

// TestMirrorRendered: the mirror handler comes after the access checks
// and limits and before the proxy, with the target as data.
func TestMirrorRendered(t *testing.T) {
	p := plan{
		access: accessPhase{allow: "10.0.0.0/8"},
		limits: limitsPhase{bodySize: 1 << 20},
		proxy:  proxyPhase{upstream: UpstreamKey{Namespace: "default", Service: "web"}, resolved: true, mirror: mirrorConfig{url: "https://m.example.com", requestURI: true, host: "copy.example.com", noBody: true}},
	}
	var routes []route
	if err := json.Unmarshal(render(&p), &routes); err != nil {
		t.Fatal(err)
	}
	var order []string
	var mirror map[string]any
	for _, r := range routes {
		for _, h := range r.Handle {
			order = append(order, h["handler"].(string))
			if h["handler"] == MirrorModule {
				mirror = h
			}
		}
	}
	if got, want := strings.Join(order, ","), AccessModule+",request_body,"+MirrorModule+",reverse_proxy"; got != want {
		t.Errorf("handlers: got %s, want %s", got, want)
	}
	wantMirror := map[string]any{"handler": MirrorModule, "url": "https://m.example.com", "request_uri": true, "host": "copy.example.com", "no_body": true}
	if !reflect.DeepEqual(mirror, wantMirror) {
		t.Errorf("mirror handler: got %v, want %v", mirror, wantMirror)
	}
	p.access.denied = "test"
	if strings.Contains(string(render(&p)), MirrorModule) {
		t.Error("a denied path mirrors its requests")
	}
}

// FuzzParseMirrorTarget: an accepted target is an http or https URL with
// a host and no query, variable or placeholder left in it.
func FuzzParseMirrorTarget(f *testing.F) {
	for _, seed := range []string{"https://test.env.com$request_uri", "http://m:8080/copy${request_uri}", "http://[::1]/", "http://{env.HOME}/", "http://a$host", "http://u:p@h/"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		u, _, host, err := ParseMirrorTarget(v)
		if err != nil {
			return
		}
		parsed, perr := url.Parse(u)
		if perr != nil || parsed.Host == "" || parsed.User != nil || strings.ContainsAny(u, "$?#{} ") || host == "" {
			t.Errorf("%q: accepted as %q (host %q)", v, u, host)
		}
	})
}
