package caddyingress

import (
	"regexp"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// regexRule is one path of a host whose paths are regular expressions.
type regexRule struct {
	re *regexp.Regexp
	// literal is the text every match starts with (compared
	// case-insensitively), so most rules are passed over without running
	// the expression.
	literal string
	handler caddyhttp.Handler
}

func newRegexRule(path string, h caddyhttp.Handler) (regexRule, error) {
	re, err := ingress.CompilePathRegex(path)
	if err != nil {
		return regexRule{}, err
	}
	return regexRule{re: re, literal: literalPrefix(path), handler: h}, nil
}

// matchRegex returns the handler of the first rule that matches p.
func matchRegex(rules []regexRule, p string) caddyhttp.Handler {
	for i := range rules {
		r := &rules[i]
		if len(p) < len(r.literal) || !strings.EqualFold(p[:len(r.literal)], r.literal) {
			continue
		}
		if r.re.MatchString(p) {
			return r.handler
		}
	}
	return nil
}

// regexMeta are the characters with a meaning in a regular expression.
const regexMeta = `\.+*?()|[]{}^$`

// literalPrefix returns the ASCII text that every match of a path
// expression starts with: its characters up to the first one with a
// meaning, less the last if a quantifier follows it. An alternation
// anywhere makes it "".
func literalPrefix(path string) string {
	if strings.Contains(path, "|") {
		return ""
	}
	i := 0
	for i < len(path) && path[i] < 0x80 && strings.IndexByte(regexMeta, path[i]) < 0 {
		i++
	}
	if i < len(path) && i > 0 && strings.IndexByte("?*{", path[i]) >= 0 {
		i--
	}
	return path[:i]
}
