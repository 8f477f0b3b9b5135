package runtime

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/internal/ortrun"
)

// ortMedian caches ONNX Runtime's median latency per configuration
// (benchmark functions run several times with growing b.N).
var ortMedian = map[string]float64{}

// BenchmarkResNetInt8 runs the QDQ ResNet fixtures at 224x224 and 240x320
// on 1 and 2 threads with this build's kernels, and ONNX Runtime 1.30
// (onnxruntime-node, same file, same input, same thread count, median of
// 20 runs after 5 warm-up runs) for the ratio: ratio = engine ms / ORT ms.
func BenchmarkResNetInt8(b *testing.B) {
	fixtures(b)
	for _, name := range []string{"resnet18_u8", "resnet50_u8"} {
		path := filepath.Join(qdqGen, "models", name+".onnx")
		qm := readModel(b, path)
		for _, hw := range [][2]int{{224, 224}, {240, 320}} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%dx%d/threads=%d", name, hw[0], hw[1], threads), func(b *testing.B) {
					m, err := Compile(qm, Options{Threads: threads})
					if err != nil {
						b.Fatal(err)
					}
					info, err := m.Info(hw[0], hw[1])
					if err != nil {
						b.Fatal(err)
					}
					x := randImage(newRandSeed(1), 1, 3, hw[0], hw[1])
					s := m.NewSession()
					defer s.Close()
					logits := make([]float32, 1000)
					if err := s.RunFloat(x.F32, 1, 3, hw[0], hw[1], logits); err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					for b.Loop() {
						if err := s.RunFloat(x.F32, 1, 3, hw[0], hw[1], logits); err != nil {
							b.Fatal(err)
						}
					}
					ms := b.Elapsed().Seconds() * 1e3 / float64(b.N)
					b.ReportMetric(float64(info.MACs)/(ms*1e6), "GMAC/s")
					key := fmt.Sprintf("%s %dx%d %d", name, hw[0], hw[1], threads)
					ort, ok := ortMedian[key]
					if !ok {
						x.Name = qm.Graph.Inputs[0].Name
						times, err := ortrun.Bench(path, []*onnx.Tensor{x}, ortrun.Options{Threads: threads}, 5, 20)
						if err != nil {
							b.Fatal(err)
						}
						slices.Sort(times)
						ort = times[len(times)/2]
						ortMedian[key] = ort
					}
					b.ReportMetric(ort, "ort_ms")
					b.ReportMetric(ms/ort, "ratio")
				})
			}
		}
	}
}
