package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/convert"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
)

// brightnessModel is a float classifier of grey images by mean brightness
// (x = v/255): Conv 1x1 (weight 1) → Relu → GlobalAveragePool → Flatten →
// Gemm with logits dark = 0.5 − mean, bright = mean − 0.5.
func brightnessModel() *onnx.Model {
	m := &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 13}}, Graph: &onnx.Graph{
		Name: "brightness",
		Nodes: []*onnx.Node{
			{Name: "conv", OpType: "Conv", Inputs: []string{"input", "w", "b"}, Outputs: []string{"c"}, Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 1, 1)}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Name: "gap", OpType: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"g"}},
			{Name: "flat", OpType: "Flatten", Inputs: []string{"g"}, Outputs: []string{"f"}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", 1)}},
			{Name: "fc", OpType: "Gemm", Inputs: []string{"f", "fw", "fb"}, Outputs: []string{"logits"}, Attrs: []*onnx.Attribute{onnx.AttrI("transB", 1)}},
		},
		Initializers: []*onnx.Tensor{
			onnx.NewFloat("w", []int64{1, 1, 1, 1}, []float32{1}), onnx.NewFloat("b", []int64{1}, []float32{0}),
			onnx.NewFloat("fw", []int64{2, 1}, []float32{-1, 1}), onnx.NewFloat("fb", []int64{2}, []float32{0.5, -0.5}),
		},
		Inputs:  []*onnx.ValueInfo{onnx.TensorInfo("input", onnx.Float, "N", 1, "H", "W")},
		Outputs: []*onnx.ValueInfo{onnx.TensorInfo("logits", onnx.Float, "N", 2)},
	}}
	md := modelmeta.Metadata{Architecture: "test", Labels: []string{"dark", "bright"}, InputChannels: 1,
		Mean: []float32{0}, Std: []float32{1}, InputHeight: 8, InputWidth: 8}
	if err := md.Apply(m); err != nil {
		panic(err)
	}
	return m
}

// evalModels writes the float model and its int8 conversion.
func evalModels(t *testing.T) (floatPath, int8Path string) {
	t.Helper()
	dir := t.TempDir()
	m := brightnessModel()
	var cal convert.TensorCalibration
	for i := range 32 {
		v := make([]float32, 64)
		for j := range v {
			v[j] = float32((i*37+j*11)%256) / 255
		}
		cal = append(cal, onnx.NewFloat("input", []int64{1, 1, 8, 8}, v))
	}
	q, _, err := convert.Quantize(m, cal, convert.Options{Method: quant.MinMax, Count: 32, Held: -1})
	if err != nil {
		t.Fatal(err)
	}
	floatPath, int8Path = filepath.Join(dir, "float.onnx"), filepath.Join(dir, "int8.onnx")
	if err := onnx.WriteFile(floatPath, m); err != nil {
		t.Fatal(err)
	}
	if err := onnx.WriteFile(int8Path, q); err != nil {
		t.Fatal(err)
	}
	return floatPath, int8Path
}

func greyPNG(t *testing.T, path string, v uint8, w, h int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// levels are grey values far from the 127.5 boundary.
var levels = []uint8{10, 60, 100, 160, 200, 250}

func TestEvalImageFolder(t *testing.T) {
	fp, ip := evalModels(t)
	dir := t.TempDir()
	// 12 images per class folder, one of the "dark" ones bright (a wrong
	// label): top-1 = 23/24 for both models, agreement 1.
	for i := range 12 {
		v := levels[i%3]
		if i == 0 {
			v = 250
		}
		greyPNG(t, filepath.Join(dir, "Dark", "d"+string(rune('a'+i))+".png"), v, 20, 12)
		greyPNG(t, filepath.Join(dir, "bright", "b"+string(rune('a'+i))+".png"), levels[3+i%3], 9, 9)
	}
	stdout, stderr, code := runEdge(t, "eval", "--model", ip, "--ref", fp, "--size", "8,16x12", "--json", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per size:\n%s", stdout)
	}
	for i, want := range []string{"8x8", "16x12"} {
		var r map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatal(err)
		}
		if r["size"] != want || r["count"] != 24.0 || math.Abs(r["top1"].(float64)-23.0/24) > 1e-12 || r["top5"] != 1.0 ||
			r["agreement"] != 1.0 {
			t.Errorf("line %d: %v", i, r)
		}
	}
	// The text table.
	stdout, _, code = runEdge(t, "eval", "--model", ip, dir)
	if code != 0 || !strings.Contains(stdout, "8x8") || !strings.Contains(stdout, "95.83%") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

func writeIDX(t *testing.T, path string, dims []uint32, data []byte) {
	t.Helper()
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(append(b, data...))
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEvalIDX(t *testing.T) {
	fp, ip := evalModels(t)
	dir := t.TempDir()
	n := 30
	pix := make([]byte, n*28*28)
	labels := make([]byte, n)
	for i := range n {
		v := levels[i%6]
		for j := range 28 * 28 {
			pix[i*784+j] = v
		}
		if v > 128 {
			labels[i] = 1
		}
	}
	labels[7] = 1 - labels[7] // one wrong label
	images := filepath.Join(dir, "t10k-images-idx3-ubyte.gz")
	writeIDX(t, images, []uint32{uint32(n), 28, 28}, pix)
	writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), []uint32{uint32(n)}, labels)
	stdout, stderr, code := runEdge(t, "eval", "-m", ip, "--ref", fp, "--size", "28,56", "--json", "--batch", "7", images)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r struct {
			Size      string
			Count     int
			Top1      float64
			Agreement *float64
		}
		json.Unmarshal([]byte(line), &r)
		if r.Count != n || math.Abs(r.Top1-29.0/30) > 1e-12 || r.Agreement == nil || *r.Agreement != 1 {
			t.Errorf("%s", line)
		}
	}
	// --count takes the first images: image 7 (the wrong label) among them.
	stdout, _, _ = runEdge(t, "eval", "-m", ip, "-n", "10", "--json", images)
	if !strings.Contains(stdout, `"count":10,`) || !strings.Contains(stdout, `"top1":0.9,`) {
		t.Errorf("--count 10: %s", stdout)
	}
}

func TestEvalErrors(t *testing.T) {
	fp, ip := evalModels(t)
	dir := t.TempDir()
	greyPNG(t, filepath.Join(dir, "flat.png"), 10, 4, 4)
	other := t.TempDir()
	greyPNG(t, filepath.Join(other, "cats", "a.png"), 10, 4, 4)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", "-m", ip}, 2, "want one DATASET"},
		{[]string{"eval", "-m", ip, "--size", "0", dir}, 2, "--size"},
		{[]string{"eval", "-m", ip, "--size", "28,x", dir}, 2, "--size"},
		{[]string{"eval", "-m", ip, dir}, 2, "has no label"},
		{[]string{"eval", "-m", ip, other}, 2, `"cats"`},
		{[]string{"eval", "-m", ip, filepath.Join(dir, "nope")}, 2, "no such file"},
		{[]string{"eval", "-m", filepath.Join(dir, "flat.png"), dir}, 3, "flat.png"},
		{[]string{"eval", "-m", ip, "--interp", "cubic", dir}, 2, "--interp"},
		{[]string{"eval", "-m", ip, "--labels", "x", dir}, 2, "--labels goes with an idx"},
		{[]string{"eval", "-m", ip, "--ref", filepath.Join(dir, "nope.onnx"), other}, 3, "nope.onnx"},
	}
	for _, c := range cases {
		_, stderr, code := runEdge(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q on one line", c.args, code, stderr, c.code, c.want)
		}
	}
	_ = fp
}
