package ref

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Operator edge cases with expected values worked out by hand from the
// specification (the arithmetic is in the comments).

func node(op string, in, out []string, attrs ...*onnx.Attribute) *onnx.Node {
	return &onnx.Node{Name: "n", OpType: op, Inputs: in, Outputs: out, Attrs: attrs}
}

func f32(dims []int64, v ...float32) *onnx.Tensor { return onnx.NewFloat("", dims, v) }

func run1(t *testing.T, n *onnx.Node, opset int64, in ...*onnx.Tensor) *onnx.Tensor {
	t.Helper()
	out, err := RunNode(n, opset, in)
	if err != nil {
		t.Fatalf("%s: %v", n.OpType, err)
	}
	return out[0]
}

func wantF32(t *testing.T, got *onnx.Tensor, dims []int64, want ...float32) {
	t.Helper()
	if got.DataType != onnx.Float || !equalDims(got.Dims, dims) || !slices.EqualFunc(got.F32, want, func(a, b float32) bool {
		return a == b || (a != a && b != b)
	}) {
		t.Fatalf("got %v %v %v, want float32 %v %v", got.DataType, got.Dims, got.F32, dims, want)
	}
}

func TestPoolCeilModeDropsWindowStartingInEndPadding(t *testing.T) {
	// in 8, pads (0, 2), k 3, s 2: ceil((8+2-3)/2)+1 = 5 windows, but the
	// fifth starts at 8, in the end padding, so there are 4: starts 0, 2,
	// 4, 6 -> max of x[0:3], x[2:5], x[4:7], x[6:8].
	x := f32([]int64{1, 1, 8}, 1, 5, 2, 7, 3, 8, 4, 6)
	y := run1(t, node("MaxPool", []string{"x"}, []string{"y"}, onnx.AttrIs("kernel_shape", 3), onnx.AttrIs("strides", 2),
		onnx.AttrIs("pads", 0, 2), onnx.AttrI("ceil_mode", 1)), 12, x)
	wantF32(t, y, []int64{1, 1, 4}, 5, 7, 8, 6)
}

func TestAveragePoolDivisors(t *testing.T) {
	x := f32([]int64{1, 1, 5}, 1, 2, 3, 4, 5)
	// k 2, s 2, end pad 1, ceil: windows [1 2], [3 4], [5 pad].
	// count_include_pad=1: 5/2; =0: 5/1.
	for _, c := range []struct {
		incl int64
		last float32
	}{{1, 2.5}, {0, 5}} {
		y := run1(t, node("AveragePool", []string{"x"}, []string{"y"}, onnx.AttrIs("kernel_shape", 2), onnx.AttrIs("strides", 2),
			onnx.AttrIs("pads", 0, 1), onnx.AttrI("ceil_mode", 1), onnx.AttrI("count_include_pad", c.incl)), 11, x)
		wantF32(t, y, []int64{1, 1, 3}, 1.5, 3.5, c.last)
	}
	// No pads, ceil: the last window [5, beyond] holds one tap inside the
	// (unpadded) input, so both modes divide by 1 (torch's rule; ONNX
	// Runtime divides by 2 with count_include_pad=1).
	for _, incl := range []int64{0, 1} {
		y := run1(t, node("AveragePool", []string{"x"}, []string{"y"}, onnx.AttrIs("kernel_shape", 2), onnx.AttrIs("strides", 2),
			onnx.AttrI("ceil_mode", 1), onnx.AttrI("count_include_pad", incl)), 11, x)
		wantF32(t, y, []int64{1, 1, 3}, 1.5, 3.5, 5)
	}
}

func TestMaxPoolIndicesColumnMajor(t *testing.T) {
	// 2 planes of 2x3; kernel 2x2 stride 1: maxima of plane 1 at (1,2)
	// and (1,1) -> column-major index w*H + h = 5 and 3, plus plane 6.
	x := f32([]int64{1, 2, 2, 3}, 1, 2, 3, 4, 5, 6, 6, 5, 4, 1, 9, 8)
	out, err := RunNode(node("MaxPool", []string{"x"}, []string{"y", "i"}, onnx.AttrIs("kernel_shape", 2, 2), onnx.AttrI("storage_order", 1)), 12, []*onnx.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	wantF32(t, out[0], []int64{1, 2, 1, 2}, 5, 6, 9, 9)
	if !slices.Equal(out[1].I64, []int64{3, 5, 6 + 3, 6 + 3}) {
		t.Fatalf("indices %v", out[1].I64)
	}
}

func TestQuantizeLinearRoundingAndSaturation(t *testing.T) {
	// x/0.5 = 2.5, 3.5, -2.5, 1000, -1000, 0.5 -> half to even: 2, 4, -2,
	// then + zero point 10 and saturation to uint8.
	x := f32([]int64{6}, 1.25, 1.75, -1.25, 500, -500, 0.25)
	y := run1(t, node("QuantizeLinear", []string{"x", "s", "z"}, []string{"y"}), 13, x, f32([]int64{}, 0.5), onnx.NewUint8("", []int64{}, []uint8{10}))
	if !slices.Equal(y.U8, []uint8{12, 14, 8, 255, 0, 10}) {
		t.Fatalf("uint8: %v", y.U8)
	}
	// int8, per channel along axis 0: scales 1 and 0.25, zero points 0, -3.
	x = f32([]int64{2, 2}, 2.5, -200, 0.375, 40)
	y = run1(t, node("QuantizeLinear", []string{"x", "s", "z"}, []string{"y"}, onnx.AttrI("axis", 0)), 13,
		x, f32([]int64{2}, 1, 0.25), onnx.NewInt8("", []int64{2}, []int8{0, -3}))
	// 2.5 -> 2; -200 -> -128; 1.5 -> 2, -3 = -1; 160 - 3 = 157 -> 127.
	if !slices.Equal(y.I8, []int8{2, -128, -1, 127}) {
		t.Fatalf("int8 per axis: %v", y.I8)
	}
	// Opset 10 refuses a per-axis scale.
	if _, err := RunNode(node("QuantizeLinear", []string{"x", "s"}, []string{"y"}), 10, []*onnx.Tensor{x, f32([]int64{2}, 1, 1)}); err == nil {
		t.Fatal("opset 10 accepted a 1-D scale")
	}
}

func TestDequantizeLinearPerAxis(t *testing.T) {
	// axis 1 of [1 2 2]: scales 0.5, 2; zero points 1, -1.
	x := onnx.NewInt8("", []int64{1, 2, 2}, []int8{3, -1, 0, 127})
	y := run1(t, node("DequantizeLinear", []string{"x", "s", "z"}, []string{"y"}), 13,
		x, f32([]int64{2}, 0.5, 2), onnx.NewInt8("", []int64{2}, []int8{1, -1}))
	wantF32(t, y, []int64{1, 2, 2}, 1, -1, 2, 256)
	// int32 without zero point.
	y = run1(t, node("DequantizeLinear", []string{"x", "s"}, []string{"y"}), 13, onnx.NewInt32("", []int64{2}, []int32{-7, 1 << 20}), f32([]int64{}, 0.25))
	wantF32(t, y, []int64{2}, -1.75, 1<<18)
}

func TestQLinearConvPerChannel(t *testing.T) {
	// x uint8 1x1x2x2 = [10 20; 30 40], zero point 10 -> [0 10; 20 30].
	// Two 1x1 filters, int8 weights 3 and -2 with per-channel zero points
	// 1 and 0 -> effective 2 and -2; scales x 0.5, w [0.25 1], y 2, y zero
	// point 100; bias [8, 0].
	// Filter 0: acc = 2*v + 8 = 8, 28, 48, 68; multiplier 0.5*0.25/2 =
	// 0.0625 -> 0.5, 1.75, 3, 4.25 -> round half even 0, 2, 3, 4 -> +100.
	// Filter 1: acc = -2*v = 0, -20, -40, -60; multiplier 0.25 -> 0, -5,
	// -10, -15 -> 100, 95, 90, 85.
	in := []*onnx.Tensor{
		onnx.NewUint8("", []int64{1, 1, 2, 2}, []uint8{10, 20, 30, 40}), f32([]int64{}, 0.5), onnx.NewUint8("", []int64{}, []uint8{10}),
		onnx.NewInt8("", []int64{2, 1, 1, 1}, []int8{3, -2}), f32([]int64{2}, 0.25, 1), onnx.NewInt8("", []int64{2}, []int8{1, 0}),
		f32([]int64{}, 2), onnx.NewUint8("", []int64{}, []uint8{100}), onnx.NewInt32("", []int64{2}, []int32{8, 0}),
	}
	y := run1(t, node("QLinearConv", []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, []string{"y"}), 10, in...)
	if !equalDims(y.Dims, []int64{1, 2, 2, 2}) || !slices.Equal(y.U8, []uint8{100, 102, 103, 104, 100, 95, 90, 85}) {
		t.Fatalf("got %v %v", y.Dims, y.U8)
	}
}

func TestConvIntegerPaddingIsZeroPoint(t *testing.T) {
	// x uint8 [1 2 3] with zero point 2 -> [-1 0 1]; w [1 1 1]; pads 1:
	// windows [pad -1 0], [-1 0 1], [0 1 pad] -> -1, 0, 1 (padding holds
	// the zero point, which contributes 0).
	y := run1(t, node("ConvInteger", []string{"x", "w", "xz"}, []string{"y"}, onnx.AttrIs("pads", 1, 1)), 10,
		onnx.NewUint8("", []int64{1, 1, 3}, []uint8{1, 2, 3}), onnx.NewUint8("", []int64{1, 1, 3}, []uint8{1, 1, 1}), onnx.NewUint8("", []int64{}, []uint8{2}))
	if y.DataType != onnx.Int32 || !slices.Equal(y.I32, []int32{-1, 0, 1}) {
		t.Fatalf("got %v %v", y.DataType, y.I32)
	}
}

func TestMatMulIntegerPerRowZeroPoint(t *testing.T) {
	// A [2x2] = [1 2; 3 4] with per-row zero points [1, 3] -> [0 1; 0 1];
	// B [2x2] = [1 2; 3 4] with per-column zero points [1, 2] -> [0 0; 2 2].
	// Product: [2 2; 2 2].
	y := run1(t, node("MatMulInteger", []string{"a", "b", "az", "bz"}, []string{"y"}), 10,
		onnx.NewUint8("", []int64{2, 2}, []uint8{1, 2, 3, 4}), onnx.NewUint8("", []int64{2, 2}, []uint8{1, 2, 3, 4}),
		onnx.NewUint8("", []int64{2}, []uint8{1, 3}), onnx.NewUint8("", []int64{2}, []uint8{1, 2}))
	if !slices.Equal(y.I32, []int32{2, 2, 2, 2}) {
		t.Fatalf("got %v", y.I32)
	}
}

func TestQLinearMatMul(t *testing.T) {
	// a int8 [1x2] = [4 -2], zero point 0; b int8 [2x1] = [5; 1], zero
	// point 1 -> [4; 0]; C = 16. Multiplier float32(0.5*0.25)/0.1 rounds to
	// 1.25 within 1e-7, so 16 times it is 20 within 1e-6 -> 20 + (-3) = 17.
	y := run1(t, node("QLinearMatMul", []string{"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, []string{"y"}), 10,
		onnx.NewInt8("", []int64{1, 2}, []int8{4, -2}), f32([]int64{}, 0.5), onnx.NewInt8("", []int64{}, []int8{0}),
		onnx.NewInt8("", []int64{2, 1}, []int8{5, 1}), f32([]int64{}, 0.25), onnx.NewInt8("", []int64{}, []int8{1}),
		f32([]int64{}, 0.1), onnx.NewInt8("", []int64{}, []int8{-3}))
	if !equalDims(y.Dims, []int64{1, 1}) || y.I8[0] != 17 {
		t.Fatalf("got %v %v", y.Dims, y.I8)
	}
}

func TestQLinearAdd(t *testing.T) {
	// A uint8 [2x2] scale 0.5 zero 10; B uint8 [2] (broadcast rows) scale
	// 1 zero 0; C scale 0.25 zero 5.
	// (0.5*(a-10) + b) / 0.25 + 5:
	// a=10,b=1 -> 4+5 = 9; a=12,b=2 -> 12+5 = 17;
	// a=255,b=1 -> (122.5+1)*4+5 = 499 -> 255; a=0,b=2 -> (-5+2)*4+5 = -7 -> 0.
	y := run1(t, &onnx.Node{Name: "n", Domain: "com.microsoft", OpType: "QLinearAdd",
		Inputs: []string{"a", "as", "az", "b", "bs", "bz", "cs", "cz"}, Outputs: []string{"c"}}, 1,
		onnx.NewUint8("", []int64{2, 2}, []uint8{10, 12, 255, 0}), f32([]int64{}, 0.5), onnx.NewUint8("", []int64{}, []uint8{10}),
		onnx.NewUint8("", []int64{2}, []uint8{1, 2}), f32([]int64{}, 1), onnx.NewUint8("", []int64{}, []uint8{0}),
		f32([]int64{}, 0.25), onnx.NewUint8("", []int64{}, []uint8{5}))
	if !slices.Equal(y.U8, []uint8{9, 17, 255, 0}) {
		t.Fatalf("got %v", y.U8)
	}
}

func TestQLinearGlobalAveragePool(t *testing.T) {
	// NCHW int8 [1 2 1 2]: channel 0 = [3 5], channel 1 = [-4 -1]; x zero
	// point 1, x scale 0.5, y scale 0.25, y zero point 2. s = 0.5/(0.25*2)
	// = 1; acc0 = 8 - 2 = 6 -> 6 + 2 = 8; acc1 = -5 - 2 = -7 -> -5.
	in := []*onnx.Tensor{onnx.NewInt8("", []int64{1, 2, 1, 2}, []int8{3, 5, -4, -1}), f32([]int64{}, 0.5),
		onnx.NewInt8("", []int64{}, []int8{1}), f32([]int64{}, 0.25), onnx.NewInt8("", []int64{}, []int8{2})}
	n := &onnx.Node{Name: "n", Domain: "com.microsoft", OpType: "QLinearGlobalAveragePool",
		Inputs: []string{"x", "xs", "xz", "ys", "yz"}, Outputs: []string{"y"}}
	y := run1(t, n, 1, in...)
	if !equalDims(y.Dims, []int64{1, 2, 1, 1}) || !slices.Equal(y.I8, []int8{8, -5}) {
		t.Fatalf("NCHW: got %v %v", y.Dims, y.I8)
	}
	// The same values in NHWC [1 1 2 2]: positions (3, -4) and (5, -1).
	in[0] = onnx.NewInt8("", []int64{1, 1, 2, 2}, []int8{3, -4, 5, -1})
	n.Attrs = []*onnx.Attribute{onnx.AttrI("channels_last", 1)}
	y = run1(t, n, 1, in...)
	if !equalDims(y.Dims, []int64{1, 1, 1, 2}) || !slices.Equal(y.I8, []int8{8, -5}) {
		t.Fatalf("NHWC: got %v %v", y.Dims, y.I8)
	}
}

func TestQLinearConcat(t *testing.T) {
	// Y scale 1 zero 0. Input 0 has Y's parameters (copied); input 1 has
	// scale 0.5 zero 4: (x-4)*0.5 for x = 4, 7, 255 -> 0, 1.5 -> 2, 125.5
	// -> 126 (half to even).
	y := run1(t, &onnx.Node{Name: "n", Domain: "com.microsoft", OpType: "QLinearConcat",
		Inputs: []string{"ys", "yz", "a", "as", "az", "b", "bs", "bz"}, Outputs: []string{"y"},
		Attrs: []*onnx.Attribute{onnx.AttrI("axis", -1)}}, 1,
		f32([]int64{}, 1), onnx.NewUint8("", []int64{}, []uint8{0}),
		onnx.NewUint8("", []int64{1, 2}, []uint8{9, 200}), f32([]int64{}, 1), onnx.NewUint8("", []int64{}, []uint8{0}),
		onnx.NewUint8("", []int64{1, 3}, []uint8{4, 7, 255}), f32([]int64{}, 0.5), onnx.NewUint8("", []int64{}, []uint8{4}))
	if !equalDims(y.Dims, []int64{1, 5}) || !slices.Equal(y.U8, []uint8{9, 200, 0, 2, 126}) {
		t.Fatalf("got %v %v", y.Dims, y.U8)
	}
}

func TestClipMinAboveMax(t *testing.T) {
	y := run1(t, node("Clip", []string{"x", "lo", "hi"}, []string{"y"}), 13, f32([]int64{3}, -5, 0, 5), f32([]int64{}, 2), f32([]int64{}, 1))
	wantF32(t, y, []int64{3}, 1, 1, 1)
	nan := float32(math.NaN())
	y = run1(t, node("Clip", []string{"x"}, []string{"y"}, onnx.AttrF("min", -1), onnx.AttrF("max", 1)), 6, f32([]int64{3}, -5, nan, 5))
	wantF32(t, y, []int64{3}, -1, nan, 1)
}

func TestReshapeZeroAndAllowZero(t *testing.T) {
	x := f32([]int64{2, 0, 3})
	shape := onnx.NewInt64("", []int64{2}, []int64{0, 3})
	// allowzero=0: 0 copies dims[0] = 2 -> [2 3] has 6 elements, x has 0.
	if _, err := RunNode(node("Reshape", []string{"x", "s"}, []string{"y"}), 14, []*onnx.Tensor{x, shape}); err == nil {
		t.Fatal("reshape of 0 elements to [2 3] accepted")
	}
	y := run1(t, node("Reshape", []string{"x", "s"}, []string{"y"}, onnx.AttrI("allowzero", 1)), 14, x, shape)
	wantF32(t, y, []int64{0, 3})
}

func TestLegacyBroadcast(t *testing.T) {
	// Add-6 with broadcast=1, axis=0: B [2] matches A's axis 0.
	a := f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6)
	b := f32([]int64{2}, 10, 20)
	y := run1(t, node("Add", []string{"a", "b"}, []string{"y"}, onnx.AttrI("broadcast", 1), onnx.AttrI("axis", 0)), 6, a, b)
	wantF32(t, y, []int64{2, 3}, 11, 12, 13, 24, 25, 26)
	if _, err := RunNode(node("Add", []string{"a", "b"}, []string{"y"}), 6, []*onnx.Tensor{a, b}); err == nil {
		t.Fatal("Add-6 without broadcast accepted different shapes")
	}
	// Opset 7 broadcasts numpy-style: [2] against [2 3] aligns to the last
	// axis, which has 3 -> error.
	if _, err := RunNode(node("Add", []string{"a", "b"}, []string{"y"}), 7, []*onnx.Tensor{a, b}); err == nil {
		t.Fatal("Add-7 broadcast [2] against [2 3]")
	}
}

func TestIntegerArithmeticWraps(t *testing.T) {
	y := run1(t, node("Mul", []string{"a", "b"}, []string{"y"}), 14, onnx.NewUint8("", []int64{2}, []uint8{200, 3}), onnx.NewUint8("", []int64{2}, []uint8{2, 4}))
	if !slices.Equal(y.U8, []uint8{144, 12}) {
		t.Fatalf("uint8 wrap: %v", y.U8)
	}
	a := &onnx.Tensor{DataType: onnx.Int16, Dims: []int64{1}, I32: []int32{32767}}
	y = run1(t, node("Add", []string{"a", "b"}, []string{"y"}), 14, a, a)
	if y.I32[0] != -2 {
		t.Fatalf("int16 wrap: %v", y.I32)
	}
}

func TestCastDoubleToHalfRoundsOnce(t *testing.T) {
	// 1 + 2^-11 + 2^-40 lies just above the midpoint of 1 and 1 + 2^-10:
	// the nearest float16 is 1 + 2^-10 (0x3c01). Rounding through float32
	// first gives the exact midpoint 1 + 2^-11 and then, ties to even, 1.0.
	x := &onnx.Tensor{DataType: onnx.Double, Dims: []int64{2}, F64: []float64{1 + 0x1p-11 + 0x1p-40, 65520}}
	y := run1(t, node("Cast", []string{"x"}, []string{"y"}, onnx.AttrI("to", int64(onnx.Float16))), 13, x)
	if !slices.Equal(y.U16, []uint16{0x3c01, 0x7c00}) {
		t.Fatalf("got %#04x", y.U16)
	}
	// Opset 1 names the type.
	y = run1(t, node("Cast", []string{"x"}, []string{"y"}, onnx.AttrS("to", "INT8")), 1, f32([]int64{3}, 2.9, -2.9, 130))
	if !slices.Equal(y.I8, []int8{2, -2, -126}) {
		t.Fatalf("float to int8: %v", y.I8)
	}
}

func TestDropoutInference(t *testing.T) {
	x := f32([]int64{2}, 1, 2)
	out, err := RunNode(node("Dropout", []string{"x"}, []string{"y", "m"}), 7, []*onnx.Tensor{x})
	if err != nil || out[1].DataType != onnx.Float || !slices.Equal(out[1].F32, []float32{1, 1}) {
		t.Fatalf("opset 7 mask: %v %v", out, err)
	}
	out, err = RunNode(node("Dropout", []string{"x"}, []string{"y", "m"}), 10, []*onnx.Tensor{x})
	if err != nil || out[1].DataType != onnx.Bool || !slices.Equal(out[1].U8, []uint8{1, 1}) {
		t.Fatalf("opset 10 mask: %v %v", out, err)
	}
	on := onnx.NewUint8("", []int64{}, []uint8{1})
	on.DataType = onnx.Bool
	_, err = RunNode(node("Dropout", []string{"x", "r", "t"}, []string{"y"}), 13, []*onnx.Tensor{x, f32([]int64{}, 0.5), on})
	if err == nil || !strings.Contains(err.Error(), "training_mode") {
		t.Fatalf("training mode: %v", err)
	}
	y := run1(t, node("Dropout", []string{"x", "r", "t"}, []string{"y"}), 13, x, f32([]int64{}, 0), on)
	wantF32(t, y, []int64{2}, 1, 2)
}

func TestGatherIndexOutOfRange(t *testing.T) {
	x := f32([]int64{3}, 1, 2, 3)
	y := run1(t, node("Gather", []string{"x", "i"}, []string{"y"}), 13, x, onnx.NewInt64("", []int64{2}, []int64{-1, 0}))
	wantF32(t, y, []int64{2}, 3, 1)
	if _, err := RunNode(node("Gather", []string{"x", "i"}, []string{"y"}), 13, []*onnx.Tensor{x, onnx.NewInt64("", []int64{1}, []int64{3})}); err == nil {
		t.Fatal("index 3 of 3 accepted")
	}
}

func TestRunNodeErrorsNameTheNode(t *testing.T) {
	n := &onnx.Node{Name: "conv1", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
		Attrs: []*onnx.Attribute{onnx.AttrIs("kernel_shape", 3, 3, 3)}}
	_, err := RunNode(n, 11, []*onnx.Tensor{f32([]int64{1, 1, 3, 3}, make([]float32, 9)...), f32([]int64{1, 1, 3, 3}, make([]float32, 9)...)})
	if err == nil || !strings.HasPrefix(err.Error(), `ref: node Conv "conv1": kernel_shape [3 3 3]`) {
		t.Fatalf("got %v", err)
	}
	_, err = RunNode(&onnx.Node{Name: "x", OpType: "Loop"}, 11, nil)
	if err == nil || err.Error() != `ref: node Loop "x": unsupported op "Loop"` {
		t.Fatalf("got %v", err)
	}
}

func TestMatMulVectorVector(t *testing.T) {
	// [3] x [3] is a scalar (the fuzzer found the first version of the shape
	// code slicing out of range here).
	y := run1(t, node("MatMul", []string{"a", "b"}, []string{"y"}), 13, f32([]int64{3}, 1, 2, 3), f32([]int64{3}, 4, 5, 6))
	wantF32(t, y, []int64{}, 32)
}
