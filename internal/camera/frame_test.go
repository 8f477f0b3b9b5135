package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// segment returns the offset and length of the first marker segment m.
func findSegment(b []byte, m byte) (int, int) {
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return -1, 0
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if b[i+1] == m {
			return i, 2 + n
		}
		i += 2 + n
	}
	return -1, 0
}

// Go's encoder writes the T.81 Annex K tables in one DHT segment: the
// same bytes as defaultDHT. A frame without them (UVC "AVI1" MJPEG) does
// not decode as is, and decodes to the same pixels once they are added.
func TestDefaultHuffman(t *testing.T) {
	orig := genJPEG(t, 3, 64, 48)
	off, n := findSegment(orig, 0xc4)
	if off < 0 {
		t.Fatal("no DHT in Go's output")
	}
	if !bytes.Equal(orig[off:off+n], defaultDHT) {
		t.Fatalf("defaultDHT differs from image/jpeg's tables")
	}
	stripped := append(append([]byte{}, orig[:off]...), orig[off+n:]...)
	if _, err := jpeg.Decode(bytes.NewReader(stripped)); err == nil {
		t.Fatal("a JPEG without DHT decoded without help; the test proves nothing")
	}
	want, err := jpeg.Decode(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	f := Frame{Format: FormatJPEG, Data: stripped}
	got, err := f.Decode()
	if err != nil {
		t.Fatal(err)
	}
	g, w := got.(*image.YCbCr), want.(*image.YCbCr)
	if !bytes.Equal(g.Y, w.Y) || !bytes.Equal(g.Cb, w.Cb) || !bytes.Equal(g.Cr, w.Cr) {
		t.Error("pixels differ")
	}
	if !bytes.Equal(WithDefaultHuffman(orig), orig) {
		t.Error("a JPEG with DHT was changed")
	}
}

func TestDecodeYUYV(t *testing.T) {
	// 4x2 pixels: Y0 U Y1 V per pair, stride 10 (2 bytes of padding).
	data := []byte{
		16, 100, 50, 150, 80, 110, 90, 160, 0xee, 0xee,
		235, 120, 128, 130, 60, 90, 70, 200, 0xee, 0xee,
	}
	f := Frame{Format: FormatYUYV, Width: 4, Height: 2, Stride: 10, FullRange: true, Data: data}
	img, err := f.Decode()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		x, y     int
		yy, u, v uint8
	}{
		{0, 0, 16, 100, 150}, {1, 0, 50, 100, 150}, {2, 0, 80, 110, 160}, {3, 0, 90, 110, 160},
		{0, 1, 235, 120, 130}, {1, 1, 128, 120, 130}, {2, 1, 60, 90, 200}, {3, 1, 70, 90, 200},
	}
	for _, w := range want {
		got := img.At(w.x, w.y).(color.YCbCr)
		if got != (color.YCbCr{Y: w.yy, Cb: w.u, Cr: w.v}) {
			t.Errorf("(%d,%d) = %v, want Y%d U%d V%d", w.x, w.y, got, w.yy, w.u, w.v)
		}
	}
	for _, bad := range []Frame{
		{Format: FormatYUYV, Width: 4, Height: 2, Stride: 10, Data: data[:15]},
		{Format: FormatYUYV, Width: 3, Height: 2, Data: data},
		{Format: FormatYUYV, Width: 4, Height: 2, Stride: 6, Data: data},
		{Format: FormatYUYV, Width: 1 << 16, Height: 1 << 16, Data: data},
		{Format: FormatJPEG, Data: []byte{0xff, 0xd8, 0xff, 0xd9}},
		{Format: Format(9), Data: data},
	} {
		if _, err := bad.Decode(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%v %dx%d stride %d (%d bytes): err %v", bad.Format, bad.Width, bad.Height, bad.Stride, len(bad.Data), err)
		}
	}
}

// A header claiming a huge image is refused before allocation.
func TestDecodeJPEGPixelLimit(t *testing.T) {
	b := genJPEG(t, 0, 16, 16)
	off, _ := findSegment(b, 0xc0) // SOF0: FF C0 len(2) precision(1) height(2) width(2)
	if off < 0 {
		t.Fatal("no SOF0")
	}
	b[off+5], b[off+6], b[off+7], b[off+8] = 0xff, 0xff, 0xff, 0xff
	f := Frame{Format: FormatJPEG, Data: b}
	if _, err := f.Decode(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("65535x65535 frame: %v", err)
	}
}

// Limited-range YUYV (V4L2's default for YUV) is expanded: Y 16..235 to
// 0..255, Cb/Cr 16..240 to 0..255 around 128 (rounded half away from 128).
func TestDecodeYUYVLimitedRange(t *testing.T) {
	data := []byte{16, 16, 235, 240, 126, 128, 128, 130}
	f := Frame{Format: FormatYUYV, Width: 4, Height: 1, Data: data}
	img, err := f.Decode()
	if err != nil {
		t.Fatal(err)
	}
	y := img.(*image.YCbCr)
	// (Y-16)·255/219 and 128 + (C-128)·255/224, rounded.
	if fmt.Sprint(y.Y, y.Cb, y.Cr) != "[0 255 128 130] [0 128] [255 130]" {
		t.Errorf("Y %v Cb %v Cr %v", y.Y, y.Cb, y.Cr)
	}
}
