package export

import (
	"fmt"
	"strconv"
)

// bookName is the architecture name of the fastai book's chapter-14 ResNet.
const bookName = "fastai-book-resnet"

// detectVisionLearner recognizes fastai's vision_learner (cnn_learner)
// models: Sequential(body, head) with a torchvision ResNet body
// (create_body cut at -2: conv1, bn1, relu, maxpool, layer1…4 as 0.0…0.7) or
// an XResNet body (cut at -4: stem, maxpool, stages as 0.0…0.7), and
// create_head's head under 1.*.
func detectVisionLearner(m *matcher, _ archOptions) (*Net, error) {
	var n *Net
	var err error
	switch {
	case m.has("0.0.weight"):
		n, err = resnetBody(m, fastaiBodyLayout)
	case m.has("0.0.0.weight"):
		var last int
		n, last, err = xresnetBody(m, "0.", names{})
		if err == nil && last != 7 {
			err = fmt.Errorf("the XResNet body ends at 0.%d, want 0.7", last)
		}
	default:
		return nil, fmt.Errorf("no 0.0.weight (torchvision body) or 0.0.0.weight (XResNet body)")
	}
	if err != nil {
		return nil, err
	}
	if !m.hasPrefix("1.") {
		return nil, fmt.Errorf("no head (keys 1.*)")
	}
	if n.Head, err = seqHead(m, "1.", 0, n.Features(), true); err != nil {
		return nil, err
	}
	n.Name = "vision_learner(" + n.Name + ")"
	return n, nil
}

// detectXResNet recognizes fastai's XResNet: Sequential(ConvLayer ×3,
// MaxPool, stages of ResBlock, AdaptiveAvgPool, Flatten, Dropout, Linear).
func detectXResNet(m *matcher, _ archOptions) (*Net, error) {
	if !m.has("0.0.weight") || !m.hasPrefix("4.0.convpath.") {
		return nil, fmt.Errorf("no 0.0.weight and 4.0.convpath.*")
	}
	n, last, err := xresnetBody(m, "", names{})
	if err != nil {
		return nil, err
	}
	if n.Head, err = seqHead(m, "", last+1, n.Features(), false); err != nil {
		return nil, err
	}
	return n, nil
}

// convLayers reads fastai ConvLayers Sequential(Conv2d, BatchNorm2d[,
// ReLU]) at prefix+"0", prefix+"1", … (n of them); all but the last
// without activation get a ReLU unless lastReLU.
func convLayers(m *matcher, prefix string, n, in int, lastReLU bool, ns names) ([]Conv, error) {
	var out []Conv
	for i := 0; i < n; i++ {
		name := prefix + strconv.Itoa(i)
		c, err := m.convBN(name+".0", name+".1", in)
		if err != nil {
			return nil, err
		}
		if i < n-1 || lastReLU {
			c.ReLU = ns.unique(name + ".2")
		}
		in = c.Out
		out = append(out, c)
	}
	return out, nil
}

// stemConvs counts the ConvLayers at prefix+"0", prefix+"1", … that are
// plain ConvLayers (a conv at .0).
func stemConvs(m *matcher, prefix string) int {
	k := 0
	for m.has(prefix + strconv.Itoa(k) + ".0.weight") {
		k++
	}
	return k
}

// xresnetBody reads an XResNet's stem, max pool and stages under prefix and
// returns the index of the last stage.
func xresnetBody(m *matcher, prefix string, ns names) (*Net, int, error) {
	n := &Net{}
	k := stemConvs(m, prefix)
	if k == 0 {
		return nil, 0, fmt.Errorf("no %s0.0.weight", prefix)
	}
	stem, err := convLayers(m, prefix, k, -1, true, ns)
	if err != nil {
		return nil, 0, err
	}
	stem[0].Stride = 2 // XResNet: stride 2 on the first stem conv
	n.Stem = stem
	n.InChannels = stem[0].In
	if m.hasPrefix(prefix + strconv.Itoa(k) + ".") {
		return nil, 0, fmt.Errorf("%s%d has parameters where XResNet has its MaxPool", prefix, k)
	}
	// MaxPool(ks, stride 2, padding ks//2) with the stem's kernel size.
	ks := stem[0].Kernel
	n.StemPool = &Pool{Name: ns.unique(prefix + strconv.Itoa(k)), Max: true, Kernel: ks, Stride: 2, Pad: ks / 2}
	in := stem[k-1].Out
	idx := k + 1
	var bottleneck bool
	for s := 0; m.has(fmt.Sprintf("%s%d.0.convpath.0.0.weight", prefix, idx)); s, idx = s+1, idx+1 {
		stage := fmt.Sprintf("%s%d", prefix, idx)
		count := m.count(stage + ".")
		var blocks []Block
		for i := 0; i < count; i++ {
			stride := 1
			if s > 0 && i == 0 {
				stride = 2 // fastai: stride 1 for the first stage, 2 for the others
			}
			b, err := xresBlock(m, fmt.Sprintf("%s.%d", stage, i), in, stride, ns)
			if err != nil {
				return nil, 0, err
			}
			if s == 0 && i == 0 {
				bottleneck = len(b.Path) == 3
			} else if (len(b.Path) == 3) != bottleneck {
				return nil, 0, fmt.Errorf("%s.%d mixes basic and bottleneck blocks", stage, i)
			}
			in = b.Path[len(b.Path)-1].Out
			blocks = append(blocks, b)
		}
		n.Stages = append(n.Stages, blocks)
	}
	if len(n.Stages) == 0 {
		return nil, 0, fmt.Errorf("no stage at %s%d (%s%d.0.convpath.0.0.weight)", prefix, k+1, prefix, k+1)
	}
	n.Name = "xresnet" + strconv.Itoa(n.Depth())
	return n, idx - 1, nil
}

// xresBlock reads fastai's ResBlock (fastai.layers): convpath of two (basic)
// or three (bottleneck) ConvLayers, the stride on the first (basic) or the
// second (bottleneck); idpath = [AvgPool2d(2, ceil_mode=True) when strided,
// 1x1 ConvLayer without activation when channels change], the pool first.
func xresBlock(m *matcher, name string, in, stride int, ns names) (Block, error) {
	b := Block{Name: name}
	nc := m.count(name + ".convpath.")
	if nc != 2 && nc != 3 {
		return b, fmt.Errorf("%s.convpath has %d ConvLayers, want 2 or 3", name, nc)
	}
	path, err := convLayers(m, name+".convpath.", nc, in, false, ns)
	if err != nil {
		return b, err
	}
	if nc == 2 {
		path[0].Stride = stride
	} else {
		if path[0].Kernel != 1 || path[2].Kernel != 1 {
			return b, fmt.Errorf("%s.convpath is not a 1x1, kxk, 1x1 bottleneck", name)
		}
		path[1].Stride = stride
	}
	b.Path = path
	out := path[nc-1].Out
	poolIdx := 0
	convIdx := -1
	switch {
	case m.has(name + ".idpath.1.0.weight"): // pool first (pool_first=True)
		if stride == 1 {
			return b, fmt.Errorf("%s.idpath has a pool at 0 but the block is not strided", name)
		}
		convIdx = 1
	case m.has(name + ".idpath.0.0.weight"):
		// Without a pool, or pool_first=False with the pool after the
		// conv: pooling commutes with a 1x1 conv and BatchNorm (both per
		// pixel and affine), so it runs first here too.
		convIdx, poolIdx = 0, 1
	}
	if convIdx >= 0 {
		id := fmt.Sprintf("%s.idpath.%d", name, convIdx)
		c, err := m.convBN(id+".0", id+".1", in)
		if err != nil {
			return b, err
		}
		b.Shortcut = &c
	}
	if b.Shortcut != nil {
		sc := b.Shortcut
		if sc.Kernel != 1 {
			return b, fmt.Errorf("%s is %dx%d, want 1x1", sc.Name, sc.Kernel, sc.Kernel)
		}
		if sc.Out != out {
			return b, fmt.Errorf("%s gives %d channels, the block %d", sc.Name, sc.Out, out)
		}
	} else if in != out {
		return b, fmt.Errorf("%s changes channels %d→%d without an idpath conv", name, in, out)
	}
	if stride != 1 {
		b.Pool = &Pool{Name: ns.unique(fmt.Sprintf("%s.idpath.%d", name, poolIdx)), Kernel: stride, Stride: stride, Ceil: true}
	}
	b.ReLU = ns.unique(name + ".act")
	return b, nil
}

// detectBook recognizes the fastai book's chapter-14 ResNet. Its strides
// are not in the state dict; the convention (see the package doc) can be
// overridden with o.stemStrides and o.stageStrides.
func detectBook(m *matcher, o archOptions) (*Net, error) {
	ns := names{}
	k := stemConvs(m, "")
	if k == 0 {
		return nil, fmt.Errorf("no 0.0.weight")
	}
	stem, err := convLayers(m, "", k, -1, true, ns)
	if err != nil {
		return nil, err
	}
	n := &Net{Name: bookName, Stem: stem, InChannels: stem[0].In}
	first := k
	if !m.hasPrefix(strconv.Itoa(k) + ".") {
		// A gap after the stem: _resnet_stem's MaxPool2d(3, 2, 1).
		n.StemPool = &Pool{Name: ns.unique(strconv.Itoa(k)), Max: true, Kernel: 3, Stride: 2, Pad: 1}
		first = k + 1
	}
	if !m.has(strconv.Itoa(first) + ".0.convs.0.0.weight") {
		return nil, fmt.Errorf("no %d.0.convs.0.0.weight", first)
	}
	switch {
	case o.stemStrides != nil:
		if len(o.stemStrides) != k {
			return nil, fmt.Errorf("--arch gives %d stem strides for %d stem convolutions", len(o.stemStrides), k)
		}
		for i := range stem {
			stem[i].Stride = o.stemStrides[i]
		}
	case n.StemPool != nil:
		stem[0].Stride = 2
	}
	in := stem[k-1].Out
	idx := first
	var bottleneck bool
	for s := 0; m.has(fmt.Sprintf("%d.0.convs.0.0.weight", idx)); s, idx = s+1, idx+1 {
		stage := strconv.Itoa(idx)
		count := m.count(stage + ".")
		var blocks []Block
		for i := 0; i < count; i++ {
			name := fmt.Sprintf("%s.%d", stage, i)
			hasID := m.has(name + ".idconv.0.weight")
			stride := 1
			switch {
			case o.stageStrides != nil:
				if s >= len(o.stageStrides) {
					return nil, fmt.Errorf("--arch gives %d stage strides, the model has more stages", len(o.stageStrides))
				}
				if i == 0 {
					stride = o.stageStrides[s]
				}
				if stride > 2 {
					return nil, fmt.Errorf("the book's ResBlock pools by 2: a stage stride of %d is not possible", stride)
				}
			case hasID && !(s == 0 && n.StemPool != nil):
				stride = 2
			}
			b, err := bookBlock(m, name, in, stride, ns)
			if err != nil {
				return nil, err
			}
			if s == 0 && i == 0 {
				bottleneck = len(b.Path) == 3
			} else if (len(b.Path) == 3) != bottleneck {
				return nil, fmt.Errorf("%s mixes basic and bottleneck blocks", name)
			}
			in = b.Path[len(b.Path)-1].Out
			blocks = append(blocks, b)
		}
		n.Stages = append(n.Stages, blocks)
	}
	if o.stageStrides != nil && len(o.stageStrides) != len(n.Stages) {
		return nil, fmt.Errorf("--arch gives %d stage strides for %d stages", len(o.stageStrides), len(n.Stages))
	}
	if n.Head, err = seqHead(m, "", idx, n.Features(), false); err != nil {
		return nil, err
	}
	return n, nil
}

// bookBlock reads the book's ResBlock: convs (two ConvLayers, or three for
// the bottleneck version), idconv (a 1x1 ConvLayer without activation, or
// noop) and pool (AvgPool2d(2, ceil_mode=True) when strided, or noop):
// relu(convs(x) + idconv(pool(x))). The stride is on the first convolution
// larger than 1x1.
func bookBlock(m *matcher, name string, in, stride int, ns names) (Block, error) {
	b := Block{Name: name}
	nc := m.count(name + ".convs.")
	if nc < 2 {
		return b, fmt.Errorf("%s.convs has %d ConvLayers, want 2 or 3", name, nc)
	}
	path, err := convLayers(m, name+".convs.", nc, in, false, ns)
	if err != nil {
		return b, err
	}
	strided := false
	for i := range path {
		if path[i].Kernel > 1 {
			path[i].Stride = stride
			strided = true
			break
		}
	}
	if !strided {
		path[0].Stride = stride
	}
	b.Path = path
	out := path[nc-1].Out
	if m.has(name + ".idconv.0.weight") {
		c, err := m.convBN(name+".idconv.0", name+".idconv.1", in)
		if err != nil {
			return b, err
		}
		if c.Kernel != 1 || c.Out != out {
			return b, fmt.Errorf("%s.idconv is %dx%d to %d channels, want 1x1 to %d", name, c.Kernel, c.Kernel, c.Out, out)
		}
		b.Shortcut = &c
	} else if in != out {
		return b, fmt.Errorf("%s changes channels %d→%d without idconv", name, in, out)
	}
	if stride != 1 {
		b.Pool = &Pool{Name: ns.unique(name + ".pool"), Kernel: 2, Stride: 2, Ceil: true}
	}
	b.ReLU = ns.unique(name + ".relu")
	return b, nil
}

// linearHead reads a single Linear classifier at name (torchvision's and
// timm's fc) after adaptive average pooling.
func linearHead(m *matcher, name string, features int, pool, flatten string) (Head, error) {
	h := Head{PoolName: pool, FlattenName: flatten}
	w, err := m.tensor(name+".weight", -1, features)
	if err != nil {
		return h, err
	}
	l := HeadLayer{Name: name, Linear: true, In: features, Out: w.Shape[0]}
	if l.Bias, err = m.optional(name+".bias", l.Out); err != nil {
		return h, err
	}
	h.Layers = []HeadLayer{l}
	return h, nil
}

// seqHead reads a head laid out as Sequential children under prefix from
// index start: the pool at start, Flatten at start+1, then Linear and
// BatchNorm1d layers at the indices that have parameters (Dropout and ReLU
// have none). A ReLU follows a Linear exactly when an index without
// parameters separates it from the next layer and it is not the last Linear
// (fastai's create_head: ReLU after every Linear but the last). With concat,
// the first layer may take twice the features (AdaptiveConcatPool2d).
func seqHead(m *matcher, prefix string, start, features int, concat bool) (Head, error) {
	h := Head{PoolName: prefix + strconv.Itoa(start), FlattenName: prefix + strconv.Itoa(start+1)}
	var idx []int
	for _, i := range m.indices(prefix) {
		if i >= start {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return h, fmt.Errorf("no classifier after %s%d", prefix, start-1)
	}
	if idx[0] < start+2 {
		return h, fmt.Errorf("%s%d has parameters where the pool or Flatten should be", prefix, idx[0])
	}
	// AdaptiveConcatPool2d doubles the features: told by the width of the
	// first layer.
	in := features
	if concat {
		first := prefix + strconv.Itoa(idx[0])
		var width int
		if t := m.sd.Tensors[first+".running_mean"]; t != nil && len(t.Shape) == 1 {
			width = t.Shape[0]
		} else if t := m.sd.Tensors[first+".weight"]; t != nil && len(t.Shape) == 2 {
			width = t.Shape[1]
		}
		if width == 2*features {
			in = 2 * features
			h.Concat = true
		}
	}
	for _, i := range idx {
		name := prefix + strconv.Itoa(i)
		if m.has(name + ".running_mean") {
			affine, err := m.bn(name, in)
			if err != nil {
				return h, err
			}
			h.Layers = append(h.Layers, HeadLayer{Name: name, In: in, Out: in, BNAffine: affine})
			continue
		}
		if t := m.sd.Tensors[name+".weight"]; t == nil || len(t.Shape) != 2 {
			return h, fmt.Errorf("%s is neither a Linear (2-D weight) nor a BatchNorm1d (running_mean)", name)
		}
		w, err := m.tensor(name+".weight", -1, in)
		if err != nil {
			return h, err
		}
		l := HeadLayer{Name: name, Linear: true, In: in, Out: w.Shape[0]}
		if l.Bias, err = m.optional(name+".bias", l.Out); err != nil {
			return h, err
		}
		h.Layers = append(h.Layers, l)
		in = l.Out
	}
	lastLinear := -1
	for j, l := range h.Layers {
		if l.Linear {
			lastLinear = j
		}
	}
	if lastLinear < 0 {
		return h, fmt.Errorf("the head under %q has no Linear layer", prefix)
	}
	for j := range h.Layers {
		if !h.Layers[j].Linear || j == lastLinear {
			continue
		}
		if idx[j+1] > idx[j]+1 {
			h.Layers[j].ReLU = prefix + strconv.Itoa(idx[j]+1)
		}
	}
	return h, nil
}
