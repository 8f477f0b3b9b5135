package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDevice plays a V4L2 driver: it checks the ioctl order, owns mmap
// buffers, fills queued buffers in FIFO order from a list of frames, and
// can vanish after a number of frames.
type fakeDevice struct {
	mu        sync.Mutex
	caps      uint32
	formats   []FormatDesc
	adjust    func(PixFormat) PixFormat
	grant     int      // buffers granted by REQBUFS (0: as asked)
	frames    [][]byte // cycled
	badEvery  int      // flag every Nth frame as corrupt
	vanishAt  int      // frames delivered before ENODEV (0: never)
	set       PixFormat
	bufs      [][]byte
	queued    []int
	owned     map[int]bool // dequeued, not yet given back
	streaming bool
	closed    bool
	delivered int
	maxOwned  int
	calls     []string
}

func (d *fakeDevice) call(s string) {
	d.calls = append(d.calls, s)
}

func (d *fakeDevice) QueryCap() (Capability, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("QUERYCAP")
	return Capability{Driver: "uvcvideo", Card: "Fake Webcam", BusInfo: "usb-0000:01:00.0-1.2", Caps: d.caps}, nil
}

func (d *fakeDevice) EnumFormats() ([]FormatDesc, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("ENUM_FMT")
	return d.formats, nil
}

func (d *fakeDevice) SetFormat(f PixFormat) (PixFormat, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("S_FMT " + FourCC(f.PixelFormat))
	if d.adjust != nil {
		f = d.adjust(f)
	}
	if f.PixelFormat == PixYUYV {
		f.BytesPerLine = 2 * f.Width
	}
	f.SizeImage = 2 * f.Width * f.Height
	d.set = f
	return f, nil
}

func (d *fakeDevice) RequestBuffers(n int) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call(fmt.Sprintf("REQBUFS %d", n))
	if d.set.PixelFormat == 0 {
		return 0, errors.New("EBUSY: no format set")
	}
	if d.grant > 0 {
		n = d.grant
	}
	d.bufs = make([][]byte, n)
	d.owned = map[int]bool{}
	for i := range d.bufs {
		d.bufs[i] = make([]byte, max(int(d.set.SizeImage), 64<<10))
		d.owned[i] = true // userspace owns buffers until QBUF
	}
	return n, nil
}

func (d *fakeDevice) MapBuffer(i int) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call(fmt.Sprintf("QUERYBUF %d", i))
	if i < 0 || i >= len(d.bufs) {
		return nil, errors.New("EINVAL")
	}
	return d.bufs[i], nil
}

func (d *fakeDevice) Queue(i int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i < 0 || i >= len(d.bufs) || !d.owned[i] {
		return fmt.Errorf("EINVAL: QBUF %d not owned", i)
	}
	delete(d.owned, i)
	d.queued = append(d.queued, i)
	return nil
}

func (d *fakeDevice) Dequeue(timeout time.Duration) (int, int, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, 0, false, errors.New("EBADF")
	}
	if !d.streaming {
		return 0, 0, false, errors.New("EINVAL: not streaming")
	}
	if d.vanishAt > 0 && d.delivered >= d.vanishAt {
		return 0, 0, false, errors.New("device disappeared")
	}
	if len(d.queued) == 0 {
		return 0, 0, false, errors.New("EPIPE: no buffer queued (the source did not give buffers back)")
	}
	i := d.queued[0]
	d.queued = d.queued[1:]
	d.owned[i] = true
	d.maxOwned = max(d.maxOwned, len(d.owned))
	f := d.frames[d.delivered%len(d.frames)]
	d.delivered++
	n := copy(d.bufs[i], f)
	bad := d.badEvery > 0 && d.delivered%d.badEvery == 0
	return i, n, bad, nil
}

func (d *fakeDevice) StreamOn() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("STREAMON")
	d.streaming = true
	return nil
}

func (d *fakeDevice) StreamOff() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("STREAMOFF")
	d.streaming = false
	return nil
}

func (d *fakeDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("CLOSE")
	d.closed = true
	return nil
}

func webcam(frames ...[]byte) *fakeDevice {
	return &fakeDevice{
		caps:    CapVideoCapture | CapStreaming,
		formats: []FormatDesc{{PixelFormat: PixYUYV, Description: "YUYV 4:2:2"}, {PixelFormat: PixMJPEG, Description: "Motion-JPEG", Compressed: true}},
		frames:  frames,
	}
}

func opener(d Device) func(string) (Device, error) {
	return func(string) (Device, error) { return d, nil }
}

func TestV4L2NegotiateMJPEG(t *testing.T) {
	frames := [][]byte{genJPEG(t, 0, 64, 48), genJPEG(t, 1, 64, 48), genJPEG(t, 2, 64, 48)}
	d := webcam(frames...)
	d.adjust = func(f PixFormat) PixFormat { f.Width, f.Height = 320, 240; return f } // nearest size the driver has
	s, err := OpenV4L2(V4L2Config{Path: "/dev/video0", Width: 333, Height: 222}, opener(d))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Format(); got.PixelFormat != PixMJPEG || got.Width != 320 || got.Height != 240 {
		t.Errorf("format %s %dx%d", FourCC(got.PixelFormat), got.Width, got.Height)
	}
	want := "QUERYCAP ENUM_FMT S_FMT MJPG REQBUFS 4 QUERYBUF 0 QUERYBUF 1 QUERYBUF 2 QUERYBUF 3 STREAMON"
	if got := strings.Join(d.calls, " "); got != want {
		t.Errorf("ioctls:\n got %s\nwant %s", got, want)
	}
	// Buffer cycling: 4 buffers serve 25 frames only if each one goes
	// back to the driver; the source never holds more than one.
	clf := &brightness{}
	for i := 1; i <= 25; i++ {
		f, err := s.Next(context.Background())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Seq != uint64(i) || f.Format != FormatJPEG || string(f.Data) != string(frames[(i-1)%3]) {
			t.Fatalf("frame %d: seq %d format %v, %d bytes", i, f.Seq, f.Format, len(f.Data))
		}
		img, err := f.Decode()
		if err != nil {
			t.Fatal(err)
		}
		p, _ := clf.Classify(img)
		if p[0].Label != wantLabel(uint64((i-1)%3+1)) {
			t.Errorf("frame %d classified %s", i, p[0].Label)
		}
	}
	if d.maxOwned != 1 {
		t.Errorf("source held %d buffers at once", d.maxOwned)
	}
	s.Close()
	if !d.closed || d.streaming {
		t.Error("Close did not stop streaming and close the device")
	}
	if _, err := s.Next(context.Background()); err != io.EOF {
		t.Errorf("Next after Close: %v", err)
	}
}

func TestV4L2YUYV(t *testing.T) {
	// 4x2 YUYV, bright on the left, dark on the right.
	raw := []byte{235, 128, 235, 128, 16, 128, 16, 128, 235, 128, 235, 128, 16, 128, 16, 128}
	d := webcam(raw)
	d.formats = d.formats[:1] // YUYV only
	d.adjust = func(f PixFormat) PixFormat { f.Width, f.Height = 4, 2; return f }
	s, err := OpenV4L2(V4L2Config{Path: "/dev/video1"}, opener(d))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != FormatYUYV || f.Width != 4 || f.Height != 2 || f.Stride != 8 {
		t.Fatalf("frame %v %dx%d stride %d", f.Format, f.Width, f.Height, f.Stride)
	}
	img, err := f.Decode()
	if err != nil {
		t.Fatal(err)
	}
	r0, _, _, _ := img.At(0, 0).RGBA()
	r3, _, _, _ := img.At(3, 1).RGBA()
	if r0>>8 != 255 || r3>>8 != 0 {
		t.Errorf("decoded red: left %d right %d", r0>>8, r3>>8)
	}
}

func TestV4L2NegotiationErrors(t *testing.T) {
	cases := []struct {
		name string
		dev  func() *fakeDevice
		cfg  V4L2Config
		want string
	}{
		{"no capture", func() *fakeDevice { d := webcam(); d.caps = CapStreaming; return d }, V4L2Config{}, "not a video capture device"},
		{"no streaming", func() *fakeDevice { d := webcam(); d.caps = CapVideoCapture; return d }, V4L2Config{}, "does not support streaming"},
		{"format missing", func() *fakeDevice { d := webcam(); d.formats = d.formats[:1]; return d }, V4L2Config{PixelFormat: PixMJPEG}, "does not offer MJPG (it offers YUYV)"},
		{"bayer only", func() *fakeDevice {
			d := webcam()
			d.formats = []FormatDesc{{PixelFormat: 'p' | 'R'<<8 | 'A'<<16 | 'A'<<24}, {PixelFormat: 'R' | 'G'<<8 | '1'<<16 | '0'<<24}}
			return d
		}, V4L2Config{}, "rpicam-vid"},
		{"driver switches format", func() *fakeDevice {
			d := webcam()
			d.adjust = func(f PixFormat) PixFormat { f.PixelFormat = PixYUYV; return f }
			return d
		}, V4L2Config{}, "driver switched MJPG to YUYV"},
		{"one buffer", func() *fakeDevice { d := webcam(); d.grant = 1; return d }, V4L2Config{}, "granted 1 buffers"},
	}
	for _, c := range cases {
		d := c.dev()
		c.cfg.Path = "/dev/video0"
		_, err := OpenV4L2(c.cfg, opener(d))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "camera: /dev/video0: ") {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
		if !d.closed {
			t.Errorf("%s: device left open", c.name)
		}
	}
}

// Frames the driver flags as corrupt are reported (and their buffers
// still go back to the driver).
func TestV4L2CorruptBuffers(t *testing.T) {
	d := webcam(genJPEG(t, 0, 32, 32))
	d.badEvery = 3
	s, err := OpenV4L2(V4L2Config{Path: "/dev/video0"}, opener(d))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var good, bad int
	for i := 0; i < 30; i++ {
		_, err := s.Next(context.Background())
		switch {
		case errors.Is(err, ErrCorrupt):
			bad++
		case err != nil:
			t.Fatal(err)
		default:
			good++
		}
	}
	if good != 20 || bad != 10 {
		t.Errorf("good %d bad %d", good, bad)
	}
}

// The device vanishes after 5 frames; reopening fails twice (unplugged),
// then a new device comes: the stream says so, backs off 250 ms, 500 ms,
// 1 s, and goes on.
func TestV4L2DisconnectReconnect(t *testing.T) {
	jpg := genJPEG(t, 0, 32, 32)
	first := webcam(jpg)
	first.vanishAt = 5
	second := webcam(jpg)
	opens := 0
	open := func(path string) (Device, error) {
		opens++
		switch opens {
		case 1:
			return first, nil
		case 2, 3:
			return nil, fmt.Errorf("camera: %s: no such device (is the camera plugged in?)", path)
		}
		return second, nil
	}
	var events []Event
	var delays []time.Duration
	r := &Reconnect{
		Name:    "/dev/video0",
		Open:    func(ctx context.Context) (Source, error) { return OpenV4L2(V4L2Config{Path: "/dev/video0"}, open) },
		OnEvent: func(e Event) { events = append(events, e) },
		sleep:   func(ctx context.Context, d time.Duration) error { delays = append(delays, d); return nil },
	}
	defer r.Close()
	for i := 1; i <= 12; i++ {
		f, err := r.Next(context.Background())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if want := uint64((i-1)%5 + 1); i > 5 {
			if f.Seq != uint64(i-5) {
				t.Errorf("frame %d: seq %d after reconnect", i, f.Seq)
			}
		} else if f.Seq != want {
			t.Errorf("frame %d: seq %d", i, f.Seq)
		}
	}
	if !first.closed {
		t.Error("the vanished device was not closed")
	}
	kinds := make([]EventKind, len(events))
	for i, e := range events {
		kinds[i] = e.Kind
	}
	if fmt.Sprint(kinds) != fmt.Sprint([]EventKind{EventBroken, EventRetry, EventRetry, EventReconnected}) {
		t.Errorf("events %v", events)
	}
	if fmt.Sprint(delays) != "[250ms 500ms 1s]" {
		t.Errorf("backoff %v", delays)
	}
	if !strings.Contains(events[0].Err.Error(), "device disappeared") || r.Reconnects() != 1 {
		t.Errorf("break reported as %v; reconnects %d", events[0].Err, r.Reconnects())
	}
}
