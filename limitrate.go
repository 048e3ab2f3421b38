package caddyingress

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

func init() {
	caddy.RegisterModule(LimitRate{})
}

// LimitRate paces each response to the client, as nginx's limit_rate and
// limit_rate_after do (ingress-nginx's limit-rate and limit-rate-after):
// the first After bytes of the body go at full speed, the rest at Rate
// bytes per second on average, counted from the moment After is reached.
// The limit is per request. Before each wait, what was written is flushed
// to the client, so that it leaves at the pace rather than in bursts of
// the server's buffer. A client that goes away ends the wait. Headers
// and upgraded connections (which hijack the connection) are not
// limited.
type LimitRate struct {
	// Rate is the bytes per second at which a response's body is sent
	// once After bytes of it are. Required, at least 1.
	Rate int64 `json:"rate"`
	// After is the bytes of a response's body sent at full speed first.
	// Default: 0, the whole body is paced.
	After int64 `json:"after,omitempty"`

	// piece is the most written at once while pacing: a tenth of a
	// second's worth, at most maxPacedPiece.
	piece int
}

// maxPacedPiece bounds what a paced write sends at once.
const maxPacedPiece = 64 << 10

// CaddyModule returns the Caddy module information.
func (LimitRate) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers." + ingress.LimitRateModule,
		New: func() caddy.Module { return new(LimitRate) },
	}
}

// Provision sets the size of paced writes.
func (l *LimitRate) Provision(caddy.Context) error {
	l.piece = int(max(1, min(l.Rate/10, maxPacedPiece)))
	return nil
}

// Validate checks the rate.
func (l *LimitRate) Validate() error {
	if l.Rate < 1 {
		return fmt.Errorf("rate: %d: want at least 1 byte per second", l.Rate)
	}
	if l.After < 0 {
		return fmt.Errorf("after: negative %d", l.After)
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (l *LimitRate) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(&pacedWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, ctx: r.Context(), limit: l}, r)
}

// pacedWriter writes a response's body at the pace of its limit.
type pacedWriter struct {
	*caddyhttp.ResponseWriterWrapper
	ctx   context.Context
	limit *LimitRate
	// sent counts the body bytes written; start is when sent reached
	// limit.After (zero before).
	sent  int64
	start time.Time
}

func (w *pacedWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := len(b)
		if full := w.limit.After - w.sent; full > 0 {
			n = int(min(int64(n), full))
		} else {
			if err := w.wait(); err != nil {
				return written, err
			}
			n = min(n, w.limit.piece)
		}
		m, err := w.ResponseWriterWrapper.Write(b[:n])
		written += m
		w.sent += int64(m)
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// wait waits until the bytes sent past After are due at the rate: the
// next piece goes once those before it are paid for. It flushes first,
// so that what is already written leaves now.
func (w *pacedWriter) wait() error {
	now := time.Now()
	if w.start.IsZero() {
		w.start = now
		return nil
	}
	paced := float64(w.sent - w.limit.After)
	due := w.start.Add(time.Duration(paced / float64(w.limit.Rate) * float64(time.Second)))
	d := due.Sub(now)
	if d <= 0 {
		return nil
	}
	// A writer that cannot flush sends when its buffer fills.
	_ = http.NewResponseController(w.ResponseWriterWrapper.ResponseWriter).Flush()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

// ReadFrom copies through Write, so that the pace holds: the wrapped
// writer's ReadFrom would bypass it.
func (w *pacedWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(writerOnly{w}, r)
}

// writerOnly hides every method of a writer but Write.
type writerOnly struct{ io.Writer }

// Interface guards
var (
	_ caddy.Provisioner           = (*LimitRate)(nil)
	_ caddy.Validator             = (*LimitRate)(nil)
	_ caddyhttp.MiddlewareHandler = (*LimitRate)(nil)
	_ io.ReaderFrom               = (*pacedWriter)(nil)
)
