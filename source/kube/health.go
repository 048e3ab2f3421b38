package kube

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Resources watched, as the API server names them in errors and RBAC
// rules: resource.group, or resource alone for the core group.
const (
	resourceIngresses      = "ingresses.networking.k8s.io"
	resourceIngressClasses = "ingressclasses.networking.k8s.io"
	resourceServices       = "services"
	resourceEndpointSlices = "endpointslices.discovery.k8s.io"
	resourceSecrets        = "secrets"
	resourceConfigMaps     = "configmaps"
)

// DefaultErrorInterval is how often at most Health logs that the same
// resource still cannot be listed or watched.
const DefaultErrorInterval = 30 * time.Second

// Health tells the operator, at error level, why the watched resources
// cannot be listed or watched: an unreachable API server, a refused
// certificate or token, RBAC. It logs the first failure of a resource at
// once, then at most once per interval while the failures last (with how
// many there were), and logs when listing or watching that resource works
// again. The client's transport sees failures to reach the API server and
// successes (see WrapTransport): client-go retries a refused connection
// of a watch by itself, without telling the informer's error handler.
// That handler reports the API server's refusals (see watchErrorHandler).
type Health struct {
	logger   *zap.Logger
	server   string
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	failing map[string]*failure // by resource
}

type failure struct {
	since  time.Time
	logged time.Time
	// count is the number of failures since the last log line.
	count int
}

// NewHealth returns a Health that logs to logger and names server, the
// API server's URL, in its messages.
func NewHealth(logger *zap.Logger, server string) *Health {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Health{
		logger:   logger,
		server:   server,
		interval: DefaultErrorInterval,
		now:      time.Now,
		failing:  make(map[string]*failure),
	}
}

// failed notes that listing or watching resource failed with err; verb
// is "list" or "watch".
func (h *Health) failed(resource, verb string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	f := h.failing[resource]
	if f == nil {
		f = &failure{since: now}
		h.failing[resource] = f
	}
	f.count++
	if !f.logged.IsZero() && now.Sub(f.logged) < h.interval {
		return
	}
	fields := []zap.Field{zap.String("resource", resource), zap.String("api_server", h.server), zap.Error(err)}
	if !f.logged.IsZero() {
		fields = append(fields, zap.Int("failures", f.count), zap.Duration("failing_for", now.Sub(f.since)))
	}
	h.logger.Error("cannot "+verb+" "+resource+" at "+h.server+": "+reason(err), fields...)
	f.logged, f.count = now, 0
}

// succeeded notes that a request for resource was answered with success.
func (h *Health) succeeded(resource string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.failing[resource]
	if f == nil {
		return
	}
	delete(h.failing, resource)
	h.logger.Info("listing and watching "+resource+" at "+h.server+" works again",
		zap.String("resource", resource), zap.String("api_server", h.server), zap.Duration("failed_for", h.now().Sub(f.since)))
}

// listFailedPrefix starts client-go's errors of a failed list, as in
// "failed to list *v1.Ingress: ...", which names a Go type rather than the
// resource.
const listFailedPrefix = "failed to list "

// reflectorVerb says whether an informer's error is that of a list or of
// a watch.
func reflectorVerb(err error) string {
	if strings.HasPrefix(err.Error(), listFailedPrefix) {
		return "list"
	}
	return "watch"
}

// reason is err's message without client-go's listFailedPrefix and type.
func reason(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, listFailedPrefix) {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}

// WrapTransport returns rt observed: a request to list or watch a
// resource that cannot reach the API server is a failure of the resource,
// a successful answer ends its failure. Use it as the client's
// rest.Config.WrapTransport.
func (h *Health) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return healthTransport{h: h, rt: rt}
}

type healthTransport struct {
	h  *Health
	rt http.RoundTripper
}

func (t healthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	r := resourceOf(req.URL.Path)
	switch {
	case r == "" || req.Method != http.MethodGet:
	case err != nil:
		if req.Context().Err() == nil {
			t.h.failed(r, verbOf(req), err)
		}
	case resp.StatusCode < 300:
		t.h.succeeded(r)
	}
	return resp, err
}

// verbOf says whether a request lists or watches: a watch that starts with
// the current objects (sendInitialEvents, as informers list) lists.
func verbOf(req *http.Request) string {
	q := req.URL.Query()
	if q.Get("watch") == "true" && q.Get("sendInitialEvents") != "true" {
		return "watch"
	}
	return "list"
}

// resourceOf returns the resource, as resource.group, of a request path
// that lists or watches a collection: /api/v1/[namespaces/ns/]resource or
// /apis/group/version/[namespaces/ns/]resource; "" for any other path.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var group string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group = parts[1]
		parts = parts[3:]
	default:
		return ""
	}
	if len(parts) == 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) != 1 || parts[0] == "" {
		return ""
	}
	if group == "" {
		return parts[0]
	}
	return parts[0] + "." + group
}

// Interface guards
var _ http.RoundTripper = healthTransport{}
