package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// windowAttrs are the attributes that place a sliding window (Conv,
// ConvInteger, QLinearConv, MaxPool, AveragePool), as read from the node.
type windowAttrs struct {
	kernel    []int64 // kernel_shape; nil when absent
	strides   []int64 // nil: all 1
	dilations []int64 // nil: all 1
	pads      []int64 // nil: all 0; begins then ends
	autoPad   string  // NOTSET, SAME_UPPER, SAME_LOWER or VALID
	ceilMode  bool
}

func readWindowAttrs(r *attrs, dilations bool) windowAttrs {
	var w windowAttrs
	w.kernel, _ = r.ints("kernel_shape")
	w.strides, _ = r.ints("strides")
	if dilations {
		w.dilations, _ = r.ints("dilations")
	}
	w.pads, _ = r.ints("pads")
	w.autoPad = r.str("auto_pad", "NOTSET")
	w.ceilMode = r.int("ceil_mode", 0) != 0
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	case "":
		w.autoPad = "NOTSET"
	default:
		r.fail("auto_pad %q is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", w.autoPad)
	}
	for _, v := range w.kernel {
		if v < 1 || v > maxDim {
			r.fail("kernel_shape %v: sizes must be positive", w.kernel)
		}
	}
	for _, v := range w.strides {
		if v < 1 || v > maxDim {
			r.fail("strides %v: strides must be positive", w.strides)
		}
	}
	for _, v := range w.dilations {
		if v < 1 || v > maxDim {
			r.fail("dilations %v: dilations must be positive", w.dilations)
		}
	}
	for _, v := range w.pads {
		if v < 0 || v > maxDim {
			r.fail("pads %v: pads must be non-negative", w.pads)
		}
	}
	return w
}

// geometry is a resolved sliding window over the spatial axes.
type geometry struct {
	in, out, k, s, d []int // per spatial axis
	pb, pe           []int // padding at the beginning and end
}

// resolve computes the output size and padding for input spatial sizes in
// and kernel sizes k (from kernel_shape or the weight). pool selects the
// pooling rules: ceil_mode (with the rule that a window must start inside
// the input or the leading padding, as in torch and the ONNX reference).
func (w windowAttrs) resolve(in []int64, k []int64, pool bool) (geometry, error) {
	r := len(in)
	g := geometry{in: make([]int, r), out: make([]int, r), k: make([]int, r), s: make([]int, r),
		d: make([]int, r), pb: make([]int, r), pe: make([]int, r)}
	if len(k) != r {
		return g, fmt.Errorf("kernel has %d spatial dims, input has %d", len(k), r)
	}
	if w.strides != nil && len(w.strides) != r {
		return g, fmt.Errorf("strides %v: want %d values", w.strides, r)
	}
	if w.dilations != nil && len(w.dilations) != r {
		return g, fmt.Errorf("dilations %v: want %d values", w.dilations, r)
	}
	if w.pads != nil && len(w.pads) != 2*r {
		return g, fmt.Errorf("pads %v: want %d values", w.pads, 2*r)
	}
	for i := 0; i < r; i++ {
		if in[i] > maxDim || k[i] < 1 || k[i] > maxDim {
			return g, fmt.Errorf("bad input %v or kernel %v", in, k)
		}
		g.in[i], g.k[i], g.s[i], g.d[i] = int(in[i]), int(k[i]), 1, 1
		if w.strides != nil {
			g.s[i] = int(w.strides[i])
		}
		if w.dilations != nil {
			g.d[i] = int(w.dilations[i])
		}
		dk64 := (k[i]-1)*int64(g.d[i]) + 1 // extent of the dilated kernel
		if dk64 > maxDim {
			return g, fmt.Errorf("kernel %v with dilations %v is too large", k, w.dilations)
		}
		dk := int(dk64)
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			g.out[i] = (g.in[i] + g.s[i] - 1) / g.s[i]
			total := max(0, (g.out[i]-1)*g.s[i]+dk-g.in[i])
			if w.autoPad == "SAME_UPPER" {
				g.pb[i] = total / 2
			} else {
				g.pb[i] = total - total/2
			}
			g.pe[i] = total - g.pb[i]
		case "VALID":
			if g.in[i] < dk {
				return g, fmt.Errorf("kernel extent %d is larger than the input size %d (axis %d)", dk, g.in[i], i)
			}
			g.out[i] = (g.in[i]-dk)/g.s[i] + 1
		default:
			if w.pads != nil {
				g.pb[i], g.pe[i] = int(w.pads[i]), int(w.pads[i+r])
			}
			span := g.in[i] + g.pb[i] + g.pe[i] - dk
			if span < 0 {
				return g, fmt.Errorf("kernel extent %d is larger than the padded input size %d (axis %d)", dk, g.in[i]+g.pb[i]+g.pe[i], i)
			}
			if pool && w.ceilMode {
				g.out[i] = (span+g.s[i]-1)/g.s[i] + 1
				// The last window must start inside the input or the
				// leading padding.
				if (g.out[i]-1)*g.s[i] >= g.in[i]+g.pb[i] {
					g.out[i]--
				}
			} else {
				g.out[i] = span/g.s[i] + 1
			}
		}
	}
	return g, nil
}

func (g geometry) outDims(n, c int64) []int64 {
	d := []int64{n, c}
	for _, o := range g.out {
		d = append(d, int64(o))
	}
	return d
}

func (g geometry) inSize() int  { return prodInts(g.in) }
func (g geometry) outSize() int { return prodInts(g.out) }
func (g geometry) kSize() int   { return prodInts(g.k) }

func prodInts(v []int) int {
	n := 1
	for _, x := range v {
		n *= x
	}
	return n
}

// checkImage checks that x is an N x C x D1 x ... image tensor with at
// least minSpatial spatial axes.
func checkImage(x *onnx.Tensor, minSpatial int) error {
	if len(x.Dims) < 2+minSpatial {
		return fmt.Errorf("input has dims %v, want N x C x D1 x ... with at least %d spatial dims", x.Dims, minSpatial)
	}
	return nil
}
