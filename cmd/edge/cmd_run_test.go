package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime"
)

// runExampleQDQ is the runtime package's committed tiny QDQ classifier.
var runExampleQDQ = filepath.Join("..", "..", "runtime", "testdata", "example_qdq.onnx")

func execEdge(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = app.Run(args, &o, &e)
	return o.String(), e.String(), code
}

func writeRunTensor(t *testing.T, dir, name string, x *onnx.Tensor) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := onnx.WriteTensorFile(p, x); err != nil {
		t.Fatal(err)
	}
	return p
}

func runTestImage(h, w int) *onnx.Tensor {
	v := make([]float32, 3*h*w)
	for i := range v {
		v[i] = float32(i%101)/50 - 1
	}
	return onnx.NewFloat("input", []int64{1, 3, int64(h), int64(w)}, v)
}

// edge run writes exactly what the runtime computes, by name and in order.
func TestRunWritesOutputs(t *testing.T) {
	dir := t.TempDir()
	x := runTestImage(40, 52)
	in := writeRunTensor(t, dir, "x.pb", x)
	out := filepath.Join(dir, "out")
	for _, spec := range []string{"input=" + in, in} {
		stdout, stderr, code := execEdge(t, "run", runExampleQDQ, "--input", spec, "--out", out, "--threads", "2")
		if code != 0 {
			t.Fatalf("edge run: exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, "logits") {
			t.Errorf("stdout %q does not name the output", stdout)
		}
		got, err := onnx.ReadTensorFile(filepath.Join(out, "logits.pb"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := runtime.Load(runExampleQDQ, runtime.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.NewSession().Run(map[string]*onnx.Tensor{"input": x})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "logits" || !slices.Equal(got.F32, want["logits"].F32) || !slices.Equal(got.Dims, []int64{1, 10}) {
			t.Errorf("logits.pb: %v %v, want %v", got.Dims, got.F32, want["logits"].F32)
		}
	}
}

// edge run on the torchvision float export matches torch's forward pass
// (the float path of the runtime is the float reference).
func TestRunFloatModelMatchesTorch(t *testing.T) {
	base := filepath.Join("..", "..", "testdata", "torchvision", "gen", "models", "resnet18")
	if _, err := os.Stat(filepath.Join(base, "model.onnx")); err != nil {
		t.Fatalf("%v: run testdata/torchvision/make_fixtures.sh", err)
	}
	out := t.TempDir()
	_, stderr, code := execEdge(t, "run", filepath.Join(base, "model.onnx"), "--input", filepath.Join(base, "97x131", "input_0.pb"), "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := onnx.ReadTensorFile(filepath.Join(base, "97x131", "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := onnx.ReadTensorFile(filepath.Join(out, want.Name+".pb"))
	if err != nil {
		t.Fatal(err)
	}
	var maxAbs, maxDiff float64
	for i := range want.F32 {
		maxAbs = max(maxAbs, math.Abs(float64(want.F32[i])))
		maxDiff = max(maxDiff, math.Abs(float64(got.F32[i]-want.F32[i])))
	}
	if maxDiff > 1e-4*maxAbs {
		t.Errorf("largest difference from torch %g (max |logit| %g)", maxDiff, maxAbs)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeRunTensor(t, dir, "x.pb", runTestImage(32, 32))
	bad := filepath.Join(dir, "bad.onnx")
	os.WriteFile(bad, []byte("not a model"), 0o644)
	trunc := filepath.Join(dir, "trunc.pb")
	b, _ := os.ReadFile(in)
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", bad, "--input", in, "--out", dir}, cli.ExitBadModel, "bad.onnx"},
		{[]string{"run", filepath.Join(dir, "missing.onnx"), "--input", in, "--out", dir}, cli.ExitBadModel, "missing.onnx"},
		{[]string{"run", runExampleQDQ, "--input", trunc, "--out", dir}, cli.ExitFailure, "trunc.pb"},
		{[]string{"run", runExampleQDQ, "--input", "nope=" + in, "--out", dir}, cli.ExitUsage, "no input \"nope\""},
		{[]string{"run", runExampleQDQ, "--input", in}, cli.ExitUsage, "--out"},
		{[]string{"run", runExampleQDQ, "--input", in, "--input", in, "--out", dir}, cli.ExitUsage, "only 1 input"},
		{[]string{"run", runExampleQDQ, "--input", in, "--out", dir, "--kernels", "mmx"}, cli.ExitUsage, "mmx"},
	} {
		_, stderr, code := execEdge(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, one line naming %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "logits.pb")); err == nil {
		t.Error("a failed run wrote an output")
	}
}

func TestInfo(t *testing.T) {
	stdout, stderr, code := execEdge(t, "info", runExampleQDQ, "--size", "48x64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	flat := strings.Join(strings.Fields(stdout), " ")
	for _, want := range []string{"int8", "input: input float32 [1 3 48 64]", "output: logits float32 [1 10]", "MACs at 48x64: 276560", "lowered nodes: 16", "fallback nodes: none", "arena at 48x64", "convU8S8_"} {
		if !strings.Contains(flat, want) {
			t.Errorf("edge info does not say %q:\n%s", want, stdout)
		}
	}
	stdout, _, code = execEdge(t, "info", runExampleQDQ, "--size", "48x64", "--json")
	var v struct {
		Size string `json:"size"`
		MACs int64
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || v.MACs != 276560 || v.Size != "48x64" {
		t.Errorf("edge info --json: exit %d, %q", code, stdout)
	}
	if _, stderr, code := execEdge(t, "info", runExampleQDQ, "--size", "48"); code != cli.ExitUsage || !strings.Contains(stderr, "HxW") {
		t.Errorf("bad --size: exit %d %q", code, stderr)
	}
}

func TestBenchJSON(t *testing.T) {
	stdout, stderr, code := execEdge(t, "bench", "--model", runExampleQDQ, "--size", "32x32,40x56", "--threads", "2", "--runs", "3", "--warmup", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON object per size, got %q", stdout)
	}
	for i, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"size", "threads", "runs", "median_ms", "p90_ms", "min_ms"} {
			if _, ok := r[k]; !ok {
				t.Errorf("line %d lacks %q: %s", i, k, l)
			}
		}
		if r["size"] != []string{"32x32", "40x56"}[i] || r["threads"] != 2.0 || r["runs"] != 3.0 || !(r["median_ms"].(float64) > 0) ||
			r["min_ms"].(float64) > r["median_ms"].(float64) || r["median_ms"].(float64) > r["p90_ms"].(float64) {
			t.Errorf("line %d: %s", i, l)
		}
	}
	// Without --model: the built-in model.
	stdout, stderr, code = execEdge(t, "bench", "--size", "28x28", "--runs", "2", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("built-in model: exit %d: %s", code, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &r); err != nil || r["size"] != "28x28" || r["runs"] != 2.0 {
		t.Errorf("built-in model: %q (%v)", stdout, err)
	}
}
