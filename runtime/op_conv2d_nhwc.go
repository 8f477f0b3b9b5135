package runtime

import (
	"fmt"
	"unsafe"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// convOp is a quantized 2-D convolution over an NHWC tensor (groups
// included), or a fully connected layer (fc: a [N, K] input, the rows as
// pixels of a 1×1 convolution). Weights are packed at load for the model's
// kernel; per plan it gets an indirection buffer (a zero row of the input
// zero point for the padding), or reads its input rows directly when the
// convolution is 1×1 with stride 1.
type convOp struct {
	opBase
	packed *qkernel.PackedConv
	win    window
	fc     bool
	xZero  int32
	output qkernel.Output
	// merged: a convolution with few input channels (the stem's 3) runs
	// with the KW taps of a kernel row merged into one tap of KW·C
	// contiguous bytes, read from a padded copy of the input: the packed
	// weights have KS = KH and KC = KW·C (the same memory order, OHWI).
	merged bool
	c      int // input channels when merged
	// wino: the 3×3 stride-1 convolution packed for Winograd's F(2×2, 3×3)
	// (qkernel.Winograd) when the kernel tier has that path (AVX2). It then
	// runs every input size (the layer alone decides WinogradFits), and the
	// direct packing keeps only its shape: its weights are dropped.
	wino *qkernel.Winograd
}

// winogradMaxChannels bounds the channel counts that take the Winograd
// path: its weights are 3.6 times the size of int8 weights, and past 256
// channels (ResNet's last stage, 7x7 pixels at 224x224) they stream from
// memory for few tiles. That still beats the exact int16 direct kernel
// (ResNet-18's 512-channel 3x3 layers, 1 thread: 1.88 -> 1.5 ms each at
// 224x224), so layers on that kernel go up to winogradMaxChannelsExact;
// the VPMADDUBSW kernel (pair-safe and 7-bit weights) is faster than
// Winograd there (1.33 vs 1.5 ms).
const (
	winogradMaxChannels      = 256
	winogradMaxChannelsExact = 512
)

// mergeMaxKC bounds KW·C for merged convolutions.
const mergeMaxKC = 48

func newConvOp(nodes []*onnx.Node, kern *qkernel.ConvKernel, w *qkernel.ConvWeights, win window, fc bool, out qkernel.Output) (*convOp, error) {
	merged := !fc && w.Groups == 1 && win.dw == 1 && win.kw > 1 && w.KC*win.kw <= mergeMaxKC && win.autoPad == "NOTSET"
	c := w.KC
	if merged {
		mw := *w
		mw.KS, mw.KC = win.kh, win.kw*w.KC
		w = &mw
	}
	pk := qkernel.ForWeights(kern, w) // kern, or a faster kernel exact for these weights
	packed, err := qkernel.Pack(pk, w)
	if err != nil {
		return nil, err
	}
	var wino *qkernel.Winograd
	maxC := winogradMaxChannels
	if pk == kern {
		maxC = winogradMaxChannelsExact
	}
	if !fc && !merged && win.kh == 3 && win.kw == 3 && win.sh == 1 && win.sw == 1 && win.dh == 1 && win.dw == 1 &&
		w.Groups == 1 && w.KC <= maxC && w.NC <= maxC {
		if wino, err = qkernel.NewWinograd(kern, w); err != nil {
			return nil, err
		}
	}
	kind := "conv"
	if fc {
		kind = "fc"
	}
	op := &convOp{opBase: opBase{kind: kind, nodes: nodes, kernel: pk.Name, lowered: true, weights: packed.Bytes()},
		packed: packed, win: win, fc: fc, xZero: w.XZero, output: out, merged: merged, c: c, wino: wino}
	if wino != nil {
		packed.Data = nil
		op.kernel = qkernel.WinogradName
		op.weights = wino.Bytes()
	}
	return op, nil
}

type convPlan struct {
	g      qkernel.ConvGeom
	zeroID int
	// merged: the padded copy of the input (a region filled with the
	// zero point) of hp×wp pixels.
	padID  int
	hp, wp int
	wino   bool
}

func (o *convOp) infer(p *plan) error {
	d := p.dims[o.in[0]]
	pc := o.packed
	var g qkernel.ConvGeom
	g.Groups, g.OC = pc.Groups, pc.Groups*pc.NC
	if o.fc {
		if len(d) != 2 || int(d[1]) != pc.KC {
			return fmt.Errorf("input dims %v: want [N, %d]", d, pc.KC)
		}
		g.N, g.H, g.W, g.C = int(d[0]), 1, 1, int(d[1])
		g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.OH, g.OW = 1, 1, 1, 1, 1, 1, 1, 1
		p.dims[o.out[0]] = []int64{d[0], int64(g.OC)}
	} else {
		cin := pc.Groups * pc.KC
		if o.merged {
			cin = o.c
		}
		if len(d) != 4 || int(d[1]) != cin {
			return fmt.Errorf("input dims %v: want [N, %d, H, W]", d, cin)
		}
		g.N, g.C, g.H, g.W = int(d[0]), int(d[1]), int(d[2]), int(d[3])
		oh, ow, pad, err := o.win.resolve(g.H, g.W)
		if err != nil {
			return err
		}
		g.KH, g.KW, g.SH, g.SW, g.DH, g.DW = o.win.kh, o.win.kw, o.win.sh, o.win.sw, o.win.dh, o.win.dw
		g.PadT, g.PadL, g.OH, g.OW = pad[0], pad[1], oh, ow
		p.dims[o.out[0]] = []int64{d[0], int64(g.OC), int64(oh), int64(ow)}
	}
	if err := g.Check(); err != nil {
		return err
	}
	if o.merged {
		g.OC = pc.NC
	}
	st := &convPlan{g: g, zeroID: -1, padID: -1}
	if o.wino != nil {
		if !g.WinogradFits() { // cannot happen: the layer decides it
			return fmt.Errorf("Winograd layer on geometry %+v", g)
		}
		st.wino = true
		p.needScratch((o.wino.ScratchBytes() + 3) / 4)
	}
	switch {
	case o.merged:
		st.hp = (g.OH-1)*g.SH + (g.KH-1)*g.DH + 1
		st.wp = (g.OW-1)*g.SW + g.KW
		st.padID = p.addRegion(g.N*st.hp*st.wp*g.C+qkernel.XSlack, byte(o.xZero))
	case !g.Pointwise() || st.wino:
		st.zeroID = p.addRegion(g.C+qkernel.XSlack, byte(o.xZero))
	}
	p.macs += g.MACs()
	p.setState(st)
	return nil
}

func (o *convOp) build(p *plan) (step, error) {
	st := p.getState().(*convPlan)
	g := st.g
	k := o.packed.Kernel
	s := &convStep{pc: o.packed, g: g, xOff: p.off[o.in[0]], yOff: p.off[o.out[0]], out: &o.output, mr: k.MR, nr: k.NR, nPix: 1, nCh: 1}
	if o.merged {
		// One tap per kernel row: the KW pixels of the padded row, KW·C
		// contiguous bytes.
		pad := p.regionOff(st.padID)
		s.ind = make([]int32, g.Pixels()*g.KH)
		i := 0
		for n := 0; n < g.N; n++ {
			for oy := 0; oy < g.OH; oy++ {
				for ox := 0; ox < g.OW; ox++ {
					for ky := 0; ky < g.KH; ky++ {
						s.ind[i] = int32(pad + ((n*st.hp+oy*g.SH+ky*g.DH)*st.wp+ox*g.SW)*g.C)
						i++
					}
				}
			}
		}
		p.indirection += 4 * len(s.ind)
		s.pad = &padCopy{n: g.N, h: g.H, w: g.W, c: g.C, hp: st.hp, wp: st.wp, top: g.PadT, left: g.PadL, x: s.xOff, y: pad}
	} else if st.wino {
		s.wino, s.zeroOff = o.wino, p.regionOff(st.zeroID)
		if p.threads > 1 {
			// Tiles first; with too few tiles, the output channels too
			// (each part then reads only its channels' weights).
			want := partsPerThread * p.threads
			s.nPix = partsFor(o.wino.Tiles(&g), 6, want, 1)
			if s.nPix < want {
				s.nCh = partsFor(g.OC, 16, (want+s.nPix-1)/s.nPix, 1)
			}
		}
		return s, nil
	} else if st.zeroID >= 0 {
		s.ind = make([]int32, g.IndirectionLen())
		g.BuildIndirection(s.ind, s.xOff, p.regionOff(st.zeroID))
		p.indirection += 4 * len(s.ind)
	} else {
		s.pw = true
	}
	if p.threads > 1 && g.Groups < partsPerThread*p.threads {
		want := (partsPerThread*p.threads + g.Groups - 1) / g.Groups
		s.nPix = partsFor(g.Pixels(), k.MR, want, 1)
		if s.nPix < want {
			s.nCh = partsFor(g.NC(), k.NR, (want+s.nPix-1)/s.nPix, 1)
		}
	}
	return s, nil
}

type convStep struct {
	pad        *padCopy
	pc         *qkernel.PackedConv
	g          qkernel.ConvGeom
	ind        []int32
	xOff, yOff int
	pw         bool
	out        *qkernel.Output
	mr, nr     int
	nPix, nCh  int
	// wino: the Winograd path, in nPix parts of the tiles by nCh parts of
	// the output channels.
	wino    *qkernel.Winograd
	zeroOff int
}

func (s *convStep) tasks() int { return s.g.Groups * s.nPix * s.nCh }

// prep copies the input into the padded buffer of a merged convolution
// (its border keeps the zero point it was filled with).
func (s *convStep) prep(rs *runState) {
	if s.pad != nil {
		s.pad.run(rs.arena)
	}
}

// padCopy places an NHWC tensor inside a larger one, at (top, left).
type padCopy struct {
	n, h, w, c, hp, wp, top, left int
	x, y                          int
}

// Rows and columns that no window reads (past the last stride) are not
// copied: the padded buffer ends with the last window.
func (c *padCopy) run(a []byte) {
	row := c.w * c.c
	cw := min(c.w, c.wp-c.left) * c.c
	rows := min(c.h, c.hp-c.top)
	for n := 0; n < c.n; n++ {
		for r := 0; r < rows; r++ {
			src := c.x + (n*c.h+r)*row
			dst := c.y + ((n*c.hp+r+c.top)*c.wp+c.left)*c.c
			copy(a[dst:dst+cw], a[src:src+cw])
		}
	}
}

func (s *convStep) run(rs *runState, task, worker int) {
	if s.wino != nil {
		t0, t1 := splitRange(s.wino.Tiles(&s.g), s.nPix, 6, task/s.nCh)
		n0, n1 := splitRange(s.g.OC, s.nCh, 16, task%s.nCh)
		if t0 < t1 && n0 < n1 {
			sc := rs.scratch[worker]
			scratch := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(sc))), 4*len(sc))
			s.wino.Run(&s.g, t0, t1, n0, n1, rs.arena, s.xOff, s.zeroOff, rs.arena, s.yOff, s.g.OC, s.out, scratch)
		}
		return
	}
	per := s.nPix * s.nCh
	grp, r := task/per, task%per
	p0, p1 := splitRange(s.g.Pixels(), s.nPix, s.mr, r/s.nCh)
	n0, n1 := splitRange(s.g.NC(), s.nCh, s.nr, r%s.nCh)
	if p0 >= p1 || n0 >= n1 {
		return
	}
	if s.pw {
		s.pc.RunGEMM(grp, p0, p1, n0, n1, rs.arena, s.xOff, s.g.C, rs.arena, s.yOff, s.g.OC, s.out)
	} else {
		s.pc.RunIGEMM(grp, p0, p1, n0, n1, s.ind, rs.arena, rs.arena, s.yOff, s.g.OC, s.out)
	}
}

// partsPerThread is how many tasks a convolution is split into per thread.
// The pool hands them out one at a time, so threads that finish early take
// more, and the imbalance is bounded by one task: with 4 per thread,
// ResNet-50 at 240x320 on 2 threads lost ~6 % to it (38.4 -> 36.4 ms with
// 8, the same with 12 to 24; 224x224 unchanged).
const partsPerThread = 8
