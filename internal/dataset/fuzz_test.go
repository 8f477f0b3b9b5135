package dataset

import (
	"bytes"
	"strings"
	"testing"
)

// The fuzz targets feed mutated idx files to the readers with small limits
// and check that they return either a one-line error or a consistent
// result, never a panic, and never allocate beyond the limits. Seeds are in
// testdata/fuzz/<target>/ (the first images and labels of Fashion-MNIST's
// test set, raw and gzip-compressed, and edge cases).

func fuzzLimits() Limits {
	return Limits{MaxBytes: 1 << 16, MaxDims: 4, MaxFiles: 100, MaxDepth: 4}
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("error is not one line: %q", err)
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxFile(8, []uint32{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(gz(idxFile(8, []uint32{3}, []byte{0, 1, 9})))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ReadIDX(bytes.NewReader(data), fuzzLimits())
		checkErr(t, err)
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if len(x.Dims) == 0 || len(x.Dims) > 4 || n != len(x.Data) || len(x.Data) > 1<<16 {
			t.Fatalf("dims %v with %d bytes", x.Dims, len(x.Data))
		}
	})
}

// FuzzIDXSet reads an images file and a labels file and walks the set.
func FuzzIDXSet(f *testing.F) {
	f.Add(idxFile(8, []uint32{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}), idxFile(8, []uint32{2}, []byte{3, 9}))
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		im, err := ReadIDX(bytes.NewReader(images), fuzzLimits())
		checkErr(t, err)
		if err != nil {
			return
		}
		lb, err := ReadIDX(bytes.NewReader(labels), fuzzLimits())
		checkErr(t, err)
		if err != nil {
			return
		}
		s, err := NewIDXSet("fuzz", im, lb)
		checkErr(t, err)
		if err != nil {
			return
		}
		h, w := s.Size()
		for i := range s.Len() {
			img, err := s.Image(i)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("image %d bounds %v, size %dx%d", i, b, h, w)
			}
			if l := s.Label(i); l < 0 || l > 255 {
				t.Fatalf("label %d", l)
			}
		}
	})
}
