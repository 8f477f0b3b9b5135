package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// V4L2 pixel formats (fourcc codes) the camera package reads.
const (
	PixMJPEG = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	PixJPEG  = 'J' | 'P'<<8 | 'E'<<16 | 'G'<<24
	PixYUYV  = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
)

// FourCC spells a pixel format code: "MJPG".
func FourCC(code uint32) string {
	b := []byte{byte(code), byte(code >> 8), byte(code >> 16), byte(code >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return strings.TrimRight(string(b), " ")
}

// Capability is what VIDIOC_QUERYCAP reports.
type Capability struct {
	Driver, Card, BusInfo string
	Caps                  uint32 // the device node's capabilities (device_caps when provided)
}

// V4L2 capability bits.
const (
	CapVideoCapture = 0x00000001
	CapStreaming    = 0x04000000
	CapDeviceCaps   = 0x80000000
)

// FormatDesc is one entry of VIDIOC_ENUM_FMT.
type FormatDesc struct {
	PixelFormat uint32
	Description string
	Compressed  bool
}

// PixFormat is the single-planar capture format (struct v4l2_pix_format).
type PixFormat struct {
	Width, Height uint32
	PixelFormat   uint32
	BytesPerLine  uint32
	SizeImage     uint32
	Quantization  uint32 // 0 default (limited for YUV), 1 full range, 2 limited range
}

// V4L2 quantization values.
const quantFullRange = 1

// Device is the V4L2 ioctl surface that V4L2Source drives: the real one
// (OpenDevice, Linux) issues ioctls on /dev/videoN; tests use a fake.
type Device interface {
	QueryCap() (Capability, error)
	EnumFormats() ([]FormatDesc, error)
	SetFormat(PixFormat) (PixFormat, error) // VIDIOC_S_FMT: the driver may adjust the size
	RequestBuffers(n int) (int, error)      // VIDIOC_REQBUFS, memory-mapped; 0 frees them
	MapBuffer(i int) ([]byte, error)        // VIDIOC_QUERYBUF and mmap
	Queue(i int) error                      // VIDIOC_QBUF
	// Dequeue waits up to timeout (poll) for a filled buffer and
	// dequeues it (VIDIOC_DQBUF): its index, the bytes used, and whether
	// the driver flagged it as corrupt. ErrTimeout when none came.
	Dequeue(timeout time.Duration) (index, n int, bad bool, err error)
	StreamOn() error
	StreamOff() error
	Close() error // unmaps the buffers and closes the node
}

// ErrTimeout is returned by Device.Dequeue when no frame came in time.
var ErrTimeout = errors.New("v4l2: no frame within the timeout")

// V4L2Config chooses the capture format.
type V4L2Config struct {
	Path          string
	Width, Height int    // requested size (default 640x480); the driver picks the nearest
	PixelFormat   uint32 // PixMJPEG or PixYUYV; 0 prefers MJPEG, then YUYV
	Buffers       int    // mmap buffers (default 4)
	// FrameTimeout is how long a stalled stream may go without a frame
	// before it counts as broken (default 5 s).
	FrameTimeout time.Duration
}

// V4L2Source captures from a V4L2 device through memory-mapped buffers.
type V4L2Source struct {
	cfg    V4L2Config
	dev    Device
	cap    Capability
	format PixFormat
	bufs   [][]byte
	seq    uint64
	mu     sync.Mutex // held while a buffer is dequeued: Close waits for it
	closed bool
}

// OpenV4L2 opens cfg.Path with open (OpenDevice on Linux), negotiates the
// format, maps and queues the buffers and starts streaming.
func OpenV4L2(cfg V4L2Config, open func(path string) (Device, error)) (*V4L2Source, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		cfg.Width, cfg.Height = 640, 480
	}
	if cfg.Buffers <= 0 {
		cfg.Buffers = 4
	}
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = 5 * time.Second
	}
	dev, err := open(cfg.Path)
	if err != nil {
		return nil, err
	}
	s := &V4L2Source{cfg: cfg, dev: dev}
	if err := s.start(); err != nil {
		dev.Close()
		return nil, fmt.Errorf("camera: %s: %w", cfg.Path, err)
	}
	return s, nil
}

func (s *V4L2Source) start() error {
	c, err := s.dev.QueryCap()
	if err != nil {
		return fmt.Errorf("VIDIOC_QUERYCAP: %w", err)
	}
	s.cap = c
	if c.Caps&CapVideoCapture == 0 {
		return fmt.Errorf("%s (%s) is not a video capture device", c.Card, c.Driver)
	}
	if c.Caps&CapStreaming == 0 {
		return fmt.Errorf("%s (%s) does not support streaming I/O", c.Card, c.Driver)
	}
	descs, err := s.dev.EnumFormats()
	if err != nil {
		return fmt.Errorf("VIDIOC_ENUM_FMT: %w", err)
	}
	pix, err := chooseFormat(descs, s.cfg.PixelFormat)
	if err != nil {
		return err
	}
	got, err := s.dev.SetFormat(PixFormat{Width: uint32(s.cfg.Width), Height: uint32(s.cfg.Height), PixelFormat: pix})
	if err != nil {
		return fmt.Errorf("VIDIOC_S_FMT %s %dx%d: %w", FourCC(pix), s.cfg.Width, s.cfg.Height, err)
	}
	if got.PixelFormat != pix {
		return fmt.Errorf("driver switched %s to %s", FourCC(pix), FourCC(got.PixelFormat))
	}
	if got.Width == 0 || got.Height == 0 || got.Width > 1<<14 || got.Height > 1<<14 {
		return fmt.Errorf("driver set an unusable size %dx%d", got.Width, got.Height)
	}
	if pix == PixYUYV {
		if got.BytesPerLine < 2*got.Width {
			got.BytesPerLine = 2 * got.Width
		}
		if got.Width%2 != 0 {
			return fmt.Errorf("YUYV with odd width %d", got.Width)
		}
	}
	s.format = got
	n, err := s.dev.RequestBuffers(s.cfg.Buffers)
	if err != nil {
		return fmt.Errorf("VIDIOC_REQBUFS: %w", err)
	}
	if n < 2 {
		return fmt.Errorf("driver granted %d buffers, need at least 2", n)
	}
	for i := 0; i < n; i++ {
		b, err := s.dev.MapBuffer(i)
		if err != nil {
			return fmt.Errorf("buffer %d: %w", i, err)
		}
		s.bufs = append(s.bufs, b)
	}
	for i := range s.bufs {
		if err := s.dev.Queue(i); err != nil {
			return fmt.Errorf("VIDIOC_QBUF %d: %w", i, err)
		}
	}
	if err := s.dev.StreamOn(); err != nil {
		return fmt.Errorf("VIDIOC_STREAMON: %w", err)
	}
	return nil
}

// chooseFormat picks want if the device offers it, else MJPEG, else YUYV.
func chooseFormat(descs []FormatDesc, want uint32) (uint32, error) {
	offered := map[uint32]bool{}
	var names []string
	for _, d := range descs {
		offered[d.PixelFormat] = true
		names = append(names, FourCC(d.PixelFormat))
	}
	list := strings.Join(names, ", ")
	if list == "" {
		list = "none"
	}
	if want != 0 {
		if offered[want] {
			return want, nil
		}
		return 0, fmt.Errorf("device does not offer %s (it offers %s)", FourCC(want), list)
	}
	for _, p := range []uint32{PixMJPEG, PixJPEG, PixYUYV} {
		if offered[p] {
			return p, nil
		}
	}
	hint := ""
	for _, n := range names {
		if len(n) == 4 && (n[0] == 'p' || n[0] == 'R' || n[0] == 'B' || n[0] == 'G') {
			hint = " (raw Bayer: a Raspberry Pi camera module goes through libcamera; pipe `rpicam-vid -t 0 --codec mjpeg -o -` into `edge camera -`)"
			break
		}
	}
	return 0, fmt.Errorf("no MJPEG or YUYV format (device offers %s)%s", list, hint)
}

// Format is the negotiated capture format.
func (s *V4L2Source) Format() PixFormat { return s.format }

// Capability is what the device reported.
func (s *V4L2Source) Capability() Capability { return s.cap }

// Next implements Source: it waits for a filled buffer, copies the frame
// out and gives the buffer back to the driver.
func (s *V4L2Source) Next(ctx context.Context) (Frame, error) {
	deadline := time.Now().Add(s.cfg.FrameTimeout)
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		f, retry, err := s.next()
		if !retry {
			return f, err
		}
		if time.Now().After(deadline) {
			return Frame{}, fmt.Errorf("%s: no frame for %v", s.cfg.Path, s.cfg.FrameTimeout)
		}
	}
}

// next dequeues one buffer, copies it out and queues it again; retry is
// set when no frame came within the poll period.
func (s *V4L2Source) next() (f Frame, retry bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Frame{}, false, io.EOF
	}
	i, n, bad, err := s.dev.Dequeue(200 * time.Millisecond)
	if err == ErrTimeout {
		return Frame{}, true, nil
	}
	if err != nil {
		return Frame{}, false, fmt.Errorf("%s: %w", s.cfg.Path, err)
	}
	if i < 0 || i >= len(s.bufs) {
		return Frame{}, false, fmt.Errorf("%s: driver returned buffer %d of %d", s.cfg.Path, i, len(s.bufs))
	}
	var ferr error
	switch {
	case bad:
		ferr = corrupt("driver flagged buffer %d as corrupt", i)
	case n <= 0 || n > len(s.bufs[i]):
		ferr = corrupt("buffer %d has %d bytes used of %d", i, n, len(s.bufs[i]))
	default:
		data := make([]byte, n)
		copy(data, s.bufs[i][:n])
		s.seq++
		f = Frame{Seq: s.seq, Time: time.Now(), Data: data}
		if s.format.PixelFormat == PixYUYV {
			f.Format, f.Width, f.Height, f.Stride = FormatYUYV, int(s.format.Width), int(s.format.Height), int(s.format.BytesPerLine)
			f.FullRange = s.format.Quantization == quantFullRange
		}
	}
	if err := s.dev.Queue(i); err != nil {
		return Frame{}, false, fmt.Errorf("%s: VIDIOC_QBUF: %w", s.cfg.Path, err)
	}
	return f, false, ferr
}

// Close stops streaming, frees the buffers and closes the device. It
// waits for a Next in progress to let go of the buffers.
func (s *V4L2Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.dev.StreamOff()
	err := s.dev.Close()
	return err
}

func (s *V4L2Source) String() string { return s.cfg.Path }
