package camera

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
	"testing/iotest"
)

// writeParts frames bodies with Go's mime/multipart writer (CRLF, an
// independent producer), with or without Content-Length.
func writeParts(t testing.TB, boundary string, bodies [][]byte, withLength bool) []byte {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for _, body := range bodies {
		h := textproto.MIMEHeader{"Content-Type": {"image/jpeg"}}
		if withLength {
			h.Set("Content-Length", fmt.Sprint(len(body)))
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(body)
	}
	w.Close()
	return b.Bytes()
}

func readParts(r io.Reader, boundary string, max int) (parts [][]byte, corrupt int, err error) {
	m := NewMultipartReader(r, boundary, max)
	for i := 0; i < 10000; i++ {
		p, err := m.NextPart()
		if errors.Is(err, ErrCorrupt) {
			corrupt++
			continue
		}
		if err != nil {
			return parts, corrupt, err
		}
		parts = append(parts, p.Body)
	}
	return parts, corrupt, errors.New("no end")
}

func TestMultipartRoundTrip(t *testing.T) {
	bodies := [][]byte{
		fixture(t, "plain.jpg"),
		[]byte("line one\r\n--notTheBoundary\r\n\r\nend\r\n"),
		{},
		fixture(t, "exif_thumb.jpg"),
		bytes.Repeat([]byte("\n"), 70000), // longer than the read buffer
	}
	for _, withLength := range []bool{true, false} {
		for _, one := range []bool{false, true} {
			stream := writeParts(t, "frameBOUNDARY", bodies, withLength)
			var r io.Reader = bytes.NewReader(stream)
			if one {
				r = iotest.OneByteReader(r)
			}
			got, corrupt, err := readParts(r, "frameBOUNDARY", 0)
			if err != io.EOF || corrupt != 0 || len(got) != len(bodies) {
				t.Fatalf("length=%v: %d parts, %d corrupt, err %v", withLength, len(got), corrupt, err)
			}
			for i := range bodies {
				if !bytes.Equal(got[i], bodies[i]) {
					t.Errorf("length=%v part %d: %d bytes, want %d", withLength, i, len(got[i]), len(bodies[i]))
				}
			}
		}
	}
}

// What MJPEG servers send in practice: LF line ends, a boundary parameter
// that already carries "--", junk before the first part, no closing
// delimiter (the stream is cut after the next delimiter line; a part
// that the end of the stream cuts is corrupt).
func TestMultipartLenient(t *testing.T) {
	jpg := fixture(t, "plain.jpg")
	var s bytes.Buffer
	s.WriteString("preamble junk\n")
	for i := 0; i < 3; i++ {
		s.WriteString("--myboundary\nContent-Type: image/jpeg\n\n")
		s.Write(jpg)
		s.WriteString("\n")
	}
	s.WriteString("--myboundary\n")
	got, corrupt, err := readParts(bytes.NewReader(s.Bytes()), "--myboundary", 0)
	if err != io.EOF || corrupt != 0 || len(got) != 3 {
		t.Fatalf("%d parts, %d corrupt, err %v", len(got), corrupt, err)
	}
	for _, g := range got {
		if !bytes.Equal(g, jpg) {
			t.Errorf("part differs: %d bytes", len(g))
		}
	}
}

func TestMultipartFaults(t *testing.T) {
	jpg := fixture(t, "plain.jpg")
	big := bytes.Repeat([]byte{0xaa}, 3*len(jpg))
	var s bytes.Buffer
	part := func(body []byte, length string) {
		s.WriteString("--b\r\nContent-Type: image/jpeg\r\n")
		if length != "" {
			s.WriteString("Content-Length: " + length + "\r\n")
		}
		s.WriteString("\r\n")
		s.Write(body)
		s.WriteString("\r\n")
	}
	part(jpg, "")
	part(big, "")                                       // oversized, no length: skipped
	part(jpg, fmt.Sprint(len(jpg)))                     //
	part(big, fmt.Sprint(len(big)))                     // oversized by its length: skipped
	part(jpg, "bogus")                                  // bad length: read to the delimiter
	s.WriteString("--b\r\nno colon here\r\n\r\nxx\r\n") // bad header
	part(jpg, "")
	s.WriteString("--b\r\nContent-Type: image/jpeg\r\n\r\n")
	s.Write(jpg[:100]) // cut by the end of the stream
	got, corrupt, err := readParts(bytes.NewReader(s.Bytes()), "b", len(jpg)+10)
	if err != io.EOF || len(got) != 4 || corrupt != 4 {
		t.Fatalf("%d parts, %d corrupt, err %v", len(got), corrupt, err)
	}
	for i, g := range got {
		if !bytes.Equal(g, jpg) {
			t.Errorf("part %d differs (%d bytes)", i, len(g))
		}
	}
	if !strings.Contains(NewMultipartReader(nil, "b", 0).String(), `"b"`) {
		t.Error("String")
	}
}
