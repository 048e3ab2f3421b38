package ingress

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseHSTS validates a Strict-Transport-Security value (RFC 6797) and
// returns it in canonical form: "max-age=N", then "; includeSubDomains"
// and "; preload" when given. max-age is required; directive names are
// case-insensitive; empty directives are skipped; nothing else is
// accepted. "off" returns "".
func ParseHSTS(value string) (string, error) {
	if value == "off" {
		return "", nil
	}
	maxAge := -1
	var sub, preload bool
	for _, d := range strings.Split(value, ";") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue // RFC 6797 allows empty directives ("max-age=1;")
		}
		name, arg, hasArg := strings.Cut(d, "=")
		switch {
		case strings.EqualFold(name, "max-age") && hasArg:
			if maxAge >= 0 {
				return "", fmt.Errorf("invalid value %s: max-age given twice", quoted(value))
			}
			arg = strings.Trim(arg, `"`)
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 || arg == "" || arg[0] < '0' || arg[0] > '9' {
				return "", fmt.Errorf("invalid value %s: max-age must be a number of seconds", quoted(value))
			}
			maxAge = n
		case strings.EqualFold(d, "includeSubDomains") && !sub:
			sub = true
		case strings.EqualFold(d, "preload") && !preload:
			preload = true
		default:
			return "", fmt.Errorf(`invalid value %s: want "max-age=<seconds>" optionally followed by "; includeSubDomains" and "; preload", or "off"`, quoted(value))
		}
	}
	if maxAge < 0 {
		return "", fmt.Errorf("invalid value %s: max-age is required", quoted(value))
	}
	out := "max-age=" + strconv.Itoa(maxAge)
	if sub {
		out += "; includeSubDomains"
	}
	if preload {
		out += "; preload"
	}
	return out, nil
}
