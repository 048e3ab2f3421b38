package caddyingress

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Hash{})
}

// Hash is a reverse_proxy selection policy that picks the endpoint by a
// consistent (rendezvous) hash of request values, as ingress-nginx's
// upstream-hash-by does: equal keys go to the same endpoint, and when an
// endpoint comes or goes only the keys it had or gets move.
type Hash struct {
	// By is the key, in nginx variables: $request_uri, $uri, $host,
	// $remote_addr, $http_<header>, $cookie_<name>, $arg_<name> and text.
	By string `json:"by"`
	// SubsetSize, when set, hashes the key to that many endpoints and
	// picks one of them at random.
	SubsetSize int `json:"subset_size,omitempty"`

	parts []ingress.HashKeyPart
}

// CaddyModule returns the Caddy module information.
func (Hash) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.selection_policies." + ingress.HashPolicy,
		New: func() caddy.Module { return new(Hash) },
	}
}

// Provision parses the key.
func (h *Hash) Provision(caddy.Context) error {
	parts, err := ingress.ParseHashKey(h.By)
	if err != nil {
		return fmt.Errorf("by: %v", err)
	}
	h.parts = parts
	return nil
}

// key returns the request's key.
func (h *Hash) key(r *http.Request) string {
	return expand(h.parts, r)
}

// Select implements reverseproxy.Selector.
func (h *Hash) Select(pool reverseproxy.UpstreamPool, r *http.Request, _ http.ResponseWriter) *reverseproxy.Upstream {
	key := h.key(r)
	type scored struct {
		score uint64
		up    *reverseproxy.Upstream
	}
	var best []scored
	size := max(h.SubsetSize, 1)
	for _, up := range pool {
		if !up.Available() {
			continue
		}
		f := fnv.New64a()
		f.Write([]byte(key))
		f.Write([]byte{0})
		f.Write([]byte(up.Dial))
		s := scored{mix(f.Sum64()), up}
		i, _ := slices.BinarySearchFunc(best, s, func(a, b scored) int {
			if a.score > b.score {
				return -1
			}
			if a.score < b.score {
				return 1
			}
			return strings.Compare(a.up.Dial, b.up.Dial)
		})
		if i < size {
			best = slices.Insert(best, i, s)
			if len(best) > size {
				best = best[:size]
			}
		}
	}
	if len(best) == 0 {
		return nil
	}
	return best[rand.IntN(len(best))].up
}

// mix spreads the bits of a hash (the finalizer of SplitMix64), so that
// scores of similar inputs are independent.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Interface guards
var (
	_ caddy.Provisioner     = (*Hash)(nil)
	_ reverseproxy.Selector = (*Hash)(nil)
)
