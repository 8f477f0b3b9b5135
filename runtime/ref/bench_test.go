package ref

import (
	"path/filepath"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

func benchModel(b *testing.B, name, c string) {
	loadTorchManifest(b)
	dir := filepath.Join(torchGen, "models", name)
	m, err := onnx.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(m)
	if err != nil {
		b.Fatal(err)
	}
	x, err := onnx.ReadTensorFile(filepath.Join(dir, c, "input_0.pb"))
	if err != nil {
		b.Fatal(err)
	}
	in := map[string]*onnx.Tensor{p.InputNames()[0]: x}
	if _, err := p.Run(in); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		if _, err := p.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	// Wall time depends on what else the machine runs; CPU time less so.
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
	b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/run")
}

// BenchmarkResNet18_224 runs torchvision ResNet-18 (torch.onnx.export,
// BatchNorm folded) on one 224x224 image.
func BenchmarkResNet18_224(b *testing.B) { benchModel(b, "resnet18", "224x224") }

// BenchmarkResNet50_224 runs torchvision ResNet-50 on one 224x224 image.
func BenchmarkResNet50_224(b *testing.B) { benchModel(b, "resnet50", "224x224") }

// BenchmarkGemmKernels runs every float32 micro-kernel of the table on the
// GEMM of a 3x3 convolution of ResNet-18's layer2 (128 filters, K = 1152,
// 28x28 outputs), on one goroutine.
func BenchmarkGemmKernels(b *testing.B) {
	m, n, k := 128, 784, 1152
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range bb {
		bb[i] = float32(i%5) - 2
	}
	for _, kern := range gemmKernels[float32]() {
		b.Run(kern.name, func(b *testing.B) {
			pa := packWholeA(matrix[float32]{a, 0, k, 1}, m, k, kern.mr)
			buf := newGemmBuffers(kern)
			bp := densePacker[float32]{matrix[float32]{bb, 0, n, 1}}
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				gemmRange(0, m, 0, n, pa, bp, c, n, false, buf)
			}
			flops := 2 * float64(m*n*k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOPS")
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(flops/cpu.Seconds()/1e9, "GFLOPS/cpu-s")
			}
		})
	}
}
