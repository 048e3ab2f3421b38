package caddyingress

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(Mirror{})
}

// Limits of mirroring. They keep a slow or dead mirror from costing the
// requests it copies anything but the bounded work of starting a copy.
const (
	// mirrorMaxBody is the largest request body copied; the copy of a
	// request with a larger body, or one of unknown length, is not sent.
	mirrorMaxBody = 1 << 20
	// mirrorMaxInFlight is how many copies to one mirror (scheme and
	// host) may be in flight; further copies are not sent.
	mirrorMaxInFlight = 100
	// mirrorTimeout bounds each copy, from dialing to the end of the
	// mirror's answer.
	mirrorTimeout = 30 * time.Second
	// mirrorCloseWait bounds how long the app's cleanup waits for the
	// copies in flight, which it ends.
	mirrorCloseWait = time.Second
	// mirrorDrainBody is how much of a mirror's answer is read, so
	// that its connection can be reused.
	mirrorDrainBody = 64 << 10
)

// Mirror sends a copy of each request to a mirror and ignores the
// mirror's answer, as ingress-nginx's mirror-target does. The copy is
// sent in the background: the request goes on to the next handler at
// once, and its answer never waits for the mirror nor depends on it. At
// most 100 copies per mirror are in flight (further ones are dropped),
// each for at most 30 s. Copies go through the app's mirror client, which
// the dial guard keeps from loopback, link-local, unspecified and this
// host's own addresses unless auth_allow_networks lists them.
type Mirror struct {
	// URL is where copies go: an http or https URL with a host and an
	// optional path, without query (ingress.ParseMirrorTarget). It is
	// data: nothing in it is expanded.
	URL string `json:"url"`
	// RequestURI appends the request's URI as the client sent it (path
	// and query) to URL, as $request_uri at the end of mirror-target
	// does. Otherwise the copy goes to URL's path ("/" when it has none)
	// with the request's query.
	RequestURI bool `json:"request_uri,omitempty"`
	// Host is the Host header of copies. Default: URL's host without
	// port.
	Host string `json:"host,omitempty"`
	// NoBody sends copies without the request's body. Otherwise a body
	// whose length is known (Content-Length) and at most 1 MiB is read
	// before the request goes on, and sent with both; the copy of a
	// request with a larger body, or one of unknown length (chunked or
	// streamed), is not sent, since reading it first could hold up a
	// stream whose client waits for an answer.
	NoBody bool `json:"no_body,omitempty"`

	// base is URL with "/" for a missing path; key names the mirror for
	// the in-flight bound.
	base, key string
	client    *mirrorClient
	logger    *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Mirror) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.MirrorModule,
		New: func() caddy.Module { return new(Mirror) },
	}
}

// Provision checks the settings and finds the ingress app's mirror
// client.
func (h *Mirror) Provision(ctx caddy.Context) error {
	if err := h.check(); err != nil {
		return err
	}
	app, err := ctx.App("ingress")
	if err != nil {
		return fmt.Errorf("getting ingress app: %v", err)
	}
	h.client = &app.(*App).mirrors
	h.logger = ctx.Logger()
	return nil
}

// check checks the settings and sets the defaults.
func (h *Mirror) check() error {
	u, requestURI, host, err := ingress.ParseMirrorTarget(h.URL)
	if err != nil {
		return fmt.Errorf("url: %v", err)
	}
	if requestURI {
		return fmt.Errorf("url: %q: $request_uri is request_uri: true", h.URL)
	}
	if h.Host == "" {
		h.Host = host
	} else if !ingress.ValidUpstreamHost(h.Host) {
		return fmt.Errorf("host: %q is not a host name with an optional port", h.Host)
	}
	if h.logger == nil {
		h.logger = zap.NewNop()
	}
	parsed, _ := url.Parse(u)
	h.key = parsed.Scheme + "://" + parsed.Host
	h.base = u
	if parsed.Path == "" && !h.RequestURI {
		h.base += "/"
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Mirror) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if reason := h.mirror(r); reason != "" {
		h.client.dropped.Add(1)
		if ce := h.logger.Check(zapcore.DebugLevel, "mirror copy not sent"); ce != nil {
			ce.Write(zap.String("mirror", h.key), zap.String("reason", reason))
		}
	}
	return next.ServeHTTP(w, r)
}

// mirror starts the copy of r; if none is sent, it says why. A body it
// reads is given back to r whole, or up to the error that ended it.
func (h *Mirror) mirror(r *http.Request) (notSent string) {
	var body []byte
	if !h.NoBody && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if r.ContentLength < 0 || r.ContentLength > mirrorMaxBody {
			return "body of unknown length or over 1 MiB"
		}
		buf := make([]byte, r.ContentLength)
		n, err := io.ReadFull(r.Body, buf)
		if err != nil {
			r.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(buf[:n]), errorReader{err}), Closer: r.Body}
			return "reading the body: " + err.Error()
		}
		r.Body = replayBody{Reader: bytes.NewReader(buf), Closer: r.Body}
		body = buf
	}
	target, ok := h.target(r)
	if !ok {
		return "the request's URI does not make a URL"
	}
	ctx, done, ok := h.client.start(h.key)
	if !ok {
		return "too many copies in flight"
	}
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, reader)
	if err != nil {
		done()
		return err.Error()
	}
	req.Header = endToEndHeaders(r.Header)
	// The body is at hand: nothing to wait for.
	req.Header.Del("Expect")
	req.Host = h.Host
	req.ContentLength = int64(len(body))
	go func() {
		defer done()
		resp, err := h.client.get().Do(req)
		if err != nil {
			if ce := h.logger.Check(zapcore.DebugLevel, "mirror copy failed"); ce != nil {
				ce.Write(zap.String("mirror", h.key), zap.Error(err))
			}
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, mirrorDrainBody))
		resp.Body.Close()
	}()
	return ""
}

// target is the URL of r's copy.
func (h *Mirror) target(r *http.Request) (string, bool) {
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		// An absolute-form request (or "*"): its path and query.
		uri = r.URL.RequestURI()
		if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
			uri = orig.URL.RequestURI()
		}
		if !strings.HasPrefix(uri, "/") {
			return "", false
		}
	}
	var target string
	if h.RequestURI {
		target = h.base + uri
	} else if _, query, ok := strings.Cut(uri, "?"); ok {
		target = h.base + "?" + query
	} else {
		target = h.base
	}
	// The request's URI may not change where the copy goes.
	u, err := url.Parse(target)
	if err != nil || u.Scheme+"://"+u.Host != h.key {
		return "", false
	}
	return target, true
}

// replayBody is a request body read ahead: the reader gives what was
// read, and Close closes the original.
type replayBody struct {
	io.Reader
	io.Closer
}

// errorReader fails every read with err.
type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }

// mirrorClient sends the copies of the Mirror handlers of one app
// through the dial guard, keeping count of those in flight per mirror.
type mirrorClient struct {
	dialGuard
	// maxInFlight and timeout are mirrorMaxInFlight and mirrorTimeout
	// unless a test sets them.
	maxInFlight int
	timeout     time.Duration

	once sync.Once
	// client is made by the first copy.
	client atomic.Pointer[http.Client]

	mu       sync.Mutex
	closed   bool
	inFlight map[string]int
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	// dropped counts the copies not sent.
	dropped atomic.Uint64
}

func (c *mirrorClient) get() *http.Client {
	c.once.Do(func() {
		c.setting = "mirror-target"
		c.client.Store(c.httpClient(&tls.Config{MinVersion: tls.VersionTLS12}, mirrorTimeout))
	})
	return c.client.Load()
}

// start counts a copy to the mirror key in flight and returns its
// context and the function that ends it; ok is false when the mirror
// has too many in flight or the client is closed.
func (c *mirrorClient) start(key string) (ctx context.Context, done func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.maxInFlight
	if limit == 0 {
		limit = mirrorMaxInFlight
	}
	if c.closed || c.inFlight[key] >= limit {
		return nil, nil, false
	}
	if c.inFlight == nil {
		c.inFlight = make(map[string]int)
		c.ctx, c.cancel = context.WithCancel(context.Background())
	}
	c.inFlight[key]++
	c.wg.Add(1)
	timeout := c.timeout
	if timeout == 0 {
		timeout = mirrorTimeout
	}
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	return ctx, func() {
		cancel()
		c.mu.Lock()
		if c.inFlight[key]--; c.inFlight[key] == 0 {
			delete(c.inFlight, key)
		}
		c.mu.Unlock()
		c.wg.Done()
	}, true
}

// close ends the copies in flight, waiting for them up to wait, and
// starts no more.
func (c *mirrorClient) close(wait time.Duration) {
	c.mu.Lock()
	c.closed = true
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
	ended := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(wait):
	}
	if client := c.client.Load(); client != nil {
		client.CloseIdleConnections()
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Mirror)(nil)
	_ caddyhttp.MiddlewareHandler = (*Mirror)(nil)
)
