package export

import (
	"fmt"
	"strings"
)

// resnetLayout names the modules of a torchvision-style ResNet: the named
// attributes of torchvision's and timm's ResNet class, or the indices of
// the same children inside fastai's body Sequential.
type resnetLayout struct {
	conv1, bn1, relu, maxpool string
	layers                    [4]string
}

var torchvisionLayout = resnetLayout{
	conv1: "conv1", bn1: "bn1", relu: "relu", maxpool: "maxpool",
	layers: [4]string{"layer1", "layer2", "layer3", "layer4"},
}

// fastaiBodyLayout is create_body(resnet, cut=-2): the children conv1, bn1,
// relu, maxpool, layer1…layer4 as indices 0…7 of model[0].
var fastaiBodyLayout = resnetLayout{
	conv1: "0.0", bn1: "0.1", relu: "0.2", maxpool: "0.3",
	layers: [4]string{"0.4", "0.5", "0.6", "0.7"},
}

// detectResNet recognizes torchvision's and timm's ResNet (conv1, bn1,
// layer1…4, fc).
func detectResNet(m *matcher, _ archOptions) (*Net, error) {
	n, err := resnetBody(m, torchvisionLayout)
	if err != nil {
		return nil, err
	}
	if n.Head, err = linearHead(m, "fc", n.Features(), "global_pool", "flatten"); err != nil {
		return nil, err
	}
	return n, nil
}

// resnetBody reads the stem and the four stages of a torchvision or timm
// ResNet laid out as l, and names the model.
func resnetBody(m *matcher, l resnetLayout) (*Net, error) {
	n := &Net{}
	ns := names{}
	var deep, tiered bool
	stemWidth := 0
	switch {
	case m.has(l.conv1 + ".weight"):
		// torchvision: Conv2d(in, 64, 7, stride 2, padding 3), bn1, relu.
		c, err := m.convBN(l.conv1, l.bn1, -1)
		if err != nil {
			return nil, err
		}
		c.Stride = 2
		c.ReLU = ns.unique(l.relu)
		n.Stem = []Conv{c}
	case m.has(l.conv1 + ".0.weight"):
		// timm deep stem: conv1 = Sequential(conv s2, bn, act, conv, bn,
		// act, conv); bn1 and act1 follow.
		deep = true
		c0, err := m.convBN(l.conv1+".0", l.conv1+".1", -1)
		if err != nil {
			return nil, err
		}
		c0.Stride = 2
		c0.ReLU = ns.unique(l.conv1 + ".2")
		c1, err := m.convBN(l.conv1+".3", l.conv1+".4", c0.Out)
		if err != nil {
			return nil, err
		}
		c1.ReLU = ns.unique(l.conv1 + ".5")
		c2, err := m.convBN(l.conv1+".6", l.bn1, c1.Out)
		if err != nil {
			return nil, err
		}
		c2.ReLU = ns.unique("act1")
		n.Stem = []Conv{c0, c1, c2}
		stemWidth = c1.Out
		tiered = c0.Out != c1.Out
	default:
		return nil, fmt.Errorf("no %s.weight", l.conv1)
	}
	n.InChannels = n.Stem[0].In
	n.StemPool = &Pool{Name: ns.unique(l.maxpool), Max: true, Kernel: 3, Stride: 2, Pad: 1}

	in := n.Stem[len(n.Stem)-1].Out
	avgDown := false
	bottleneck := false
	for s, layer := range l.layers {
		count := m.count(layer + ".")
		if count == 0 {
			return nil, fmt.Errorf("no %s.0.conv1.weight", layer)
		}
		var stage []Block
		for i := 0; i < count; i++ {
			name := fmt.Sprintf("%s.%d", layer, i)
			stride := 1
			if s > 0 && i == 0 {
				stride = 2
			}
			b, avg, err := resnetBlock(m, name, in, stride, ns)
			if err != nil {
				return nil, err
			}
			if s == 0 && i == 0 {
				bottleneck = len(b.Path) == 3
			} else if (len(b.Path) == 3) != bottleneck {
				return nil, fmt.Errorf("%s mixes basic and bottleneck blocks", name)
			}
			avgDown = avgDown || avg
			in = b.Path[len(b.Path)-1].Out
			stage = append(stage, b)
		}
		n.Stages = append(n.Stages, stage)
	}
	n.Name = resnetName(n, bottleneck, deep, tiered, avgDown, stemWidth)
	return n, nil
}

// resnetBlock reads a BasicBlock (conv1, bn1, conv2, bn2) or Bottleneck
// (conv1…3, bn1…3) with its downsample: Sequential(conv, bn) in torchvision
// and timm, or Sequential(AvgPool2d or Identity, conv, bn) in timm's
// avg_down variants. It reports whether the shortcut is of the avg kind.
func resnetBlock(m *matcher, name string, in, stride int, ns names) (Block, bool, error) {
	b := Block{Name: name}
	relu := name + ".relu"
	var err error
	if m.has(name + ".conv3.weight") {
		// Bottleneck (torchvision v1.5 and timm): stride on the 3x3 conv2.
		c1, err := m.convBN(name+".conv1", name+".bn1", in)
		if err != nil {
			return b, false, err
		}
		c2, err := m.convBN(name+".conv2", name+".bn2", c1.Out)
		if err != nil {
			return b, false, err
		}
		c3, err := m.convBN(name+".conv3", name+".bn3", c2.Out)
		if err != nil {
			return b, false, err
		}
		if c1.Kernel != 1 || c2.Kernel != 3 || c3.Kernel != 1 || c1.Groups != 1 || c3.Groups != 1 {
			return b, false, fmt.Errorf("%s is not a 1x1, 3x3, 1x1 bottleneck", name)
		}
		c2.Stride = stride
		c1.ReLU, c2.ReLU = ns.unique(relu), ns.unique(relu)
		b.Path = []Conv{c1, c2, c3}
	} else {
		c1, err := m.convBN(name+".conv1", name+".bn1", in)
		if err != nil {
			return b, false, err
		}
		c2, err := m.convBN(name+".conv2", name+".bn2", c1.Out)
		if err != nil {
			return b, false, err
		}
		if c1.Kernel != 3 || c2.Kernel != 3 || c1.Groups != 1 || c2.Groups != 1 {
			return b, false, fmt.Errorf("%s is not a 3x3, 3x3 basic block", name)
		}
		c1.Stride = stride
		c1.ReLU = ns.unique(relu)
		b.Path = []Conv{c1, c2}
	}
	out := b.Path[len(b.Path)-1].Out
	avg := false
	switch {
	case m.has(name + ".downsample.0.weight"):
		c, err := m.convBN(name+".downsample.0", name+".downsample.1", in)
		if err != nil {
			return b, false, err
		}
		c.Stride = stride
		b.Shortcut = &c
	case m.has(name + ".downsample.1.weight"):
		// timm downsample_avg: AvgPool2d(2, stride, ceil_mode=True,
		// count_include_pad=False) or Identity, conv 1x1, bn.
		avg = true
		c, err := m.convBN(name+".downsample.1", name+".downsample.2", in)
		if err != nil {
			return b, false, err
		}
		if c.Kernel != 1 {
			return b, false, fmt.Errorf("%s.downsample.1 is %dx%d, want 1x1 after the average pool", name, c.Kernel, c.Kernel)
		}
		if stride != 1 {
			b.Pool = &Pool{Name: ns.unique(name + ".downsample.0"), Kernel: 2, Stride: stride, Ceil: true}
		}
		b.Shortcut = &c
	default:
		if stride != 1 || in != out {
			return b, false, fmt.Errorf("%s changes the shape (%d→%d channels, stride %d) but has no downsample", name, in, out, stride)
		}
	}
	if b.Shortcut != nil && b.Shortcut.Out != out {
		return b, false, fmt.Errorf("%s.downsample gives %d channels, the block %d", name, b.Shortcut.Out, out)
	}
	b.ReLU = ns.unique(relu)
	return b, avg, err
}

// resnetName names a torchvision/timm ResNet the way the libraries do:
// resnet50, resnext101_32x8d, wide_resnet50_2, and timm's stem suffixes
// (c: deep stem of 32; d: deep stem of 32 and average-pool shortcuts; s:
// deep stem of 64; e: deep stem of 64 and average-pool shortcuts).
func resnetName(n *Net, bottleneck, deep, tiered, avgDown bool, stemWidth int) string {
	depth := n.Depth()
	suffix := ""
	switch {
	case deep && tiered && avgDown:
		suffix = "t"
	case deep && stemWidth == 32 && avgDown:
		suffix = "d"
	case deep && stemWidth == 32:
		suffix = "c"
	case deep && stemWidth == 64 && avgDown:
		suffix = "e"
	case deep && stemWidth == 64:
		suffix = "s"
	case deep:
		suffix = "-deepstem"
	case avgDown:
		suffix = "-avgdown"
	}
	first := n.Stages[0][0]
	planes := first.Path[len(first.Path)-1].Out
	if bottleneck {
		planes /= 4
		c2 := first.Path[1]
		width := c2.Out
		if c2.Groups > 1 {
			return fmt.Sprintf("resnext%d%s_%dx%dd", depth, suffix, c2.Groups, width/c2.Groups)
		}
		if width != planes && planes > 0 && width%planes == 0 {
			return fmt.Sprintf("wide_resnet%d%s_%d", depth, suffix, width/planes)
		}
	}
	name := fmt.Sprintf("resnet%d%s", depth, suffix)
	if !standardWidths(n, planes) {
		w := make([]string, 0, 4)
		for _, x := range n.StageWidths() {
			w = append(w, fmt.Sprint(x))
		}
		name += "-w" + strings.Join(w, "-")
	}
	return name
}

// standardWidths reports whether the stages double in width from planes.
func standardWidths(n *Net, planes int) bool {
	w := n.StageWidths()
	for i := 1; i < len(w); i++ {
		if w[i] != 2*w[i-1] {
			return false
		}
	}
	exp := 1
	if len(n.Stages[0][0].Path) == 3 {
		exp = 4
	}
	return planes == 64 && w[0] == 64*exp
}
