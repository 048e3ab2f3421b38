package ingress

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// MirrorModule (http.handlers.<name>) sends a copy of each request to a
// mirror and ignores the mirror's answer, as ingress-nginx's
// mirror-target does.
const MirrorModule = "ingress_mirror"

// mirrorConfig is what mirror-target, mirror-host and mirror-request-body
// say; the zero value mirrors nothing.
type mirrorConfig struct {
	// url is mirror-target without its trailing $request_uri: an http or
	// https URL with a host and an optional path, with nothing to expand
	// (ParseMirrorTarget).
	url string
	// requestURI appends the request's URI as the client sent it, path
	// and query ($request_uri); otherwise copies go to url's path ("/"
	// when it has none) with the request's query.
	requestURI bool
	// host is the Host header of copies.
	host string
	// noBody sends copies without the request's body.
	noBody bool
}

var mirrorFamily = family{
	annotations: []annotationSpec{
		{name: "mirror-target", fails: keepDefault, doc: "An http or https URL that gets a copy of every request of the Ingress's paths (after the access checks and limits), with the client's method and headers; the mirror's answer is ignored, and the client gets the backend's. A URL ending in $request_uri gets the request's URI (path and query) appended, such as https://mirror.example.com$request_uri; otherwise the copy goes to the URL's path (\"/\" if it has none) with the request's query. At most 100 copies per mirror are in flight (more are dropped) and each has 30 s. An invalid URL mirrors nothing.",
			differs: "The client never waits for the mirror (nginx holds the request until the mirror answers). The URL may not reach loopback, link-local, unspecified or this host's own addresses unless the app's auth_allow_networks lists them, and https certificates are verified (ingress-nginx verifies none). $request_uri (or ${request_uri}) is the only variable, at the end of the URL; a query in the URL is refused. A URL without a path mirrors to \"/\" (ingress-nginx sends its internal location, /_mirror-<uid>). Copies of requests whose paths answer 503 without a backend are not sent."},
		{name: "mirror-host", fails: keepDefault, doc: "The Host header of the copies, a host name with an optional port. Default: the host of mirror-target, without port."},
		{name: "mirror-request-body", fails: keepDefault, doc: "\"off\" sends the copies without the request's body. Default \"on\".",
			differs: "A body is copied only when its length is known (Content-Length) and at most 1 MiB, read before the request is proxied; the copy of a request with a larger or streamed body is not sent (ingress-nginx buffers any body, to disk if need be)."},
	},
	parse: func(r *reader, c *ingressConfig) {
		target, ok := r.value("mirror-target")
		if !ok {
			for _, name := range []string{"mirror-host", "mirror-request-body"} {
				if r.has(name) {
					r.warn(name, "has no effect without mirror-target")
				}
			}
			return
		}
		u, requestURI, host, err := ParseMirrorTarget(target)
		if err != nil {
			r.invalid("mirror-target", fmt.Errorf("%v; nothing is mirrored", err))
			return
		}
		m := mirrorConfig{url: u, requestURI: requestURI, host: host}
		if v, ok := r.value("mirror-request-body"); ok {
			switch v {
			case "on":
			case "off":
				m.noBody = true
			default:
				r.invalid("mirror-request-body", fmt.Errorf("invalid value %s: want on or off; the body is mirrored", quoted(v)))
			}
		}
		if v, ok := r.value("mirror-host"); ok {
			if ValidUpstreamHost(v) {
				m.host = v
			} else {
				r.invalid("mirror-host", fmt.Errorf("invalid value %s: want a host name, optionally with :port; the copies are sent with Host %s", quoted(v), m.host))
			}
		}
		c.mirror = m
	},
	plan: func(c *ingressConfig, _ *site, p *plan) {
		p.proxy.mirror = c.mirror
	},
}

// mirrorURLChars are the characters of a mirror URL: those of a URL but
// for the query and fragment (? #), variables ($), placeholders ({ })
// and spaces.
var mirrorURLChars = regexp.MustCompile(`^[A-Za-z0-9\-._~:/@!&'()*+,;=%\[\]]+$`)

// mirrorHostChars are the characters of a host name.
var mirrorHostChars = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$`)

// requestURIVars are the spellings of $request_uri at the end of a
// mirror target.
var requestURIVars = []string{"$request_uri", "${request_uri}"}

// ParseMirrorTarget checks a mirror-target value: an http or https URL
// with a host, an optional path and no query, optionally followed by
// $request_uri. It returns the URL without $request_uri, whether it was
// there, and the default Host header of copies: the URL's host without
// port.
func ParseMirrorTarget(v string) (u string, requestURI bool, host string, err error) {
	base := v
	for _, suffix := range requestURIVars {
		if b, ok := strings.CutSuffix(v, suffix); ok {
			base, requestURI = b, true
			break
		}
	}
	if i := strings.IndexByte(base, '$'); i >= 0 {
		name := variableName(base[i+1:])
		if name == "request_uri" {
			return "", false, "", fmt.Errorf("%s: $request_uri may only end the URL", quoted(withoutUserinfo(v)))
		}
		return "", false, "", fmt.Errorf("%s: unknown variable %s (only $request_uri, at the end, is supported)", quoted(withoutUserinfo(v)), quoted("$"+name))
	}
	if !mirrorURLChars.MatchString(base) {
		return "", false, "", fmt.Errorf("invalid URL %s: want an http or https URL without query", quoted(withoutUserinfo(v)))
	}
	parsed, err := url.Parse(base)
	if err == nil && parsed.User != nil {
		// Never quoted: problems are logged and shown by the status API.
		return "", false, "", fmt.Errorf("invalid URL %s: want an http or https URL without credentials", quoted(withoutUserinfo(v)))
	}
	if err != nil || parsed.Scheme != "http" && parsed.Scheme != "https" || parsed.Opaque != "" || !validMirrorHost(parsed) {
		return "", false, "", fmt.Errorf("invalid URL %s: want an http or https URL with a host", quoted(withoutUserinfo(v)))
	}
	host = parsed.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return base, requestURI, host, nil
}

// validMirrorHost reports whether u's host is a host name or an IP
// address, with an optional port.
func validMirrorHost(u *url.URL) bool {
	name := u.Hostname()
	if name == "" || strings.Contains(name, "..") {
		return false
	}
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	if strings.HasPrefix(u.Host, "[") {
		a, err := netip.ParseAddr(name)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	return mirrorHostChars.MatchString(name)
}

// variableName is the name of the nginx variable that s starts with
// (after the $): letters, digits and _, or what braces enclose.
func variableName(s string) string {
	if rest, ok := strings.CutPrefix(s, "{"); ok {
		if end := strings.IndexByte(rest, '}'); end >= 0 {
			return rest[:end]
		}
		return rest
	}
	end := 0
	for end < len(s) && (s[end] == '_' || 'a' <= s[end] && s[end] <= 'z' || 'A' <= s[end] && s[end] <= 'Z' || '0' <= s[end] && s[end] <= '9') {
		end++
	}
	return s[:end]
}
