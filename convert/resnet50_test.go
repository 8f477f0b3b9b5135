package convert

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/piresnet/piresnet/convert/export"
	"github.com/piresnet/piresnet/internal/dataset"
	"github.com/piresnet/piresnet/internal/imageprep"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/quant"
)

// TestResNet50FromCheckpoint converts a torchvision ResNet-50 from its
// checkpoint (convert/testdata/gen/resnet50.pth, random weights with real
// BatchNorm statistics) to int8 with 100 calibration images read from an
// ImageFolder of PNGs, and prints how long each step took (run with -v to
// see it; the time is not asserted). -short calibrates at 112x112 instead
// of 224x224.
func TestResNet50FromCheckpoint(t *testing.T) {
	ckpt := fixture(t, "resnet50.pth")
	start := time.Now()
	float, sum, err := export.ExportFile(ckpt, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exported := time.Since(start)
	if sum.Architecture != "resnet50" {
		t.Fatalf("exported as %s", sum.Architecture)
	}
	size := 224
	if testing.Short() {
		size = 112
	}
	dir := imageFolder(t, 108, 256, 240)
	src, err := dataset.OpenFolder(dir, dataset.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	md, err := modelmeta.Parse(float)
	if err != nil {
		t.Fatal(err)
	}
	spec := imageprep.FromMetadata(md)
	spec.Height, spec.Width = size, size
	cal, err := NewImageCalibration(src, spec)
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]time.Time{}
	t0 := time.Now()
	q, rep, err := Quantize(float, cal, Options{Method: quant.Entropy, Count: 100, Held: 8,
		Progress: func(stage string, done, total int) {
			if _, ok := stages[stage]; !ok {
				stages[stage] = time.Now()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	total := time.Since(t0)
	t.Logf("ResNet-50 from %s: export %.1fs; conversion with %d calibration images at %dx%d %.1fs (calibration and model %.1fs, report on %d held-back images %.1fs)",
		filepath.Base(ckpt), exported.Seconds(), rep.Calibration, size, size, total.Seconds(),
		stages["measuring"].Sub(t0).Seconds(), rep.HeldBack, time.Since(stages["measuring"]).Seconds())
	if rep.Calibration != 100 || len(rep.Fallback) != 0 || rep.Engine != EngineRuntime {
		t.Errorf("%d calibration images, fallback %v, engine %s", rep.Calibration, rep.Fallback, rep.Engine)
	}
	convs := 0
	for _, n := range q.Graph.Nodes {
		if n.OpType == "Conv" {
			convs++
		}
	}
	if convs != 53 || len(rep.Weights) != 54 {
		t.Errorf("%d Conv and %d weights, want 53 and 54 (with the fc)", convs, len(rep.Weights))
	}
	logits := rep.Tensors[len(rep.Tensors)-1]
	if logits.Name != "logits" || math.IsNaN(float64(logits.SQNR)) {
		t.Errorf("logits row %+v", logits)
	}
	t.Logf("logits SQNR %s dB on held-back images (int8 engine vs float)", logits.SQNR)
}

// imageFolder writes n random smooth colour PNGs of w×h in two classes.
func imageFolder(t *testing.T, n, w, h int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(11, 12))
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		fx, fy := 0.01+0.1*r.Float64(), 0.01+0.1*r.Float64()
		var ph [3]float64
		for c := range ph {
			ph[c] = 6 * r.Float64()
		}
		for y := range h {
			for x := range w {
				o := (y*w + x) * 4
				for c := range 3 {
					v := 128 + 100*math.Sin(fx*float64(x)+ph[c])*math.Cos(fy*float64(y)) + 20*r.NormFloat64()
					img.Pix[o+c] = uint8(max(0, min(255, v)))
				}
				img.Pix[o+3] = 255
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, []string{"x", "y"}[i%2], string(rune('a'+i%26))+string(rune('a'+i/26))+".png")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
