package ref

import (
	"fmt"
	"sync"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Conv (opsets 1, 11): N-d convolution (1-D, 2-D, 3-D and more spatial
// axes) with groups, strides, dilations, explicit pads or auto_pad, and an
// optional bias. Computed as a packed GEMM over an implicit im2col matrix,
// in float32 (float64 for double inputs; float16 and bfloat16 are widened
// to float32 and the result rounded once). Float32 weights stay packed for
// the GEMM kernel between runs as long as the same weight tensor comes back
// (a Program's initializers).
func buildConv(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	wa := readWindowAttrs(&r, true)
	group := r.int("group", 1)
	if group < 1 || group > maxDim {
		r.fail("group %d must be positive", group)
	}
	if r.err != nil {
		return nil, r.err
	}
	var weights packCache
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "X")
		if err != nil {
			return nil, err
		}
		w, err := input(in, 1, "W")
		if err != nil {
			return nil, err
		}
		b := optional(in, 2)
		if !isFloat(x.DataType) || w.DataType != x.DataType || (b != nil && b.DataType != x.DataType) {
			return nil, fmt.Errorf("inputs must share one float type, got X %v, W %v%s", x.DataType, w.DataType, biasType(b))
		}
		cs, err := checkConvShapes(x, w, group, wa)
		if err != nil {
			return nil, err
		}
		if b != nil && (len(b.Dims) != 1 || b.Dims[0] != int64(cs.m)) {
			return nil, fmt.Errorf("bias has dims %v, want [%d]", b.Dims, cs.m)
		}
		y, err := newTensor(x.DataType, cs.g.outDims(int64(cs.batch), int64(cs.m)))
		if err != nil {
			return nil, err
		}
		switch x.DataType {
		case onnx.Float:
			var bias []float32
			if b != nil {
				bias = b.F32
			}
			kern := kernelFor[float32]()
			kdim := int(w.Dims[1]) * cs.g.kSize()
			packed := weights.get(w, kern.name, func() any {
				return packConvWeights(w.F32, cs.m, cs.group, kdim, kern)
			}).([]*packedA[float32])
			convFloat(x.F32, w.F32, bias, y.F32, cs, packed)
		case onnx.Double:
			var bias []float64
			if b != nil {
				bias = b.F64
			}
			convFloat(x.F64, w.F64, bias, y.F64, cs, nil)
		default:
			xf, _ := x.Float32s()
			wf, _ := w.Float32s()
			var bias []float32
			if b != nil {
				bias, _ = b.Float32s()
			}
			yf := make([]float32, y.Len())
			convFloat(xf, wf, bias, yf, cs, nil)
			fromFloat32(y, yf)
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}

func biasType(b *onnx.Tensor) string {
	if b == nil {
		return ""
	}
	return fmt.Sprintf(", B %v", b.DataType)
}

// convShape is a checked convolution problem.
type convShape struct {
	batch, c, m, group int
	g                  geometry
}

// checkConvShapes checks X (N x C x D1...) against W (M x C/group x k1...)
// and resolves the window.
func checkConvShapes(x, w *onnx.Tensor, group int64, wa windowAttrs) (convShape, error) {
	var cs convShape
	if err := checkImage(x, 1); err != nil {
		return cs, err
	}
	if len(w.Dims) != len(x.Dims) {
		return cs, fmt.Errorf("weight has dims %v, input %v: ranks differ", w.Dims, x.Dims)
	}
	c, m := x.Dims[1], w.Dims[0]
	if w.Dims[1]*group != c {
		return cs, fmt.Errorf("input has %d channels, weight dims %v with group %d need %d", c, w.Dims, group, w.Dims[1]*group)
	}
	if m%group != 0 {
		return cs, fmt.Errorf("weight has %d filters, not a multiple of group %d", m, group)
	}
	if wa.kernel != nil && !equalDims(wa.kernel, w.Dims[2:]) {
		return cs, fmt.Errorf("kernel_shape %v differs from the weight's spatial dims %v", wa.kernel, w.Dims[2:])
	}
	g, err := wa.resolve(x.Dims[2:], w.Dims[2:], false)
	if err != nil {
		return cs, err
	}
	cs = convShape{batch: int(x.Dims[0]), c: int(c), m: int(m), group: int(group), g: g}
	if _, err := shapeSize(g.outDims(x.Dims[0], m)); err != nil {
		return cs, err
	}
	return cs, nil
}

func convFloat[T float32 | float64](x, w, bias, y []T, cs convShape, packed []*packedA[T]) {
	tasks := convTasks(nil, x, w, y, cs.batch, cs.c, cs.m, cs.group, cs.g, packed)
	runGemms(tasks)
	if bias == nil {
		return
	}
	osz := cs.g.outSize()
	for i := 0; i < cs.batch; i++ {
		for c := 0; c < cs.m; c++ {
			plane := y[(i*cs.m+c)*osz : (i*cs.m+c+1)*osz]
			bc := bias[c]
			for j := range plane {
				plane[j] += bc
			}
		}
	}
}

// packCache keeps one value derived from a tensor (packed weights) for as
// long as the same tensor comes back. It holds a reference to the tensor,
// so no other tensor can take its address while the entry lives; the
// tensor's data must not change (a Program's initializers do not).
type packCache struct {
	mu  sync.Mutex
	src *onnx.Tensor
	tag string
	val any
}

// get returns the value for src and tag, making it with mk on a miss.
func (c *packCache) get(src *onnx.Tensor, tag string, mk func() any) any {
	c.mu.Lock()
	if c.src == src && c.tag == tag {
		v := c.val
		c.mu.Unlock()
		return v
	}
	c.mu.Unlock()
	v := mk()
	c.mu.Lock()
	c.src, c.tag, c.val = src, tag, v
	c.mu.Unlock()
	return v
}
