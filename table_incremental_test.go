package caddyingress

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// TestNextTableEqualsNew: a table built from the previous one, through
// random changes of hosts (paths, aliases, defaults, redirects) and of
// the catch-all, serves every request as a table built from scratch; and
// every compiled route that the previous table used and the new one does
// not is reported dropped.
func TestNextTableEqualsNew(t *testing.T) {
	t.Run("few hosts", func(t *testing.T) {
		checkNextTable(t, rand.New(rand.NewPCG(3, 9)), []string{"", "a.test", "b.test", "*.test", "c.test", "x.b.test"}, false)
	})
	// Many hosts, patched as incremental translation patches them: the
	// chunks of the host list that did not change are shared with the
	// previous result, and skipped whole.
	t.Run("many hosts", func(t *testing.T) {
		names := []string{"", "*.test", "x.b.test"}
		for i := range 700 {
			names = append(names, fmt.Sprintf("h%03d.test", i))
		}
		checkNextTable(t, rand.New(rand.NewPCG(5, 7)), names, true)
	})
}

func checkNextTable(t *testing.T, rnd *rand.Rand, names []string, patch bool) {
	paths := []string{"/", "/api", "/api/v1", "/x"}
	actions := map[string]*ingress.Action{}
	action := func(name string) *ingress.Action {
		if a := actions[name]; a != nil && rnd.IntN(4) > 0 {
			return a // mostly the same Action, as translation carries it
		}
		a := &ingress.Action{Routes: []byte(name)}
		actions[name] = a
		return a
	}
	randomHost := func(name string) *ingress.Host {
		h := &ingress.Host{Host: name}
		for _, p := range paths {
			if rnd.IntN(2) == 0 {
				typ := []ingress.PathType{ingress.PathPrefix, ingress.PathExact}[rnd.IntN(2)]
				h.Paths = append(h.Paths, ingress.Path{Path: p, Type: typ, Action: *action(fmt.Sprintf("%s%s%d", name, p, rnd.IntN(2)))})
			}
		}
		if rnd.IntN(4) == 0 {
			h.Default = action(name + "-default")
		}
		if rnd.IntN(4) == 0 {
			h.Redirect = &ingress.Redirect{HTTPS: true}
		}
		if rnd.IntN(5) == 0 && name != "" {
			h.Aliases = []string{"alias-" + strings.TrimPrefix(name, "*.")}
		}
		if rnd.IntN(5) == 0 {
			h.ClientAuth = &ingress.ClientAuth{Secret: "default/ca", Ingress: "default/" + name}
		}
		return h
	}
	var prev *table
	var prevRes *ingress.Result
	live := map[string]int{} // route → handlers using it in prev
	for step := 0; step < 400; step++ {
		res := &ingress.Result{}
		var hosts []*ingress.Host
		if prevRes != nil {
			res.Default = prevRes.Default
			hosts = prevRes.Hosts.Slice()
		}
		gone, add := map[string]bool{}, []*ingress.Host(nil)
		touched := []string{}
		count := 1 + rnd.IntN(2)
		if patch && step == 0 {
			count = len(names) // most of them, from the start
		}
		for n := count; n > 0; n-- {
			name := names[rnd.IntN(len(names))]
			if gone[name] {
				continue
			}
			touched = append(touched, name)
			i := slices.IndexFunc(hosts, func(h *ingress.Host) bool { return h.Host == name })
			gone[name] = true
			switch {
			case i >= 0 && rnd.IntN(3) == 0:
				hosts = slices.Delete(hosts, i, i+1)
			case i >= 0:
				hosts[i] = randomHost(name)
				add = append(add, hosts[i])
			default:
				hosts = append(hosts, randomHost(name))
				add = append(add, hosts[len(hosts)-1])
			}
		}
		if rnd.IntN(10) == 0 {
			res.Default = action(fmt.Sprint("catch-all", rnd.IntN(2)))
		}
		slices.SortFunc(hosts, func(a, b *ingress.Host) int { return strings.Compare(a.Host, b.Host) })
		res.Hosts = ingress.NewHostList(hosts)
		if patch && prevRes != nil {
			res.Hosts = prevRes.Hosts.Patch(gone, add)
			if got := res.Hosts.Slice(); !slices.Equal(got, hosts) {
				t.Fatalf("step %d: patched list of %d hosts, want %d", step, len(got), len(hosts))
			}
		}

		counts := map[string]int{}
		handler := func(act *ingress.Action) (caddyhttp.Handler, *compiledRoute) {
			return marker(act.Routes), &compiledRoute{key: string(act.Routes)}
		}
		added := map[string]int{}
		dropped := map[string]int{}
		next := nextTable(prev, prevRes, res, func(act *ingress.Action) (caddyhttp.Handler, *compiledRoute) {
			added[string(act.Routes)]++
			return handler(act)
		}, func(ht *hostTable) {
			for _, cr := range ht.routes {
				dropped[cr.key]++
			}
		})
		for k, v := range live {
			counts[k] = v - dropped[k] + added[k]
		}
		for k, v := range added {
			if _, ok := live[k]; !ok {
				counts[k] = v - dropped[k]
			}
		}
		fresh := newTable(res, func(act *ingress.Action) caddyhttp.Handler { return marker(act.Routes) })
		if next.clientAuthHosts != fresh.clientAuthHosts {
			t.Fatalf("step %d: %d hosts with client certificates counted, %d in a table built fresh", step, next.clientAuthHosts, fresh.clientAuthHosts)
		}
		want := map[string]int{}
		// What the new table's handlers use, counted from scratch.
		for _, ht := range next.hostTables() {
			for _, cr := range ht.routes {
				want[cr.key]++
			}
		}
		for k, v := range counts {
			if v != want[k] {
				t.Fatalf("step %d: route %q: counted %d uses, the table has %d", step, k, v, want[k])
			}
		}
		check := names
		if len(names) > 20 {
			check = append(touched, names[rnd.IntN(len(names))], names[rnd.IntN(len(names))])
		}
		for _, host := range append(slices.Clone(check), "alias-a.test", "alias-test", "y.test", "other") {
			for _, p := range []string{"/", "/api", "/api/v1/z", "/x", "/nothing"} {
				if got, want := describeHandler(next.lookup(host, p)), describeHandler(fresh.lookup(host, p)); got != want {
					t.Fatalf("step %d: %s%s: got %s, want %s", step, host, p, got, want)
				}
			}
		}
		prev, prevRes = next, res
		live = map[string]int{}
		for k, v := range counts {
			if v > 0 {
				live[k] = v
			}
		}
	}
}

// describeHandler says what a handler answers to an HTTP and an HTTPS
// request.
func describeHandler(h caddyhttp.Handler) string {
	if h == nil {
		return "nil"
	}
	if m, ok := h.(marker); ok {
		return string(m)
	}
	var out []string
	for _, url := range []string{"http://h.test/p", "https://h.test/p"} {
		w := httptest.NewRecorder()
		err := h.ServeHTTP(w, httptest.NewRequest("GET", url, nil))
		status := 0
		if he, ok := err.(caddyhttp.HandlerError); ok {
			status = he.StatusCode
		}
		out = append(out, fmt.Sprint(w.Code, w.Body.String(), w.Header().Get("Location"), status))
	}
	return strings.Join(out, "|")
}
