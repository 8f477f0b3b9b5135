package imageprep

import (
	"math"
	"strings"
	"testing"
)

// FuzzDecodeTensor decodes mutated JPEG and PNG files with small limits and
// preprocesses them to a small tensor: never a panic, an error on one
// line, and a tensor of finite values of the spec's length. Seeds are in
// testdata/fuzz/FuzzDecodeTensor/ (tiny grey, RGB, paletted and 16-bit
// PNGs, grey and colour JPEGs, a truncated file).
func FuzzDecodeTensor(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, channels, h, w uint8, interp uint8) {
		img, err := DecodeBytes(data, Limits{MaxBytes: 1 << 16, MaxPixels: 1 << 14})
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		c := 1 + int(channels)%4
		s := Spec{Channels: c, Height: 1 + int(h)%40, Width: 1 + int(w)%40, Interp: Interpolation(interp % 4), CenterCrop: interp&4 != 0}
		for range c {
			s.Mean = append(s.Mean, 0.5)
			s.Std = append(s.Std, 0.25)
		}
		v, err := s.Tensor(img, nil)
		if err != nil {
			t.Fatalf("decoded image %v not preprocessed: %v", img.Bounds(), err)
		}
		if len(v) != s.Len() {
			t.Fatalf("%d values, want %d", len(v), s.Len())
		}
		for i, x := range v {
			if math.IsNaN(float64(x)) || x < -2 || x > 2 {
				t.Fatalf("value %d is %v, outside (0−0.5)/0.25 … (1−0.5)/0.25", i, x)
			}
		}
	})
}
