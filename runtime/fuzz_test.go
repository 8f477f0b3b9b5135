package runtime

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

// FuzzLoadBytes feeds arbitrary model bytes through loading, planning and
// a run: whatever the file, the engine returns an error or a result, never
// panics. Seeds: the committed example model and mutations of it.
func FuzzLoadBytes(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "example_qdq.onnx"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadBytes(data, "fuzz.onnx", Options{Threads: 2})
		if err != nil || m.Float() {
			return // float models are the reference's (fuzzed there)
		}
		if _, err := m.Info(9, 13); err != nil {
			return
		}
		s := m.NewSession()
		defer s.Close()
		in := map[string]*onnx.Tensor{}
		for i, id := range m.prog.inputs {
			vi := m.prog.inputInfo[i]
			dims := []int64{1, 3, 9, 13}
			if vi.Type != nil && vi.Type.HasShape && len(vi.Type.Shape) == 4 && vi.Type.Shape[1].HasValue && vi.Type.Shape[1].Value <= 16 {
				dims[1] = vi.Type.Shape[1].Value
			}
			in[m.prog.values[id].name] = onnx.NewFloat(m.prog.values[id].name, dims, make([]float32, numElements(dims)))
		}
		s.Run(in)
	})
}
