package caddyingress

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/caddy-ingress/caddy-ingress/ingress"
)

// BenchmarkFirstApplyOneService applies 10,000 Ingresses, each with its
// own host and one path, to one Service, on an app that serves nothing:
// translation, compiling routes and the table. In "identical" every path
// renders the same routes, which are compiled once; in "distinct" each
// Ingress has its own upstream-vhost, so that each path has its own
// routes and reverse_proxy handler to the same backend; in
// "distinct-headers" each sets its own response header, so that the
// routes differ but their reverse_proxy handlers are alike.
//
// Besides ns/op it reports what the app holds afterwards per Ingress:
// heap-B/ingress, the growth of the heap in use, and rss-B/ingress, the
// growth of the resident set, both after a garbage collection that
// returns freed memory to the system; and goroutines/ingress, the growth
// in goroutines. Run it with -benchtime 1x: the
// routes released between iterations are kept a little longer (see
// lateRequestsGrace), which blurs later iterations' memory figures; each
// run waits for those of the run before it.
func BenchmarkFirstApplyOneService(b *testing.B) {
	const n = 10000
	for _, bc := range []struct {
		name       string
		annotation func(i int) map[string]string
	}{
		{"identical", func(int) map[string]string { return nil }},
		{"distinct", func(i int) map[string]string {
			return map[string]string{"nginx.ingress.kubernetes.io/upstream-vhost": fmt.Sprintf("app%d.internal", i)}
		}},
		{"distinct-headers", func(i int) map[string]string {
			return map[string]string{"nginx.ingress.kubernetes.io/configuration-snippet": fmt.Sprintf(`more_set_headers "X-N: %d";`, i)}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			snap := &ingress.Snapshot{Services: []*corev1.Service{testService("svc")}}
			for i := range n {
				ing := testIngress(fmt.Sprintf("ing%d", i), fmt.Sprintf("app%d.example.com", i), testPath{"/", "Prefix", "svc"})
				ing.Annotations = bc.annotation(i)
				snap.Ingresses = append(snap.Ingresses, ing)
			}
			app := runApp(b)
			// The routes of an app that an earlier run stopped are
			// released lateRequestsGrace after it.
			time.Sleep(lateRequestsGrace + 500*time.Millisecond)
			var heap, rss, goroutines float64
			for b.Loop() {
				b.StopTimer()
				emptyApp(b, app)
				heap0, rss0 := liveMemory(b)
				g0 := runtime.NumGoroutine()
				b.StartTimer()
				app.update(snap, nil)
				b.StopTimer()
				heap1, rss1 := liveMemory(b)
				heap, rss = float64(heap1)-float64(heap0), float64(rss1)-float64(rss0)
				goroutines = float64(runtime.NumGoroutine() - g0)
				b.StartTimer()
			}
			if problems := app.problems; len(problems) > 0 {
				b.Fatalf("problems: %v", problems[0])
			}
			b.ReportMetric(heap/n, "heap-B/ingress")
			b.ReportMetric(rss/n, "rss-B/ingress")
			b.ReportMetric(goroutines/n, "goroutines/ingress")
		})
	}
}

// emptyApp applies an empty snapshot and waits until the routes it
// replaced are released.
func emptyApp(tb testing.TB, app *App) {
	tb.Helper()
	old := app.current().routes
	app.update(&ingress.Snapshot{}, nil)
	if old != nil && app.current().routes != old {
		waitReleased(tb, app, old)
	}
}

// liveMemory returns the heap in use and the resident set size, in bytes,
// after a garbage collection that returns freed memory to the system.
func liveMemory(tb testing.TB) (heap, rss uint64) {
	tb.Helper()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Skipf("no resident set size: %v", err)
	}
	fields := strings.Fields(string(statm))
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		tb.Fatalf("/proc/self/statm: %v", err)
	}
	return ms.HeapInuse, pages * uint64(os.Getpagesize())
}

// waitReleased waits until a retired table has released its routes:
// those the current table does not use have no table left.
func waitReleased(tb testing.TB, app *App, old *table) {
	tb.Helper()
	<-old.drained
	deadline := time.Now().Add(5 * time.Second)
	for {
		app.mu.Lock()
		current := compiledOf(app.current().routes)
		released := true
		for cr := range compiledOf(old) {
			released = released && (current[cr] || app.compiled[cr.key] != cr)
		}
		app.mu.Unlock()
		if released {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal("the retired table's routes are not released after 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
