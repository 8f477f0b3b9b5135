package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
)

// tinyModel writes a float ONNX classifier whose answer is known in
// closed form: GlobalAveragePool → Flatten → Gemm with W = [[-1,-1,-1],
// [1,1,1]], so for a solid grey image of value v the logits are ±3x with
// x = (v/255 − 0.5)/0.25 (the metadata's normalization), and
// P(bright) = 1/(1+exp(−6x)). softmax appends a Softmax node; withMeta
// false leaves the piresnet metadata out; labels overrides the labels.
func tinyModel(t *testing.T, softmax, withMeta bool, labels []string) string {
	t.Helper()
	g := &onnx.Graph{
		Name:    "tiny",
		Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("x", onnx.Float, 1, 3, "h", "w")},
		Outputs: []*onnx.ValueInfo{onnx.TensorInfo("y", onnx.Float, 1, 2)},
		Initializers: []*onnx.Tensor{
			onnx.NewFloat("W", []int64{2, 3}, []float32{-1, -1, -1, 1, 1, 1}),
			onnx.NewFloat("B", []int64{2}, []float32{0, 0}),
		},
		Nodes: []*onnx.Node{
			{Name: "pool", OpType: "GlobalAveragePool", Inputs: []string{"x"}, Outputs: []string{"p"}},
			{Name: "flat", OpType: "Flatten", Inputs: []string{"p"}, Outputs: []string{"f"}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", 1)}},
			{Name: "fc", OpType: "Gemm", Inputs: []string{"f", "W", "B"}, Outputs: []string{"logits"}, Attrs: []*onnx.Attribute{onnx.AttrI("transB", 1)}},
		},
	}
	if softmax {
		g.Nodes = append(g.Nodes, &onnx.Node{Name: "sm", OpType: "Softmax", Inputs: []string{"logits"}, Outputs: []string{"y"}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", 1)}})
	} else {
		g.Nodes[2].Outputs = []string{"y"}
	}
	m := &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 13}}, ProducerName: "cmd/edge test", Graph: g}
	if withMeta {
		if labels == nil {
			labels = []string{"dark", "bright"}
		}
		md := &modelmeta.Metadata{Architecture: "tiny", Labels: labels, InputChannels: 3,
			Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25}, InputHeight: 32, InputWidth: 24}
		if err := md.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "tiny.onnx")
	if err := onnx.WriteFile(p, m); err != nil {
		t.Fatal(err)
	}
	return p
}

// pBright is the closed-form answer for a solid grey v with the given
// normalization.
func pBright(v uint8, mean, std float64) float64 {
	x := (float64(v)/255 - mean) / std
	return 1 / (1 + math.Exp(-6*x))
}

// classify through the real runtime and imageprep: labels and input size
// from the metadata, probabilities from the closed form.
func TestClassifyRealModel(t *testing.T) {
	dir := t.TempDir()
	levels := map[string]uint8{"a.png": 140, "b.png": 110, "c.jpg": 200}
	for n, v := range levels {
		writeImage(t, filepath.Join(dir, n), solid(v, 40, 30))
	}
	for _, softmax := range []bool{false, true} {
		model := tinyModel(t, softmax, true, nil)
		stdout, stderr, code := runEdge(t, "classify", "--model", model, "--json", "--top", "2", dir)
		if code != 0 || stderr != "" {
			t.Fatalf("softmax=%v: exit %d: %s", softmax, code, stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var r classifyRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			want := pBright(levels[filepath.Base(r.Path)], 0.5, 0.25)
			var got float64
			for _, p := range r.Top {
				if p.Label == "bright" {
					got = p.Prob
				}
			}
			if math.Abs(got-want) > 1e-5 || r.Input != "32x24" || len(r.Top) != 2 || r.Top[0].Prob < r.Top[1].Prob {
				t.Errorf("softmax=%v %s: P(bright) %v, want %v; %+v", softmax, r.Path, got, want, r)
			}
		}
	}
}

// A model without piresnet metadata (torch.onnx.export's): numbered
// classes, ImageNet normalization, the fallback size; --size native.
func TestClassifyRealModelNoMetadata(t *testing.T) {
	model := tinyModel(t, false, false, nil)
	img := filepath.Join(t.TempDir(), "g.png")
	writeImage(t, img, solid(180, 17, 9))
	stdout, stderr, code := runEdge(t, "classify", "--model", model, "--json", "--size", "native", img)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r classifyRecord
	json.Unmarshal([]byte(stdout), &r)
	// ImageNet mean/std differ per channel: x averages the three.
	var x float64
	for c, m := range []float64{0.485, 0.456, 0.406} {
		x += (180.0/255 - m) / []float64{0.229, 0.224, 0.225}[c]
	}
	want := 1 / (1 + math.Exp(-2*x))
	if r.Input != "9x17" || r.Top[0].Label != "1" || math.Abs(r.Top[0].Prob-want) > 1e-5 {
		t.Errorf("%+v, want label 1 with %v", r, want)
	}
}

func TestClassifyRealModelErrors(t *testing.T) {
	img := filepath.Join(t.TempDir(), "g.png")
	writeImage(t, img, solid(180, 8, 8))
	junk := filepath.Join(t.TempDir(), "junk.onnx")
	os.WriteFile(junk, []byte("this is not protobuf"), 0o644)
	cases := []struct {
		model string
		want  string
	}{
		{tinyModel(t, false, true, []string{"a", "b", "c"}), "metadata has 3 labels, the output has 2 classes"},
		{junk, "junk.onnx"},
		{filepath.Join(t.TempDir(), "missing.onnx"), "missing.onnx"},
	}
	for _, c := range cases {
		_, stderr, code := runEdge(t, "classify", "--model", c.model, img)
		if code != cli.ExitBadModel || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q", filepath.Base(c.model), code, stderr)
		}
	}
	// The engine flags shared with run and bench.
	_, stderr, code := runEdge(t, "classify", "--model", tinyModel(t, false, true, nil), "--kernels", "bogus", img)
	if code != cli.ExitUsage || !strings.Contains(stderr, "--kernels bogus") {
		t.Errorf("--kernels bogus: exit %d, stderr %q", code, stderr)
	}
	stdout, stderr, code := runEdge(t, "classify", "--model", tinyModel(t, false, true, nil), "--kernels", "generic", "--threads", "1", img)
	if code != 0 || !strings.Contains(stdout, "bright") {
		t.Errorf("--kernels generic: exit %d, %q %q", code, stdout, stderr)
	}
}

// camera through the real runtime: a recorded stream of solid frames.
func TestCameraRealModel(t *testing.T) {
	model := tinyModel(t, false, true, nil)
	path := genStream(t, alternating(20)).file(t)
	stdout, stderr, code := runEdge(t, "camera", "--model", model, "--json", "--size", "24x32", "--threads", "2", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	frames, statuses, _ := parseJSON(t, stdout)
	checkRun(t, frames, statuses, 20)
	if !strings.Contains(stderr, "classifying with tiny.onnx (tiny, float, 2 classes, 2 threads") || !strings.Contains(stderr, "at 24x32") {
		t.Errorf("stderr:\n%s", stderr)
	}
	// JPEG frames of grey 40 and 220: P(bright) within JPEG's rounding.
	for _, f := range frames[:2] {
		v := uint8(40)
		if f.Seq%2 == 0 {
			v = 220
		}
		want := pBright(v, 0.5, 0.25)
		got := f.Top[0].Prob
		if f.Top[0].Label == "dark" {
			got = 1 - got
		}
		if math.Abs(got-want) > 0.01 {
			t.Errorf("frame %d: P(bright) %v, want %v", f.Seq, got, want)
		}
	}
}
