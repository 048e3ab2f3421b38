package caddyingress

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxAuthCache bounds the answers the auth cache holds.
const maxAuthCache = 10000

// authCache holds auth answers by key until they expire
// (auth-cache-key). It never holds more than maxAuthCache: when full,
// expired answers go, and if none has, half of the others.
type authCache struct {
	mu      sync.Mutex
	answers map[string]cachedAnswer
}

type cachedAnswer struct {
	answer  *authAnswer
	expires time.Time
}

func (c *authCache) get(key string, now time.Time) *authAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.answers[key]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		delete(c.answers, key)
		return nil
	}
	return e.answer
}

func (c *authCache) put(key string, a *authAnswer, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil {
		c.answers = make(map[string]cachedAnswer)
	}
	if len(c.answers) >= maxAuthCache {
		now := time.Now()
		for k, e := range c.answers {
			if !now.Before(e.expires) {
				delete(c.answers, k)
			}
		}
		for k := range c.answers {
			if len(c.answers) < maxAuthCache/2 {
				break
			}
			delete(c.answers, k)
		}
	}
	c.answers[key] = cachedAnswer{answer: a, expires: expires}
}

// parseCacheDurations reads auth-cache-duration entries ("200 202 5m",
// "1h 30m"): the statuses (default 200, 301 and 302, as nginx's
// proxy_cache_valid) and how long each is kept.
func parseCacheDurations(entries []string) (map[int]time.Duration, error) {
	out := make(map[int]time.Duration)
	for _, entry := range entries {
		var codes []int
		var d time.Duration
		for _, f := range strings.Fields(entry) {
			if n, err := strconv.Atoi(f); err == nil && len(f) == 3 && d == 0 {
				codes = append(codes, n)
				continue
			}
			part, err := nginxDuration(f)
			if err != nil {
				return nil, fmt.Errorf("entry %q: %v", entry, err)
			}
			d += part
		}
		if d == 0 {
			return nil, fmt.Errorf("entry %q: no duration", entry)
		}
		if len(codes) == 0 {
			codes = []int{200, 301, 302}
		}
		for _, c := range codes {
			if _, ok := out[c]; !ok {
				out[c] = d
			}
		}
	}
	return out, nil
}

// nginxDuration reads one nginx time ("30s", "5m", "1d").
func nginxDuration(f string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"M", 30 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(f, u.suffix); ok {
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%q is not a duration", f)
			}
			return time.Duration(n) * u.unit, nil
		}
	}
	return 0, fmt.Errorf("%q is not a duration", f)
}
