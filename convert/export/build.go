package export

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/checkpoint"
	"github.com/piresnet/piresnet/internal/onnx"
)

// Graph names.
const (
	InputName  = "input"  // [N, C, H, W] float32
	OutputName = "logits" // [N, classes] float32
)

// builder turns a Net into ONNX nodes and initializers.
type builder struct {
	sd     *checkpoint.StateDict
	g      *onnx.Graph
	keepBN bool
	eps    float64
	folded int // BatchNorms folded
}

// data returns the float32 values of key (the detector checked the shape).
func (b *builder) data(key string) []float32 {
	return b.sd.Tensors[key].Data
}

func (b *builder) init(name string, dims []int64, data []float32) string {
	b.g.Initializers = append(b.g.Initializers, onnx.NewFloat(name, dims, data))
	return name
}

func (b *builder) node(op, name string, inputs []string, attrs ...*onnx.Attribute) string {
	b.g.Nodes = append(b.g.Nodes, &onnx.Node{Name: name, OpType: op, Inputs: inputs, Outputs: []string{name}, Attrs: attrs})
	return name
}

// bnAffine returns the per-channel scale and shift of a BatchNorm in
// inference mode: y = x·scale + shift with scale = γ/√(var+ε) and shift =
// β − mean·scale, in float64.
func (b *builder) bnAffine(name string, affine bool, ch int) (scale, shift []float64, err error) {
	mean, variance := b.data(name+".running_mean"), b.data(name+".running_var")
	var gamma, beta []float32
	if affine {
		gamma, beta = b.data(name+".weight"), b.data(name+".bias")
	}
	scale, shift = make([]float64, ch), make([]float64, ch)
	for c := 0; c < ch; c++ {
		v := float64(variance[c]) + b.eps
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("%s.running_var[%d] = %v: variance must be finite and > -eps", name, c, variance[c])
		}
		g, be := 1.0, 0.0
		if affine {
			g, be = float64(gamma[c]), float64(beta[c])
		}
		scale[c] = g / math.Sqrt(v)
		shift[c] = be - float64(mean[c])*scale[c]
	}
	return scale, shift, nil
}

// bnNode emits a BatchNormalization node (--keep-bn, or a BatchNorm1d that
// cannot be folded).
func (b *builder) bnNode(x, name string, affine bool, ch int) string {
	scale, bias := make([]float32, ch), make([]float32, ch)
	if affine {
		copy(scale, b.data(name+".weight"))
		copy(bias, b.data(name+".bias"))
	} else {
		for i := range scale {
			scale[i] = 1
		}
	}
	dims := []int64{int64(ch)}
	return b.node("BatchNormalization", name, []string{x,
		b.init(name+".weight", dims, scale),
		b.init(name+".bias", dims, bias),
		b.init(name+".running_mean", dims, b.data(name+".running_mean")),
		b.init(name+".running_var", dims, b.data(name+".running_var")),
	}, onnx.AttrF("epsilon", float32(b.eps)))
}

// conv emits a Conv (with its BatchNorm folded in, or followed by a
// BatchNormalization with --keep-bn) and its ReLU.
func (b *builder) conv(x string, c *Conv) (string, error) {
	w := b.data(c.Name + ".weight")
	var bias []float32
	hasBias := c.Bias
	if c.BN != "" && !b.keepBN {
		scale, shift, err := b.bnAffine(c.BN, c.BNAffine, c.Out)
		if err != nil {
			return "", err
		}
		per := len(w) / c.Out
		fw := make([]float32, len(w))
		bias = make([]float32, c.Out)
		var cb []float32
		if c.Bias {
			cb = b.data(c.Name + ".bias")
		}
		for o := 0; o < c.Out; o++ {
			s := scale[o]
			for i := o * per; i < (o+1)*per; i++ {
				fw[i] = float32(float64(w[i]) * s)
			}
			v := shift[o]
			if cb != nil {
				v += float64(cb[o]) * s
			}
			bias[o] = float32(v)
		}
		w = fw
		hasBias = true
		b.folded++
	} else if c.Bias {
		bias = b.data(c.Name + ".bias")
	}
	inputs := []string{x, b.init(c.Name+".weight", []int64{int64(c.Out), int64(c.In / c.Groups), int64(c.Kernel), int64(c.Kernel)}, w)}
	if hasBias {
		inputs = append(inputs, b.init(c.Name+".bias", []int64{int64(c.Out)}, bias))
	}
	k, s, p := int64(c.Kernel), int64(c.Stride), int64(c.Pad)
	y := b.node("Conv", c.Name, inputs,
		onnx.AttrIs("kernel_shape", k, k), onnx.AttrIs("strides", s, s),
		onnx.AttrIs("pads", p, p, p, p), onnx.AttrIs("dilations", 1, 1),
		onnx.AttrI("group", int64(c.Groups)))
	if c.BN != "" && b.keepBN {
		y = b.bnNode(y, c.BN, c.BNAffine, c.Out)
	}
	if c.ReLU != "" {
		y = b.node("Relu", c.ReLU, []string{y})
	}
	return y, nil
}

func (b *builder) pool(x string, p *Pool) string {
	k, s, pad := int64(p.Kernel), int64(p.Stride), int64(p.Pad)
	attrs := []*onnx.Attribute{onnx.AttrIs("kernel_shape", k, k), onnx.AttrIs("strides", s, s), onnx.AttrIs("pads", pad, pad, pad, pad)}
	ceil := int64(0)
	if p.Ceil {
		ceil = 1
	}
	attrs = append(attrs, onnx.AttrI("ceil_mode", ceil))
	if p.Max {
		return b.node("MaxPool", p.Name, []string{x}, attrs...)
	}
	// count_include_pad=0: partial windows (ceil_mode) divide by the
	// elements inside the input, as torch does for padding 0.
	attrs = append(attrs, onnx.AttrI("count_include_pad", 0))
	return b.node("AveragePool", p.Name, []string{x}, attrs...)
}

// head emits pooling, Flatten and the fully connected layers. BatchNorm1d
// layers are folded into a Linear: one that precedes a Linear (directly or
// through Dropout) scales that Linear's input columns, W' = W·diag(s), b' =
// b + W·t; one that directly follows a Linear without activation scales its
// rows, W' = diag(s)·W, b' = s·b + t. Both are exact rewrites of the affine
// maps. A BatchNorm1d after a ReLU is folded forward into the next Linear
// (folding it backward through the ReLU would not be exact).
func (b *builder) head(x string, h *Head) (string, error) {
	if h.Concat {
		mp := b.node("GlobalMaxPool", h.PoolName+".mp", []string{x})
		ap := b.node("GlobalAveragePool", h.PoolName+".ap", []string{x})
		x = b.node("Concat", h.PoolName, []string{mp, ap}, onnx.AttrI("axis", 1))
	} else {
		x = b.node("GlobalAveragePool", h.PoolName, []string{x})
	}
	x = b.node("Flatten", h.FlattenName, []string{x}, onnx.AttrI("axis", 1))

	var preScale, preShift []float64 // a BatchNorm1d waiting for the next Linear
	layers := h.Layers
	for i := 0; i < len(layers); i++ {
		l := &layers[i]
		if !l.Linear {
			nextLinear := false
			for _, r := range layers[i+1:] {
				nextLinear = nextLinear || r.Linear
			}
			if b.keepBN || !nextLinear {
				if preScale != nil {
					return "", fmt.Errorf("internal: BatchNorm1d pending before %s", l.Name)
				}
				x = b.bnNode(x, l.Name, l.BNAffine, l.In)
				continue
			}
			s, t, err := b.bnAffine(l.Name, l.BNAffine, l.In)
			if err != nil {
				return "", err
			}
			if preScale == nil {
				preScale, preShift = s, t
			} else { // two BatchNorm1d in a row compose
				for c := range s {
					preShift[c] = preShift[c]*s[c] + t[c]
					preScale[c] *= s[c]
				}
			}
			b.folded++
			continue
		}
		w := b.data(l.Name + ".weight")
		wf := make([]float64, len(w))
		for j, v := range w {
			wf[j] = float64(v)
		}
		bias := make([]float64, l.Out)
		if l.Bias {
			for o, v := range b.data(l.Name + ".bias") {
				bias[o] = float64(v)
			}
		}
		hasBias := l.Bias
		if preScale != nil {
			for o := 0; o < l.Out; o++ {
				row := wf[o*l.In : (o+1)*l.In]
				acc := bias[o]
				for j := range row {
					acc += row[j] * preShift[j]
					row[j] *= preScale[j]
				}
				bias[o] = acc
			}
			preScale, preShift = nil, nil
			hasBias = true
		}
		// A BatchNorm1d right after a Linear without activation folds into
		// its rows (create_head's bn_final).
		if l.ReLU == "" && !b.keepBN && i+1 < len(layers) && !layers[i+1].Linear {
			nb := &layers[i+1]
			s, t, err := b.bnAffine(nb.Name, nb.BNAffine, nb.In)
			if err != nil {
				return "", err
			}
			for o := 0; o < l.Out; o++ {
				for j := o * l.In; j < (o+1)*l.In; j++ {
					wf[j] *= s[o]
				}
				bias[o] = bias[o]*s[o] + t[o]
			}
			hasBias = true
			b.folded++
			i++
		}
		inputs := []string{x, b.init(l.Name+".weight", []int64{int64(l.Out), int64(l.In)}, toFloat32(wf))}
		if hasBias {
			inputs = append(inputs, b.init(l.Name+".bias", []int64{int64(l.Out)}, toFloat32(bias)))
		}
		x = b.node("Gemm", l.Name, inputs, onnx.AttrI("transB", 1))
		if l.ReLU != "" {
			x = b.node("Relu", l.ReLU, []string{x})
		}
	}
	if preScale != nil {
		return "", fmt.Errorf("internal: BatchNorm1d left unfolded")
	}
	return x, nil
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// build emits the whole network and checks that every initializer is
// finite.
func (b *builder) build(n *Net) error {
	x := InputName
	var err error
	for i := range n.Stem {
		if x, err = b.conv(x, &n.Stem[i]); err != nil {
			return err
		}
	}
	if n.StemPool != nil {
		x = b.pool(x, n.StemPool)
	}
	for _, st := range n.Stages {
		for bi := range st {
			blk := &st[bi]
			in := x
			for i := range blk.Path {
				if x, err = b.conv(x, &blk.Path[i]); err != nil {
					return err
				}
			}
			short := in
			if blk.Pool != nil {
				short = b.pool(short, blk.Pool)
			}
			if blk.Shortcut != nil {
				if short, err = b.conv(short, blk.Shortcut); err != nil {
					return err
				}
			}
			x = b.node("Add", blk.Name+".add", []string{x, short})
			x = b.node("Relu", blk.ReLU, []string{x})
		}
	}
	if x, err = b.head(x, &n.Head); err != nil {
		return err
	}
	// The last node's output is the graph output.
	last := b.g.Nodes[len(b.g.Nodes)-1]
	last.Outputs[0] = OutputName
	for _, t := range b.g.Initializers {
		for i, v := range t.F32 {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s[%d] is %v (the checkpoint holds non-finite values, or a BatchNorm overflowed when folded)", t.Name, i, v)
			}
		}
	}
	return nil
}
