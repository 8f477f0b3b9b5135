package imageprep

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/modelmeta"
)

const python = "/usr/bin/python3"

// pilRef runs testdata/pilref.py (PIL, numpy, torch) on an image file.
func pilRef(t *testing.T, path string, channels int, size []int, interp string, mean, std []float32) []float32 {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.f32")
	req := map[string]any{"image": path, "channels": channels, "interp": interp, "mean": mean, "std": std, "out": out}
	if size != nil {
		req["size"] = size
	}
	b, _ := json.Marshal(req)
	rp := filepath.Join(dir, "req.json")
	os.WriteFile(rp, b, 0o644)
	if msg, err := exec.Command(python, "testdata/pilref.py", rp).CombinedOutput(); err != nil {
		t.Fatalf("testdata/pilref.py (needs %s with PIL, numpy, torch): %v\n%s", python, err, msg)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

func randomRGB(w, h int, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func randomGray(w, h int, seed uint64) *image.Gray {
	r := rand.New(rand.NewPCG(seed, 2))
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	return img
}

func writePNG(t *testing.T, img image.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, buf.Bytes(), 0o644)
	return p
}

func tensorOf(t *testing.T, path string, s Spec) []float32 {
	t.Helper()
	img, err := DecodeFile(path, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Tensor(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sameBits compares two tensors bit for bit.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, reference %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if bad < 3 {
				t.Errorf("%s: value %d is %v, reference %v", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

var fashionMean, fashionStd = []float32{0.28604060411453247}, []float32{0.3530242443084717}

// TestColourToGreyMatchesPIL: luma and normalization are bit-exact with
// PIL's convert("L") and numpy's float32 (x/255 − mean)/std.
func TestColourToGreyMatchesPIL(t *testing.T) {
	p := writePNG(t, randomRGB(37, 23, 1))
	got := tensorOf(t, p, Spec{Channels: 1, Mean: fashionMean, Std: fashionStd, Height: 23, Width: 37})
	sameBits(t, "luma", got, pilRef(t, p, 1, nil, "", fashionMean, fashionStd))
}

func TestGreyToColourMatchesPIL(t *testing.T) {
	p := writePNG(t, randomGray(19, 31, 2))
	s := Spec{Channels: 3, Mean: modelmeta.ImageNetMean, Std: modelmeta.ImageNetStd, Height: 31, Width: 19}
	sameBits(t, "grey to RGB", tensorOf(t, p, s), pilRef(t, p, 3, nil, "", s.Mean, s.Std))
}

func TestColourMatchesPIL(t *testing.T) {
	p := writePNG(t, randomRGB(16, 9, 3))
	s := Spec{Channels: 3, Mean: modelmeta.ImageNetMean, Std: modelmeta.ImageNetStd, Height: 9, Width: 16}
	sameBits(t, "RGB", tensorOf(t, p, s), pilRef(t, p, 3, nil, "", s.Mean, s.Std))
}

// TestNearestUpscaleMatchesTorch: 28x28 → 56x56 by nearest neighbour is
// pixel replication, as torch's F.interpolate(mode="nearest").
func TestNearestUpscaleMatchesTorch(t *testing.T) {
	p := writePNG(t, randomGray(28, 28, 4))
	s := Spec{Channels: 1, Mean: fashionMean, Std: fashionStd, Height: 56, Width: 56, Interp: Nearest}
	sameBits(t, "nearest 2x", tensorOf(t, p, s), pilRef(t, p, 1, []int{56, 56}, "nearest", fashionMean, fashionStd))
}

// TestBilinearUpscaleNearTorch: nfnt/resize's bilinear filter computes in
// integers and truncates (rounds down) after each of its two passes, where
// torch interpolates in float; the result is 0 to 2 levels below torch's
// rounded value, about 0.75 levels low on average. The border rows and
// columns are left out: nfnt clamps the source index one pixel early
// (xi >= maxX becomes maxX).
func TestBilinearUpscaleNearTorch(t *testing.T) {
	p := writePNG(t, randomGray(28, 28, 5))
	mean, std := []float32{0}, []float32{1.0 / 255}
	got := tensorOf(t, p, Spec{Channels: 1, Mean: mean, Std: std, Height: 56, Width: 56})
	want := pilRef(t, p, 1, []int{56, 56}, "bilinear", mean, std)
	var sum float64
	n := 0
	for y := 2; y < 54; y++ {
		for x := 2; x < 54; x++ {
			d := math.Round(float64(got[y*56+x] - want[y*56+x]))
			if d < -2 || d > 0 {
				t.Errorf("pixel (%d, %d): %v levels from torch, want −2 to 0", x, y, d)
			}
			sum += d
			n++
		}
	}
	if m := sum / float64(n); m < -1.25 || m > -0.25 {
		t.Errorf("mean difference %.2f levels, want about −0.75 (truncation in two passes)", m)
	}
}

// TestJPEGMatchesPIL: on a grey JPEG (no chroma subsampling), Go's decoder
// and libjpeg's (PIL) differ only by IDCT rounding, at most one level on a
// few pixels. On a colour JPEG they also upsample the chroma differently
// (Go replicates, libjpeg interpolates), so only the channel means are
// compared there, which catches swapped or shifted channels.
func TestJPEGMatchesPIL(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 64, 48))
	rgb := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			g.Pix[y*64+x] = uint8(3*x + 2*y)
			rgb.Set(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), uint8(2*x + 2*y), 255})
		}
	}
	mean, std := []float32{0, 0, 0}, []float32{1.0 / 255, 1.0 / 255, 1.0 / 255}
	for _, img := range []image.Image{g, rgb} {
		var buf bytes.Buffer
		jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
		p := filepath.Join(t.TempDir(), "img.jpg")
		os.WriteFile(p, buf.Bytes(), 0o644)
		got := tensorOf(t, p, Spec{Channels: 3, Mean: mean, Std: std, Height: 48, Width: 64})
		want := pilRef(t, p, 3, nil, "", mean, std)
		if img == g {
			off := 0
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1.0001 {
					t.Fatalf("grey JPEG value %d: %v levels from PIL's", i, d)
				} else if d > 0 {
					off++
				}
			}
			if off > len(got)/100 {
				t.Errorf("grey JPEG: %d of %d values differ from PIL's", off, len(got))
			}
			continue
		}
		plane := 48 * 64
		for c := range 3 {
			var a, b float64
			for i := c * plane; i < (c+1)*plane; i++ {
				a += float64(got[i])
				b += float64(want[i])
			}
			if d := math.Abs(a-b) / float64(plane); d > 1 {
				t.Errorf("colour JPEG channel %d: mean %.2f levels from PIL's", c, d)
			}
		}
	}
}

func TestDecodeLimitsAndErrors(t *testing.T) {
	var buf bytes.Buffer
	png.Encode(&buf, randomGray(100, 50, 6))
	data := buf.Bytes()
	if _, err := DecodeBytes(data, Limits{MaxBytes: 1 << 20, MaxPixels: 4999}); err == nil || !strings.Contains(err.Error(), "100x50 pixels: more than 4999") {
		t.Errorf("pixel limit: %v", err)
	}
	if _, err := Decode(bytes.NewReader(data), Limits{MaxBytes: 10, MaxPixels: 1 << 20}); err == nil || !strings.Contains(err.Error(), "larger than 10 bytes") {
		t.Errorf("byte limit: %v", err)
	}
	_, err := DecodeBytes([]byte("GIF89a..."), DefaultLimits())
	if !errors.Is(err, ErrFormat) {
		t.Errorf("not an image: %v", err)
	}
	_, err = DecodeBytes(data[:len(data)/2], DefaultLimits())
	if err == nil || strings.ContainsAny(err.Error(), "\n") {
		t.Errorf("truncated PNG: %v", err)
	}
	if _, err := DecodeFile(filepath.Join(t.TempDir(), "none.png"), DefaultLimits()); err == nil {
		t.Error("missing file accepted")
	}
}

func TestSpecValidateAndMetadata(t *testing.T) {
	md := &modelmeta.Metadata{Architecture: "x", Labels: []string{"a"}, InputChannels: 1, Mean: fashionMean, Std: fashionStd, InputHeight: 28, InputWidth: 28}
	s := FromMetadata(md)
	if err := s.Validate(); err != nil || s.Len() != 784 {
		t.Fatalf("spec %+v: %v", s, err)
	}
	bad := []Spec{
		{Channels: 0},
		{Channels: 1, Mean: []float32{0}, Std: []float32{0}, Height: 1, Width: 1},
		{Channels: 2, Mean: []float32{0}, Std: []float32{1}, Height: 1, Width: 1},
		{Channels: 1, Mean: []float32{float32(math.NaN())}, Std: []float32{1}, Height: 1, Width: 1},
		{Channels: 1, Mean: []float32{0}, Std: []float32{1}, Height: 0, Width: 1},
		{Channels: 1, Mean: []float32{0}, Std: []float32{1}, Height: 1, Width: 1 << 15},
	}
	for i, b := range bad {
		if err := b.Validate(); err == nil {
			t.Errorf("bad spec %d accepted", i)
		}
		if _, err := b.Tensor(randomGray(2, 2, 1), nil); err == nil {
			t.Errorf("bad spec %d: Tensor accepted it", i)
		}
	}
	for _, n := range []string{"bilinear", "Nearest", "bicubic", "lanczos3"} {
		if i, err := ParseInterpolation(n); err != nil || !strings.EqualFold(i.String(), n) {
			t.Errorf("ParseInterpolation(%q) = %v, %v", n, i, err)
		}
	}
	if _, err := ParseInterpolation("cubic"); err == nil {
		t.Error("unknown interpolation accepted")
	}
}

// TestCenterCropAndSubImages: a centred crop keeps the middle; sub-images
// (origin not at 0) are read from their bounds.
func TestCenterCropAndSubImages(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 30, 10))
	for y := range 10 {
		for x := range 30 {
			if x >= 10 && x < 20 {
				img.Pix[y*30+x] = 255
			}
		}
	}
	s := Spec{Channels: 1, Mean: []float32{0}, Std: []float32{1}, Height: 10, Width: 10, CenterCrop: true}
	v, err := s.Tensor(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range v {
		if x != 1 {
			t.Fatalf("crop value %d is %v, want the white middle", i, x)
		}
	}
	sub := img.SubImage(image.Rect(10, 2, 20, 8))
	s = Spec{Channels: 3, Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}, Height: 6, Width: 10}
	if v, err = s.Tensor(sub, make([]float32, 3)); err != nil || len(v) != 180 || v[0] != 1 || v[179] != 1 {
		t.Errorf("sub-image: %d values, %v", len(v), err)
	}
	rgb := randomRGB(20, 20, 9).SubImage(image.Rect(5, 5, 15, 15))
	s = Spec{Channels: 1, Mean: []float32{0}, Std: []float32{1}, Height: 10, Width: 10}
	if _, err := s.Tensor(rgb, nil); err != nil {
		t.Error(err)
	}
}
