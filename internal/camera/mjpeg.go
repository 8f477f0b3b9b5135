package camera

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxFrame bounds one JPEG frame (16 MiB: a 12-megapixel camera
// frame at high quality fits).
const DefaultMaxFrame = 16 << 20

// Splitter cuts an MJPEG byte stream — JPEG images back to back, as
// `rpicam-vid --codec mjpeg -o -` and `ffmpeg -f mjpeg` write them — into
// frames. It follows the JPEG marker structure rather than searching for
// the bytes FF D9, so an EXIF thumbnail inside APP1 does not end a frame:
// marker segments are skipped by their length, entropy-coded data is
// scanned for a marker (FF followed by neither 00 nor RSTn).
//
// Garbage before a frame is skipped (counted in Skipped). A frame that a
// new SOI interrupts, that breaks the marker structure, that the stream
// ends inside, or that exceeds the size bound is reported as a
// CorruptError and the splitter resynchronizes on the next SOI.
type Splitter struct {
	r       *bufio.Reader
	push    []byte // bytes to read again before r (see replay)
	max     int
	buf     []byte
	pending bool  // an SOI was read while inside the previous frame
	err     error // sticky read error, returned once the frame in hand is reported
	// Skipped counts the bytes passed over while looking for a start of
	// image (garbage between frames, the rest of a broken frame).
	Skipped int64
}

// NewSplitter reads frames of at most maxFrame bytes (DefaultMaxFrame
// when maxFrame <= 0) from r.
func NewSplitter(r io.Reader, maxFrame int) *Splitter {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Splitter{r: bufio.NewReaderSize(r, 64<<10), max: maxFrame}
}

// The reads go through push first: after a broken frame, the bytes it
// swallowed are read again from the next SOI found among them.

func (s *Splitter) readByte() (byte, error) {
	if len(s.push) > 0 {
		b := s.push[0]
		s.push = s.push[1:]
		return b, nil
	}
	return s.r.ReadByte()
}

func (s *Splitter) readSlice(delim byte) ([]byte, error) {
	if len(s.push) > 0 {
		if i := bytes.IndexByte(s.push, delim); i >= 0 {
			out := s.push[:i+1]
			s.push = s.push[i+1:]
			return out, nil
		}
		out := s.push
		s.push = nil
		return out, bufio.ErrBufferFull
	}
	return s.r.ReadSlice(delim)
}

func (s *Splitter) readFull(p []byte) (int, error) {
	n := copy(p, s.push)
	s.push = s.push[n:]
	if n < len(p) {
		m, err := io.ReadFull(s.r, p[n:])
		return n + m, err
	}
	return n, nil
}

// replay looks for an SOI among the bytes of the broken frame in buf
// (after its own SOI): a frame cut inside a marker segment swallows the
// start of the next one as payload. When found, the bytes after it are
// read again as the next frame's.
func (s *Splitter) replay() bool {
	k := bytes.Index(s.buf[2:], []byte{0xff, 0xd8})
	if k < 0 {
		return false
	}
	k += 2
	rest := make([]byte, 0, len(s.buf)-k-2+len(s.push))
	rest = append(rest, s.buf[k+2:]...)
	s.push = append(rest, s.push...)
	s.pending = true
	return true
}

// errTooLarge is an internal signal turned into a CorruptError.
var errTooLarge = errors.New("too large")

// Next returns the next complete frame, a fresh slice the caller owns. It
// returns a *CorruptError for a bad frame (call Next again to go on),
// io.EOF at the end of the stream, or the reader's error.
func (s *Splitter) Next() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if !s.pending {
		if err := s.sync(); err != nil {
			s.err = err
			return nil, err
		}
	}
	s.pending = false
	s.buf = append(s.buf[:0], 0xff, 0xd8)
	err := s.frame()
	switch {
	case err == nil:
		out := make([]byte, len(s.buf))
		copy(out, s.buf)
		s.shrink()
		return out, nil
	case errors.Is(err, ErrCorrupt):
		if !s.pending {
			s.replay()
		}
		s.shrink()
		return nil, err
	case err == errTooLarge:
		s.buf = nil
		return nil, corrupt("frame exceeds %d bytes", s.max)
	default: // read error or EOF inside a frame
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		if s.replay() {
			// The end comes again once the swallowed bytes are read.
			return nil, corrupt("frame cut by a new start-of-image")
		}
		s.err = err
		s.shrink()
		if err == io.EOF {
			return nil, corrupt("stream ended inside a frame")
		}
		return nil, corrupt("stream broke inside a frame: %v", err)
	}
}

// shrink drops a scratch buffer far larger than the frames seen, so that
// one huge frame does not pin its memory.
func (s *Splitter) shrink() {
	if cap(s.buf) > 4<<20 && len(s.buf) < cap(s.buf)/4 {
		s.buf = nil
	}
}

// sync discards bytes up to and including the next FF D8.
func (s *Splitter) sync() error {
	for {
		chunk, err := s.readSlice(0xff)
		s.Skipped += int64(len(chunk))
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return err
		}
		// chunk ends with FF; fill bytes FF FF … may precede D8.
		for {
			b, err := s.readByte()
			if err != nil {
				return err
			}
			s.Skipped++
			if b == 0xd8 {
				s.Skipped -= 2 // the SOI belongs to the frame
				return nil
			}
			if b != 0xff {
				break
			}
		}
	}
}

func (s *Splitter) grow(n int) error {
	if len(s.buf)+n > s.max {
		return errTooLarge
	}
	return nil
}

// frame reads from after SOI to EOI.
func (s *Splitter) frame() error {
	for {
		m, err := s.marker()
		if err != nil {
			return err
		}
		if done, err := s.segment(m); done || err != nil {
			return err
		}
	}
}

// marker reads the next marker code in marker position (after SOI or a
// segment): FF, optional fill FFs, code.
func (s *Splitter) marker() (byte, error) {
	b, err := s.readByte()
	if err != nil {
		return 0, err
	}
	if b != 0xff {
		s.buf = append(s.buf, b) // for replay
		return 0, corrupt("expected a marker, found byte %#02x", b)
	}
	for {
		b, err = s.readByte()
		if err != nil {
			return 0, err
		}
		if b != 0xff {
			return b, nil
		}
	}
}

// segment handles marker m (its FF already read): it appends the marker
// and its payload, and reports whether the frame is complete.
func (s *Splitter) segment(m byte) (done bool, err error) {
	switch {
	case m == 0xd8: // SOI inside a frame: this frame was cut; the next starts here
		s.pending = true
		return false, corrupt("frame cut by a new start-of-image after %d bytes", len(s.buf))
	case m == 0xd9: // EOI
		if err := s.grow(2); err != nil {
			return false, err
		}
		s.buf = append(s.buf, 0xff, 0xd9)
		return true, nil
	case m == 0x00:
		s.buf = append(s.buf, 0xff, 0x00) // for replay
		return false, corrupt("stuffed byte FF 00 in marker position")
	case m == 0x01 || m >= 0xd0 && m <= 0xd7: // TEM, RSTn: no payload
		if err := s.grow(2); err != nil {
			return false, err
		}
		s.buf = append(s.buf, 0xff, m)
		return false, nil
	}
	var lb [2]byte
	if k, err := s.readFull(lb[:]); err != nil {
		s.buf = append(s.buf, 0xff, m)
		s.buf = append(s.buf, lb[:k]...)
		return false, err
	}
	n := int(lb[0])<<8 | int(lb[1])
	if n < 2 {
		s.buf = append(s.buf, 0xff, m, lb[0], lb[1]) // for replay
		return false, corrupt("marker %#02x has length %d", m, n)
	}
	if err := s.grow(2 + n); err != nil {
		return false, err
	}
	s.buf = append(s.buf, 0xff, m, lb[0], lb[1])
	start := len(s.buf)
	s.buf = append(s.buf, make([]byte, n-2)...)
	if k, err := s.readFull(s.buf[start:]); err != nil {
		s.buf = s.buf[:start+k]
		return false, err
	}
	if m != 0xda { // not SOS
		return false, nil
	}
	return s.scan()
}

// scan copies entropy-coded data after an SOS header up to the next
// marker, and handles that marker.
func (s *Splitter) scan() (done bool, err error) {
	for {
		chunk, err := s.readSlice(0xff)
		if err != nil && err != bufio.ErrBufferFull {
			return false, err
		}
		if e := s.grow(len(chunk)); e != nil {
			return false, e
		}
		s.buf = append(s.buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		// The last byte appended is FF; look at what follows.
		for {
			b, err := s.readByte()
			if err != nil {
				return false, err
			}
			switch {
			case b == 0x00 || b >= 0xd0 && b <= 0xd7: // stuffed byte or restart marker
				if e := s.grow(1); e != nil {
					return false, e
				}
				s.buf = append(s.buf, b)
			case b == 0xff: // fill byte: the marker code is still to come
				continue
			default: // a marker ends the scan
				s.buf = s.buf[:len(s.buf)-1] // its FF is re-added by segment
				return s.segment(b)
			}
			break
		}
	}
}
