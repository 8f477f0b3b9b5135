package qkernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Layers of ResNet-18 at 224x224 (input after the stride is applied).
var benchLayers = []struct {
	name string
	g    ConvGeom
}{
	{"conv1_7x7s2", ConvGeom{N: 1, H: 224, W: 224, C: 3, KH: 7, KW: 7, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 3, PadL: 3, OH: 112, OW: 112, Groups: 1, OC: 64}},
	{"layer1_3x3", ConvGeom{N: 1, H: 56, W: 56, C: 64, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 56, OW: 56, Groups: 1, OC: 64}},
	{"layer3_3x3", ConvGeom{N: 1, H: 14, W: 14, C: 256, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 14, OW: 14, Groups: 1, OC: 256}},
	{"layer4_3x3", ConvGeom{N: 1, H: 7, W: 7, C: 512, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 7, OW: 7, Groups: 1, OC: 512}},
	{"pw_256x1024", ConvGeom{N: 1, H: 14, W: 14, C: 256, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 14, OW: 14, Groups: 1, OC: 1024}},
}

func BenchmarkConvKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range ConvKernels {
		if !k.Available {
			continue
		}
		for _, l := range benchLayers {
			b.Run(fmt.Sprintf("%s/%s", k.Name, l.name), func(b *testing.B) {
				g := l.g
				c := &convCase{g: g, xZero: 3, o: NewOutput(0, 0, 255)}
				c.x = randU8(r, g.N*g.H*g.W*g.C)
				c.w = randS8(r, g.OC*g.KS()*g.KC())
				for range g.OC {
					c.req = append(c.req, randMultiplier(b, r, 1e-4, 1e-3))
				}
				pc, err := Pack(k, c.weights())
				if err != nil {
					b.Fatal(err)
				}
				zeroOff := len(c.x)
				arena := make([]byte, zeroOff+g.C+XSlack)
				copy(arena, c.x)
				ind := make([]int32, g.IndirectionLen())
				g.BuildIndirection(ind, 0, zeroOff)
				y := make([]byte, g.Pixels()*g.OC)
				pw := g.Pointwise()
				for b.Loop() {
					if pw {
						pc.RunGEMM(0, 0, g.Pixels(), 0, g.OC, arena, 0, g.C, y, 0, g.OC, &c.o)
					} else {
						pc.RunIGEMM(0, 0, g.Pixels(), 0, g.OC, ind, arena, y, 0, g.OC, &c.o)
					}
				}
				b.ReportMetric(float64(g.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
