package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure Run.
type Options struct {
	// Every classifies one frame in N (the others are skipped before
	// the mailbox); 0 or 1 offers every frame.
	Every int
	// Lossless makes capture wait for inference instead of dropping
	// frames: for recorded files. Live sources leave it off.
	Lossless bool
	// MaxFrames stops after that many classified frames (0: no limit).
	MaxFrames int
	// StatusInterval is the period of OnStatus calls (default 1 s).
	StatusInterval time.Duration
	// OnResult is called for each classified frame, OnStatus every
	// StatusInterval and once at the end (Final set). Both are called
	// from the goroutine that called Run, never concurrently.
	OnResult func(Result)
	OnStatus func(Status)
	// Reconnects, when set, reports the source's reconnection count for
	// the status figures (Reconnect.Reconnects).
	Reconnects func() int64
}

// Result is one classified frame.
type Result struct {
	Seq         uint64        `json:"seq"` // frames in so far, this one included
	Captured    time.Time     `json:"captured"`
	Width       int           `json:"width"`  // the decoded frame's size
	Height      int           `json:"height"` //
	Latency     time.Duration `json:"-"`      // decode + Classify
	Predictions []Prediction  `json:"-"`      // every class, most probable first
}

// Status holds the running figures.
type Status struct {
	Elapsed    time.Duration
	FramesIn   int64 // good frames delivered by the source
	Classified int64
	Dropped    int64 // replaced in the mailbox before inference took them
	Skipped    int64 // left out by Every
	Bad        int64 // corrupt frames: cut, oversized, undecodable
	// Undecodable counts the frames among Bad that the source delivered
	// but that failed to decode: FramesIn = Classified + Dropped +
	// Skipped + Undecodable once Run has returned.
	Undecodable int64
	Reconnects  int64
	// Rates over the last interval (over the whole run when Final).
	FPSIn, FPSClassified float64
	// Latency percentiles over the last (up to) 256 classified frames.
	LatencyP50, LatencyP90 time.Duration
	Final                  bool
}

// Run captures frames from src on one goroutine and classifies the latest
// one on the calling goroutine until the source ends (io.EOF), ctx is
// done, or MaxFrames is reached; it closes src. It returns the final
// figures and nil at the end of the stream or on cancellation, or the
// error that stopped it: a failing source or classifier.
func Run(ctx context.Context, src Source, clf Classifier, opt Options) (Status, error) {
	every := max(opt.Every, 1)
	interval := opt.StatusInterval
	if interval <= 0 {
		interval = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var in, skipped, dropped, bad, undecodable atomic.Int64
	mb := NewMailbox(opt.Lossless)
	capErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer mb.Close()
		for {
			f, err := src.Next(ctx)
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					bad.Add(1)
					continue
				}
				capErr <- err
				return
			}
			n := in.Add(1)
			f.Seq = uint64(n) // one numbering across reconnections
			if (n-1)%int64(every) != 0 {
				skipped.Add(1)
				continue
			}
			if mb.Put(f, ctx.Done()) {
				dropped.Add(1)
			}
		}
	}()

	start := time.Now()
	var classified int64
	lat := newLatencies(256)
	last := struct {
		t          time.Time
		in, frames int64
	}{t: start}
	status := func(final bool) Status {
		now := time.Now()
		s := Status{
			Elapsed: now.Sub(start), FramesIn: in.Load(), Classified: classified,
			Dropped: dropped.Load(), Skipped: skipped.Load(), Bad: bad.Load(), Undecodable: undecodable.Load(), Final: final,
		}
		if opt.Reconnects != nil {
			s.Reconnects = opt.Reconnects()
		}
		s.LatencyP50, s.LatencyP90 = lat.percentile(50), lat.percentile(90)
		from, fin, ffr := last.t, last.in, last.frames
		if final {
			from, fin, ffr = start, 0, 0
		}
		if dt := now.Sub(from).Seconds(); dt > 0 {
			s.FPSIn = float64(s.FramesIn-fin) / dt
			s.FPSClassified = float64(s.Classified-ffr) / dt
		}
		last.t, last.in, last.frames = now, s.FramesIn, s.Classified
		return s
	}

	classify := func(f Frame) error {
		t0 := time.Now()
		img, err := f.Decode()
		if err != nil {
			bad.Add(1)
			undecodable.Add(1)
			return nil
		}
		preds, err := clf.Classify(img)
		if err != nil {
			return fmt.Errorf("camera: frame %d: %w", f.Seq, err)
		}
		d := time.Since(t0)
		classified++
		lat.add(d)
		if opt.OnResult != nil {
			b := img.Bounds()
			opt.OnResult(Result{Seq: f.Seq, Captured: f.Time, Width: b.Dx(), Height: b.Dy(), Latency: d, Predictions: preds})
		}
		return nil
	}

	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var runErr error
	capDone := false
loop:
	for {
		if opt.MaxFrames > 0 && classified >= int64(opt.MaxFrames) {
			break
		}
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
			if opt.OnStatus != nil {
				opt.OnStatus(status(false))
			}
		case <-mb.Ready():
			if f, ok := mb.Take(); ok {
				if runErr = classify(f); runErr != nil {
					break loop
				}
			}
		case err := <-capErr:
			capDone = true
			// The last frame may still wait in the mailbox.
			if f, ok := mb.Take(); ok && (opt.MaxFrames == 0 || classified < int64(opt.MaxFrames)) {
				if runErr = classify(f); runErr != nil {
					break loop
				}
			}
			if err != io.EOF && !errors.Is(err, context.Canceled) {
				runErr = err
			}
			break loop
		}
	}
	cancel()
	src.Close()
	if !capDone {
		// Wait briefly for the capture goroutine: a read that Close
		// cannot interrupt (a terminal, some pipes) must not hang us.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
	// A frame still waiting was captured but never classified.
	if _, ok := mb.Take(); ok {
		dropped.Add(1)
	}
	final := status(true)
	if opt.OnStatus != nil {
		opt.OnStatus(final)
	}
	return final, runErr
}

// latencies keeps the last n durations.
type latencies struct {
	ring []time.Duration
	next int
	full bool
}

func newLatencies(n int) *latencies { return &latencies{ring: make([]time.Duration, n)} }

func (l *latencies) add(d time.Duration) {
	l.ring[l.next] = d
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
}

// percentile is the nearest-rank percentile p of the kept durations.
func (l *latencies) percentile(p int) time.Duration {
	n := l.next
	if l.full {
		n = len(l.ring)
	}
	if n == 0 {
		return 0
	}
	s := slices.Clone(l.ring[:n])
	slices.Sort(s)
	rank := (p*n + 99) / 100 // ceil(p/100 · n)
	return s[max(rank, 1)-1]
}
