package qkernel

import (
	"encoding/binary"
	"fmt"
)

// Winograd is a 3×3, stride-1, undilated, ungrouped convolution computed
// with Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", arXiv:1509.09308), exactly:
// every 2×2 tile of outputs takes 16 multiplications per input and output
// channel instead of 36.
//
// # Exactness
//
// With d the 4×4 uint8 input window of a tile (the input zero point at
// padding; its contribution is folded into the bias as in Pack) and g a
// channel's 3×3 weights,
//
//	Y = Aᵀ [(G' g G'ᵀ) ⊙ (Bᵀ d B)] A = 4 · Σ_taps d·g
//
// with Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G' = 2G = [2 0 0;
// 1 1 1; 1 −1 1; 0 0 2] and Aᵀ = [1 1 1 0; 0 1 −1 −1]: all integers. V =
// Bᵀ d B lies in [−1020, 1020] and U = G' g G'ᵀ in [−1152, 1152], both
// int16; their products summed over C input channels stay below 2^31 for
// C ≤ 1826 (winogradMaxC), and so does 4·Σ d·g, so the int32 sums (which
// may wrap in between) give 4·acc exactly and an arithmetic shift by 2
// recovers acc. The result is then requantized like every kernel's.
//
// # Layout
//
// Input channels are padded to cp, a multiple of 16 (padding weights are
// 0). u holds, for ξ = 4i+j in [0, 16), oc-block b of 16 output channels,
// input-channel pair p: 64 bytes, the int16 pair (U[ξ][2p][oc], U[ξ][2p+1]
// [oc]) for oc = 16b … 16b+15 in order. blk holds per oc-block the 16
// biases (the input zero point folded in) and the AVX2 epilogue table
// (putEpilogueTable, 8 lanes): winogradBlk bytes.
//
// A Run processes tiles in chunks: the input transform writes V[ξ][tile]
// [cp] (int16), a GEMM per (oc-block, ξ) gives M[tile][ξ][16] (int32), and
// the output transform turns each tile's M into 2×2 output pixels.
type Winograd struct {
	C, OC int
	cp    int
	u     []byte
	blk   []byte
	chunk int
}

// winogradISA is the kernel tier whose CPUs run the Winograd kernels
// (winogradInput, winogradGemm, winogradOutput; set from init by
// winograd_amd64.go), or "" for none.
var winogradISA string

// WinogradName is the name `edge info` lists for convolutions on the
// Winograd path.
const WinogradName = "winogradU8S8_F2x2_3x3_avx2"

const (
	winogradMaxC = 1826
	winogradBlk  = 64 + 2*epiVectors*32
	winogradRows = 6 // GEMM rows per call
)

// WinogradFits reports whether Winograd F(2×2, 3×3) computes g.
func (g *ConvGeom) WinogradFits() bool {
	return g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 &&
		g.Groups == 1 && g.C <= winogradMaxC && g.OC%16 == 0
}

// NewWinograd packs w for the Winograd path of kernel k's tier, or returns
// nil when that tier has none on this CPU or w does not fit (it must be a
// 3×3 convolution: one group, KS = 9, NC a multiple of 16, KC ≤
// winogradMaxC).
func NewWinograd(k *ConvKernel, w *ConvWeights) (*Winograd, error) {
	if winogradISA == "" || k == nil || k.ISA != winogradISA || w.Groups != 1 || w.KS != 9 || w.NC%16 != 0 || w.KC > winogradMaxC {
		return nil, nil
	}
	if err := w.check(); err != nil {
		return nil, err
	}
	cp := alignUp(w.KC, 16)
	nb := w.NC / 16
	wg := &Winograd{C: w.KC, OC: w.NC, cp: cp,
		u: AlignedBytes(16 * nb * cp / 2 * 64), blk: AlignedBytes(nb * winogradBlk)}
	// Chunks of tiles whose V (16·chunk·cp·2 bytes) stays near 192 KiB.
	wg.chunk = max(winogradRows, min(48, 192<<10/(32*cp))/winogradRows*winogradRows)
	le := binary.LittleEndian
	g2 := [4][3]int32{{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}}
	for oc := 0; oc < w.NC; oc++ {
		b, lane := oc/16, oc%16
		var sum int32
		for c := 0; c < w.KC; c++ {
			var g [3][3]int32
			for t := 0; t < 9; t++ {
				g[t/3][t%3] = int32(w.at(0, oc, t, c))
				sum += g[t/3][t%3]
			}
			for i := 0; i < 4; i++ {
				for j := 0; j < 4; j++ {
					var v int32
					for a := 0; a < 3; a++ {
						for bb := 0; bb < 3; bb++ {
							v += g2[i][a] * g[a][bb] * g2[j][bb]
						}
					}
					xi := 4*i + j
					off := ((xi*nb+b)*(cp/2)+c/2)*64 + 4*lane + 2*(c%2)
					le.PutUint16(wg.u[off:], uint16(int16(v)))
				}
			}
		}
		var bias int32
		if w.Bias != nil {
			bias = w.Bias[oc]
		}
		le.PutUint32(wg.blk[b*winogradBlk+4*lane:], uint32(bias-w.XZero*sum))
	}
	for b := 0; b < nb; b++ {
		putEpilogueTable(wg.blk[b*winogradBlk+64:(b+1)*winogradBlk], 8, 16, func(j int) (Requant, bool) {
			return w.Req[16*b+j], true
		})
	}
	return wg, nil
}

// Bytes is the size of the packed weights.
func (wg *Winograd) Bytes() int { return len(wg.u) + len(wg.blk) }

// Tiles is the number of 2×2 output tiles of g: N·⌈OH/2⌉·⌈OW/2⌉.
func (wg *Winograd) Tiles(g *ConvGeom) int { return g.N * ((g.OH + 1) / 2) * ((g.OW + 1) / 2) }

// ChunkTiles is how many tiles Run transforms together: a multiple of 6.
func (wg *Winograd) ChunkTiles() int { return wg.chunk }

// ScratchBytes is the scratch one Run needs.
func (wg *Winograd) ScratchBytes() int {
	return 16*wg.chunk*wg.cp*2 + wg.chunk*16*64 + 64
}

// Run computes output tiles [t0, t1) of g (tile t = (n·⌈OH/2⌉ + ty)·⌈OW/2⌉
// + tx covers output rows 2ty, 2ty+1 and columns 2tx, 2tx+1 of image n),
// output channels [n0, n1) (multiples of 16; splitting the channels lets
// threads share a layer with few tiles without each reading all weights):
// the input tensor at x[xOff:] (NHWC, C channels, read up to 16 bytes
// past a pixel's channels: arena slack), zeroOff a row of at least cp
// bytes of the input zero point, outputs at y[yOff + p·yStride + n] for
// output pixel p and channel n. scratch has ScratchBytes bytes.
func (wg *Winograd) Run(g *ConvGeom, t0, t1, n0, n1 int, x []byte, xOff, zeroOff int, y []byte, yOff, yStride int, o *Output, scratch []byte) {
	if g.C != wg.C || g.OC != wg.OC || !g.WinogradFits() {
		panic(fmt.Sprintf("qkernel: Winograd packed for %d→%d channels run on %+v", wg.C, wg.OC, *g))
	}
	if n0 < 0 || n0 > n1 || n1 > wg.OC || n0%16 != 0 || n1%16 != 0 {
		panic(fmt.Sprintf("qkernel: Winograd channels [%d, %d) of %d: not whole blocks of 16", n0, n1, wg.OC))
	}
	cp, chunk := wg.cp, wg.chunk
	th, tw := (g.OH+1)/2, (g.OW+1)/2
	nb := wg.OC / 16
	vBytes := 16 * chunk * cp * 2
	scratch = scratch[:wg.ScratchBytes()]
	V, M, dummy := scratch[:vBytes], scratch[vBytes:vBytes+chunk*1024], scratch[vBytes+chunk*1024:]
	if zeroOff < 0 || zeroOff+cp > len(x) || xOff < 0 || xOff+g.N*g.H*g.W*g.C+cp-g.C > len(x) {
		panic(fmt.Sprintf("qkernel: Winograd input at %d (zero row %d) outside the %d-byte arena", xOff, zeroOff, len(x)))
	}
	if yOff < 0 || yStride < g.OC || yOff+(g.Pixels()-1)*yStride+g.OC > len(y) {
		panic(fmt.Sprintf("qkernel: Winograd output at %d (stride %d) outside %d bytes", yOff, yStride, len(y)))
	}
	oc := outConsts(o)
	for c0 := t0; c0 < t1; c0 += chunk {
		n := min(chunk, t1-c0)
		np := alignUp(n, winogradRows)
		vs := np * cp * 2
		var ys [48][4]int // output pixel offsets of the chunk's tiles (−1: none)
		for j := 0; j < np; j++ {
			var off [16]int64
			for i := range off {
				off[i] = int64(zeroOff)
			}
			if j < n {
				t := c0 + j
				img, ty, tx := t/(th*tw), t/tw%th, t%tw
				for r := 0; r < 4; r++ {
					iy := 2*ty - g.PadT + r
					for c := 0; c < 4; c++ {
						ix := 2*tx - g.PadL + c
						if uint(iy) < uint(g.H) && uint(ix) < uint(g.W) {
							off[4*r+c] = int64(xOff + ((img*g.H+iy)*g.W+ix)*g.C)
						}
					}
				}
				for q := 0; q < 4; q++ {
					oy, ox := 2*ty+q/2, 2*tx+q%2
					ys[j][q] = -1
					if oy < g.OH && ox < g.OW {
						ys[j][q] = yOff + ((img*g.OH+oy)*g.OW+ox)*yStride
					}
				}
			}
			winogradInput(&x[0], &off[0], cp/16, &V[j*cp*2], vs)
		}
		for b := n0 / 16; b < n1/16; b++ {
			for xi := 0; xi < 16; xi++ {
				w := wg.u[(xi*nb+b)*(cp/2)*64:]
				winogradGemm(&V[xi*np*cp*2], cp*2, cp/2, &w[0], &M[xi*64], 1024, np/winogradRows)
			}
			var out [4]*byte
			for j := 0; j < n; j++ {
				for q := range out {
					out[q] = &dummy[0]
					if ys[j][q] >= 0 {
						out[q] = &y[ys[j][q]+16*b]
					}
				}
				winogradOutput(&M[j*1024], &wg.blk[b*winogradBlk], out[0], out[1], out[2], out[3], &oc[0])
			}
		}
	}
}
