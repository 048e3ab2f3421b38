package caddyingress

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func newTestLimit(a *App, l Limit) *Limit {
	l.StatusCode = http.StatusServiceUnavailable
	for _, s := range l.Allow {
		l.allow = append(l.allow, netip.MustParsePrefix(s))
	}
	l.zone = a.limitZone(limitZoneKey{l.Zone, l.RPS, l.RPM, l.Connections, l.BurstMultiplier})
	return &l
}

func limitRequest(ip string) *http.Request {
	r := httptest.NewRequest("GET", "http://a.example.com/", nil)
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: ip}))
}

func status(err error) int {
	var he caddyhttp.HandlerError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	if err != nil {
		return 500
	}
	return 200
}

func TestLimitRate(t *testing.T) {
	a := new(App)
	// 1 request per second with a burst of 1 (multiplier 1): 2 at once.
	l := newTestLimit(a, Limit{Zone: "default/web", RPS: 1, BurstMultiplier: 1, Allow: []string{"10.0.0.0/8"}})
	ok := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	var got []int
	for range 3 {
		got = append(got, status(l.ServeHTTP(httptest.NewRecorder(), limitRequest("192.0.2.1"), ok)))
	}
	if got[0] != 200 || got[1] != 200 || got[2] != 503 {
		t.Errorf("one client: got %v, want 200 200 503", got)
	}
	if s := status(l.ServeHTTP(httptest.NewRecorder(), limitRequest("192.0.2.2"), ok)); s != 200 {
		t.Errorf("another client: got %d, want 200", s)
	}
	for range 5 {
		if s := status(l.ServeHTTP(httptest.NewRecorder(), limitRequest("10.1.2.3"), ok)); s != 200 {
			t.Fatalf("allowed network: got %d, want 200", s)
		}
	}
	// Another route of the same Ingress and limits shares the counters.
	same := newTestLimit(a, Limit{Zone: "default/web", RPS: 1, BurstMultiplier: 1})
	if s := status(same.ServeHTTP(httptest.NewRecorder(), limitRequest("192.0.2.1"), ok)); s != 503 {
		t.Errorf("same zone: got %d, want 503", s)
	}
}

func TestLimitConnections(t *testing.T) {
	l := newTestLimit(new(App), Limit{Zone: "default/web", Connections: 1, BurstMultiplier: 5})
	var inner int
	hold := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		inner = status(l.ServeHTTP(w, limitRequest("192.0.2.1"), caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })))
		return nil
	})
	if s := status(l.ServeHTTP(httptest.NewRecorder(), limitRequest("192.0.2.1"), hold)); s != 200 || inner != 503 {
		t.Errorf("got outer %d, inner %d; want 200 and 503 for the second request in flight", s, inner)
	}
	if s := status(l.ServeHTTP(httptest.NewRecorder(), limitRequest("192.0.2.1"), caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil }))); s != 200 {
		t.Errorf("after the first finished: got %d, want 200", s)
	}
}

// BenchmarkLimit serves requests from 1,000 client addresses through a
// rate limit from all CPUs at once, as a load generator would.
func BenchmarkLimit(b *testing.B) {
	l := newTestLimit(new(App), Limit{Zone: "default/web", RPS: 1000000, Connections: 1000000, BurstMultiplier: 5})
	ok := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	reqs := make([]*http.Request, 1000)
	for i := range reqs {
		reqs[i] = limitRequest(netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}).String())
	}
	w := httptest.NewRecorder()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := l.ServeHTTP(w, reqs[i%len(reqs)], ok); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
