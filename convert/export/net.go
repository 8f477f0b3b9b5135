package export

import (
	"fmt"
	"strings"
)

// Net is a recognized ResNet: what the detectors produce from a state dict
// and what the graph builder turns into ONNX. Every name is a module path of
// the checkpoint; the tensors are read as <name>.weight, <name>.bias,
// <name>.running_mean and <name>.running_var.
type Net struct {
	// Family is the key of the family that recognized the state dict:
	// "resnet", "vision_learner", "xresnet" or "book".
	Family string
	// Name is the architecture, e.g. "resnet50", "resnext50_32x4d",
	// "resnet50d", "xresnet34", "vision_learner(resnet34)",
	// "fastai-book-resnet".
	Name string
	// InChannels is the number of input image channels.
	InChannels int
	// Stem is the sequence of convolutions before StemPool.
	Stem []Conv
	// StemPool is the max pool after the stem, nil if there is none.
	StemPool *Pool
	// Stages are the residual stages; each stage is a list of blocks.
	Stages [][]Block
	// Head pools the features and classifies them.
	Head Head
}

// Conv is a convolution with the BatchNorm2d and ReLU that follow it.
type Conv struct {
	Name   string // module path of the Conv2d
	BN     string // module path of the BatchNorm2d after it, "" if none
	ReLU   string // node name of the ReLU after it, "" if none
	In     int    // input channels
	Out    int    // output channels
	Kernel int    // square kernel side (odd)
	Stride int
	Pad    int // on every side: Kernel/2
	Groups int
	Bias   bool // the Conv2d has a bias
	// BNAffine is false for a BatchNorm2d(affine=False): no weight or bias.
	BNAffine bool
}

// Pool is a max or average pooling window.
type Pool struct {
	Name   string
	Max    bool // MaxPool2d; else AvgPool2d
	Kernel int
	Stride int
	Pad    int
	// Ceil is ceil_mode. Average pools never count padding (their padding
	// is 0, and partial windows from ceil_mode divide by the elements inside
	// the input, as torch does).
	Ceil bool
}

// Block is a residual block: ReLU(Path(x) + Shortcut(Pool(x))).
type Block struct {
	Name string
	// Path is the residual branch; its last convolution has no ReLU.
	Path []Conv
	// Pool is the average pool on the shortcut (before Shortcut), nil if
	// none.
	Pool *Pool
	// Shortcut is the projection on the shortcut, nil for the identity.
	Shortcut *Conv
	// ReLU is the node name of the ReLU after the addition.
	ReLU string
}

// Head is global pooling, flattening and a stack of fully connected layers.
type Head struct {
	// Concat: AdaptiveConcatPool2d (adaptive max pool, then adaptive average
	// pool, concatenated on channels); else adaptive average pooling.
	Concat   bool
	PoolName string
	// FlattenName names the Flatten node.
	FlattenName string
	Layers      []HeadLayer
}

// HeadLayer is a Linear or a BatchNorm1d of the head.
type HeadLayer struct {
	Name string
	// Linear: a Linear layer (weight [Out, In]); else a BatchNorm1d of In
	// (= Out) features.
	Linear bool
	In     int
	Out    int
	Bias   bool   // Linear with a bias
	ReLU   string // node name of the ReLU after a Linear, "" if none
	// BNAffine is false for a BatchNorm1d(affine=False).
	BNAffine bool
}

// Classes is the number of outputs.
func (n *Net) Classes() int {
	if len(n.Head.Layers) == 0 {
		return 0
	}
	return n.Head.Layers[len(n.Head.Layers)-1].Out
}

// Features is the channel count the body hands to the head.
func (n *Net) Features() int {
	if l := len(n.Stages); l > 0 {
		st := n.Stages[l-1]
		if len(st) > 0 {
			b := st[len(st)-1]
			return b.Path[len(b.Path)-1].Out
		}
	}
	if len(n.Stem) > 0 {
		return n.Stem[len(n.Stem)-1].Out
	}
	return n.InChannels
}

// Depth is the depth in ResNet names: the convolutions of the residual
// paths plus two (one for the stem, however many convolutions it has, one
// for the classifier), so resnet50, resnet50d and xresnet50 are all 50.
func (n *Net) Depth() int {
	d := 2
	for _, st := range n.Stages {
		for _, b := range st {
			d += len(b.Path)
		}
	}
	return d
}

// BlockCounts is the number of blocks per stage.
func (n *Net) BlockCounts() []int {
	c := make([]int, len(n.Stages))
	for i, st := range n.Stages {
		c[i] = len(st)
	}
	return c
}

// StageWidths is the output channels of each stage.
func (n *Net) StageWidths() []int {
	w := make([]int, len(n.Stages))
	for i, st := range n.Stages {
		b := st[len(st)-1]
		w[i] = b.Path[len(b.Path)-1].Out
	}
	return w
}

// Describe is a one-line structural summary: stem, blocks per stage, widths
// and head.
func (n *Net) Describe() string {
	var b strings.Builder
	stem := make([]string, len(n.Stem))
	for i, c := range n.Stem {
		stem[i] = fmt.Sprintf("%dx%d/%d→%d", c.Kernel, c.Kernel, c.Stride, c.Out)
	}
	fmt.Fprintf(&b, "stem %s", strings.Join(stem, " "))
	if n.StemPool != nil {
		fmt.Fprintf(&b, " maxpool %d/%d", n.StemPool.Kernel, n.StemPool.Stride)
	}
	kind := "basic"
	if len(n.Stages) > 0 && len(n.Stages[0]) > 0 && len(n.Stages[0][0].Path) == 3 {
		kind = "bottleneck"
	}
	fmt.Fprintf(&b, "; %s blocks %v, widths %v", kind, n.BlockCounts(), n.StageWidths())
	if g := n.groups(); g > 1 {
		fmt.Fprintf(&b, ", %d groups", g)
	}
	b.WriteString("; head ")
	if n.Head.Concat {
		b.WriteString("concat-pool")
	} else {
		b.WriteString("avg-pool")
	}
	for _, l := range n.Head.Layers {
		if l.Linear {
			fmt.Fprintf(&b, " linear %d→%d", l.In, l.Out)
		} else {
			fmt.Fprintf(&b, " bn1d %d", l.In)
		}
	}
	return b.String()
}

// groups is the group count of the first grouped convolution, or 1.
func (n *Net) groups() int {
	for _, st := range n.Stages {
		for _, b := range st {
			for _, c := range b.Path {
				if c.Groups > 1 {
					return c.Groups
				}
			}
		}
	}
	return 1
}

// outSize is the output side of a convolution or pooling window.
func outSize(in, k, s, p int, ceil bool) int {
	num := in + 2*p - k
	if num < 0 {
		return 0
	}
	if !ceil {
		return num/s + 1
	}
	o := (num+s-1)/s + 1
	// torch: the last window must start inside the input or left padding.
	if (o-1)*s >= in+p {
		o--
	}
	return o
}

// MACs counts the multiply-accumulates of the convolutions and fully
// connected layers for one h×w image (pooling, BatchNorm, additions and
// activations are not counted).
func (n *Net) MACs(h, w int) int64 {
	var total int64
	conv := func(c *Conv) {
		h = outSize(h, c.Kernel, c.Stride, c.Pad, false)
		w = outSize(w, c.Kernel, c.Stride, c.Pad, false)
		total += int64(h) * int64(w) * int64(c.Out) * int64(c.In/c.Groups) * int64(c.Kernel*c.Kernel)
	}
	for i := range n.Stem {
		conv(&n.Stem[i])
	}
	if p := n.StemPool; p != nil {
		h = outSize(h, p.Kernel, p.Stride, p.Pad, p.Ceil)
		w = outSize(w, p.Kernel, p.Stride, p.Pad, p.Ceil)
	}
	for _, st := range n.Stages {
		for _, b := range st {
			h0, w0 := h, w
			for i := range b.Path {
				conv(&b.Path[i])
			}
			if b.Shortcut != nil {
				hs, ws := h, w
				h, w = h0, w0
				if p := b.Pool; p != nil {
					h = outSize(h, p.Kernel, p.Stride, p.Pad, p.Ceil)
					w = outSize(w, p.Kernel, p.Stride, p.Pad, p.Ceil)
				}
				conv(b.Shortcut)
				h, w = hs, ws
			}
		}
	}
	for _, l := range n.Head.Layers {
		if l.Linear {
			total += int64(l.In) * int64(l.Out)
		}
	}
	return total
}
