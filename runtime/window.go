package runtime

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// window is the sliding window of a 2-D Conv, MaxPool or AveragePool node
// (its attributes, resolved against the input size at plan time).
type window struct {
	kh, kw         int
	sh, sw         int
	dh, dw         int
	pt, pl, pb, pr int
	autoPad        string
	ceil           bool
}

// readWindow reads the window attributes of a 2-D node; kernel is the
// kernel size when it comes from the weight (Conv), else nil.
func readWindow(n *onnx.Node, kernel []int64, pool bool) (window, error) {
	w := window{sh: 1, sw: 1, dh: 1, dw: 1}
	ks := n.AttrInts("kernel_shape", kernel)
	if len(ks) != 2 || (kernel != nil && (ks[0] != kernel[0] || ks[1] != kernel[1])) {
		return w, fmt.Errorf("kernel_shape %v: want 2 spatial dims matching the weight", ks)
	}
	w.kh, w.kw = int(ks[0]), int(ks[1])
	if s := n.AttrInts("strides", nil); s != nil {
		if len(s) != 2 {
			return w, fmt.Errorf("strides %v", s)
		}
		w.sh, w.sw = int(s[0]), int(s[1])
	}
	if d := n.AttrInts("dilations", nil); d != nil {
		if len(d) != 2 {
			return w, fmt.Errorf("dilations %v", d)
		}
		w.dh, w.dw = int(d[0]), int(d[1])
	}
	if p := n.AttrInts("pads", nil); p != nil {
		if len(p) != 4 {
			return w, fmt.Errorf("pads %v", p)
		}
		w.pt, w.pl, w.pb, w.pr = int(p[0]), int(p[1]), int(p[2]), int(p[3])
	}
	w.autoPad = n.AttrString("auto_pad", "NOTSET")
	if w.autoPad == "" {
		w.autoPad = "NOTSET"
	}
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return w, fmt.Errorf("auto_pad %q", w.autoPad)
	}
	if pool {
		w.ceil = n.AttrInt("ceil_mode", 0) != 0
	}
	for _, v := range []int{w.kh, w.kw, w.sh, w.sw, w.dh, w.dw} {
		if v < 1 || v > 1<<16 {
			return w, fmt.Errorf("window %+v: sizes must be positive", w)
		}
	}
	for _, v := range []int{w.pt, w.pl, w.pb, w.pr} {
		if v < 0 || v > 1<<16 {
			return w, fmt.Errorf("pads must be non-negative")
		}
	}
	return w, nil
}

// resolve returns the output size and the padding for an input of h×w, with
// ONNX's rules (and, for pooling with ceil_mode, the rule that the last
// window starts inside the input or the leading padding, as in torch and
// the ONNX reference).
func (w window) resolve(h, wd int) (oh, ow int, pad [4]int, err error) {
	axis := func(in, k, s, d, pb, pe int) (int, int, int, error) {
		dk := (k-1)*d + 1
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			out := (in + s - 1) / s
			total := max(0, (out-1)*s+dk-in)
			b := total / 2
			if w.autoPad == "SAME_LOWER" {
				b = total - total/2
			}
			return out, b, total - b, nil
		case "VALID":
			if in < dk {
				return 0, 0, 0, fmt.Errorf("kernel extent %d exceeds the input size %d", dk, in)
			}
			return (in-dk)/s + 1, 0, 0, nil
		}
		span := in + pb + pe - dk
		if span < 0 {
			return 0, 0, 0, fmt.Errorf("kernel extent %d exceeds the padded input size %d", dk, in+pb+pe)
		}
		if w.ceil {
			out := (span+s-1)/s + 1
			if (out-1)*s >= in+pb {
				out--
			}
			return out, pb, pe, nil
		}
		return span/s + 1, pb, pe, nil
	}
	var e1, e2 error
	oh, pad[0], pad[2], e1 = axis(h, w.kh, w.sh, w.dh, w.pt, w.pb)
	ow, pad[1], pad[3], e2 = axis(wd, w.kw, w.sw, w.dw, w.pl, w.pr)
	if e1 != nil {
		return 0, 0, pad, e1
	}
	return oh, ow, pad, e2
}
