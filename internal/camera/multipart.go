package camera

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
)

// MultipartReader reads the parts of a multipart/x-mixed-replace body, the
// framing of HTTP MJPEG streams (mjpg-streamer, motion, IP cameras,
// ustreamer). It is lenient where servers differ: a boundary parameter
// given with its leading "--", LF or CRLF line ends, junk before the first
// delimiter, and an optional Content-Length (without one the body runs to
// the next delimiter line). Parts larger than the bound are skipped as
// CorruptErrors.
type MultipartReader struct {
	r       *bufio.Reader
	delims  [][]byte // accepted delimiter lines, without line end
	max     int
	inPart  bool // the delimiter was consumed; headers come next
	err     error
	Skipped int64 // bytes outside parts
}

// Limits on a part's header block.
const (
	maxHeaderLine  = 8 << 10
	maxHeaderLines = 64
)

// NewMultipartReader reads parts separated by boundary (the media type's
// boundary parameter), each at most maxPart bytes (DefaultMaxFrame when
// maxPart <= 0).
func NewMultipartReader(r io.Reader, boundary string, maxPart int) *MultipartReader {
	if maxPart <= 0 {
		maxPart = DefaultMaxFrame
	}
	m := &MultipartReader{r: bufio.NewReaderSize(r, 64<<10), max: maxPart}
	m.delims = append(m.delims, []byte("--"+boundary))
	if strings.HasPrefix(boundary, "--") {
		m.delims = append(m.delims, []byte(boundary))
	}
	return m
}

// Part is one part: its headers (canonical keys) and body.
type Part struct {
	Header textproto.MIMEHeader
	Body   []byte
}

var errClosed = errors.New("closing delimiter")

// NextPart returns the next part, a *CorruptError for a malformed or
// oversized part (call again to go on), io.EOF after the closing
// delimiter or at the end of the body, or the reader's error.
func (m *MultipartReader) NextPart() (Part, error) {
	if m.err != nil {
		return Part{}, m.err
	}
	if !m.inPart {
		if err := m.findDelimiter(); err != nil {
			return Part{}, m.fail(err)
		}
	}
	m.inPart = false
	h, err := m.headers()
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return Part{}, err
		}
		return Part{}, m.fail(err)
	}
	if cl := h.Get("Content-Length"); cl != "" {
		n, perr := strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
		switch {
		case perr != nil || n < 0:
			// Ignore it: read to the delimiter instead.
		case n > int64(m.max):
			return Part{}, corrupt("part of %d bytes exceeds %d", n, m.max)
		default:
			body := make([]byte, n)
			if _, err := io.ReadFull(m.r, body); err != nil {
				if err == io.ErrUnexpectedEOF {
					m.err = io.EOF
				} else {
					m.err = err
				}
				return Part{}, corrupt("stream ended inside a part")
			}
			return Part{Header: h, Body: body}, nil
		}
	}
	body, err := m.bodyToDelimiter()
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return Part{}, err
		}
		if err == errClosed {
			m.err = io.EOF
			return Part{Header: h, Body: body}, nil
		}
		m.err = err
		if err == io.EOF {
			return Part{}, corrupt("stream ended inside a part")
		}
		return Part{}, corrupt("stream broke inside a part: %v", err)
	}
	return Part{Header: h, Body: body}, nil
}

func (m *MultipartReader) fail(err error) error {
	if err == errClosed || err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	m.err = err
	return err
}

// readLine returns the next line including its LF, or a chunk of at most
// the buffer size with full=true when the line is longer.
func (m *MultipartReader) readLine() (line []byte, full bool, err error) {
	line, err = m.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return line, true, nil
	}
	if err == io.EOF && len(line) > 0 {
		return line, false, nil
	}
	return line, false, err
}

// delimiter reports whether line (with its line end) is a delimiter line,
// and whether it is the closing one.
func (m *MultipartReader) delimiter(line []byte) (is, closing bool) {
	t := bytes.TrimRight(line, " \t\r\n")
	for _, d := range m.delims {
		if !bytes.HasPrefix(t, d) {
			continue
		}
		rest := t[len(d):]
		if len(rest) == 0 {
			return true, false
		}
		if bytes.Equal(rest, []byte("--")) {
			return true, true
		}
	}
	return false, false
}

// findDelimiter skips lines up to and including a delimiter line.
func (m *MultipartReader) findDelimiter() error {
	atStart := true
	for {
		line, full, err := m.readLine()
		if err != nil {
			return err
		}
		m.Skipped += int64(len(line))
		if atStart && !full {
			if is, closing := m.delimiter(line); is {
				m.Skipped -= int64(len(line))
				if closing {
					return errClosed
				}
				return nil
			}
		}
		atStart = !full
	}
}

func (m *MultipartReader) headers() (textproto.MIMEHeader, error) {
	h := textproto.MIMEHeader{}
	for i := 0; ; i++ {
		line, full, err := m.readLine()
		if err != nil {
			return nil, err
		}
		if full || len(line) > maxHeaderLine || i >= maxHeaderLines {
			return nil, corrupt("part header too long")
		}
		t := strings.TrimRight(string(line), "\r\n")
		if t == "" {
			return h, nil
		}
		if is, _ := m.delimiter(line); is {
			// An empty part without header end: the next part starts.
			m.inPart = true
			return nil, corrupt("part without body")
		}
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			return nil, corrupt("bad part header line %q", clip(t, 40))
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
}

// bodyToDelimiter reads a body up to the next delimiter line and drops
// the line end that precedes the delimiter.
func (m *MultipartReader) bodyToDelimiter() ([]byte, error) {
	var body []byte
	atStart := true
	tooLarge := false
	for {
		line, full, err := m.readLine()
		if err != nil {
			if tooLarge && err == io.EOF {
				return nil, corrupt("part exceeds %d bytes", m.max)
			}
			return nil, err
		}
		if atStart && !full {
			if is, closing := m.delimiter(line); is {
				if tooLarge {
					m.inPart = !closing
					return nil, corrupt("part exceeds %d bytes", m.max)
				}
				body = trimLineEnd(body)
				if len(body) > m.max {
					m.inPart = !closing
					return nil, corrupt("part exceeds %d bytes", m.max)
				}
				if closing {
					return body, errClosed
				}
				m.inPart = true
				return body, nil
			}
		}
		atStart = !full
		if tooLarge || len(body)+len(line) > m.max+2 {
			tooLarge = true
			m.Skipped += int64(len(line))
			body = nil
			continue
		}
		body = append(body, line...)
	}
}

func trimLineEnd(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// String describes the reader for messages.
func (m *MultipartReader) String() string {
	return fmt.Sprintf("multipart (boundary %q)", strings.TrimPrefix(string(m.delims[0]), "--"))
}
