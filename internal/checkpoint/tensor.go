package checkpoint

import (
	"fmt"
	"math"
)

// storageRef is a storage named by a checkpoint: a flat array of numel
// elements of one dtype. Its data is read only when a chosen tensor uses it.
type storageRef struct {
	dt    *dtype
	typ   string // torch's storage type, for messages
	key   string
	numel int64

	pos  int64 // legacy format: file offset of the data
	uses int   // chosen tensors viewing it
	data []float32
}

// tensorRef is a tensor as a view of a storage: torch's
// (storage, storage_offset, size, stride).
type tensorRef struct {
	storage *storageRef
	offset  int64
	shape   []int64
	stride  []int64
	numel   int64 // set by check
}

const maxDims = 64

func intTuple(v any) ([]int64, bool) {
	t, ok := v.(*pyTuple)
	if !ok || len(t.items) > maxDims {
		return nil, false
	}
	out := make([]int64, len(t.items))
	for i, it := range t.items {
		if out[i], ok = asInt(it); !ok {
			return nil, false
		}
	}
	return out, true
}

// newTensorRef builds a tensor from _rebuild_tensor(_v2) arguments
// (storage, storage_offset, size, stride, …); the geometry is checked later,
// when the tensor's name is known.
func newTensorRef(g *pyGlobal, args *pyTuple) (*tensorRef, error) {
	a := args.items
	s, ok1 := a[0].(*storageRef)
	off, ok2 := asInt(a[1])
	shape, ok3 := intTuple(a[2])
	stride, ok4 := intTuple(a[3])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, argsErr(g, args)
	}
	if len(shape) != len(stride) {
		return nil, errf(ErrFormat, "tensor with %d sizes and %d strides", len(shape), len(stride))
	}
	return &tensorRef{storage: s, offset: off, shape: shape, stride: stride}, nil
}

// check validates the tensor's geometry against its storage and the limits.
func (t *tensorRef) check(name string, lim *Limits) error {
	s := t.storage
	if s.dt.decode == nil {
		return errf(ErrUnsupported, "tensor %q: dtype %s (%s) is not supported", name, s.dt.name, s.typ)
	}
	if t.offset < 0 {
		return errf(ErrFormat, "tensor %q has a negative storage offset %d", name, t.offset)
	}
	numel := int64(1)
	for i, d := range t.shape {
		if d < 0 || t.stride[i] < 0 {
			return errf(ErrFormat, "tensor %q has a negative size or stride (shape %v, strides %v)", name, t.shape, t.stride)
		}
		if d > math.MaxInt32 {
			return errf(ErrLimit, "tensor %q has a dimension of %d, more than 2^31-1 (shape %v)", name, d, t.shape)
		}
		var ok bool
		if numel, ok = mulCheck(numel, d, math.MaxInt64); !ok {
			numel = math.MaxInt64
		}
	}
	if numel > lim.MaxTensorElements {
		return errf(ErrLimit, "tensor %q has shape %v: %s elements, more than %d (Limits.MaxTensorElements)",
			name, t.shape, bigCount(t.shape), lim.MaxTensorElements)
	}
	if _, ok := mulCheck(s.numel, int64(s.dt.size), lim.MaxTotalBytes); !ok || s.numel < 0 {
		return errf(ErrLimit, "tensor %q: its storage claims %d elements of %s, more than %d bytes (Limits.MaxTotalBytes)",
			name, s.numel, s.dt.name, lim.MaxTotalBytes)
	}
	t.numel = numel
	if numel == 0 {
		return nil
	}
	// The last element is at offset + Σ (size-1)·stride; all terms ≥ 0.
	last := t.offset
	for i, d := range t.shape {
		step, ok := mulCheck(d-1, t.stride[i], math.MaxInt64-last)
		if !ok {
			last = math.MaxInt64
			break
		}
		last += step
	}
	if last >= s.numel {
		return errf(ErrFormat, "tensor %q (shape %v, strides %v, offset %d) needs %s storage elements, its storage %q holds %d",
			name, t.shape, t.stride, t.offset, plus1(last), s.key, s.numel)
	}
	return nil
}

func plus1(x int64) string {
	if x == math.MaxInt64 {
		return "more than 2^63"
	}
	return fmt.Sprint(x + 1)
}

// bigCount prints the product of shape even when it overflows int64.
func bigCount(shape []int64) string {
	f := 1.0
	for _, d := range shape {
		f *= float64(d)
	}
	if f < 1<<62 {
		var n int64 = 1
		for _, d := range shape {
			n *= d
		}
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%.3g", f)
}

// contiguous reports whether the tensor is row-major without gaps.
func (t *tensorRef) contiguous() bool {
	want := int64(1)
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.stride[i] != want {
			return false
		}
		want *= t.shape[i]
	}
	return true
}

// reusesStorage reports whether the tensor is its storage, so that the
// converted storage can be handed out without a copy.
func (t *tensorRef) reusesStorage() bool {
	return t.storage.uses == 1 && t.offset == 0 && t.numel == t.storage.numel && t.contiguous()
}

// materialize returns the tensor with its values gathered from the storage.
func (t *tensorRef) materialize() *Tensor {
	out := &Tensor{Shape: make([]int, len(t.shape)), DType: t.storage.dt.name}
	for i, d := range t.shape {
		out.Shape[i] = int(d)
	}
	if t.reusesStorage() {
		out.Data = t.storage.data
		return out
	}
	out.Data = make([]float32, t.numel)
	if t.numel > 0 {
		gather(out.Data, t.storage.data, t.offset, t.shape, t.stride)
	}
	return out
}

// gather copies the strided view (offset, shape, stride) of src into dst,
// row-major. The view was checked to lie inside src.
func gather(dst, src []float32, offset int64, shape, stride []int64) {
	nd := len(shape)
	if nd == 0 {
		dst[0] = src[offset]
		return
	}
	inner, istride := shape[nd-1], stride[nd-1]
	idx := make([]int64, nd-1)
	pos := offset
	for o := int64(0); o < int64(len(dst)); o += inner {
		row := dst[o : o+inner]
		if istride == 1 {
			copy(row, src[pos:pos+inner])
		} else {
			p := pos
			for j := range row {
				row[j] = src[p]
				p += istride
			}
		}
		// Advance the outer index like an odometer.
		for k := nd - 2; k >= 0; k-- {
			idx[k]++
			pos += stride[k]
			if idx[k] < shape[k] {
				break
			}
			pos -= stride[k] * shape[k]
			idx[k] = 0
		}
	}
}
