package runtime

import (
	"slices"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// Winograd layers with few tiles are split over output channels as well as
// tiles when several threads run them, and layers on the exact AVX2 kernel
// (8-bit weights whose pairs overflow int16) take the Winograd path up to
// 512 channels: every split gives the generic kernels' outputs bit for
// bit.
func TestWinogradSplitsMatchGeneric(t *testing.T) {
	avx2, err := qkernel.Select("avx2")
	if err != nil {
		t.Skip("no AVX2 kernels on this machine")
	}
	r := newRand(t)
	b := newFloatBuilder(r, 3)
	x := b.conv("input", 32, 3, 1, 1, 1, 1, true)
	x = b.conv(x, 512, 1, 1, 0, 1, 1, true)
	x = b.conv(x, 512, 3, 1, 1, 1, 1, true) // 512 -> 512: Winograd on the exact kernel only
	x = b.conv(x, 48, 3, 1, 1, 1, 1, true)  // 512 -> 48
	x = b.same("GlobalAveragePool", x)
	x = b.same("Flatten", x, onnx.AttrI("axis", 1))
	x = b.gemm(x, 48, 10, true)
	qm := quantizedModel(t, r, b.model(x), onnx.Uint8, 3, 9, 11)

	sizes := [][2]int{{9, 11}, {5, 5}, {2, 3}}
	var images []*onnx.Tensor
	for _, hw := range sizes {
		images = append(images, randImage(r, 1, 3, hw[0], hw[1]))
	}
	run := func(kernels string, threads int) [][]float32 {
		m, err := Compile(qm, Options{Threads: threads, Kernels: kernels})
		if err != nil {
			t.Fatal(err)
		}
		if kernels != "generic" {
			wino := 0
			for _, o := range m.prog.ops {
				if c, ok := o.(*convOp); ok && c.wino != nil {
					wino++
					if c.packed.Kernel.ISA != "avx2" {
						t.Fatalf("a Winograd layer packed for %s: the weights were meant to need the exact kernel", c.packed.Kernel.Name)
					}
				}
			}
			if wino != 2 {
				t.Fatalf("%d convolutions on the Winograd path, want the two 512-channel ones", wino)
			}
		}
		s := m.NewSession()
		defer s.Close()
		var out [][]float32
		for _, img := range images {
			got, err := s.Run(map[string]*onnx.Tensor{"input": img})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, got[qm.Graph.Outputs[0].Name].F32)
		}
		return out
	}
	want := run("generic", 1)
	for _, threads := range []int{1, 2, 3, 5} {
		got := run(avx2.Name, threads)
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("%dx%d, %d threads: logits %v with %s, %v with generic", sizes[i][0], sizes[i][1], threads, got[i], avx2.Name, want[i])
			}
		}
	}
}
