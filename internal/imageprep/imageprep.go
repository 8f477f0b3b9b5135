package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // the decoders Decode accepts
	_ "image/png"
	"io"
	"math"
	"os"
	"strings"

	"github.com/nfnt/resize"

	"github.com/piresnet/piresnet/internal/modelmeta"
)

// Limits bound what Decode accepts.
type Limits struct {
	MaxBytes  int64 // encoded size
	MaxPixels int64 // width × height the header may claim
}

// DefaultLimits accept a 256 MB file of up to 100 megapixels.
func DefaultLimits() Limits { return Limits{MaxBytes: 256 << 20, MaxPixels: 100 << 20} }

// ErrFormat is wrapped by Decode's errors for data that is not a JPEG or
// PNG image it can decode.
var ErrFormat = errors.New("not a JPEG or PNG image")

// Decode reads a JPEG or PNG image. The header is read first and the size
// it claims checked against lim before the pixels are decoded.
func Decode(r io.Reader, lim Limits) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("image is larger than %d bytes", lim.MaxBytes)
	}
	return DecodeBytes(data, lim)
}

// DecodeBytes is Decode on data in memory.
func DecodeBytes(data []byte, lim Limits) (image.Image, error) {
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("image is larger than %d bytes", lim.MaxBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, oneLine(err))
	}
	if format != "jpeg" && format != "png" {
		return nil, fmt.Errorf("%w: format %s", ErrFormat, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s image of %dx%d pixels", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
		return nil, fmt.Errorf("%s image of %dx%d pixels: more than %d pixels", format, cfg.Width, cfg.Height, lim.MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", format, oneLine(err))
	}
	return img, nil
}

// DecodeFile decodes the image file at path; errors name the file.
func DecodeFile(path string, lim Limits) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imageprep: %v", err)
	}
	defer f.Close()
	img, err := Decode(f, lim)
	if err != nil {
		return nil, fmt.Errorf("imageprep: %s: %w", path, err)
	}
	return img, nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// Interpolation is the resampling filter of a resize (github.com/nfnt/resize).
type Interpolation int

// The filters. Bilinear is the default: for downscaling nfnt/resize widens
// it with the scale (an antialiasing filter); for upscaling it is the
// half-pixel bilinear interpolation of torch's align_corners=False.
const (
	Bilinear Interpolation = iota
	Nearest
	Bicubic
	Lanczos3
)

var interpNames = []string{"bilinear", "nearest", "bicubic", "lanczos3"}

func (i Interpolation) String() string {
	if i >= 0 && int(i) < len(interpNames) {
		return interpNames[i]
	}
	return fmt.Sprintf("interpolation(%d)", int(i))
}

// ParseInterpolation reads bilinear, nearest, bicubic or lanczos3.
func ParseInterpolation(s string) (Interpolation, error) {
	for i, n := range interpNames {
		if strings.EqualFold(s, n) {
			return Interpolation(i), nil
		}
	}
	return 0, fmt.Errorf("imageprep: interpolation %q: want %s", s, strings.Join(interpNames, ", "))
}

func (i Interpolation) nfnt() resize.InterpolationFunction {
	switch i {
	case Nearest:
		return resize.NearestNeighbor
	case Bicubic:
		return resize.Bicubic
	case Lanczos3:
		return resize.Lanczos3
	}
	return resize.Bilinear
}

// Spec is a model's preprocessing: the input size, the channels and the
// normalization of its metadata (internal/modelmeta).
//
//  1. Channels: a grey image feeding a 3-channel model is repeated in every
//     channel; a colour image feeding a 1-channel model is reduced to ITU-R
//     BT.601 luma on its 8-bit (gamma-encoded) values, Y = (19595·R +
//     38470·G + 7471·B + 2^15) >> 16 — 0.299, 0.587, 0.114 in 16-bit fixed
//     point, the same integer formula as PIL's Image.convert("L"). Pixels
//     with alpha are taken premultiplied, as if over black.
//  2. Size: the image is resized to Height × Width (stretched, without
//     keeping its aspect ratio, unless CenterCrop) with nfnt/resize's Interp
//     filter, in 8 bits per channel; an image already at that size is used
//     as is.
//  3. Normalization: every 8-bit value v becomes (float32(v)/255 − Mean[c])
//     / Std[c], in float32 (one rounding per operation: the same result on
//     every architecture and as torch's (x/255 − mean)/std in float32).
//
// The tensor is float32 NCHW.
type Spec struct {
	Channels      int
	Mean, Std     []float32 // one per channel
	Height, Width int
	Interp        Interpolation
	// CenterCrop crops the largest centred region of the target's aspect
	// ratio before resizing, instead of stretching.
	CenterCrop bool
}

// FromMetadata returns the preprocessing a model's metadata describes at
// its suggested input size.
func FromMetadata(md *modelmeta.Metadata) Spec {
	return Spec{Channels: md.InputChannels, Mean: md.Mean, Std: md.Std, Height: md.InputHeight, Width: md.InputWidth}
}

// maxSide bounds a Spec's sides.
const maxSide = 1 << 14

// Validate checks that the spec is usable: 1 to 64 channels with one mean
// and one positive std each, sides from 1 to 16384.
func (s Spec) Validate() error {
	if s.Channels < 1 || s.Channels > 64 {
		return fmt.Errorf("imageprep: %d channels: want 1 to 64", s.Channels)
	}
	if len(s.Mean) != s.Channels || len(s.Std) != s.Channels {
		return fmt.Errorf("imageprep: %d channels need %d mean and std values, have %d and %d", s.Channels, s.Channels, len(s.Mean), len(s.Std))
	}
	for c := range s.Std {
		if m := float64(s.Mean[c]); math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("imageprep: mean[%d] = %v", c, s.Mean[c])
		}
		if v := float64(s.Std[c]); !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("imageprep: std[%d] = %v must be positive", c, s.Std[c])
		}
	}
	if s.Height < 1 || s.Width < 1 || s.Height > maxSide || s.Width > maxSide {
		return fmt.Errorf("imageprep: size %dx%d: want sides from 1 to %d", s.Height, s.Width, maxSide)
	}
	return nil
}

// Len is the number of floats one image becomes: Channels·Height·Width.
func (s Spec) Len() int { return s.Channels * s.Height * s.Width }

// Tensor preprocesses img into dst (grown if shorter than s.Len()) and
// returns it: [Channels][Height][Width] float32, the layout of one image of
// an NCHW batch.
func (s Spec) Tensor(img image.Image, dst []float32) ([]float32, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("imageprep: empty image")
	}
	if cap(dst) < s.Len() {
		dst = make([]float32, s.Len())
	}
	dst = dst[:s.Len()]
	if s.CenterCrop {
		img = centerCrop(img, s.Height, s.Width)
	}
	plane := s.Height * s.Width
	if s.Channels == 1 || isGrey(img) {
		g := toGray(img)
		g = s.resizeGray(g)
		for c := range s.Channels {
			normalize(dst[c*plane:(c+1)*plane], g.Pix, g.Stride, s.Width, s.Height, 1, s.Mean[c], s.Std[c])
		}
		return dst, nil
	}
	rgba := toRGBA(img)
	rgba = s.resizeRGBA(rgba)
	for c := range s.Channels {
		// Channels beyond the third (RGB plus extra planes) repeat blue:
		// there is no image format here with more than three colours.
		off := min(c, 2)
		normalize(dst[c*plane:(c+1)*plane], rgba.Pix[off:], rgba.Stride, s.Width, s.Height, 4, s.Mean[c], s.Std[c])
	}
	return dst, nil
}

// normalize writes (float32(v)/255 − mean)/std for a w×h plane of 8-bit
// values read every step bytes along rows of stride bytes.
func normalize(dst []float32, pix []byte, stride, w, h, step int, mean, std float32) {
	var table [256]float32
	for v := range table {
		table[v] = (float32(v)/255 - mean) / std
	}
	for y := range h {
		row := pix[y*stride:]
		out := dst[y*w : (y+1)*w]
		for x := range out {
			out[x] = table[row[x*step]]
		}
	}
}

// isGrey reports whether the image is stored as grey values.
func isGrey(img image.Image) bool {
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		return true
	}
	return false
}

// luma is ITU-R BT.601 luma of 8-bit R, G, B (PIL's convert("L")).
func luma(r, g, b uint32) uint8 {
	return uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
}

// toGray returns the image as 8-bit grey, origin (0, 0).
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	if g, ok := img.(*image.Gray); ok && b.Min == (image.Point{}) {
		return g
	}
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	switch src := img.(type) {
	case *image.Gray:
		for y := range b.Dy() {
			copy(out.Pix[y*out.Stride:y*out.Stride+b.Dx()], src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.YCbCr:
		// JPEG: convert each pixel to RGB as image/color does, then luma.
		for y := range b.Dy() {
			for x := range b.Dx() {
				c := src.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				out.Pix[y*out.Stride+x] = luma(uint32(r), uint32(g), uint32(bl))
			}
		}
	default:
		for y := range b.Dy() {
			for x := range b.Dx() {
				c := img.At(b.Min.X+x, b.Min.Y+y)
				if gc, ok := c.(color.Gray); ok {
					out.Pix[y*out.Stride+x] = gc.Y
					continue
				}
				r, g, bl, _ := c.RGBA()
				out.Pix[y*out.Stride+x] = luma(r>>8, g>>8, bl>>8)
			}
		}
	}
	return out
}

// toRGBA returns the image as 8-bit premultiplied RGBA, origin (0, 0).
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	if r, ok := img.(*image.RGBA); ok && b.Min == (image.Point{}) {
		return r
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func (s Spec) resizeGray(g *image.Gray) *image.Gray {
	if g.Rect.Dx() == s.Width && g.Rect.Dy() == s.Height {
		return g
	}
	r := resize.Resize(uint(s.Width), uint(s.Height), g, s.Interp.nfnt())
	if rg, ok := r.(*image.Gray); ok && rg.Rect.Min == (image.Point{}) {
		return rg
	}
	return toGray(r)
}

func (s Spec) resizeRGBA(img *image.RGBA) *image.RGBA {
	if img.Rect.Dx() == s.Width && img.Rect.Dy() == s.Height {
		return img
	}
	return toRGBA(resize.Resize(uint(s.Width), uint(s.Height), img, s.Interp.nfnt()))
}

// centerCrop returns the largest centred part of img with the aspect ratio
// h:w.
func centerCrop(img image.Image, h, w int) image.Image {
	b := img.Bounds()
	cw, ch := b.Dx(), b.Dy()
	if int64(cw)*int64(h) > int64(ch)*int64(w) {
		cw = int(int64(ch) * int64(w) / int64(h))
	} else {
		ch = int(int64(cw) * int64(h) / int64(w))
	}
	cw, ch = max(cw, 1), max(ch, 1)
	x0 := b.Min.X + (b.Dx()-cw)/2
	y0 := b.Min.Y + (b.Dy()-ch)/2
	type subImager interface {
		SubImage(image.Rectangle) image.Image
	}
	if si, ok := img.(subImager); ok {
		return si.SubImage(image.Rect(x0, y0, x0+cw, y0+ch))
	}
	out := image.NewRGBA(image.Rect(0, 0, cw, ch))
	for y := range ch {
		for x := range cw {
			out.Set(x, y, img.At(x0+x, y0+y))
		}
	}
	return out
}
