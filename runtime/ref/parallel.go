package ref

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelJobs runs fn(worker, job) for job = 0..jobs-1 on up to GOMAXPROCS
// goroutines; worker identifies the goroutine (0..workers-1) so that fn can
// use per-worker scratch buffers. It returns when every job is done.
func parallelJobs(jobs int, fn func(worker, job int)) {
	workers := min(runtime.GOMAXPROCS(0), jobs)
	if workers <= 1 {
		for j := 0; j < jobs; j++ {
			fn(0, j)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var crash any
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer wg.Done()
			defer func() {
				// A panic in a worker would kill the process; hand it to
				// the caller's goroutine instead (Run turns it into an
				// error).
				if r := recover(); r != nil {
					once.Do(func() { crash = r })
					next.Store(int64(jobs))
				}
			}()
			for {
				j := int(next.Add(1)) - 1
				if j >= jobs {
					return
				}
				fn(w, j)
			}
		}(w)
	}
	wg.Wait()
	if crash != nil {
		panic(crash)
	}
}

// parallelChunks calls fn on consecutive ranges [lo, hi) covering [0, n),
// in parallel when n is large enough to be worth it.
func parallelChunks(n int, fn func(lo, hi int)) {
	const grain = 1 << 15
	if n <= grain {
		fn(0, n)
		return
	}
	chunks := min((n+grain-1)/grain, 4*numWorkers())
	size := (n + chunks - 1) / chunks
	parallelJobs(chunks, func(_, j int) {
		fn(j*size, min((j+1)*size, n))
	})
}

// numWorkers is the number of goroutines parallelJobs uses at most.
func numWorkers() int { return runtime.GOMAXPROCS(0) }

// gemmTask is one product C[m x n] (+)= A[m x k] * B[k x n]; c is row-major
// with leading dimension ldc. packed, when set, is A already packed for
// the kernel runGemms uses (kernelFor[T]); otherwise runGemms packs a.
type gemmTask[T number] struct {
	m, n, k    int
	a          matrix[T]
	packed     *packedA[T]
	b          bPacker[T]
	c          []T
	ldc        int
	accumulate bool
}

// runGemms computes independent products in parallel, cutting each into
// blocks of rows and columns so that every worker has several blocks.
func runGemms[T number](tasks []gemmTask[T]) {
	type block struct {
		t              *gemmTask[T]
		i0, i1, j0, j1 int
	}
	kern := kernelFor[T]()
	var work int64
	for i := range tasks {
		work += int64(tasks[i].m) * int64(tasks[i].n) * int64(max(tasks[i].k, 1))
	}
	workers := numWorkers()
	target := 1
	if work >= 1<<16 && workers > 1 {
		target = 4 * workers // blocks wanted, for balance
	}
	var blocks []block
	for i := range tasks {
		t := &tasks[i]
		if t.m == 0 || t.n == 0 {
			continue
		}
		share := int(max(1, int64(target)*int64(t.m)*int64(t.n)*int64(max(t.k, 1))/max(work, 1)))
		// Split columns first (B is packed per column panel), then rows.
		cols := min(share, max(1, t.n/16))
		rows := min(max(1, share/cols), max(1, t.m/16))
		cw := roundUp((t.n+cols-1)/cols, kern.nr)
		rh := roundUp((t.m+rows-1)/rows, kern.mr)
		for i0 := 0; i0 < t.m; i0 += rh {
			for j0 := 0; j0 < t.n; j0 += cw {
				blocks = append(blocks, block{t, i0, min(i0+rh, t.m), j0, min(j0+cw, t.n)})
			}
		}
	}
	var unpacked []int
	for i := range tasks {
		if tasks[i].packed == nil && tasks[i].m > 0 && tasks[i].n > 0 {
			unpacked = append(unpacked, i)
		}
	}
	parallelJobs(len(unpacked), func(_, j int) {
		t := &tasks[unpacked[j]]
		t.packed = packWholeA(t.a, t.m, t.k, kern.mr)
	})
	bufs := make([]*gemmBuffers[T], numWorkers())
	parallelJobs(len(blocks), func(w, j int) {
		if bufs[w] == nil {
			bufs[w] = newGemmBuffers(kern)
		}
		b := blocks[j]
		t := b.t
		gemmRange(b.i0, b.i1, b.j0, b.j1, t.packed, t.b, t.c, t.ldc, t.accumulate, bufs[w])
	})
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
