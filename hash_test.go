package caddyingress

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func TestHashSelect(t *testing.T) {
	h := &Hash{By: "$request_uri"}
	if err := h.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	var pool reverseproxy.UpstreamPool
	for i := range 5 {
		pool = append(pool, &reverseproxy.Upstream{Dial: fmt.Sprintf("10.0.0.%d:80", i+1), Host: new(reverseproxy.Host)})
	}
	pick := func(pool reverseproxy.UpstreamPool, uri string) string {
		return h.Select(pool, httptest.NewRequest("GET", "http://a.example.com"+uri, nil), nil).Dial
	}
	before := make(map[string]string)
	count := make(map[string]int)
	const keys = 2000
	for i := range keys {
		uri := fmt.Sprintf("/item/%d", i)
		before[uri] = pick(pool, uri)
		count[before[uri]]++
		if again := pick(pool, uri); again != before[uri] {
			t.Fatalf("%s: got %s, then %s", uri, before[uri], again)
		}
	}
	for dial, n := range count {
		// An even share is 400; allow a wide margin.
		if n < 250 || n > 550 {
			t.Errorf("%s got %d of %d keys, want about a fifth", dial, n, keys)
		}
	}
	// One endpoint goes: only its keys move.
	gone := pool[2].Dial
	rest := append(append(reverseproxy.UpstreamPool{}, pool[:2]...), pool[3:]...)
	for uri, dial := range before {
		if got := pick(rest, uri); dial != gone && got != dial {
			t.Fatalf("%s moved from %s to %s though %s stayed", uri, dial, got, dial)
		}
	}
}
