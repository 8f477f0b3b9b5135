package convert

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/internal/ortrun"
	"github.com/piresnet/piresnet/quant"
)

// ortFused lists the operators ONNX Runtime may run a converted ResNet
// with: its 8-bit kernels, the layout changes around them, and the
// quantization of the input and dequantization of the logits.
var ortFused = []string{"QLinearConv", "QLinearAdd", "QGemm", "NhwcMaxPool", "QLinearAveragePool",
	"QLinearGlobalAveragePool", "QLinearConcat", "Transpose", "Flatten", "QuantizeLinear", "DequantizeLinear"}

// TestORTRunsInt8Kernels converts models, lets ONNX Runtime 1.30 optimize
// them, and checks that every Conv became a QLinearConv and every other
// operator an 8-bit kernel (GlobalMaxPool excepted: ORT has none, so it
// stays float between one DequantizeLinear and one QuantizeLinear); then
// compares ORT's int8 logits with the int8 engine's and the float model's.
//
// ONNX Runtime 1.30's x86 kernels multiply uint8 activations by int8
// weights in int16 pairs with saturation (VPMADDUBSW): with weights in
// [−127, 127] they clip sums above 32767 and drift from the QDQ graph's
// meaning, which the unfused graph (optimization level "basic") and the
// int8 engine both compute. With Options.ReduceRange (weights in [−64, 64],
// pair sums ≤ 32640) ORT's fused kernels compute what the graph says, and
// the test then requires ORT and the int8 engine to agree more closely
// with each other than either does with the float model; the same with
// Options.PairSafe (8-bit weights, no neighbour pair over 128 in
// magnitude), which must be as exact in ORT as 7-bit weights are.
func TestORTRunsInt8Kernels(t *testing.T) {
	tv := filepath.Join("..", "testdata", "torchvision", "gen", "models", "resnet18_bn", "model.onnx")
	cases := []struct {
		name, path string
		act        quant.QType
		h, w       int
	}{
		{"tiny_plain", fixture(t, "tiny_plain.onnx"), quant.Uint8, 40, 48},
		{"tiny_fastai", fixture(t, "tiny_fastai.onnx"), quant.Uint8, 40, 48},
		{"torchvision resnet18 (BatchNorm kept)", otherFixture(t, tv, "testdata/torchvision/make_fixtures.sh"), quant.Uint8, 64, 80},
		{"tiny_plain int8 activations", fixture(t, "tiny_plain.onnx"), quant.Int8, 40, 48},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			float := readModel(t, c.path)
			// 16 calibration inputs and 16 held-back ones: on four, the
			// SQNRs below swung by 10 dB from one calibration seed to the
			// next on tiny_fastai.
			cal := variedImages(32, 3, c.h, c.w, 5)
			x := batch(cal[16:32])
			// The float reference runs the prepared graph (runtime/ref has
			// no Pad; Prepare is checked against torch).
			prepared, _, err := Prepare(float)
			if err != nil {
				t.Fatal(err)
			}
			want := runRef(t, prepared, x)
			dir := t.TempDir()
			for _, weights := range []string{"±127", "±64", "pair-safe"} {
				reduce := weights != "±127"
				q, _, err := Quantize(float, cal, Options{Method: quant.MSE, Activations: c.act, Count: 16, Held: -1,
					ReduceRange: weights == "±64", PairSafe: weights == "pair-safe"})
				if err != nil {
					t.Fatal(err)
				}
				qp, opt := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "opt.onnx")
				if err := onnx.WriteFile(qp, q); err != nil {
					t.Fatal(err)
				}
				outs, err := ortrun.Run(qp, []*onnx.Tensor{x}, ortrun.Options{OptimizedModel: opt})
				if err != nil {
					t.Fatal(err)
				}
				ortY, ours := outs[0].F32, runInt8(t, q, x)
				s1, s2, s3 := sqnrDB(want, ortY), sqnrDB(want, ours), sqnrDB(ortY, ours)
				t.Logf("weights %s: logits SQNR ORT int8 vs float %.1f dB, int8 engine vs float %.1f dB, ORT vs int8 engine %.1f dB",
					weights, s1, s2, s3)
				if !reduce {
					checkORTGraph(t, readModel(t, opt), float, c.act)
					// Unfused, ORT computes the graph as ONNX defines it,
					// as the int8 engine does.
					plain, err := ortrun.Run(qp, []*onnx.Tensor{x}, ortrun.Options{OptLevel: "basic"})
					if err != nil {
						t.Fatal(err)
					}
					s := sqnrDB(plain[0].F32, ours)
					t.Logf("ORT without fusion vs int8 engine %.1f dB", s)
					if s < s2+6 {
						t.Errorf("ORT without fusion vs int8 engine %.1f dB, not closer than either to float (%.1f dB)", s, s2)
					}
					continue
				}
				// ORT requantizes in float, the engine in fixed point: they
				// differ by one step on a few elements, which spreads through
				// the network but stays well below the quantization error.
				if s3 < s1+6 || s3 < s2+6 {
					t.Errorf("ORT and the int8 engine differ more than they differ from float")
				}
				if abs(s1-s2) > 3 {
					t.Errorf("ORT (%.1f dB) and the int8 engine (%.1f dB) are not as close to float", s1, s2)
				}
			}
		})
	}
}

// checkORTGraph checks the operators of ORT's optimized graph.
func checkORTGraph(t *testing.T, om, float *onnx.Model, act quant.QType) {
	t.Helper()
	ops := map[string]int{}
	for _, n := range om.Graph.Nodes {
		ops[n.OpType]++
	}
	t.Logf("ONNX Runtime's graph: %s", describe(ops))
	prepared, _, err := Prepare(float)
	if err != nil {
		t.Fatal(err)
	}
	fops := opCounts(prepared)
	if act != quant.Uint8 {
		// int8 activations: ORT's x86 build fuses only part of the graph.
		if ops["QLinearConv"]+ops["Conv"] != fops["Conv"] {
			t.Errorf("%d convolutions in ORT's graph for %d", ops["QLinearConv"]+ops["Conv"], fops["Conv"])
		}
		return
	}
	if ops["QLinearConv"] != fops["Conv"] || ops["QGemm"] != fops["Gemm"] || ops["QLinearAdd"] != fops["Add"] {
		t.Errorf("%d QLinearConv for %d Conv, %d QGemm for %d Gemm, %d QLinearAdd for %d Add",
			ops["QLinearConv"], fops["Conv"], ops["QGemm"], fops["Gemm"], ops["QLinearAdd"], fops["Add"])
	}
	gmp := fops["GlobalMaxPool"]
	for op, n := range ops {
		if op == "GlobalMaxPool" && n == gmp {
			continue
		}
		if !slices.Contains(ortFused, op) {
			t.Errorf("ONNX Runtime runs %d %s", n, op)
		}
	}
	if ops["QuantizeLinear"] != 1+gmp || ops["DequantizeLinear"] != 1+gmp {
		t.Errorf("%d QuantizeLinear and %d DequantizeLinear left, want %d", ops["QuantizeLinear"], ops["DequantizeLinear"], 1+gmp)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func describe(ops map[string]int) string {
	var s []string
	for op, n := range ops {
		s = append(s, fmt.Sprintf("%d %s", n, op))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// batch stacks [1, C, H, W] tensors into one [N, C, H, W].
func batch(ts []*onnx.Tensor) *onnx.Tensor {
	d := slices.Clone(ts[0].Dims)
	d[0] = int64(len(ts))
	var v []float32
	for _, t := range ts {
		v = append(v, t.F32...)
	}
	return onnx.NewFloat("input", d, v)
}
