package runtime_test

import (
	_ "embed"
	"fmt"

	"github.com/piresnet/piresnet/runtime"
)

// testdata/example_qdq.onnx is a tiny QDQ classifier (conv, max pool,
// residual block, global average pooling, fully connected; 10 classes),
// the goldenModel of golden_test.go written by TestExampleModelFile.
//
//go:embed testdata/example_qdq.onnx
var exampleModel []byte

// A model compiled once serves images of any size; each goroutine uses its
// own Session.
func Example() {
	m, err := runtime.LoadBytes(exampleModel, "example_qdq.onnx", runtime.Options{Threads: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := m.NewSession()
	defer s.Close()
	logits := make([]float32, 10)
	for _, size := range [][2]int{{32, 32}, {48, 64}} {
		h, w := size[0], size[1]
		pixels := make([]float32, 3*h*w)
		for i := range pixels {
			pixels[i] = float32(i%97)/48 - 1
		}
		if err := s.RunFloat(pixels, 1, 3, h, w, logits); err != nil {
			fmt.Println(err)
			return
		}
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		fmt.Printf("%dx%d: class %d, logits %v\n", h, w, best, logits)
	}
	info, _ := m.Info(48, 64)
	fmt.Printf("%d nodes lowered, %d fallback, %d MACs at 48x64\n", len(info.Lowered), len(info.Fallback), info.MACs)
	// Output:
	// 32x32: class 0, logits [2.5 -0.6 1.1 -0.8 0.6 -1.2 1.2 -1.8000001 -0.90000004 1.8000001]
	// 48x64: class 9, logits [1.8000001 -1.6 0.8 -0.5 1.2 -0.8 1 -0.3 -0.6 2]
	// 16 nodes lowered, 0 fallback, 276560 MACs at 48x64
}
