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
