//go:build linux

package runtime

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// rssBytes is the process's resident set size, from /proc/self/statm.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("/proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestSoakRSSFlat runs the built-in model 100,000 times (2,000 with
// -short: the race detector and qemu runs) at four input sizes in turn, two sessions at once, and checks
// that the resident set stays within ±5% of its size after warm-up: plans
// and arenas are cached per shape and a run allocates nothing, so nothing
// may grow.
func TestSoakRSSFlat(t *testing.T) {
	total, samples := 100_000, 10
	if testing.Short() {
		total = 2_000
	}
	b, err := os.ReadFile(filepath.Join("..", "internal", "defaultmodel", "fashion_int8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadBytes(b, "fashion_int8.onnx", Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	sizes := [][2]int{{28, 28}, {36, 36}, {32, 28}, {28, 40}}
	inputs := make([][]float32, len(sizes))
	for i, s := range sizes {
		inputs[i] = make([]float32, s[0]*s[1])
		for j := range inputs[i] {
			inputs[i][j] = float32((j*37+i*11)%255)/64 - 2
		}
	}
	logits := [2][]float32{make([]float32, 10), make([]float32, 10)}
	sessions := [2]*Session{m.NewSession(), m.NewSession()}
	defer sessions[0].Close()
	defer sessions[1].Close()

	// The second session runs on its own goroutine, fed through channels
	// made once: the loop itself allocates nothing.
	work, done := make(chan int), make(chan error)
	defer close(work)
	go func() {
		for k := range work {
			s := sizes[k%len(sizes)]
			done <- sessions[1].RunFloat(inputs[k%len(sizes)], 1, 1, s[0], s[1], logits[1])
		}
	}()
	run := func(k int) {
		work <- k + 1
		s := sizes[k%len(sizes)]
		if err := sessions[0].RunFloat(inputs[k%len(sizes)], 1, 1, s[0], s[1], logits[0]); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	warm := total / samples
	for k := 0; k < warm; k += 2 {
		run(k)
	}
	// Each measurement follows debug.FreeOSMemory (a GC that also returns
	// free pages to the OS), so that RSS counts what is live, not when the
	// background scavenger happened to run.
	debug.FreeOSMemory()
	base := rssBytes(t)
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	baseMallocs := ms.Mallocs
	lo, hi := base, base
	for k := warm; k < total; k += 2 {
		run(k)
		if (k+2)%warm == 0 {
			debug.FreeOSMemory()
			r := rssBytes(t)
			lo, hi = min(lo, r), max(hi, r)
			goruntime.ReadMemStats(&ms)
			t.Logf("%6d inferences: RSS %.2f MiB, heap %.2f MiB, %d mallocs since warm-up",
				k+2, float64(r)/(1<<20), float64(ms.HeapAlloc)/(1<<20), ms.Mallocs-baseMallocs)
		}
	}
	t.Logf("RSS after warm-up %.2f MiB; range %.2f .. %.2f MiB (%+.2f%% .. %+.2f%%)",
		float64(base)/(1<<20), float64(lo)/(1<<20), float64(hi)/(1<<20),
		100*float64(lo-base)/float64(base), 100*float64(hi-base)/float64(base))
	if float64(hi) > 1.05*float64(base) || float64(lo) < 0.95*float64(base) {
		t.Errorf("RSS moved more than 5%% after warm-up: %d .. %d bytes around %d", lo, hi, base)
	}
}
