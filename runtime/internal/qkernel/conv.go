package qkernel

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// XSlack is how many bytes past the end of any activation row a kernel may
// read (the arena and every zero row are that much longer than their data).
// Kernels that consume input channels in groups of KR read up to KR−1
// bytes past a row of KC channels; those bytes meet zero weights, so their
// values never matter. SIMD kernels may read up to a full vector.
const XSlack = 64

// BlockAlign is the alignment of packed weight blocks and of the packed
// buffer (a cache line; what SIMD loads want).
const BlockAlign = 64

// ConvGeom is a 2-D convolution over an NHWC uint8 tensor: input N×H×W×C
// with C = Groups·KC, output N×OH×OW×OC with OC = Groups·NC. Only the
// leading padding matters to the kernels; the trailing padding is implied
// by OH and OW.
type ConvGeom struct {
	N, H, W, C     int
	KH, KW         int
	SH, SW, DH, DW int
	PadT, PadL     int
	OH, OW         int
	Groups, OC     int
}

// KS is the number of taps, KH·KW.
func (g *ConvGeom) KS() int { return g.KH * g.KW }

// KC is the number of input channels per group.
func (g *ConvGeom) KC() int { return g.C / g.Groups }

// NC is the number of output channels per group.
func (g *ConvGeom) NC() int { return g.OC / g.Groups }

// Pixels is the number of output pixels, N·OH·OW.
func (g *ConvGeom) Pixels() int { return g.N * g.OH * g.OW }

// MACs is the number of multiply-accumulates the convolution performs.
func (g *ConvGeom) MACs() int64 {
	return int64(g.Pixels()) * int64(g.OC) * int64(g.KS()) * int64(g.KC())
}

// Pointwise reports whether the convolution is 1×1 with stride 1 and no
// padding: its input rows are then the GEMM's rows, with no indirection.
func (g *ConvGeom) Pointwise() bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadT == 0 && g.PadL == 0 &&
		g.OH == g.H && g.OW == g.W
}

// Check reports an inconsistent geometry.
func (g *ConvGeom) Check() error {
	switch {
	case g.N < 1 || g.H < 1 || g.W < 1 || g.C < 1 || g.OH < 1 || g.OW < 1:
		return fmt.Errorf("qkernel: conv sizes %+v must be positive", *g)
	case g.KH < 1 || g.KW < 1 || g.SH < 1 || g.SW < 1 || g.DH < 1 || g.DW < 1 || g.PadT < 0 || g.PadL < 0:
		return fmt.Errorf("qkernel: conv window %+v is invalid", *g)
	case g.Groups < 1 || g.C%g.Groups != 0 || g.OC < 1 || g.OC%g.Groups != 0:
		return fmt.Errorf("qkernel: conv channels C=%d OC=%d do not split into %d groups", g.C, g.OC, g.Groups)
	}
	return nil
}

// IndirectionLen is the number of entries BuildIndirection writes.
func (g *ConvGeom) IndirectionLen() int { return g.Pixels() * g.KS() }

// BuildIndirection fills the indirection buffer of XNNPACK's indirect
// convolution (Dukhan, "The Indirect Convolution Algorithm", 2019): for
// output pixel p = (n·OH + oy)·OW + ox and tap t = ky·KW + kx,
// ind[p·KS + t] is the arena offset of the first channel of input pixel
// (n, oy·SH − PadT + ky·DH, ox·SW − PadL + kx·DW) of the tensor at xOff,
// or zeroOff (a row of the input zero point, C + XSlack bytes long) when
// that pixel lies in the padding. Group g adds g·KC to every entry.
func (g *ConvGeom) BuildIndirection(ind []int32, xOff, zeroOff int) {
	ks := g.KS()
	ind = ind[:g.IndirectionLen()]
	p := 0
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				e := ind[p*ks : (p+1)*ks]
				for ky := 0; ky < g.KH; ky++ {
					iy := oy*g.SH - g.PadT + ky*g.DH
					for kx := 0; kx < g.KW; kx++ {
						ix := ox*g.SW - g.PadL + kx*g.DW
						off := zeroOff
						if uint(iy) < uint(g.H) && uint(ix) < uint(g.W) {
							off = xOff + ((n*g.H+iy)*g.W+ix)*g.C
						}
						e[ky*g.KW+kx] = int32(off)
					}
				}
				p++
			}
		}
	}
}

// ConvWeights are a convolution's (or fully connected layer's) constants
// before packing. W is [Groups·NC][KS][KC] (OHWI per group: output
// channel, tap, input channel), Bias the int32 bias (nil for none), Req the
// per-output-channel requantization and XZero the input zero point (uint8
// domain), which packing folds into the bias.
type ConvWeights struct {
	Groups, NC, KC, KS int
	W                  []int8
	Bias               []int32
	Req                []Requant
	XZero              int32
}

func (w *ConvWeights) check() error {
	oc := w.Groups * w.NC
	switch {
	case w.Groups < 1 || w.NC < 1 || w.KC < 1 || w.KS < 1:
		return fmt.Errorf("qkernel: weights %dx%dx%dx%d: sizes must be positive", w.Groups, w.NC, w.KS, w.KC)
	case len(w.W) != oc*w.KS*w.KC:
		return fmt.Errorf("qkernel: weights have %d values, want %d", len(w.W), oc*w.KS*w.KC)
	case w.Bias != nil && len(w.Bias) != oc:
		return fmt.Errorf("qkernel: bias has %d values, want %d", len(w.Bias), oc)
	case len(w.Req) != oc:
		return fmt.Errorf("qkernel: %d multipliers, want %d", len(w.Req), oc)
	case w.XZero < 0 || w.XZero > 255:
		return fmt.Errorf("qkernel: input zero point %d outside uint8", w.XZero)
	}
	for _, r := range w.Req {
		if r.Shift < 1 || r.Shift > 62 || r.Mult < 0 {
			return fmt.Errorf("qkernel: requantization %+v out of range", r)
		}
	}
	return nil
}

// at returns weight (channel n of group g, tap t, input channel k).
func (w *ConvWeights) at(g, n, t, k int) int8 {
	return w.W[((g*w.NC+n)*w.KS+t)*w.KC+k]
}

// IGEMMFunc is an indirect-GEMM microkernel. It computes the tile of mr
// output pixels (1 ≤ mr ≤ MR) and nc output channels (nc ≥ 1) of one
// group:
//
//	for i := 0; i < mr; i++ {
//		for n := 0; n < nc; n++ {
//			acc := bias[n] // with −XZero·Σw folded in
//			for t := 0; t < ks; t++ {
//				row := x[ind[i*ks+t]+xoff:]
//				for k := 0; k < kc; k++ {
//					acc += int32(row[k]) * int32(w[n][t][k])
//				}
//			}
//			c[i*cs+n] = requantize(acc, req[n], o)
//		}
//	}
//
// with int32 arithmetic wrapping. w is the first of ceil(nc/NR)
// consecutive packed blocks of blockSize bytes (the kernel's layout). Rows
// of x may be read up to XSlack bytes past kc.
type IGEMMFunc func(mr, nc, kc, ks int, ind []int32, xoff int, x, w []byte, blockSize int, c []byte, cs int, o *Output)

// GEMMFunc is the same computation for a 1×1 convolution or a fully
// connected layer, whose mr input rows are a[i*as:] (ks = 1, no
// indirection).
type GEMMFunc func(mr, nc, kc int, a []byte, as int, w []byte, blockSize int, c []byte, cs int, o *Output)

// ConvKernel is one entry of the convolution kernel table: a microkernel
// pair with its tile sizes and packing.
type ConvKernel struct {
	// Name says what it computes: conv<input><weight>_<MR>x<NR>c<KR>_<isa>.
	Name string
	// ISA is the kernel tier: "generic" (portable Go), later "avx2",
	// "avx512vnni", "neon", "neondot".
	ISA string
	// MR output pixels by NR output channels per tile; KR input channels
	// consumed together (KC is padded to a multiple of KR with zero
	// weights).
	MR, NR, KR int
	// Available reports whether this CPU runs the kernel (read once).
	Available bool
	// WeightBytes is the size of one block's weights (after its header).
	WeightBytes func(kc, ks int) int
	// PackWeights writes the weights of output channels n0 … n0+NR−1 of
	// group g into dst (channels past NC get zero weights).
	PackWeights func(dst []byte, w *ConvWeights, g, n0 int)
	IGEMM       IGEMMFunc
	GEMM        GEMMFunc
}

// HeaderBytes is the size of a block's header: NR int32 biases, NR int32
// multipliers, NR int32 shifts (little-endian), in that order.
func (k *ConvKernel) HeaderBytes() int { return 12 * k.NR }

// BlockSize is the size of one packed block of NR output channels,
// rounded up to BlockAlign.
func (k *ConvKernel) BlockSize(kc, ks int) int {
	return alignUp(k.HeaderBytes()+k.WeightBytes(kc, ks), BlockAlign)
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// PackedConv holds a convolution's weights packed once, at load, for one
// kernel: per group, ceil(NC/NR) blocks of BlockSize bytes, each a header
// (the NR channels' bias with −XZero·Σw folded in, multipliers and shifts)
// followed by the kernel's weight layout.
type PackedConv struct {
	Kernel             *ConvKernel
	Groups, NC, KC, KS int
	Blocks             int // per group
	BlockSize          int
	Data               []byte
}

// ForWeights returns the kernel to pack w with when k was selected: k, or
// a kernel of the same tier that is exact only for weights like w's (on
// amd64, the VPMADDUBSW kernel for layers whose weight pairs all satisfy
// |w0| + |w1| ≤ 128, e.g. 7-bit weights). Results are bit-identical to
// ConvRef either way.
func ForWeights(k *ConvKernel, w *ConvWeights) *ConvKernel {
	if forWeights == nil || w.check() != nil {
		return k
	}
	return forWeights(k, w)
}

// forWeights is set by architecture files that have weight-dependent kernels.
var forWeights func(k *ConvKernel, w *ConvWeights) *ConvKernel

// Pack packs w for kernel k.
func Pack(k *ConvKernel, w *ConvWeights) (*PackedConv, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	p := &PackedConv{Kernel: k, Groups: w.Groups, NC: w.NC, KC: w.KC, KS: w.KS,
		Blocks: (w.NC + k.NR - 1) / k.NR, BlockSize: k.BlockSize(w.KC, w.KS)}
	p.Data = AlignedBytes(w.Groups * p.Blocks * p.BlockSize)
	hb := k.HeaderBytes()
	le := binary.LittleEndian
	for g := 0; g < w.Groups; g++ {
		for b := 0; b < p.Blocks; b++ {
			blk := p.Data[(g*p.Blocks+b)*p.BlockSize : (g*p.Blocks+b+1)*p.BlockSize]
			n0 := b * k.NR
			for j := 0; j < k.NR && n0+j < w.NC; j++ {
				n := n0 + j
				oc := g*w.NC + n
				var bias, sum int32
				if w.Bias != nil {
					bias = w.Bias[oc]
				}
				for t := 0; t < w.KS; t++ {
					for kk := 0; kk < w.KC; kk++ {
						sum += int32(w.at(g, n, t, kk))
					}
				}
				le.PutUint32(blk[4*j:], uint32(bias-w.XZero*sum))
				le.PutUint32(blk[4*(k.NR+j):], uint32(w.Req[oc].Mult))
				le.PutUint32(blk[4*(2*k.NR+j):], uint32(w.Req[oc].Shift))
			}
			// Padding channels keep bias 0, multiplier 0 and a shift of 1
			// so that a kernel computing them produces the zero point.
			for j := w.NC - n0; j < k.NR; j++ {
				if j >= 0 {
					le.PutUint32(blk[4*(2*k.NR+j):], 1)
				}
			}
			k.PackWeights(blk[hb:], w, g, n0)
		}
	}
	return p, nil
}

// AlignedBytes returns a zeroed slice of n bytes whose first byte is
// BlockAlign-aligned.
func AlignedBytes(n int) []byte {
	buf := make([]byte, n+BlockAlign)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & (BlockAlign - 1))
	return buf[off : off+n : off+n]
}

// Bytes is the size of the packed weights.
func (p *PackedConv) Bytes() int { return len(p.Data) }

// group returns the packed blocks of group g starting at channel n0 (a
// multiple of NR).
func (p *PackedConv) group(g, n0 int) []byte {
	b0 := g*p.Blocks + n0/p.Kernel.NR
	return p.Data[b0*p.BlockSize : (g+1)*p.Blocks*p.BlockSize]
}

// weightChunk is how many bytes of packed weights RunIGEMM and RunGEMM run
// over all their pixels before moving to the next channels: the weights of
// a chunk stay in the L2 cache while the activations stream.
const weightChunk = 128 << 10

// chunkChannels returns how many channels (a multiple of NR) make a chunk.
func (p *PackedConv) chunkChannels() int {
	return max(1, weightChunk/p.BlockSize) * p.Kernel.NR
}

// RunIGEMM computes output pixels [p0, p1) and channels [n0, n1) of group
// g through the indirection buffer ind (BuildIndirection). n0 must be a
// multiple of the kernel's NR. Output pixel p, channel n of group g goes to
// y[yOff + p·yStride + g·NC + n].
func (p *PackedConv) RunIGEMM(g, p0, p1, n0, n1 int, ind []int32, x, y []byte, yOff, yStride int, o *Output) {
	k := p.Kernel
	ks := p.KS
	xoff := g * p.KC
	cc := p.chunkChannels()
	for c0 := n0; c0 < n1; c0 += cc {
		c1 := min(n1, c0+cc)
		w := p.group(g, c0)
		for i := p0; i < p1; i += k.MR {
			mr := min(k.MR, p1-i)
			c := y[yOff+i*yStride+g*p.NC+c0:]
			k.IGEMM(mr, c1-c0, p.KC, ks, ind[i*ks:(i+mr)*ks], xoff, x, w, p.BlockSize, c, yStride, o)
		}
	}
}

// RunGEMM computes rows [p0, p1) and channels [n0, n1) of group g of a
// pointwise convolution or fully connected layer: input row p starts at
// x[xOff + p·xStride + g·KC], output row p at y[yOff + p·yStride + g·NC].
func (p *PackedConv) RunGEMM(g, p0, p1, n0, n1 int, x []byte, xOff, xStride int, y []byte, yOff, yStride int, o *Output) {
	k := p.Kernel
	cc := p.chunkChannels()
	for c0 := n0; c0 < n1; c0 += cc {
		c1 := min(n1, c0+cc)
		w := p.group(g, c0)
		for i := p0; i < p1; i += k.MR {
			mr := min(k.MR, p1-i)
			a := x[xOff+i*xStride+g*p.KC:]
			c := y[yOff+i*yStride+g*p.NC+c0:]
			k.GEMM(mr, c1-c0, p.KC, a, xStride, w, p.BlockSize, c, yStride, o)
		}
	}
}

// header reads the bias, multiplier and shift of channel j of a block.
func header(blk []byte, nr, j int) (bias int32, mult int64, shift uint) {
	le := binary.LittleEndian
	return int32(le.Uint32(blk[4*j:])), int64(int32(le.Uint32(blk[4*(nr+j):]))), uint(le.Uint32(blk[4*(2*nr+j):]))
}
