package caddyingress

import (
	"fmt"
	"strconv"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// maxTimeout bounds the proxy timeout options, in seconds (a day).
const maxTimeout = 86400

// provisionTraffic checks the app-wide defaults of the traffic
// annotations.
func (a *App) provisionTraffic() error {
	t := ingress.Traffic{ConnectTimeout: 5}
	if a.ProxyBodySize != "" {
		n, err := ingress.ParseSize(a.ProxyBodySize)
		if err != nil {
			return fmt.Errorf("proxy_body_size: %w", err)
		}
		t.BodySize = n
	}
	for _, o := range []struct {
		name  string
		value int
		dst   *int
	}{
		{"proxy_connect_timeout", a.ProxyConnectTimeout, &t.ConnectTimeout},
		{"proxy_send_timeout", a.ProxySendTimeout, &t.SendTimeout},
		{"proxy_read_timeout", a.ProxyReadTimeout, &t.ReadTimeout},
	} {
		if o.value < 0 || o.value > maxTimeout {
			return fmt.Errorf("%s: %d: want seconds from 1 to %d", o.name, o.value, maxTimeout)
		}
		if o.value != 0 {
			*o.dst = o.value
		}
	}
	if a.LoadBalance != "" {
		policy, err := ingress.ParseLoadBalance(a.LoadBalance)
		if err != nil {
			return fmt.Errorf("load_balance: %w", err)
		}
		t.LoadBalance = policy
	}
	if c := a.LimitStatusCode; c != 0 {
		if c < 400 || c > 599 {
			return fmt.Errorf("limit_status_code: %d: want a status from 400 to 599", c)
		}
		t.LimitStatus = c
	}
	t.ComputeFullForwardedFor = a.ComputeFullForwardedFor
	t.NextUpstream = a.ProxyNextUpstream
	if a.ProxyNextUpstreamTries != nil {
		t.NextUpstreamTries = strconv.Itoa(*a.ProxyNextUpstreamTries)
	}
	if a.ProxyNextUpstreamTimeout != 0 {
		t.NextUpstreamTimeout = strconv.Itoa(a.ProxyNextUpstreamTimeout)
	}
	if err := ingress.DefaultRetry(t.NextUpstream, t.NextUpstreamTries, t.NextUpstreamTimeout); err != nil {
		return err
	}
	a.traffic = t
	return nil
}
