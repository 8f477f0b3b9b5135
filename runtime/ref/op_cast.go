package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Cast (opsets 1, 6, 9, 13, 19, 21) between the numeric types and bool.
// Floats to integers truncate toward zero and then wrap to the target width
// (out-of-range values are undefined in ONNX); integers and floats to
// float16, bfloat16, float32 and float64 round to nearest even, directly
// from the source value (no double rounding); to bool is x != 0. In opset 1
// the target is a type name string ("FLOAT"). Strings are not numeric and
// are refused.
func buildCast(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	var to onnx.DataType
	if a := n.Attr("to"); a != nil && a.Type == onnx.AttrString {
		name := string(a.S)
		found := false
		for dt, s := range castNames {
			if s == name {
				to, found = dt, true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown type name %q in attribute to", name)
		}
	} else {
		to = onnx.DataType(r.int("to", 0))
		if !r.has("to") {
			r.fail("attribute to is required")
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if !isNumeric(to) && to != onnx.Bool {
		return nil, fmt.Errorf("cast to %v is not supported (numeric types and bool only)", to)
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "input")
		if err != nil {
			return nil, err
		}
		y, err := castTensor(x, to)
		if err != nil {
			return nil, err
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}

var castNames = map[onnx.DataType]string{
	onnx.Float: "FLOAT", onnx.Uint8: "UINT8", onnx.Int8: "INT8", onnx.Uint16: "UINT16",
	onnx.Int16: "INT16", onnx.Int32: "INT32", onnx.Int64: "INT64", onnx.Bool: "BOOL",
	onnx.Float16: "FLOAT16", onnx.Double: "DOUBLE", onnx.Uint32: "UINT32",
	onnx.Uint64: "UINT64", onnx.BFloat16: "BFLOAT16", onnx.String: "STRING",
}

// castTensor converts x to the element type to.
func castTensor(x *onnx.Tensor, to onnx.DataType) (*onnx.Tensor, error) {
	if !isNumeric(x.DataType) && x.DataType != onnx.Bool {
		return nil, fmt.Errorf("cast from %v is not supported (numeric types and bool only)", x.DataType)
	}
	y, err := newTensor(to, x.Dims)
	if err != nil {
		return nil, err
	}
	n := x.Len()
	switch {
	case isFloat(x.DataType):
		src := toFloat64(x)
		for i := 0; i < n; i++ {
			setFromFloat(y, i, src[i])
		}
	case x.DataType == onnx.Uint64 || x.DataType == onnx.Uint32:
		for i := 0; i < n; i++ {
			setFromUint(y, i, x.U64[i])
		}
	default:
		src, _ := x.Int64s()
		for i := 0; i < n; i++ {
			setFromInt(y, i, src[i])
		}
	}
	return y, nil
}

func setFromFloat(y *onnx.Tensor, i int, v float64) {
	switch y.DataType {
	case onnx.Float:
		y.F32[i] = float32(v)
	case onnx.Double:
		y.F64[i] = v
	case onnx.Float16:
		y.U16[i] = onnx.Float32ToHalf(float32(roundToFormat(v, 10, -14, 65536)))
	case onnx.BFloat16:
		if v != v {
			y.U16[i] = 0x7fc0
		} else {
			y.U16[i] = uint16(math.Float32bits(float32(roundToFormat(v, 7, -126, 0x1p128))) >> 16)
		}
	case onnx.Bool:
		if v != 0 {
			y.U8[i] = 1
		}
	case onnx.Uint64:
		if v < 0 {
			y.U64[i] = uint64(int64(v))
		} else {
			y.U64[i] = uint64(v)
		}
	default:
		setFromInt(y, i, int64(v))
	}
}

func setFromInt(y *onnx.Tensor, i int, v int64) {
	switch y.DataType {
	case onnx.Float:
		y.F32[i] = float32(v)
	case onnx.Double:
		y.F64[i] = float64(v)
	case onnx.Float16, onnx.BFloat16:
		setFromFloat(y, i, float64(v))
	case onnx.Bool:
		if v != 0 {
			y.U8[i] = 1
		}
	case onnx.Int8:
		y.I8[i] = int8(v)
	case onnx.Uint8:
		y.U8[i] = uint8(v)
	case onnx.Int16:
		y.I32[i] = int32(int16(v))
	case onnx.Uint16:
		y.I32[i] = int32(uint16(v))
	case onnx.Int32:
		y.I32[i] = int32(v)
	case onnx.Int64:
		y.I64[i] = v
	case onnx.Uint32:
		y.U64[i] = uint64(uint32(v))
	case onnx.Uint64:
		y.U64[i] = uint64(v)
	}
}

func setFromUint(y *onnx.Tensor, i int, v uint64) {
	switch y.DataType {
	case onnx.Float:
		y.F32[i] = float32(v)
	case onnx.Double:
		y.F64[i] = float64(v)
	default:
		if v > math.MaxInt64 && (y.DataType == onnx.Float16 || y.DataType == onnx.BFloat16) {
			setFromFloat(y, i, float64(v))
			return
		}
		setFromInt(y, i, int64(v))
	}
}

// roundToFormat rounds v to nearest even in a binary floating-point format
// with mant fraction bits, minimum normal exponent emin (subnormals below it)
// and overflow threshold limit (values that round to limit or beyond become
// infinite). The result is exactly representable in float32.
func roundToFormat(v float64, mant int, emin int, limit float64) float64 {
	if v != v || math.IsInf(v, 0) || v == 0 {
		return v
	}
	_, e := math.Frexp(v) // |v| in [2^(e-1), 2^e)
	e = max(e-1, emin)
	ulp := math.Ldexp(1, e-mant)
	r := math.RoundToEven(v/ulp) * ulp
	if math.Abs(r) >= limit {
		return math.Copysign(math.Inf(1), v)
	}
	return r
}
