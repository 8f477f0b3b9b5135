package ref

import (
	"fmt"
	"math"
	"slices"

	"github.com/piresnet/piresnet/internal/onnx"
)

// maxElements bounds every tensor the interpreter allocates, so that a
// malformed model (a huge pad, a shape tensor with large values) gets an
// error instead of exhausting memory: 2^28 elements, 1 GiB of float32. The
// largest activation of a ResNet-50 on a 4K frame has 133 M elements.
// Tests lower it.
var maxElements int64 = 1 << 28

// maxDim bounds every size, pad, stride, dilation and kernel extent read
// from a model, so that window arithmetic on them (sums of three, products
// that stay within the padded input) fits in an int even on 32-bit arm.
const maxDim = 1 << 28

// shapeSize returns the number of elements of dims, checking that every
// dimension is non-negative and that the product stays within maxElements.
func shapeSize(dims []int64) (int, error) {
	zero := false
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", dims)
		}
		zero = zero || d == 0
	}
	if zero {
		return 0, nil
	}
	n := int64(1)
	for _, d := range dims {
		if d > maxElements/n {
			return 0, fmt.Errorf("shape %v has more than %d elements", dims, maxElements)
		}
		n *= d
	}
	return int(n), nil
}

// newTensor allocates a zeroed tensor of the given type and shape.
func newTensor(dt onnx.DataType, dims []int64) (*onnx.Tensor, error) {
	n, err := shapeSize(dims)
	if err != nil {
		return nil, err
	}
	t := &onnx.Tensor{DataType: dt, Dims: slices.Clone(dims)}
	if t.Dims == nil {
		t.Dims = []int64{}
	}
	switch dt {
	case onnx.Float:
		t.F32 = make([]float32, n)
	case onnx.Double:
		t.F64 = make([]float64, n)
	case onnx.Int64:
		t.I64 = make([]int64, n)
	case onnx.Int32, onnx.Int16, onnx.Uint16:
		t.I32 = make([]int32, n)
	case onnx.Int8:
		t.I8 = make([]int8, n)
	case onnx.Uint8, onnx.Bool:
		t.U8 = make([]uint8, n)
	case onnx.Float16, onnx.BFloat16:
		t.U16 = make([]uint16, n)
	case onnx.Uint32, onnx.Uint64:
		t.U64 = make([]uint64, n)
	case onnx.String:
		t.Strs = make([][]byte, n)
		for i := range t.Strs {
			t.Strs[i] = []byte{}
		}
	default:
		return nil, fmt.Errorf("cannot make a tensor of type %v", dt)
	}
	return t, nil
}

// checkTensor verifies that a tensor handed to the interpreter is
// consistent: a known element type, valid dims, and as many elements as the
// dims claim.
func checkTensor(t *onnx.Tensor) error {
	if t == nil {
		return fmt.Errorf("missing tensor")
	}
	n, err := shapeSize(t.Dims)
	if err != nil {
		return err
	}
	switch t.DataType {
	case onnx.Float, onnx.Double, onnx.Int64, onnx.Int32, onnx.Int16, onnx.Uint16,
		onnx.Int8, onnx.Uint8, onnx.Bool, onnx.Float16, onnx.BFloat16, onnx.Uint32,
		onnx.Uint64, onnx.String:
	default:
		return fmt.Errorf("unsupported element type %v", t.DataType)
	}
	if t.Len() != n {
		return fmt.Errorf("%v tensor with dims %v holds %d elements, want %d", t.DataType, t.Dims, t.Len(), n)
	}
	return nil
}

// cloneTensor deep-copies a tensor (data and dims), keeping its name.
func cloneTensor(t *onnx.Tensor) *onnx.Tensor {
	c := &onnx.Tensor{Name: t.Name, DataType: t.DataType, Dims: slices.Clone(t.Dims)}
	if c.Dims == nil {
		c.Dims = []int64{}
	}
	c.F32 = slices.Clone(t.F32)
	c.F64 = slices.Clone(t.F64)
	c.I64 = slices.Clone(t.I64)
	c.I32 = slices.Clone(t.I32)
	c.I8 = slices.Clone(t.I8)
	c.U8 = slices.Clone(t.U8)
	c.U16 = slices.Clone(t.U16)
	c.U64 = slices.Clone(t.U64)
	if t.Strs != nil {
		c.Strs = make([][]byte, len(t.Strs))
		for i, s := range t.Strs {
			c.Strs[i] = slices.Clone(s)
		}
	}
	return c
}

// withDims returns a copy of t with new dims (same element count).
func withDims(t *onnx.Tensor, dims []int64) *onnx.Tensor {
	c := cloneTensor(t)
	c.Name = ""
	c.Dims = slices.Clone(dims)
	if c.Dims == nil {
		c.Dims = []int64{}
	}
	return c
}

// isFloat reports whether dt is a floating-point element type.
func isFloat(dt onnx.DataType) bool {
	switch dt {
	case onnx.Float, onnx.Double, onnx.Float16, onnx.BFloat16:
		return true
	}
	return false
}

// isNumeric reports whether dt is a number type the interpreter computes on.
func isNumeric(dt onnx.DataType) bool {
	switch dt {
	case onnx.Float, onnx.Double, onnx.Float16, onnx.BFloat16, onnx.Int8, onnx.Int16,
		onnx.Int32, onnx.Int64, onnx.Uint8, onnx.Uint16, onnx.Uint32, onnx.Uint64:
		return true
	}
	return false
}

// bfloat16FromFloat32 rounds a float32 to bfloat16 to nearest, ties to even,
// keeping NaN a quiet NaN.
func bfloat16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

func bfloat16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// floatScalar reads a one-element float32 tensor.
func floatScalar(t *onnx.Tensor, what string) (float32, error) {
	if t.DataType != onnx.Float {
		return 0, fmt.Errorf("%s must be float32, got %v", what, t.DataType)
	}
	if len(t.F32) != 1 {
		return 0, fmt.Errorf("%s must have one element, got %d (dims %v)", what, len(t.F32), t.Dims)
	}
	return t.F32[0], nil
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// prod multiplies dims[lo:hi] (already validated shapes only).
func prod(dims []int64) int {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	return n
}

// toFloat64 widens a float tensor's data to float64.
func toFloat64(t *onnx.Tensor) []float64 {
	if t.DataType == onnx.Double {
		return t.F64
	}
	v, _ := t.Float32s()
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = float64(f)
	}
	return out
}

// storeFloat64 rounds float64 values into a float tensor of any precision
// (float16 and bfloat16 through float32).
func storeFloat64(t *onnx.Tensor, v []float64) {
	switch t.DataType {
	case onnx.Double:
		copy(t.F64, v)
	case onnx.Float:
		for i, f := range v {
			t.F32[i] = float32(f)
		}
	default:
		f32 := make([]float32, len(v))
		for i, f := range v {
			f32[i] = float32(f)
		}
		fromFloat32(t, f32)
	}
}

// copyElems copies n elements of src starting at so into dst starting at
// do; both tensors have the same element type.
func copyElems(dst *onnx.Tensor, do int, src *onnx.Tensor, so, n int) {
	switch src.DataType {
	case onnx.Float:
		copy(dst.F32[do:do+n], src.F32[so:so+n])
	case onnx.Double:
		copy(dst.F64[do:do+n], src.F64[so:so+n])
	case onnx.Int64:
		copy(dst.I64[do:do+n], src.I64[so:so+n])
	case onnx.Int32, onnx.Int16, onnx.Uint16:
		copy(dst.I32[do:do+n], src.I32[so:so+n])
	case onnx.Int8:
		copy(dst.I8[do:do+n], src.I8[so:so+n])
	case onnx.Uint8, onnx.Bool:
		copy(dst.U8[do:do+n], src.U8[so:so+n])
	case onnx.Float16, onnx.BFloat16:
		copy(dst.U16[do:do+n], src.U16[so:so+n])
	case onnx.Uint32, onnx.Uint64:
		copy(dst.U64[do:do+n], src.U64[so:so+n])
	case onnx.String:
		for i := 0; i < n; i++ {
			dst.Strs[do+i] = slices.Clone(src.Strs[so+i])
		}
	}
}

// int64Values reads an int32 or int64 tensor (shape and index inputs).
func int64Values(t *onnx.Tensor, what string) ([]int64, error) {
	switch t.DataType {
	case onnx.Int64:
		return t.I64, nil
	case onnx.Int32:
		v, _ := t.Int64s()
		return v, nil
	}
	return nil, fmt.Errorf("%s must be int32 or int64, got %v", what, t.DataType)
}
