package camera

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"testing"
)

// Seeds live in testdata/fuzz/<Target> (stream fixtures, cut and
// garbled streams, multipart framings); the f.Add calls cover the rest.

// FuzzSplitter: whatever the bytes, the splitter ends, every frame it
// returns is SOI … EOI within the bound, and it never returns more bytes
// than it read.
func FuzzSplitter(f *testing.F) {
	for _, n := range []string{"plain.jpg", "progressive.jpg", "exif_thumb.jpg"} {
		b, err := readFixture(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(0))
		f.Add(append(append([]byte("junk"), b[:len(b)/3]...), b...), uint16(len(b)))
	}
	f.Fuzz(func(t *testing.T, data []byte, max16 uint16) {
		max := int(max16)
		if max < 4 {
			max = 1 << 16
		}
		sp := NewSplitter(bytes.NewReader(data), max)
		total := 0
		for calls := 0; ; calls++ {
			if calls > 4*len(data)+10 {
				t.Fatalf("no end after %d calls on %d bytes", calls, len(data))
			}
			fr, err := sp.Next()
			if errors.Is(err, ErrCorrupt) {
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if len(fr) < 4 || len(fr) > max || !bytes.HasPrefix(fr, []byte{0xff, 0xd8}) || !bytes.HasSuffix(fr, []byte{0xff, 0xd9}) {
				t.Fatalf("bad frame of %d bytes (max %d): % x…", len(fr), max, fr[:min(len(fr), 8)])
			}
			total += len(fr)
		}
		if total > len(data) {
			t.Fatalf("returned %d bytes from %d", total, len(data))
		}
	})
}

// FuzzMultipart: any body, any boundary: the reader ends, parts respect
// the bound, and it returns no more bytes than it read.
func FuzzMultipart(f *testing.F) {
	jpg, err := readFixture("plain.jpg")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(append([]byte("--b\r\nContent-Type: image/jpeg\r\n\r\n"), jpg...), "\r\n--b--\r\n"...), "b", uint16(0))
	f.Add([]byte("--b\nContent-Length: 3\n\nabc\n--b\nContent-Length: 99999\n\nx\n--b--"), "--b", uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, boundary string, max16 uint16) {
		max := int(max16)
		if max < 1 {
			max = 1 << 16
		}
		m := NewMultipartReader(bytes.NewReader(data), boundary, max)
		total := 0
		for calls := 0; ; calls++ {
			if calls > len(data)+10 {
				t.Fatalf("no end after %d calls on %d bytes", calls, len(data))
			}
			p, err := m.NextPart()
			if errors.Is(err, ErrCorrupt) {
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if len(p.Body) > max {
				t.Fatalf("part of %d bytes, max %d", len(p.Body), max)
			}
			total += len(p.Body)
		}
		if total > len(data) {
			t.Fatalf("returned %d bytes from %d", total, len(data))
		}
	})
}

// FuzzMultipartRoundTrip: bodies framed by mime/multipart's writer come
// back unchanged, with and without Content-Length.
func FuzzMultipartRoundTrip(f *testing.F) {
	f.Add([]byte("abc"), []byte("\r\n--x\r\n"), true)
	f.Add([]byte{}, []byte("\xff\xd8\xff\xd9"), false)
	f.Fuzz(func(t *testing.T, a, b []byte, withLength bool) {
		const boundary = "Zq7boundary"
		if bytes.Contains(a, []byte("--"+boundary)) || bytes.Contains(b, []byte("--"+boundary)) {
			t.Skip("a body holding the delimiter is ambiguous without Content-Length")
		}
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.SetBoundary(boundary)
		for _, body := range [][]byte{a, b} {
			h := textproto.MIMEHeader{}
			if withLength {
				h.Set("Content-Length", itoa(len(body)))
			}
			pw, _ := w.CreatePart(h)
			pw.Write(body)
		}
		w.Close()
		m := NewMultipartReader(&buf, boundary, 1<<20)
		for i, want := range [][]byte{a, b} {
			p, err := m.NextPart()
			if err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
			if !bytes.Equal(p.Body, want) {
				t.Fatalf("part %d: got %q, want %q", i, p.Body, want)
			}
		}
		if _, err := m.NextPart(); err != io.EOF {
			t.Fatalf("after the last part: %v", err)
		}
	})
}

// FuzzDecode: frames of any bytes and geometry decode or fail with a
// CorruptError, without allocating for sizes beyond MaxPixels.
func FuzzDecode(f *testing.F) {
	jpg, _ := readFixture("plain.jpg")
	f.Add(jpg, uint8(0), uint16(0), uint16(0), uint16(0))
	f.Add([]byte{16, 128, 235, 128}, uint8(1), uint16(2), uint16(1), uint16(4))
	f.Fuzz(func(t *testing.T, data []byte, format uint8, w, h, stride uint16) {
		fr := Frame{Format: Format(format % 3), Width: int(w), Height: int(h), Stride: int(stride), Data: data}
		img, err := fr.Decode()
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not a CorruptError", err)
			}
			return
		}
		if b := img.Bounds(); b.Dx()*b.Dy() > MaxPixels || b.Empty() {
			t.Fatalf("image %v", b)
		}
	})
}
