package ingress

import (
	"fmt"
	"regexp"
	"strings"
)

// rewriteConfig is what rewrite-target, use-regex and x-forwarded-prefix
// say.
type rewriteConfig struct {
	// target replaces the whole path of matching requests; "" for none.
	target string
	// useRegex makes the paths regular expressions.
	useRegex bool
	// forwardedPrefix is sent as X-Forwarded-Prefix with a rewrite.
	forwardedPrefix string
}

// regex reports whether the Ingress makes the paths of its hosts regular
// expressions: ingress-nginx does so, for every path of the host, once one
// of its Ingresses asks for regex or a rewrite.
func (c rewriteConfig) regex() bool { return c.useRegex || c.target != "" }

// rewriteTargetChars are the characters ingress-nginx allows in
// rewrite-target and x-forwarded-prefix (its RegexPathWithCapture).
var rewriteTargetChars = regexp.MustCompile(`^/?[-._~a-zA-Z0-9/$:]*$`)

// captureRef finds the $ references in a target; only $1 to $9 are
// capture groups.
var captureRef = regexp.MustCompile(`\$([0-9]?)`)

var rewriteFamily = family{
	annotations: []annotationSpec{
		{name: "rewrite-target", doc: "Replace the whole path of requests to the Ingress's paths by this target before proxying, with $1…$9 for the path's capture groups; the query string is kept. Makes every path of the host a regular expression, as use-regex does. Allowed characters: letters, digits, / - . _ ~ : and $.",
			differs: "$ must introduce a capture group $1…$9; ingress-nginx would also expand nginx variables such as $host."},
		{name: "use-regex", doc: "Match the paths of the Ingress's hosts as regular expressions: case-insensitive, anchored at the start only, longest path first. Once one Ingress asks for it, all paths of the host match so. Default false.",
			differs: "Regular expressions are RE2 (Go) rather than PCRE: no backreferences or lookaround; a path that does not compile is a problem and is not served."},
		{name: "x-forwarded-prefix", fails: ignoreIngress, doc: "Send this value as X-Forwarded-Prefix to the backend, replacing the client's, when rewrite-target rewrites the request.",
			differs: "$ is not allowed (nginx would expand it as a variable)."},
	},
	parse: func(r *reader, c *ingressConfig) {
		if v, ok := r.value("rewrite-target"); ok {
			if err := checkRewriteTarget(v); err != nil {
				r.invalid("rewrite-target", err)
			} else {
				c.rewrite.target = v
			}
		}
		if v, ok := r.parseBool("use-regex"); ok {
			c.rewrite.useRegex = v
		}
		if v, ok := r.value("x-forwarded-prefix"); ok && v != "" {
			if !rewriteTargetChars.MatchString(v) || strings.Contains(v, "$") {
				r.invalid("x-forwarded-prefix", fmt.Errorf("invalid value %s: want a path of letters, digits, / - . _ ~ and :", quoted(v)))
			} else {
				c.rewrite.forwardedPrefix = v
			}
		}
	},
	plan: func(c *ingressConfig, s *site, p *plan) {
		path := s.path
		if path == "" {
			path = "/"
		}
		if c.rewrite.target == "" || c.rewrite.target == path {
			return
		}
		p.rewrite = rewritePhase{pattern: path, target: c.rewrite.target, forwardedPrefix: c.rewrite.forwardedPrefix}
	},
}

func checkRewriteTarget(v string) error {
	if !rewriteTargetChars.MatchString(v) {
		return fmt.Errorf("invalid value %s: want a path of letters, digits, / - . _ ~ : and $1…$9; not rewriting", quoted(v))
	}
	for _, m := range captureRef.FindAllStringSubmatch(v, -1) {
		if m[1] == "" || m[1] == "0" {
			return fmt.Errorf("invalid value %s: $ must introduce a capture group $1…$9; not rewriting", quoted(v))
		}
	}
	return nil
}

// maxRegexPath bounds a path that is compiled as a regular expression.
const maxRegexPath = 1024

// CompilePathRegex compiles a path of a regex host as ingress-nginx
// matches it: case-insensitive, anchored at the start only.
func CompilePathRegex(path string) (*regexp.Regexp, error) {
	if len(path) > maxRegexPath {
		return nil, fmt.Errorf("path is longer than %d characters", maxRegexPath)
	}
	return regexp.Compile(`(?i)^` + path)
}
