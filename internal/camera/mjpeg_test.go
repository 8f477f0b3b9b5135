package camera

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type splitResult struct {
	frames  [][]byte
	corrupt []string
	err     error
}

func splitAll(r io.Reader, max int) splitResult {
	var res splitResult
	sp := NewSplitter(r, max)
	for i := 0; i < 10000; i++ {
		f, err := sp.Next()
		if errors.Is(err, ErrCorrupt) {
			res.corrupt = append(res.corrupt, err.Error())
			continue
		}
		if err != nil {
			res.err = err
			return res
		}
		res.frames = append(res.frames, f)
	}
	res.err = errors.New("no end")
	return res
}

// Frames from an independent producer (Pillow/libjpeg), back to back as
// in an MJPEG stream, come out byte-identical: progressive scans with DHT
// between them, and an EXIF thumbnail whose EOI must not end the frame.
func TestSplitterFixtures(t *testing.T) {
	names := []string{"plain.jpg", "progressive.jpg", "exif_thumb.jpg", "plain.jpg"}
	var stream []byte
	var want [][]byte
	for _, n := range names {
		b := fixture(t, n)
		want = append(want, b)
		stream = append(stream, b...)
	}
	for _, r := range []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(stream)},
		{"one-byte reads", iotest.OneByteReader(bytes.NewReader(stream))},
		{"half reads", iotest.HalfReader(bytes.NewReader(stream))},
	} {
		res := splitAll(r.r, 0)
		if res.err != io.EOF || len(res.corrupt) != 0 || len(res.frames) != len(want) {
			t.Fatalf("%s: %d frames, corrupt %q, err %v", r.name, len(res.frames), res.corrupt, res.err)
		}
		for i := range want {
			if !bytes.Equal(res.frames[i], want[i]) {
				t.Errorf("%s: frame %d (%s) differs: %d bytes, want %d", r.name, i, names[i], len(res.frames[i]), len(want[i]))
			}
		}
	}
	for _, f := range [][]byte{fixture(t, "progressive.jpg"), fixture(t, "exif_thumb.jpg")} {
		fr := Frame{Format: FormatJPEG, Data: f}
		img, err := fr.Decode()
		if err != nil || img.Bounds().Dx() != 96 || img.Bounds().Dy() != 64 {
			t.Errorf("decode fixture: %v", err)
		}
	}
}

// Restart markers, stuffed bytes and fill bytes inside entropy-coded data.
func TestSplitterEntropyMarkers(t *testing.T) {
	frame := []byte{
		0xff, 0xd8,
		0xff, 0xdb, 0x00, 0x04, 0xff, 0xd9, // DQT whose payload holds FF D9
		0xff, 0xda, 0x00, 0x03, 0x01, // SOS header
		0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xff, 0xd1, 0x78, 0xff, 0x00,
		0xff, 0xd9,
	}
	// The fill byte FF before D1 is dropped (T.81 B.1.1.2 allows it).
	want := append(append([]byte{}, frame[:21]...), frame[22:]...)
	stream := append(append([]byte("junk\xff\x00\xff"), frame...), frame...)
	res := splitAll(bytes.NewReader(stream), 0)
	if res.err != io.EOF || len(res.frames) != 2 || len(res.corrupt) != 0 {
		t.Fatalf("%d frames, corrupt %q, err %v", len(res.frames), res.corrupt, res.err)
	}
	for _, f := range res.frames {
		if !bytes.Equal(f, want) {
			t.Errorf("got % x\nwant % x", f, want)
		}
	}
}

func TestSplitterFaults(t *testing.T) {
	good := fixture(t, "plain.jpg")
	cut := good[:len(good)/2]
	var stream []byte
	stream = append(stream, "garbage before the first frame"...)
	stream = append(stream, good...)
	stream = append(stream, cut...) // cut by the next SOI
	stream = append(stream, good...)
	stream = append(stream, 0x00, 0x13, 0x37) // garbage between frames
	stream = append(stream, good...)
	stream = append(stream, good[:2]...)
	stream = append(stream, 0x12, 0x34) // broken marker structure
	stream = append(stream, good...)
	stream = append(stream, good[:200]...) // cut inside a header segment
	stream = append(stream, good...)       // whose length swallows this SOI
	stream = append(stream, cut...)        // cut by the end of the stream
	res := splitAll(bytes.NewReader(stream), 0)
	if len(res.frames) != 5 || len(res.corrupt) != 4 || res.err != io.EOF {
		t.Fatalf("%d frames, corrupt %q, err %v", len(res.frames), res.corrupt, res.err)
	}
	for i, f := range res.frames {
		if !bytes.Equal(f, good) {
			t.Errorf("frame %d differs", i)
		}
	}
}

func TestSplitterBound(t *testing.T) {
	small := fixture(t, "plain.jpg")
	big := fixture(t, "exif_thumb.jpg")
	if len(big) <= len(small) {
		t.Fatal("fixture sizes")
	}
	stream := append(append(append([]byte{}, small...), big...), small...)
	res := splitAll(bytes.NewReader(stream), len(small))
	if len(res.frames) != 2 || len(res.corrupt) < 1 || res.err != io.EOF {
		t.Fatalf("%d frames, corrupt %q, err %v", len(res.frames), res.corrupt, res.err)
	}
	for _, f := range res.frames {
		if len(f) > len(small) || !bytes.Equal(f, small) {
			t.Errorf("frame of %d bytes", len(f))
		}
	}
}

// A read error other than EOF is reported after the cut frame.
func TestSplitterReadError(t *testing.T) {
	good := fixture(t, "plain.jpg")
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(good), bytes.NewReader(good[:100]), iotest.ErrReader(boom))
	res := splitAll(r, 0)
	if len(res.frames) != 1 || len(res.corrupt) != 1 || res.err != boom {
		t.Fatalf("%d frames, corrupt %q, err %v", len(res.frames), res.corrupt, res.err)
	}
}
