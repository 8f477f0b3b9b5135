package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// The built-in model has pair-safe weights (export --int8's default): on
// AVX2 every one of its convolutions packs for the VPMADDUBSW kernel
// (qkernel.ForWeights), the stem too, whose 3×3 kernel over one channel the
// engine reads in kernel rows of 3 weights (quant.LimitPairSums' third
// order), and its logits equal those of the generic kernels bit for bit.
func TestBuiltinModelAVX2MaddMatchesGeneric(t *testing.T) {
	avx2, err := qkernel.Select("avx2")
	if err != nil {
		t.Skip("no AVX2 kernels on this machine")
	}
	b, err := os.ReadFile(filepath.Join("..", "internal", "defaultmodel", "fashion_int8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(kernels string) ([][]float32, []string) {
		m, err := LoadBytes(b, "fashion_int8.onnx", Options{Threads: 1, Kernels: kernels})
		if err != nil {
			t.Fatal(err)
		}
		var used []string
		for _, o := range m.prog.ops {
			if c, ok := o.(*convOp); ok {
				used = append(used, c.packed.Kernel.Name)
			}
		}
		s := m.NewSession()
		defer s.Close()
		var out [][]float32
		for i := 0; i < 8; i++ {
			img := make([]float32, 28*28)
			for j := range img {
				img[j] = float32((j*37+i*101)%255)/64 - 2
			}
			logits := make([]float32, 10)
			if err := s.RunFloat(img, 1, 1, 28, 28, logits); err != nil {
				t.Fatal(err)
			}
			out = append(out, logits)
		}
		return out, used
	}
	want, _ := run("generic")
	got, used := run(avx2.Name)
	madd := 0
	for _, n := range used {
		if strings.HasSuffix(n, "_avx2madd") {
			madd++
		}
	}
	t.Logf("conv kernels with %s: %v", avx2.Name, used)
	if madd == 0 || madd != len(used) {
		t.Errorf("%d of the %d convolutions of the pair-safe built-in model use the VPMADDUBSW kernel: %v", madd, len(used), used)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("image %d: logits %v with %s, %v with generic", i, got[i], avx2.Name, want[i])
		}
	}
}
