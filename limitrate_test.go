package caddyingress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// timedRecorder records when each write reached it, and how much had been
// written before.
type timedRecorder struct {
	*httptest.ResponseRecorder
	start  time.Time
	writes []timedWrite
}

type timedWrite struct {
	at     time.Duration
	before int
	n      int
}

func (r *timedRecorder) Write(b []byte) (int, error) {
	r.writes = append(r.writes, timedWrite{at: time.Since(r.start), before: r.Body.Len(), n: len(b)})
	return r.ResponseRecorder.Write(b)
}

// serveLimited serves body through a LimitRate of rate and after, from a
// handler that writes it with write, in a synctest bubble: time is fake,
// so the pace is measured exactly and nothing sleeps.
func serveLimited(t *testing.T, rate, after int64, body []byte, write func(w http.ResponseWriter, body []byte) error) (*timedRecorder, time.Duration) {
	t.Helper()
	l := &LimitRate{Rate: rate, After: after}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := l.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	var rec *timedRecorder
	var took time.Duration
	synctest.Test(t, func(t *testing.T) {
		rec = &timedRecorder{ResponseRecorder: httptest.NewRecorder(), start: time.Now()}
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error { return write(w, body) })
		if err := l.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil), next); err != nil {
			t.Fatal(err)
		}
		took = time.Since(rec.start)
	})
	if !bytes.Equal(rec.Body.Bytes(), body) {
		t.Fatalf("got %d bytes, want the %d of the body", rec.Body.Len(), len(body))
	}
	return rec, took
}

func TestLimitRatePaces(t *testing.T) {
	const rate, after = 10 << 10, 32 << 10
	body := bytes.Repeat([]byte("x"), after+5*rate)
	tests := []struct {
		name  string
		write func(w http.ResponseWriter, body []byte) error
	}{
		{name: "one write", write: func(w http.ResponseWriter, body []byte) error {
			_, err := w.Write(body)
			return err
		}},
		{name: "many writes", write: func(w http.ResponseWriter, body []byte) error {
			for chunk := range slices.Chunk(body, 3000) {
				if _, err := w.Write(chunk); err != nil {
					return err
				}
			}
			return nil
		}},
		{name: "ReadFrom", write: func(w http.ResponseWriter, body []byte) error {
			_, err := io.Copy(w, bytes.NewReader(body))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, took := serveLimited(t, rate, after, body, tt.write)
			piece := rate / 10
			// Each paced piece goes once the paced bytes before it are
			// due: the last one after 5 s less its own size.
			if err := checkPace(rec, took, rate, after, len(body), piece); err != nil {
				t.Error(err)
			}
			for _, w := range rec.writes {
				if w.before < after && w.at != 0 {
					t.Errorf("bytes %d to %d went at %v, want them at once (before limit-rate-after)", w.before, w.before+w.n, w.at)
				}
				if w.before >= after && w.n > piece {
					t.Errorf("a paced write of %d bytes, want at most %d", w.n, piece)
				}
				if paced := w.before - after; paced > 0 && time.Duration(paced)*time.Second/rate > w.at+time.Millisecond {
					t.Errorf("bytes %d to %d went at %v, ahead of the rate", w.before, w.before+w.n, w.at)
				}
			}
			if !rec.Flushed {
				t.Error("nothing was flushed before waiting")
			}
		})
	}
}

func TestLimitRateWholeBody(t *testing.T) {
	// Without limit-rate-after the first piece goes at once and the
	// rest at the rate.
	const rate = 1 << 10
	body := bytes.Repeat([]byte("y"), 3*rate)
	rec, took := serveLimited(t, rate, 0, body, func(w http.ResponseWriter, body []byte) error {
		_, err := w.Write(body)
		return err
	})
	if err := checkPace(rec, took, rate, 0, len(body), rate/10); err != nil {
		t.Error(err)
	}
}

// checkPace checks that a paced response took as long as the bytes before
// its last write are due at rate, which is the body less at most one
// piece.
func checkPace(rec *timedRecorder, took time.Duration, rate, after int64, size, piece int) error {
	last := rec.writes[len(rec.writes)-1]
	due := time.Duration(int64(last.before)-after) * time.Second / time.Duration(rate)
	if took < due-time.Millisecond || took > due+time.Millisecond {
		return fmt.Errorf("took %v, want %v (the %d bytes before the last write at %d bytes/s)", took, due, int64(last.before)-after, rate)
	}
	if least := time.Duration(int64(size-piece)-after) * time.Second / time.Duration(rate); took < least {
		return fmt.Errorf("took %v, want at least %v", took, least)
	}
	return nil
}

func TestLimitRateShortBody(t *testing.T) {
	// A body within limit-rate-after is not slowed at all.
	_, took := serveLimited(t, 1, 1<<10, bytes.Repeat([]byte("z"), 1<<10), func(w http.ResponseWriter, body []byte) error {
		_, err := w.Write(body)
		return err
	})
	if took != 0 {
		t.Errorf("took %v, want no wait", took)
	}
}

func TestLimitRateClientGone(t *testing.T) {
	l := &LimitRate{Rate: 1 << 10}
	if err := l.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			err = l.ServeHTTP(httptest.NewRecorder(), r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
				_, err := w.Write(make([]byte, 1<<20)) // over 15 minutes at the rate
				return err
			}))
		}()
		time.Sleep(time.Second)
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("still writing after the client went away")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want %v", err, context.Canceled)
		}
	})
}

func TestLimitRateValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		l    LimitRate
		ok   bool
	}{
		{name: "rate", l: LimitRate{Rate: 1024}, ok: true},
		{name: "rate and after", l: LimitRate{Rate: 1024, After: 1 << 20}, ok: true},
		{name: "no rate", l: LimitRate{After: 1024}},
		{name: "negative after", l: LimitRate{Rate: 1024, After: -1}},
	} {
		if err := tt.l.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: got %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
