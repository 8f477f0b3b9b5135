//go:build !purego

package qkernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate sh -c "cd _gen && go run . -out ../conv_amd64.s -stubs ../conv_stubs_amd64.go -pkg qkernel"

// x86Features are the CPU features the amd64 kernels need, read once.
var x86Features = struct {
	avx2, avx512vnni bool
}{
	avx2: cpu.X86.HasAVX2,
	// x/sys/cpu reports the AVX-512 features only when the OS saves the
	// ZMM state. The kernels use AVX-512F/BW instructions besides VPDPBUSD.
	avx512vnni: cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI,
}

// Kernel tiers of this file.
const (
	isaAVX2       = "avx2"
	isaAVX512VNNI = "avx512vnni"
	// isaAVX2Madd marks the VPMADDUBSW kernel: AVX2, but exact only for
	// weights that pass maddPairsFit, so it is not in the kernel table
	// (Select knows nothing of weights); ForWeights picks it per layer.
	isaAVX2Madd = "avx2madd"
)

// The amd64 kernels, preferred first: Select("auto") takes the first one
// available.
//
// # Packed block layout (both ISAs)
//
// A block of NR output channels is, from its 64-byte aligned start:
//
//  1. the common header (conv.go): NR int32 biases, NR multipliers, NR
//     shifts;
//  2. padding to a multiple of 64 bytes (tableOff);
//  3. the epilogue table, per group of L channels (L = 8 for AVX2, 16 for
//     AVX-512; one vector), eight vectors: accLo, accHi, shl (int32 per
//     channel), multE, multO (int64 per even / odd channel, the multiplier
//     in the low half), rndE, rndO (int64 per even / odd channel, the
//     rounding constant) and shr (int32 per channel); see epilogueFor;
//  4. the weights (weightsOff, a multiple of 64), for tap t in [0, KS),
//     group q of 4 input channels in [0, ceil(KC/4)): NR·4 weights, laid
//     out for the ISA (below). Input channels past KC and output channels
//     past NC have zero weights (and a zero epilogue), so kernels read
//     activations up to 3 bytes past KC and compute whole blocks.
//
// AVX2 (convU8S8_*c4_avx2): int16 weights, NR/4 vectors of 16 words per
// (t, q). Word b of dword d of 128-bit lane L of vector v is the weight of
// channel n = 8·(v/2) + 4·L + 2·(v%2) + d/2 for input channel 4q + 2·(d%2)
// + b. The kernel widens a broadcast dword of activations (x0 x1 x2 x3) to
// the words (x0 x1 x2 x3 x0 x1 x2 x3) per lane, so that VPMADDWD gives the
// sums over input channels 4q, 4q+1 and 4q+2, 4q+3 of two channels per
// lane; VPHADDD of vectors 2h and 2h+1 gives channels 8h … 8h+7 in order.
//
// AVX2 VPMADDUBSW (convU8S8_5x16c4_avx2madd): int8 weights in the AVX-512
// byte order below with 8 channels per vector: NR/8 vectors of 32 bytes per
// (t, q), byte b of dword j of vector v the weight of channel 8·v + j for
// input channel 4q + b. VPMADDUBSW adds the products of bytes (0, 1) and
// (2, 3) into saturating int16s, so the kernel is exact only when every
// such pair has |w0| + |w1| ≤ 128 (maddPairsFit).
//
// AVX-512 VNNI (convU8S8_*c4_avx512vnni): int8 weights, NR/16 vectors of
// 64 bytes per (t, q): byte b of dword j of vector v is the weight of
// channel 16·v + j for input channel 4q + b, the operand VPDPBUSD wants.
var amd64Kernels = []*ConvKernel{
	newX86Kernel("convU8S8_6x64c4_avx512vnni", isaAVX512VNNI, 6, 64, x86Features.avx512vnni, asm6x64c4AVX512VNNI),
	newX86Kernel("convU8S8_8x32c4_avx512vnni", isaAVX512VNNI, 8, 32, x86Features.avx512vnni, asm8x32c4AVX512VNNI),
	newX86Kernel("convU8S8_3x16c4_avx2", isaAVX2, 3, 16, x86Features.avx2, asm3x16c4AVX2),
	newX86Kernel("convU8S8_4x8c4_avx2", isaAVX2, 4, 8, x86Features.avx2, asm4x8c4AVX2),
}

func init() {
	ConvKernels = append(ConvKernels, amd64Kernels...)
	forWeights = x86ForWeights
}

// maddKernel is the VPMADDUBSW kernel, used per layer instead of the AVX2
// kernels when the layer's weights allow it (x86ForWeights).
var maddKernel = newX86Kernel("convU8S8_5x16c4_avx2madd", isaAVX2Madd, 5, 16, x86Features.avx2, asm5x16c4AVX2Madd)

// x86ForWeights returns maddKernel for an AVX2 kernel k when every weight
// pair of w passes maddPairsFit, else k.
func x86ForWeights(k *ConvKernel, w *ConvWeights) *ConvKernel {
	if k.ISA != isaAVX2 || !maddKernel.Available || !maddPairsFit(w) {
		return k
	}
	return maddKernel
}

// maddPairsFit reports whether every pair of weights VPMADDUBSW adds in
// one int16 (input channels 4q + 2p and 4q + 2p + 1 of one output channel
// and tap; channels past KC are zero) has |w0| + |w1| ≤ 128, so that
// 255·|w0| + 255·|w1| ≤ 32640 cannot saturate.
func maddPairsFit(w *ConvWeights) bool {
	abs := func(v int8) int { return max(int(v), -int(v)) }
	for row := 0; row < len(w.W)/w.KC; row++ {
		r := w.W[row*w.KC : (row+1)*w.KC]
		for k := 0; k < len(r); k += 2 {
			s := abs(r[k])
			if k+1 < len(r) {
				s += abs(r[k+1])
			}
			if s > 128 {
				return false
			}
		}
	}
	return true
}

// x86Asm names a generated kernel (conv_stubs_amd64.go). Kernels are
// called directly, not through function values, so that the compiler sees
// their //go:noescape and the tile buffers stay on the stack.
type x86Asm int

const (
	asm3x16c4AVX2 x86Asm = iota
	asm4x8c4AVX2
	asm6x64c4AVX512VNNI
	asm8x32c4AVX512VNNI
	asm5x16c4AVX2Madd
)

func (a x86Asm) call(x *byte, ind *int32, ks, kq, mr, nb int, w *byte, bs int, c *byte, cs int, oc *int32) {
	switch a {
	case asm3x16c4AVX2:
		convU8S8_3x16c4_avx2(x, ind, ks, kq, mr, nb, w, bs, c, cs, oc)
	case asm4x8c4AVX2:
		convU8S8_4x8c4_avx2(x, ind, ks, kq, mr, nb, w, bs, c, cs, oc)
	case asm6x64c4AVX512VNNI:
		convU8S8_6x64c4_avx512vnni(x, ind, ks, kq, mr, nb, w, bs, c, cs, oc)
	case asm8x32c4AVX512VNNI:
		convU8S8_8x32c4_avx512vnni(x, ind, ks, kq, mr, nb, w, bs, c, cs, oc)
	case asm5x16c4AVX2Madd:
		convU8S8_5x16c4_avx2madd(x, ind, ks, kq, mr, nb, w, bs, c, cs, oc)
	default:
		panic("qkernel: no such amd64 kernel")
	}
}

// x86Layout describes a kernel's packed block.
type x86Layout struct {
	mr, nr   int
	lanes    int // channels per vector (8 or 16)
	wordSize int // bytes per weight (2 for AVX2, 1 for AVX-512)
}

func (l x86Layout) tableOff() int   { return alignUp(12*l.nr, BlockAlign) }
func (l x86Layout) weightsOff() int { return l.tableOff() + l.nr/l.lanes*epiVectors*4*l.lanes }
func (l x86Layout) stepBytes() int  { return 4 * l.nr * l.wordSize } // one (t, q)

// blockBytes is the size of a block up to the end of its weights.
func (l x86Layout) blockBytes(kc, ks int) int {
	return l.weightsOff() + ks*alignUp(kc, 4)/4*l.stepBytes()
}

func newX86Kernel(name, isa string, mr, nr int, avail bool, asm x86Asm) *ConvKernel {
	l := x86Layout{mr: mr, nr: nr, lanes: 8, wordSize: 2}
	switch isa {
	case isaAVX512VNNI:
		l.lanes, l.wordSize = 16, 1
	case isaAVX2Madd:
		l.wordSize = 1 // 8 lanes: the byte order of the AVX-512 kernels, 8 channels per vector
	}
	return &ConvKernel{
		Name: name, ISA: isa, MR: mr, NR: nr, KR: 4, Available: avail,
		WeightBytes: func(kc, ks int) int { return l.blockBytes(kc, ks) - 12*nr },
		PackWeights: func(dst []byte, w *ConvWeights, g, n0 int) { l.pack(dst, w, g, n0) },
		IGEMM: func(mr, nc, kc, ks int, ind []int32, xoff int, x, w []byte, bs int, c []byte, cs int, o *Output) {
			l.igemm(asm, mr, nc, kc, ks, ind, xoff, x, w, bs, c, cs, o)
		},
		GEMM: func(mr, nc, kc int, a []byte, as int, w []byte, bs int, c []byte, cs int, o *Output) {
			l.gemm(asm, mr, nc, kc, a, as, w, bs, c, cs, o)
		},
	}
}

// pack writes the epilogue table and weights of channels n0 … n0+NR−1 of
// group g (dst starts after the header).
func (l x86Layout) pack(dst []byte, w *ConvWeights, g, n0 int) {
	hb := 12 * l.nr
	le := binary.LittleEndian
	// Epilogue table.
	putEpilogueTable(dst[l.tableOff()-hb:l.weightsOff()-hb], l.lanes, l.nr, func(j int) (Requant, bool) {
		if n := n0 + j; n < w.NC {
			return w.Req[g*w.NC+n], true
		}
		return Requant{}, false
	})
	// Weights.
	wts := dst[l.weightsOff()-hb:]
	kq := alignUp(w.KC, 4) / 4
	at := func(n, t, k int) int8 {
		if n0+n >= w.NC || k >= w.KC {
			return 0
		}
		return w.at(g, n0+n, t, k)
	}
	for t := 0; t < w.KS; t++ {
		for q := 0; q < kq; q++ {
			step := wts[(t*kq+q)*l.stepBytes():]
			if l.wordSize == 1 {
				for n := 0; n < l.nr; n++ {
					for b := 0; b < 4; b++ {
						step[4*n+b] = byte(at(n, t, 4*q+b))
					}
				}
				continue
			}
			for v := 0; v < l.nr/4; v++ {
				for lane := 0; lane < 2; lane++ {
					for d := 0; d < 4; d++ {
						n := 8*(v/2) + 4*lane + 2*(v%2) + d/2
						for b := 0; b < 2; b++ {
							k := 4*q + 2*(d%2) + b
							le.PutUint16(step[v*32+lane*16+d*4+b*2:], uint16(int16(at(n, t, k))))
						}
					}
				}
			}
		}
	}
}

// check panics on arguments that would make a kernel read or write out of
// bounds: the kernels trust every offset they are given.
func (l x86Layout) check(mr, nc, kc, ks int, w []byte, bs int, c []byte, cs int) {
	if mr < 1 || mr > l.mr || nc < 1 || kc < 1 || ks < 1 {
		panic(fmt.Sprintf("qkernel: tile mr=%d nc=%d kc=%d ks=%d outside the kernel's %dx%d", mr, nc, kc, ks, l.mr, l.nr))
	}
	nb := (nc + l.nr - 1) / l.nr
	if bs < l.blockBytes(kc, ks) || len(w) < (nb-1)*bs+l.blockBytes(kc, ks) {
		panic(fmt.Sprintf("qkernel: %d packed bytes (block size %d) for %d blocks of kc=%d ks=%d", len(w), bs, nb, kc, ks))
	}
	if cs < nc || len(c) < (mr-1)*cs+nc {
		panic(fmt.Sprintf("qkernel: output of %d bytes (stride %d) for %dx%d", len(c), cs, mr, nc))
	}
}

// run calls the kernel on the whole blocks of nc channels, then on the last
// partial block through a scratch tile.
func (l x86Layout) run(asm x86Asm, x *byte, ind *int32, ks, kc, mr, nc int, w []byte, bs int, c []byte, cs int, o *Output) {
	oc := outConsts(o)
	kq := alignUp(kc, 4) / 4
	full := nc / l.nr
	if full > 0 {
		asm.call(x, ind, ks, kq, mr, full, &w[0], bs, &c[0], cs, &oc[0])
	}
	rem := nc - full*l.nr
	if rem == 0 {
		return
	}
	var tile [8 * 64]byte
	asm.call(x, ind, ks, kq, mr, 1, &w[full*bs], bs, &tile[0], l.nr, &oc[0])
	for i := 0; i < mr; i++ {
		copy(c[i*cs+full*l.nr:i*cs+nc], tile[i*l.nr:])
	}
}

func (l x86Layout) igemm(asm x86Asm, mr, nc, kc, ks int, ind []int32, xoff int, x, w []byte, bs int, c []byte, cs int, o *Output) {
	base := l.checkIGEMM(mr, nc, kc, ks, ind, xoff, x, w, bs, c, cs)
	l.run(asm, base, &ind[0], ks, kc, mr, nc, w, bs, c, cs, o)
}

// checkIGEMM checks an IGEMM call and returns the kernel's x (x + xoff).
func (l x86Layout) checkIGEMM(mr, nc, kc, ks int, ind []int32, xoff int, x, w []byte, bs int, c []byte, cs int) *byte {
	l.check(mr, nc, kc, ks, w, bs, c, cs)
	// Every row the kernel reads, 4·ceil(kc/4) bytes, lies inside x.
	span := alignUp(kc, 4)
	for _, e := range ind[:mr*ks] {
		if off := int(e) + xoff; off < 0 || off+span > len(x) || xoff < 0 || xoff > len(x) {
			panic(fmt.Sprintf("qkernel: indirection offset %d+%d outside the %d-byte arena", e, xoff, len(x)))
		}
	}
	return (*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(x)), xoff))
}

func (l x86Layout) gemm(asm x86Asm, mr, nc, kc int, a []byte, as int, w []byte, bs int, c []byte, cs int, o *Output) {
	ind := l.checkGEMM(mr, nc, kc, a, as, w, bs, c, cs)
	l.run(asm, &a[0], &ind[0], 1, kc, mr, nc, w, bs, c, cs, o)
}

// checkGEMM checks a GEMM call and returns its rows as a one-tap
// indirection buffer.
func (l x86Layout) checkGEMM(mr, nc, kc int, a []byte, as int, w []byte, bs int, c []byte, cs int) (ind [8]int32) {
	l.check(mr, nc, kc, 1, w, bs, c, cs)
	if as < 0 || (mr-1)*as+alignUp(kc, 4) > len(a) || (mr-1)*as > math.MaxInt32 {
		panic(fmt.Sprintf("qkernel: %d rows of stride %d and %d channels outside %d bytes", mr, as, kc, len(a)))
	}
	for i := 0; i < mr; i++ {
		ind[i] = int32(i * as)
	}
	return ind
}
