package onnx_test

import (
	"math"

	"path/filepath"
	"sort"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/internal/ortrun"
)

// ortCases are conformance cases covering what ResNet models hold (float
// convolutions, pooling, BatchNorm, Gemm, and the int8 operators with
// per-tensor and per-axis parameters), chosen so ONNX Runtime 1.30 runs each.
var ortCases = []string{
	"node/test_conv_with_strides_and_asymmetric_padding",
	"node/test_conv_with_autopad_same",
	"node/test_maxpool_2d_pads",
	"node/test_averagepool_2d_ceil",
	"node/test_globalaveragepool",
	"node/test_batchnorm_example",
	"node/test_gemm_all_attributes",
	"node/test_matmul_4d",
	"node/test_qlinearconv",
	"node/test_qlinearmatmul_2D",
	"node/test_quantizelinear_axis",
	"node/test_dequantizelinear_axis",
	"node/test_convinteger_with_padding",
	"node/test_matmulinteger",
	"node/test_flatten_axis1",
	"node/test_softmax_axis_1",
	"node/test_concat_2d_axis_0",
	"node/test_clip",
	"pytorch-converted/test_Conv2d_groups",
	"pytorch-converted/test_Conv2d_dilated",
	"node/test_batchnorm_epsilon",
	"node/test_gemm_transposeB",
}

// TestRewrittenModelsMatchONNXRuntime decodes each case, writes it back,
// has python3-onnx check the rewrite (full check) and ONNX Runtime run both
// files: the outputs must be bit-identical.
func TestRewrittenModelsMatchONNXRuntime(t *testing.T) {
	if _, err := ortrun.Find(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var rewritten []string
	for _, c := range ortCases {
		src := filepath.Join(onnx.ConformanceDir, c)
		m, err := onnx.ReadFile(filepath.Join(src, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, filepath.Base(c)+".onnx")
		if err := onnx.WriteFile(out, m); err != nil {
			t.Fatal(err)
		}
		rewritten = append(rewritten, out)
	}
	onnx.PyONNX(t, append([]string{"check"}, rewritten...)...)

	for i, c := range ortCases {
		src := filepath.Join(onnx.ConformanceDir, c)
		inputs := readInputs(t, filepath.Join(src, "test_data_set_0"))
		m, _ := onnx.ReadFile(filepath.Join(src, "model.onnx"))
		real := m.Graph.RealInputs()
		for k := range inputs {
			inputs[k].Name = real[k].Name
		}
		want, err := ortrun.Run(filepath.Join(src, "model.onnx"), inputs, ortrun.Options{})
		if err != nil {
			t.Fatalf("%s: original: %v", c, err)
		}
		got, err := ortrun.Run(rewritten[i], inputs, ortrun.Options{})
		if err != nil {
			t.Fatalf("%s: rewritten: %v", c, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d outputs, want %d", c, len(got), len(want))
		}
		for k := range want {
			if !sameBits(want[k], got[k]) {
				t.Errorf("%s: output %q differs after the rewrite", c, want[k].Name)
			}
		}
		t.Logf("PASS %s", c)
	}
}

func readInputs(t *testing.T, dir string) []*onnx.Tensor {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "input_*.pb"))
	sort.Strings(paths)
	var out []*onnx.Tensor
	for _, p := range paths {
		tt, err := onnx.ReadTensorFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tt)
	}
	if len(out) == 0 {
		t.Fatalf("no inputs in %s", dir)
	}
	return out
}

func sameBits(a, b *onnx.Tensor) bool {
	if a.DataType != b.DataType || a.Len() != b.Len() {
		return false
	}
	switch a.DataType {
	case onnx.Float:
		for i := range a.F32 {
			if math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
				return false
			}
		}
		return true
	}
	ai, err1 := a.Int64s()
	bi, err2 := b.Int64s()
	if err1 != nil || err2 != nil {
		return false
	}
	for i := range ai {
		if ai[i] != bi[i] {
			return false
		}
	}
	return true
}
