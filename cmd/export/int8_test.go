package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/defaultmodel"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime"
)

// TestInt8FromCheckpoint runs `export --int8` on the committed Fashion-MNIST
// checkpoint with the recipe of testdata/fashion/make_default_model.sh (which
// goes through a float file and the converter separately): the one command
// writes the same bytes as the model built into edge.
func TestInt8FromCheckpoint(t *testing.T) {
	bin, _ := setup(t)
	fashion := filepath.Join(repoRoot(), "testdata", "fashion")
	calib := "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
	out := filepath.Join(t.TempDir(), "fashion_int8.onnx")
	report := filepath.Join(t.TempDir(), "report.json")
	stdout, stderr, code := runBin(t, bin, filepath.Join(fashion, "model.pth"), "--labels", filepath.Join(fashion, "labels.txt"),
		"--mean", "0.2860406", "--std", "0.35302424", "--input-size", "28x28",
		"--int8", "--calib", calib, "--calib-count", "2000", "--calib-size", "28,56", "--method", "mse", "--pair-safe", "--report", report, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "int8 QDQ, mse") || !strings.Contains(stdout, "logits") || !strings.Contains(stderr, "calibrating") {
		t.Errorf("want the summary, the per-tensor table and progress; stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, defaultmodel.Bytes()) {
		t.Errorf("export --int8 wrote %d bytes that differ from internal/defaultmodel/fashion_int8.onnx (%d bytes): run testdata/fashion/make_default_model.sh, or find what is not deterministic", len(got), len(defaultmodel.Bytes()))
	}
	if fi, err := os.Stat(report); err != nil || fi.Size() == 0 {
		t.Errorf("--report: %v", err)
	}
}

// TestInt8FromTorchONNX converts a model written by torch.onnx.export (the
// torchvision ResNet-18 of testdata/torchvision, with the Shape/Gather
// flatten chain and no metadata of this project) from a folder of PNG
// images: the int8 file carries the metadata given by the flags and the
// int8 engine lowers every node of it.
func TestInt8FromTorchONNX(t *testing.T) {
	bin, _ := setup(t)
	src := filepath.Join(repoRoot(), "testdata", "torchvision", "gen", "models", "resnet18_view", "model.onnx")
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("%v: testdata/torchvision/make_fixtures.sh writes it", err)
	}
	calib := filepath.Join(repoRoot(), "testdata", "fashion", "samples")
	out := filepath.Join(t.TempDir(), "r18_int8.onnx")
	_, stderr, code := runBin(t, bin, src, "--int8", "--calib", calib, "--report-count", "0", "--input-size", "64x80", "-q", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("-q printed %q", stderr)
	}
	m, err := onnx.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Metadata("piresnet.input_size"); v != "64x80" {
		t.Errorf("input_size %q, want 64x80", v)
	}
	if v, _ := m.Metadata("piresnet.mean"); v != "0.485,0.456,0.406" {
		t.Errorf("mean %q, want ImageNet's", v)
	}
	rm, err := runtime.Compile(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	info, err := rm.Info(64, 80)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Fallback) != 0 {
		t.Errorf("nodes left to the float reference: %v", info.Fallback)
	}
	// The same file without --int8 is the float model with the metadata.
	float := filepath.Join(t.TempDir(), "r18.onnx")
	if _, stderr, code := runBin(t, bin, src, "--labels", filepath.Join(t.TempDir(), "missing.txt"), "-o", float); code != 2 || !strings.Contains(stderr, "missing.txt") {
		t.Errorf("missing labels: exit %d %q", code, stderr)
	}
	if _, stderr, code := runBin(t, bin, src, "--mean", "0.5", "--std", "0.5", "-o", float); code != 2 || !strings.Contains(stderr, "3 input channels need 3 mean and std values") {
		t.Errorf("1 mean for 3 channels: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(float); err == nil {
		t.Errorf("a failed run wrote %s", float)
	}
}
