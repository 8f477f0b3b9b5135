package camera

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// genJPEG encodes a w×h frame: dark when i is even, bright when odd, with
// noise (seeded by i) so that frames differ and compress like a camera's.
func genJPEG(t testing.TB, i, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	base := 40
	if i%2 == 1 {
		base = 200
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := int(rng.IntN(31)) - 15
			v := uint8(max(0, min(255, base+n)))
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// brightness is the classifier fake: "bright" or "dark" from the mean
// luma, optionally slower than the stream.
type brightness struct {
	delay time.Duration
	gate  func() // called before each classification (see slowerThan)
	calls atomic.Int64
}

func (c *brightness) Classify(img image.Image) ([]Prediction, error) {
	c.calls.Add(1)
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	if c.gate != nil {
		c.gate()
	}
	b := img.Bounds()
	var sum, n int
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bb, _ := img.At(x, y).RGBA()
			sum += int(r+g+bb) / 3 >> 8
			n++
		}
	}
	p := float32(sum) / float32(n) / 255
	if p >= 0.5 {
		return []Prediction{{Index: 1, Label: "bright", Prob: p}, {Index: 0, Label: "dark", Prob: 1 - p}}, nil
	}
	return []Prediction{{Index: 0, Label: "dark", Prob: 1 - p}, {Index: 1, Label: "bright", Prob: p}}, nil
}

// wantLabel is what brightness says about frame seq (frames numbered
// from 1, generated from i = seq-1).
func wantLabel(seq uint64) string {
	if (seq-1)%2 == 1 {
		return "bright"
	}
	return "dark"
}

type classifierFunc func() error

func (f classifierFunc) Classify(image.Image) ([]Prediction, error) { return nil, f() }

func readFixture(name string) ([]byte, error) { return os.ReadFile("testdata/" + name) }

func itoa(n int) string { return strconv.Itoa(n) }

// progress counts the frames a source has delivered.
type progress struct {
	mu      sync.Mutex
	cond    *sync.Cond
	written int
	done    bool
}

func newProgress() *progress {
	p := &progress{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *progress) wrote() {
	p.mu.Lock()
	p.written++
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *progress) finish() {
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	p.cond.Broadcast()
}

// slowerThan returns a gate that makes each classification wait until
// the source has delivered k more frames (or ended): a classifier k times
// slower than the stream whatever the machine's speed, so that at most
// delivered/k + 2 frames can be classified.
func (p *progress) slowerThan(k int) func() {
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		target := p.written + k
		for p.written < target && !p.done {
			p.cond.Wait()
		}
	}
}
