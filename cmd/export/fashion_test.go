package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/internal/ortrun"
	"github.com/piresnet/piresnet/runtime/ref"
)

// TestFashionModel exports the committed Fashion-MNIST model
// (testdata/fashion/model.pth, a real fastai learn.save file) with the
// command the README shows — no flags but the labels and the normalization —
// and compares ONNX Runtime and runtime/ref with torch's logits for test
// images at 28x28 and 56x56 (testdata/fashion/make_reference.py).
func TestFashionModel(t *testing.T) {
	bin, _ := setup(t)
	fashion := filepath.Join(repoRoot(), "testdata", "fashion")
	if d := os.Getenv("PIRESNET_FASHION_DIR"); d != "" {
		fashion = d // another model.pth, model.json and labels.txt, e.g. train.py --quick's
	}
	ckpt := filepath.Join(fashion, "model.pth")
	if _, err := os.Stat(ckpt); err != nil {
		t.Fatalf("the committed Fashion-MNIST model is missing: %v", err)
	}
	var meta struct {
		Mean, Std []float32
		Classes   []string
	}
	b, err := os.ReadFile(filepath.Join(fashion, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	refDir := t.TempDir()
	script := filepath.Join(repoRoot(), "testdata", "fashion", "make_reference.py")
	if out, err := exec.Command("/usr/bin/python3", script, "--ckpt", ckpt, "-n", "32", "--out", refDir).CombinedOutput(); err != nil {
		t.Fatalf("make_reference.py: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "fashion.onnx")
	stdout, stderr, code := runBin(t, bin, ckpt, "--labels", filepath.Join(fashion, "labels.txt"),
		"--mean", modelmeta.FormatFloats(meta.Mean), "--std", modelmeta.FormatFloats(meta.Std), "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Logf("\n%s", stdout)
	m, err := onnx.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md, err := modelmeta.Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	if md.Architecture != "fastai-book-resnet" || md.InputChannels != 1 || !slices.Equal(md.Labels, meta.Classes) ||
		!slices.Equal(md.Mean, meta.Mean) || !slices.Equal(md.Std, meta.Std) {
		t.Errorf("metadata %+v", md)
	}
	prog, err := ref.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{28, 56} {
		n := 32
		x := onnx.NewFloat("input", []int64{int64(n), 1, int64(size), int64(size)}, readF32(t, filepath.Join(refDir, "input"+strconv.Itoa(size)+".f32"), n*size*size))
		want := onnx.NewFloat("logits", []int64{int64(n), 10}, readF32(t, filepath.Join(refDir, "logits"+strconv.Itoa(size)+".f32"), n*10))
		o, err := ortrun.Run(out, []*onnx.Tensor{x}, ortrun.Options{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := prog.Run(map[string]*onnx.Tensor{"input": x})
		if err != nil {
			t.Fatal(err)
		}
		ro, rr := maxRatio(t, o[0], want), maxRatio(t, r["logits"], want)
		t.Logf("%dx%d, %d images: max diff / max |logit|: ORT %.2g, ref %.2g", size, size, n, ro, rr)
		if ro > 1e-4 || rr > 1e-4 {
			t.Errorf("%dx%d: ORT %.3g, ref %.3g > 1e-4", size, size, ro, rr)
		}
	}
	if !strings.Contains(stdout, "fastai-book-resnet") {
		t.Errorf("summary: %s", stdout)
	}
}

func readF32(t *testing.T, path string, n int) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4*n {
		t.Fatalf("%s: %d bytes, want %d", path, len(b), 4*n)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
