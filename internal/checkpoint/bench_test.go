package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadResNet50 loads torchvision's resnet50 state_dict (torch.save
// zip format, 102 MB, 25.6 M float32 values) from testdata/gen.
func BenchmarkLoadResNet50(b *testing.B) {
	benchmarkLoad(b, "resnet50.pth")
}

// BenchmarkLoadFastaiResNet18 loads a fastai Learner.save file: a ResNet-18
// body and fastai head (47 MB) next to an optimizer state twice as large,
// which is not read.
func BenchmarkLoadFastaiResNet18(b *testing.B) {
	benchmarkLoad(b, "fastai.pth")
}

func benchmarkLoad(b *testing.B, name string) {
	path := filepath.Join(genDir, name)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatalf("missing fixtures: run internal/checkpoint/testdata/make_fixtures.sh (%v)", err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		if _, err := Load(path, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
