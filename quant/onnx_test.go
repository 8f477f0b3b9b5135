package quant

import (
	"math"
	"testing"
)

// perAxis maps element i of a tensor with dims to its index along axis.
func perAxis(dims []int64, axis int, i int) int {
	inner := 1
	for _, d := range dims[axis+1:] {
		inner *= int(d)
	}
	return (i / inner) % int(dims[axis])
}

// TestQuantizeLinearConformance checks QuantizeU8/QuantizeS8 against ONNX's
// stored outputs for QuantizeLinear (per-tensor and per-axis).
func TestQuantizeLinearConformance(t *testing.T) {
	for _, name := range []string{"test_quantizelinear", "test_quantizelinear_axis"} {
		c := loadONNXCase(t, name)
		if c.node.opType != "QuantizeLinear" || len(c.inputs) != 3 {
			t.Fatalf("%s: node %q with %d inputs, want QuantizeLinear with 3", name, c.node.opType, len(c.inputs))
		}
		axis := 1 // ONNX default
		if a, ok := c.node.intAttr["axis"]; ok {
			axis = int(a)
		}
		x, scale, zp, want := mustValues(t, c.inputs[0]), mustValues(t, c.inputs[1]), mustValues(t, c.inputs[2]), mustValues(t, c.outputs[0])
		qt := map[int]QType{tpUint8: Uint8, tpInt8: Int8}[c.inputs[2].dataType]
		if qt == 0 || c.outputs[0].dataType != c.inputs[2].dataType {
			t.Fatalf("%s: zero point type %d, output type %d", name, c.inputs[2].dataType, c.outputs[0].dataType)
		}
		for i := range x {
			k := 0
			if len(scale) > 1 {
				k = perAxis(c.inputs[0].dims, axis, i)
			}
			var got int32
			if qt == Uint8 {
				got = int32(QuantizeU8(float32(x[i]), float32(scale[k]), uint8(zp[k])))
			} else {
				got = int32(QuantizeS8(float32(x[i]), float32(scale[k]), int8(zp[k])))
			}
			if float64(got) != want[i] {
				t.Errorf("%s: element %d: QuantizeLinear(%g, scale %g, zp %g) = %d, ONNX says %g", name, i, x[i], scale[k], zp[k], got, want[i])
			}
			if g := Quantize(float32(x[i]), float32(scale[k]), int32(zp[k]), qt); g != got {
				t.Errorf("%s: element %d: Quantize = %d, typed function = %d", name, i, g, got)
			}
		}
		t.Logf("%s: %d elements match ONNX's outputs", name, len(x))
	}
}

// TestDequantizeLinearConformance checks Dequantize against ONNX's stored
// outputs for DequantizeLinear (per-tensor and per-axis).
func TestDequantizeLinearConformance(t *testing.T) {
	for _, name := range []string{"test_dequantizelinear", "test_dequantizelinear_axis"} {
		c := loadONNXCase(t, name)
		if c.node.opType != "DequantizeLinear" || len(c.inputs) != 3 {
			t.Fatalf("%s: node %q with %d inputs, want DequantizeLinear with 3", name, c.node.opType, len(c.inputs))
		}
		axis := 1
		if a, ok := c.node.intAttr["axis"]; ok {
			axis = int(a)
		}
		q, scale, zp, want := mustValues(t, c.inputs[0]), mustValues(t, c.inputs[1]), mustValues(t, c.inputs[2]), mustValues(t, c.outputs[0])
		for i := range q {
			k := 0
			if len(scale) > 1 {
				k = perAxis(c.inputs[0].dims, axis, i)
			}
			got := Dequantize(int32(q[i]), float32(scale[k]), int32(zp[k]))
			if float64(got) != want[i] {
				t.Errorf("%s: element %d: DequantizeLinear(%g, scale %g, zp %g) = %g, ONNX says %g", name, i, q[i], scale[k], zp[k], got, want[i])
			}
		}
		t.Logf("%s: %d elements match ONNX's outputs", name, len(q))
	}
}

// TestDynamicQuantizeLinearConformance checks ChooseAsymmetric (uint8) and
// QuantizeU8 together against ONNX's DynamicQuantizeLinear outputs (scale,
// zero point and quantized tensor), including the cases where the range is
// widened to include zero.
func TestDynamicQuantizeLinearConformance(t *testing.T) {
	for _, name := range []string{"test_dynamicquantizelinear", "test_dynamicquantizelinear_max_adjusted", "test_dynamicquantizelinear_min_adjusted"} {
		c := loadONNXCase(t, name)
		if c.node.opType != "DynamicQuantizeLinear" || len(c.outputs) != 3 {
			t.Fatalf("%s: node %q with %d outputs", name, c.node.opType, len(c.outputs))
		}
		x := mustValues(t, c.inputs[0])
		wantY, wantScale, wantZP := mustValues(t, c.outputs[0]), mustValues(t, c.outputs[1]), mustValues(t, c.outputs[2])
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range x {
			lo, hi = min(lo, float32(v)), max(hi, float32(v))
		}
		scale, zp, err := ChooseAsymmetric(lo, hi, Uint8)
		if err != nil {
			t.Fatal(err)
		}
		if float64(scale) != wantScale[0] || float64(zp) != wantZP[0] {
			t.Errorf("%s: ChooseAsymmetric(%g, %g) = scale %g (bits %#x), zp %d; ONNX says %g (bits %#x), %g",
				name, lo, hi, scale, math.Float32bits(scale), zp, wantScale[0], math.Float32bits(float32(wantScale[0])), wantZP[0])
		}
		for i, v := range x {
			if got := QuantizeU8(float32(v), scale, uint8(zp)); float64(got) != wantY[i] {
				t.Errorf("%s: element %d: %g quantizes to %d, ONNX says %g", name, i, v, got, wantY[i])
			}
		}
	}
}

func TestQuantizeRounding(t *testing.T) {
	// Half to even, saturation, NaN, and the int8 range.
	cases := []struct {
		x, scale float32
		zp       int32
		qt       QType
		want     int32
	}{
		{0.5, 1, 0, Uint8, 0}, {1.5, 1, 0, Uint8, 2}, {2.5, 1, 0, Uint8, 2}, {-0.5, 1, 10, Uint8, 10}, {-1.5, 1, 10, Uint8, 8},
		{300, 1, 0, Uint8, 255}, {-300, 1, 0, Uint8, 0}, {float32(math.Inf(1)), 1, 0, Uint8, 255}, {float32(math.NaN()), 1, 7, Uint8, 0},
		{-2.5, 1, 0, Int8, -2}, {-3.5, 1, 0, Int8, -4}, {1000, 1, -128, Int8, 127}, {-1000, 1, 5, Int8, -128}, {float32(math.NaN()), 1, 7, Int8, -128},
		// x / scale is a float32 division: 89.8235 / 0.95051324 is 94.50000006 exactly,
		// but 94.5 in float32, which rounds to even (94), not up (95).
		{math.Float32frombits(1119069602), math.Float32frombits(1064522966), 0, Uint8, 94},
	}
	for _, c := range cases {
		if got := Quantize(c.x, c.scale, c.zp, c.qt); got != c.want {
			t.Errorf("Quantize(%g, %g, %d, %v) = %d, want %d", c.x, c.scale, c.zp, c.qt, got, c.want)
		}
	}
}
