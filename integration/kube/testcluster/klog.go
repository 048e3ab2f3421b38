package testcluster

import (
	"flag"
	"fmt"
	"io"
	"sync"

	"k8s.io/klog/v2"
)

// klogOutput receives everything klog writes in this process once a cluster
// has started: the API server logs through klog, a lot, and klog is global.
var klogOutput = &switchWriter{w: io.Discard}

// redirectKlog points klog at klogOutput only, errors included, once per
// process.
var redirectKlog = sync.OnceValue(func() error {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"stderrthreshold": "FATAL",
		"one_output":      "true",
	} {
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("klog flag %s: %w", name, err)
		}
	}
	klog.SetOutput(klogOutput)
	return nil
})

// logKlogTo sends klog's output to w only.
func logKlogTo(w io.Writer) error {
	if err := redirectKlog(); err != nil {
		return err
	}
	klogOutput.set(w)
	return nil
}

// switchWriter writes to a writer that can be swapped at any time.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

// swap replaces old with w, if old is still the writer.
func (s *switchWriter) swap(old, w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == old {
		s.w = w
	}
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
