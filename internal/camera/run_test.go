package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// recording is a recorded MJPEG stream: n generated JPEG frames (distinct
// of them, cycled; distinct is even so that frame i keeps i's parity).
type recording struct {
	frames [][]byte // frame i is frames[i%len(frames)]
	n      int
	bytes  int
}

func record(t testing.TB, n, distinct, w, h int) *recording {
	r := &recording{n: n}
	for i := 0; i < distinct; i++ {
		r.frames = append(r.frames, genJPEG(t, i, w, h))
	}
	for i := 0; i < n; i++ {
		r.bytes += len(r.frames[i%distinct])
	}
	return r
}

func (r *recording) frame(i int) []byte { return r.frames[i%len(r.frames)] }

// play writes the recording to w, one frame every interval, then closes w.
func (r *recording) play(w io.WriteCloser, interval time.Duration) {
	defer w.Close()
	next := time.Now()
	for i := 0; i < r.n; i++ {
		if _, err := w.Write(r.frame(i)); err != nil {
			return
		}
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
}

// file writes the recording to a file (a recorded stream on disk).
func (r *recording) file(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "rec.mjpeg")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	r.play(f, 0)
	return p
}

// countingSource reports each frame its source delivers to p, and the
// end of the stream.
type countingSource struct {
	Source
	p *progress
}

func (s *countingSource) Next(ctx context.Context) (Frame, error) {
	f, err := s.Source.Next(ctx)
	switch {
	case err == nil:
		s.p.wrote()
	case !errors.Is(err, ErrCorrupt):
		s.p.finish()
	}
	return f, err
}

type collector struct {
	results  []Result
	statuses []Status
	mem      func()
}

func (c *collector) options(o Options) Options {
	o.OnResult = func(r Result) {
		c.results = append(c.results, r)
		if c.mem != nil {
			c.mem()
		}
	}
	o.OnStatus = func(s Status) { c.statuses = append(c.statuses, s) }
	if o.StatusInterval == 0 {
		o.StatusInterval = 20 * time.Millisecond
	}
	return o
}

// check verifies what every run must satisfy: one result per classified
// frame, in capture order, each labelled as its frame's content says;
// every frame accounted for; status figures present and final last.
func (c *collector) check(t *testing.T, st Status, frames int64) {
	t.Helper()
	if int64(len(c.results)) != st.Classified {
		t.Errorf("%d results for %d classified frames", len(c.results), st.Classified)
	}
	if st.FramesIn != frames {
		t.Errorf("frames in %d, want %d", st.FramesIn, frames)
	}
	if got := st.Classified + st.Dropped + st.Skipped + st.Undecodable; got != st.FramesIn {
		t.Errorf("classified %d + dropped %d + skipped %d + undecodable %d = %d, frames in %d",
			st.Classified, st.Dropped, st.Skipped, st.Undecodable, got, st.FramesIn)
	}
	var last uint64
	for _, r := range c.results {
		if r.Seq <= last {
			t.Errorf("result for frame %d after frame %d", r.Seq, last)
		}
		last = r.Seq
		if r.Predictions[0].Label != wantLabel(r.Seq) {
			t.Errorf("frame %d labelled %s, want %s", r.Seq, r.Predictions[0].Label, wantLabel(r.Seq))
		}
		if r.Latency <= 0 || r.Width == 0 {
			t.Errorf("frame %d: latency %v size %dx%d", r.Seq, r.Latency, r.Width, r.Height)
		}
	}
	if len(c.statuses) == 0 || !c.statuses[len(c.statuses)-1].Final || c.statuses[len(c.statuses)-1] != st {
		t.Fatalf("the final status is not the last one reported")
	}
	if st.Classified > 0 && (st.LatencyP50 <= 0 || st.LatencyP90 < st.LatencyP50 || st.FPSClassified <= 0 || st.FPSIn <= 0) {
		t.Errorf("status figures: %+v", st)
	}
	for _, s := range c.statuses[:len(c.statuses)-1] {
		if s.Final {
			t.Error("a periodic status marked final")
		}
	}
}

// 300 frames through a pipe, a fast classifier: one result per classified
// frame, all frames accounted for.
func TestRunPipe300(t *testing.T) {
	rec := record(t, 300, 8, 96, 64)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go rec.play(pw, time.Millisecond)
	var c collector
	st, err := Run(context.Background(), NewReaderSource("pipe", pr, 0), &brightness{}, c.options(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	c.check(t, st, 300)
	if st.Bad != 0 || st.Classified < 1 {
		t.Errorf("bad %d classified %d", st.Bad, st.Classified)
	}
	// The producer's pacing makes the run last over 300 ms: status
	// reports every 20 ms.
	if len(c.statuses) < 2 {
		t.Errorf("%d status reports over %v", len(c.statuses), st.Elapsed)
	}
	t.Logf("%+v", st)
}

// The same recording over a loopback HTTP MJPEG server.
func TestRunHTTP300(t *testing.T) {
	rec := record(t, 300, 8, 96, 64)
	srv := httptest.NewServer(mjpegHandler(rec, time.Millisecond, true))
	defer srv.Close()
	src, err := OpenHTTP(context.Background(), srv.Client(), srv.URL+"/stream", 0)
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	st, err := Run(context.Background(), src, &brightness{}, c.options(Options{}))
	if err == nil || !strings.Contains(err.Error(), "server closed the stream") {
		t.Errorf("end of the HTTP stream: %v", err)
	}
	c.check(t, st, 300)
	if st.Bad != 0 || st.Classified < 1 {
		t.Errorf("bad %d classified %d", st.Bad, st.Classified)
	}
	t.Logf("%+v", st)
}

// mjpegHandler serves rec as multipart/x-mixed-replace, one part per
// interval.
func mjpegHandler(rec *recording, interval time.Duration, withLength bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		fl := w.(http.Flusher)
		next := time.Now()
		for i := 0; i < rec.n; i++ {
			f := rec.frame(i)
			fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\n")
			if withLength {
				fmt.Fprintf(w, "Content-Length: %d\r\n", len(f))
			}
			fmt.Fprintf(w, "\r\n")
			w.Write(f)
			fmt.Fprintf(w, "\r\n")
			fl.Flush()
			next = next.Add(interval)
			time.Sleep(time.Until(next))
		}
	}
}

// A classifier 10x slower than the stream (gated on the producer's
// progress, not on the clock): frames are dropped and counted, never
// queued, and the live heap stays within a few frames although the stream
// carries far more.
func TestRunSlowClassifierBoundedMemory(t *testing.T) {
	rec := record(t, 300, 16, 320, 240)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	c := collector{mem: func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}}
	prog := newProgress()
	go rec.play(pw, time.Millisecond)
	src := &countingSource{Source: NewReaderSource("pipe", pr, 0), p: prog}
	st, err := Run(context.Background(), src, &brightness{gate: prog.slowerThan(10)}, c.options(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	c.check(t, st, 300)
	// One classification per 10 frames captured, and one for the frame
	// left in the mailbox at the end: the rest was dropped.
	if st.Classified > 32 || st.Dropped < 268 {
		t.Errorf("classified %d, dropped %d of 300 with a classifier 10x slower than the stream", st.Classified, st.Dropped)
	}
	growth := int64(peak) - int64(base)
	frame := rec.bytes / rec.n
	// Bounded: the mailbox frame, the one being captured, the one being
	// classified and its decoded image, the reader's buffers. Queueing
	// the dropped frames would hold ~st.Dropped frames.
	limit := int64(2<<20 + 8*frame)
	t.Logf("heap growth %d KiB (limit %d KiB); stream %d KiB, frame %d KiB; %+v",
		growth>>10, limit>>10, rec.bytes>>10, frame>>10, st)
	if growth > limit {
		t.Errorf("heap grew by %d bytes, more than %d", growth, limit)
	}
	if limit > int64(rec.bytes)/2 {
		t.Fatalf("the stream (%d bytes) is too small for the bound to mean anything", rec.bytes)
	}
}

// A recorded file, read losslessly with --every 3, with corrupt frames
// spliced in: exact counts.
func TestRunFileEveryCorrupt(t *testing.T) {
	rec := record(t, 30, 2, 48, 32)
	var data []byte
	for i := 0; i < rec.n; i++ {
		data = append(data, rec.frame(i)...)
		if i%10 == 4 {
			data = append(data, rec.frame(i)[:200]...) // a frame cut by the next
		}
	}
	undecodable := []byte{0xff, 0xd8, 0xff, 0xfe, 0x00, 0x04, 'h', 'i', 0xff, 0xd9} // a comment, no image
	data = append(data, undecodable...)
	p := filepath.Join(t.TempDir(), "rec.mjpeg")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	st, err := Run(context.Background(), NewReaderSource(p, f, 0), &brightness{delay: time.Millisecond}, c.options(Options{Every: 3, Lossless: true}))
	if err != nil {
		t.Fatal(err)
	}
	c.check(t, st, 31)
	// Frames 1, 4, …, 31 are offered: 11, of which the last is undecodable.
	if st.Classified != 10 || st.Skipped != 20 || st.Dropped != 0 || st.Undecodable != 1 || st.Bad != 4 {
		t.Errorf("%+v", st)
	}
	for i, r := range c.results {
		if r.Seq != uint64(3*i+1) {
			t.Errorf("result %d is frame %d", i, r.Seq)
		}
	}
}

func TestRunMaxFramesAndCancel(t *testing.T) {
	rec := record(t, 100, 2, 48, 32)
	f, err := os.Open(rec.file(t))
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	st, err := Run(context.Background(), NewReaderSource("file", f, 0), &brightness{}, c.options(Options{MaxFrames: 7, Lossless: true}))
	if err != nil || st.Classified != 7 || len(c.results) != 7 {
		t.Errorf("MaxFrames 7: classified %d, err %v", st.Classified, err)
	}

	// Cancel while the source is silent.
	pr, pw, _ := os.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error)
	go func() {
		_, err := Run(ctx, NewReaderSource("pipe", pr, 0), &brightness{}, Options{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("cancelled run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// A classifier error stops the run with the frame named.
func TestRunClassifierError(t *testing.T) {
	rec := record(t, 5, 2, 48, 32)
	f, _ := os.Open(rec.file(t))
	_, err := Run(context.Background(), NewReaderSource("file", f, 0), classifierFunc(func() error { return errors.New("model exploded") }), Options{Lossless: true})
	if err == nil || err.Error() != "camera: frame 1: model exploded" {
		t.Errorf("err %v", err)
	}
}

// The server cuts the stream mid-frame, then serves a second connection
// that ends, then refuses: the run says so, reconnects and goes on.
func TestRunHTTPReconnect(t *testing.T) {
	rec := record(t, 40, 2, 48, 32)
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		n := requests
		mu.Unlock()
		switch n {
		case 1:
			w.Header().Set("Content-Type", "multipart/x-mixed-replace;boundary=--b")
			for i := 0; i < rec.n; i++ {
				fmt.Fprintf(w, "--b\r\nContent-Type: image/jpeg\r\n\r\n")
				w.Write(rec.frame(i))
				fmt.Fprintf(w, "\r\n")
				w.(http.Flusher).Flush()
				time.Sleep(time.Millisecond)
			}
			fmt.Fprintf(w, "--b\r\nContent-Type: image/jpeg\r\n\r\n")
			w.Write(rec.frame(0)[:300]) // cut
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case 2:
			mjpegHandler(rec, time.Millisecond, true)(w, r)
		default:
			http.Error(w, "camera busy", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events []Event
	rs := &Reconnect{
		Name: srv.URL, Initial: time.Millisecond, Max: 4 * time.Millisecond,
		Open: func(ctx context.Context) (Source, error) { return OpenHTTP(ctx, srv.Client(), srv.URL, 0) },
	}
	rs.OnEvent = func(e Event) {
		events = append(events, e)
		if e.Kind == EventRetry && e.Attempt >= 3 {
			cancel()
		}
	}
	var c collector
	st, err := Run(ctx, rs, &brightness{}, c.options(Options{Reconnects: rs.Reconnects}))
	if err != nil {
		t.Fatal(err)
	}
	if st.FramesIn != 80 || st.Bad != 1 || st.Reconnects != 1 {
		t.Errorf("%+v", st)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, fmt.Sprint(e.Kind))
	}
	if got := strings.Join(kinds, " "); !strings.HasPrefix(got, "0 2 0 1 1") {
		t.Errorf("events %s (%v)", got, events)
	}
	if !strings.Contains(events[len(events)-1].Err.Error(), "503") {
		t.Errorf("last retry error: %v", events[len(events)-1].Err)
	}
}
