package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"time"
)

// Format is the encoding of a frame's bytes.
type Format int

const (
	// FormatJPEG is one baseline or progressive JPEG image (an MJPEG frame).
	FormatJPEG Format = iota
	// FormatYUYV is packed 4:2:2 YUV (V4L2_PIX_FMT_YUYV): Y0 U Y1 V per
	// two pixels, Stride bytes per line.
	FormatYUYV
)

func (f Format) String() string {
	switch f {
	case FormatJPEG:
		return "MJPEG"
	case FormatYUYV:
		return "YUYV"
	}
	return fmt.Sprintf("format %d", int(f))
}

// Frame is one captured frame. Data is owned by the frame (sources copy
// out of their buffers).
type Frame struct {
	Seq    uint64    // capture order, from 1, per source
	Time   time.Time // when the source delivered it
	Format Format
	Width  int // raw formats only; a JPEG carries its own size
	Height int
	Stride int // raw formats: bytes per line
	// FullRange: raw YUV uses 0-255 (JPEG range); otherwise the BT.601
	// limited range (Y 16-235, Cb/Cr 16-240) that V4L2 defaults to for
	// YUV, which Decode expands to full range.
	FullRange bool
	Data      []byte
}

// ErrCorrupt marks a bad frame: a stream cut mid-JPEG, an oversized or
// undecodable frame. Such errors are counted and the frame skipped; the
// stream goes on.
var ErrCorrupt = errors.New("corrupt frame")

// CorruptError describes one bad frame. errors.Is(err, ErrCorrupt) holds.
type CorruptError struct {
	Reason string
}

func (e *CorruptError) Error() string     { return "corrupt frame: " + e.Reason }
func (e *CorruptError) Is(err error) bool { return err == ErrCorrupt }

func corrupt(format string, args ...any) error {
	return &CorruptError{Reason: fmt.Sprintf(format, args...)}
}

// MaxPixels bounds the size a JPEG header may claim before Decode
// allocates for it (64 megapixels).
const MaxPixels = 64 << 20

// Decode turns the frame into an image: JPEG through image/jpeg (adding
// the standard Huffman tables that many UVC webcams leave out of their
// MJPEG frames), YUYV into an image.YCbCr with 4:2:2 subsampling without
// colour conversion. Errors are CorruptErrors.
func (f *Frame) Decode() (image.Image, error) {
	switch f.Format {
	case FormatJPEG:
		return decodeJPEG(f.Data)
	case FormatYUYV:
		return decodeYUYV(f.Data, f.Width, f.Height, f.Stride, f.FullRange)
	}
	return nil, corrupt("unknown format %v", f.Format)
}

func decodeJPEG(b []byte) (image.Image, error) {
	b = WithDefaultHuffman(b)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, corrupt("jpeg: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, corrupt("jpeg: %dx%d is beyond the %d-pixel limit", cfg.Width, cfg.Height, MaxPixels)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, corrupt("jpeg: %v", err)
	}
	return img, nil
}

var identity = func() (t [256]uint8) {
	for i := range t {
		t[i] = uint8(i)
	}
	return
}()

// limitedY and limitedC expand BT.601 limited-range samples to full range.
var limitedY, limitedC = func() (y, c [256]uint8) {
	for i := range 256 {
		y[i] = uint8(max(0, min(255, ((i-16)*255*2+219)/(219*2))))
		c[i] = uint8(max(0, min(255, 128+((i-128)*255*2+sign(i-128)*224)/(224*2))))
	}
	return
}()

func sign(x int) int {
	if x < 0 {
		return -1
	}
	return 1
}

func decodeYUYV(b []byte, w, h, stride int, full bool) (image.Image, error) {
	if stride == 0 {
		stride = 2 * w
	}
	if w <= 0 || h <= 0 || w%2 != 0 || stride < 2*w || int64(w)*int64(h) > MaxPixels {
		return nil, corrupt("yuyv: bad geometry %dx%d stride %d", w, h, stride)
	}
	if need := stride*(h-1) + 2*w; len(b) < need {
		return nil, corrupt("yuyv: %d bytes, %dx%d needs %d", len(b), w, h, need)
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	ly, lc := &limitedY, &limitedC
	if full {
		ly, lc = &identity, &identity
	}
	for y := 0; y < h; y++ {
		src := b[y*stride : y*stride+2*w]
		yrow := img.Y[y*img.YStride : y*img.YStride+w]
		cb := img.Cb[y*img.CStride : y*img.CStride+w/2]
		cr := img.Cr[y*img.CStride : y*img.CStride+w/2]
		for x := 0; x < w/2; x++ {
			p := src[4*x : 4*x+4]
			yrow[2*x] = ly[p[0]]
			cb[x] = lc[p[1]]
			yrow[2*x+1] = ly[p[2]]
			cr[x] = lc[p[3]]
		}
	}
	return img, nil
}

// WithDefaultHuffman returns b with the standard Huffman tables of ITU
// T.81 Annex K.3 inserted after SOI when the JPEG has no DHT segment
// before its first SOS: the "AVI1" MJPEG that UVC webcams send omits them.
// Well-formed JPEGs, and data it cannot parse, are returned unchanged.
func WithDefaultHuffman(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return b
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return b
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xc4: // DHT
			return b
		case m == 0xda: // SOS without DHT
			out := make([]byte, 0, len(b)+len(defaultDHT))
			out = append(out, b[:2]...)
			out = append(out, defaultDHT...)
			return append(out, b[2:]...)
		case m == 0xd9 || m == 0x01 || m >= 0xd0 && m <= 0xd7:
			i += 2
			continue
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if n < 2 {
			return b
		}
		i += 2 + n
	}
	return b
}

// defaultDHT is one DHT segment holding the four tables of T.81 Annex K.3
// (luminance DC, luminance AC, chrominance DC, chrominance AC).
var defaultDHT = func() []byte {
	type table struct {
		class  byte // 0 DC, 1 AC
		id     byte
		counts [16]byte
		values []byte
	}
	tables := []table{
		{0, 0, [16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{1, 0, [16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125}, []byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		}},
		{0, 1, [16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{1, 1, [16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119}, []byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		}},
	}
	var body []byte
	for _, t := range tables {
		body = append(body, t.class<<4|t.id)
		body = append(body, t.counts[:]...)
		body = append(body, t.values...)
	}
	n := len(body) + 2
	return append([]byte{0xff, 0xc4, byte(n >> 8), byte(n)}, body...)
}()
