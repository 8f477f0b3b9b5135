package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/piresnet/piresnet/internal/camera"
	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/gpio"
)

// stream is a generated MJPEG recording: frame i is grey level levels[i].
type stream struct {
	frames [][]byte
}

func genStream(t *testing.T, levels []uint8) *stream {
	t.Helper()
	cache := map[uint8][]byte{}
	s := &stream{}
	for _, v := range levels {
		if cache[v] == nil {
			var b bytes.Buffer
			jpeg.Encode(&b, solid(v, 64, 48), &jpeg.Options{Quality: 90})
			cache[v] = b.Bytes()
		}
		s.frames = append(s.frames, cache[v])
	}
	return s
}

// alternating levels: dark (40) for even frames, bright (220) for odd.
func alternating(n int) []uint8 {
	l := make([]uint8, n)
	for i := range l {
		l[i] = 40
		if i%2 == 1 {
			l[i] = 220
		}
	}
	return l
}

// padJPEG inserts a COM segment after SOI so that the frame is size bytes.
func padJPEG(f []byte, size int) []byte {
	n := size - len(f) - 4 // marker and length
	if n < 0 || n > 65533 {
		panic("padJPEG: bad size")
	}
	out := append([]byte{}, f[:2]...)
	out = append(out, 0xff, 0xfe, byte((n+2)>>8), byte(n+2))
	out = append(out, make([]byte, n)...)
	return append(out, f[2:]...)
}

func (s *stream) bytes() []byte { return bytes.Join(s.frames, nil) }

func (s *stream) file(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "rec.mjpeg")
	if err := os.WriteFile(p, s.bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *stream) play(w io.WriteCloser, interval time.Duration) { s.playCounted(w, interval, nil) }

// playCounted is play sending one token on written per frame, and
// closing it at the end.
func (s *stream) playCounted(w io.WriteCloser, interval time.Duration, written chan<- struct{}) {
	defer w.Close()
	if written != nil {
		defer close(written)
	}
	for _, f := range s.frames {
		if _, err := w.Write(f); err != nil {
			return
		}
		if written != nil {
			written <- struct{}{}
		}
		time.Sleep(interval)
	}
}

type jsonLine struct {
	Type       string           `json:"type"`
	Seq        uint64           `json:"seq"`
	Top        []jsonPrediction `json:"top"`
	Final      bool             `json:"final"`
	FramesIn   int64            `json:"frames_in"`
	Classified int64            `json:"classified"`
	Dropped    int64            `json:"dropped"`
	Skipped    int64            `json:"skipped"`
	Bad        int64            `json:"bad"`
	Reconnects int64            `json:"reconnects"`
	FPSIn      float64          `json:"fps_in"`
	P50        float64          `json:"latency_p50_ms"`
	P90        float64          `json:"latency_p90_ms"`
	Event      string           `json:"event"`
	Error      string           `json:"error"`
}

// parseJSON splits camera --json output into frames, statuses and events.
func parseJSON(t *testing.T, out string) (frames, statuses, events []jsonLine) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var j jsonLine
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		switch j.Type {
		case "frame":
			frames = append(frames, j)
		case "status":
			statuses = append(statuses, j)
		case "event":
			events = append(events, j)
		default:
			t.Fatalf("unknown type in %q", l)
		}
	}
	return
}

// checkRun: one frame object per classified frame, labelled by its
// content, a final status last that accounts for every frame.
func checkRun(t *testing.T, frames, statuses []jsonLine, in int64) jsonLine {
	t.Helper()
	if len(statuses) == 0 || !statuses[len(statuses)-1].Final {
		t.Fatalf("no final status (%d statuses)", len(statuses))
	}
	final := statuses[len(statuses)-1]
	if int64(len(frames)) != final.Classified || final.FramesIn != in {
		t.Errorf("%d frame objects; final %+v; want %d frames in", len(frames), final, in)
	}
	if final.Classified+final.Dropped+final.Skipped != final.FramesIn {
		t.Errorf("classified %d + dropped %d + skipped %d != %d in", final.Classified, final.Dropped, final.Skipped, final.FramesIn)
	}
	for _, f := range frames {
		want := "dark"
		if (f.Seq-1)%2 == 1 {
			want = "bright"
		}
		if f.Top[0].Label != want {
			t.Errorf("frame %d: %s, want %s", f.Seq, f.Top[0].Label, want)
		}
	}
	if final.Classified > 0 && (final.P50 <= 0 || final.P90 < final.P50 || final.FPSIn <= 0) {
		t.Errorf("status figures %+v", final)
	}
	return final
}

// 300 frames through a pipe on stdin (rpicam-vid … -o - | edge camera -).
func TestCameraStdinPipe300(t *testing.T) {
	useFakeModel(t, 0)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := stdin
	stdin = pr
	defer func() { stdin = old }()
	go genStream(t, alternating(300)).play(pw, time.Millisecond)
	stdout, stderr, code := runEdge(t, "camera", "--json", "--status", "20ms", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	frames, statuses, _ := parseJSON(t, stdout)
	final := checkRun(t, frames, statuses, 300)
	if len(statuses) < 2 || final.Bad != 0 {
		t.Errorf("%d statuses, final %+v", len(statuses), final)
	}
	// stderr: the start line and the summary.
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "classifying with fake brightness model") ||
		!strings.HasPrefix(lines[1], "edge camera: 300 frames in ") || !strings.Contains(lines[1], "dropped") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// A recorded file is read without dropping: every frame classified; text
// output; --every and --min-prob.
func TestCameraFileText(t *testing.T) {
	m := useFakeModel(t, 0)
	levels := alternating(30)
	levels[3] = 150 // bright with P = 0.588: under --min-prob 0.6
	path := genStream(t, levels).file(t)
	stdout, stderr, code := runEdge(t, "camera", "--top", "2", "--min-prob", "0.6", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 29 || m.calls.Load() != 30 {
		t.Fatalf("%d lines for %d classifications:\n%s", len(lines), m.calls.Load(), stdout)
	}
	if !strings.HasPrefix(lines[0], "frame 1  dark 0.843  bright 0.157  (") || !strings.HasPrefix(lines[3], "frame 5  dark") {
		t.Errorf("lines: %q, %q", lines[0], lines[3])
	}
	if m.opt.Size.H == 0 {
		t.Errorf("camera did not fill in the board's size: %+v", m.opt)
	}

	stdout, _, code = runEdge(t, "camera", "--json", "--every", "3", path)
	frames, statuses, _ := parseJSON(t, stdout)
	final := checkRun(t, frames, statuses, 30)
	if code != 0 || final.Classified != 10 || final.Skipped != 20 || final.Dropped != 0 {
		t.Errorf("--every 3: exit %d, %+v", code, final)
	}
	for i, f := range frames {
		if f.Seq != uint64(3*i+1) {
			t.Errorf("frame object %d is frame %d", i, f.Seq)
		}
	}
}

// The recording over a loopback HTTP MJPEG server; the server then goes
// away: one line says so, reconnection is attempted.
func TestCameraHTTP300(t *testing.T) {
	useFakeModel(t, 0)
	s := genStream(t, alternating(300))
	stop := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		n := requests
		mu.Unlock()
		if n > 1 {
			if n > 2 {
				once.Do(func() { close(stop) })
			}
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=--jpgboundary")
		for _, f := range s.frames {
			fmt.Fprintf(w, "--jpgboundary\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(f))
			w.Write(f)
			io.WriteString(w, "\r\n")
			w.(http.Flusher).Flush()
			time.Sleep(time.Millisecond)
		}
	}))
	defer srv.Close()
	cameraStop = stop
	defer func() { cameraStop = nil }()
	stdout, stderr, code := runEdge(t, "camera", "--json", "--status", "20ms", "--backoff-max", "10ms", srv.URL+"/video")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	frames, statuses, events := parseJSON(t, stdout)
	checkRun(t, frames, statuses, 300)
	if len(events) < 2 || events[0].Event != "broken" || events[1].Event != "retry" || !strings.Contains(events[1].Error, "503") {
		t.Errorf("events %+v", events)
	}
	if !strings.Contains(stderr, "stream broke (server closed the stream); reconnecting") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// A model 10x slower than the camera (gated on the frames written, not on
// the clock): frames dropped and counted. Frames are padded to 16 KiB
// with a JPEG comment so that the pipe and the reader's buffer, which hold
// frames already written but not yet captured, hold few of them.
func TestCameraSlowModelDrops(t *testing.T) {
	m := useFakeModel(t, 0)
	written := make(chan struct{}, 300)
	m.gate = func() {
		for range 10 {
			if _, ok := <-written; !ok {
				return
			}
		}
	}
	pr, pw, _ := os.Pipe()
	old := stdin
	stdin = pr
	defer func() { stdin = old }()
	s := genStream(t, alternating(300))
	const frameSize = 16 << 10
	for i, f := range s.frames {
		s.frames[i] = padJPEG(f, frameSize)
	}
	pipeSize, err := unix.FcntlInt(pw.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	buffered := (pipeSize+64<<10)/frameSize + 1 // the pipe and the splitter's 64 KiB reader
	go s.playCounted(pw, time.Millisecond, written)
	stdout, stderr, code := runEdge(t, "camera", "--json", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	frames, statuses, _ := parseJSON(t, stdout)
	final := checkRun(t, frames, statuses, 300)
	// 30 gated classifications, then at most the frames still buffered
	// when the writer finished, plus the one in progress.
	if bound := int64(30 + buffered + 1); final.Classified > bound || final.Dropped < 300-bound {
		t.Errorf("classified %d, dropped %d (bound %d)", final.Classified, final.Dropped, bound)
	}
}

// fakeV4L2 serves frames then vanishes; the next open serves more.
type fakeV4L2 struct {
	frames [][]byte
	vanish int
	n      int
	bufs   [][]byte
	queued []int
	stream bool
}

func (d *fakeV4L2) QueryCap() (camera.Capability, error) {
	return camera.Capability{Driver: "uvcvideo", Card: "Fake", Caps: camera.CapVideoCapture | camera.CapStreaming}, nil
}
func (d *fakeV4L2) EnumFormats() ([]camera.FormatDesc, error) {
	return []camera.FormatDesc{{PixelFormat: camera.PixMJPEG}}, nil
}
func (d *fakeV4L2) SetFormat(f camera.PixFormat) (camera.PixFormat, error) { return f, nil }
func (d *fakeV4L2) RequestBuffers(n int) (int, error) {
	d.bufs = make([][]byte, n)
	for i := range d.bufs {
		d.bufs[i] = make([]byte, 1<<16)
	}
	return n, nil
}
func (d *fakeV4L2) MapBuffer(i int) ([]byte, error) { return d.bufs[i], nil }
func (d *fakeV4L2) Queue(i int) error               { d.queued = append(d.queued, i); return nil }
func (d *fakeV4L2) Dequeue(time.Duration) (int, int, bool, error) {
	if d.n >= d.vanish {
		return 0, 0, false, errors.New("device disappeared")
	}
	time.Sleep(time.Millisecond)
	i := d.queued[0]
	d.queued = d.queued[1:]
	n := copy(d.bufs[i], d.frames[d.n%len(d.frames)])
	d.n++
	return i, n, false, nil
}
func (d *fakeV4L2) StreamOn() error  { d.stream = true; return nil }
func (d *fakeV4L2) StreamOff() error { d.stream = false; return nil }
func (d *fakeV4L2) Close() error     { return nil }

// /dev/null stands in for a character device; the device layer is fake:
// it vanishes after 20 frames, the next one after 20 more.
func TestCameraV4L2Reconnect(t *testing.T) {
	useFakeModel(t, 0)
	s := genStream(t, alternating(2))
	stop := make(chan struct{})
	opens := 0
	old := openV4L2Device
	openV4L2Device = func(path string) (camera.Device, error) {
		opens++
		switch opens {
		case 1, 3:
			return &fakeV4L2{frames: s.frames, vanish: 20}, nil
		case 2:
			return nil, errors.New("camera: /dev/null: no such device (is the camera plugged in?)")
		}
		close(stop)
		return nil, errors.New("camera: /dev/null: no such device")
	}
	defer func() { openV4L2Device = old }()
	cameraStop = stop
	defer func() { cameraStop = nil }()
	stdout, stderr, code := runEdge(t, "camera", "--json", "--backoff-max", "5ms", "--device", "/dev/null")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	frames, statuses, events := parseJSON(t, stdout)
	final := checkRun(t, frames, statuses, 40)
	if final.Reconnects != 1 {
		t.Errorf("reconnects %d", final.Reconnects)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Event)
	}
	if got := strings.Join(kinds, " "); !strings.HasPrefix(got, "broken retry reconnected broken") {
		t.Errorf("events: %s", got)
	}
	want := []string{"/dev/null: stream broke (/dev/null: device disappeared); reconnecting", "/dev/null: reconnected"}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

// --gpio with a periph test double: high while "bright" is seen, low
// otherwise and at the end.
func TestCameraGPIOFakePin(t *testing.T) {
	useFakeModel(t, 0)
	levels := make([]uint8, 30)
	for i := range levels {
		levels[i] = 30
		if i >= 10 && i < 20 {
			levels[i] = 230
		}
	}
	path := genStream(t, levels).file(t)
	pin := &recordingPin{Pin: gpiotest.Pin{N: "GPIO17", Num: 17}}
	oldInit, oldLookup := hostInit, lookupPin
	inits := 0
	hostInit = func() error { inits++; return nil }
	lookupPin = func(name string) (gpio.Line, error) {
		if name != "GPIO17" {
			return nil, fmt.Errorf("gpio: no pin %q", name)
		}
		return pin, nil
	}
	defer func() { hostInit, lookupPin = oldInit, oldLookup }()
	_, stderr, code := runEdge(t, "camera", "--gpio", "GPIO17", "--on", "bright:0.8", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if inits != 1 || fmt.Sprint(pin.writes) != "[Low High Low]" || pin.Read() != pgpio.Low {
		t.Errorf("host.Init %d times; writes %v; final %v", inits, pin.writes, pin.Read())
	}
	// The same run dry: edges printed, no pin touched.
	_, stderr, code = runEdge(t, "camera", "--gpio", "GPIO17", "--on", "bright:0.8", "--dry-run", path)
	if code != 0 || inits != 1 {
		t.Fatalf("exit %d, inits %d: %s", code, inits, stderr)
	}
	if !strings.Contains(stderr, "gpio GPIO17: high (bright 0.902; top bright 0.902)\ngpio GPIO17: low (bright 0.118; top dark 0.882)\n") {
		t.Errorf("dry run stderr:\n%s", stderr)
	}
}

type recordingPin struct {
	gpiotest.Pin
	writes []pgpio.Level
}

func (p *recordingPin) Out(l pgpio.Level) error {
	p.writes = append(p.writes, l)
	return p.Pin.Out(l)
}

// Off a board (or with a pin that does not exist on this one), periph's
// real host.Init runs and the error is one line, exit 4.
func TestCameraGPIORealHost(t *testing.T) {
	useFakeModel(t, 0)
	path := genStream(t, alternating(2)).file(t)
	_, stderr, code := runEdge(t, "camera", "--gpio", "GPIO999", "--on", "bright", path)
	if code != cli.ExitFailure || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `edge camera: gpio: no pin "GPIO999"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestCameraErrors(t *testing.T) {
	useFakeModel(t, 0)
	path := genStream(t, alternating(2)).file(t)
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"camera", "--gpio", "17", path}, cli.ExitUsage, "--gpio and --on go together"},
		{[]string{"camera", "--on", "cat", path}, cli.ExitUsage, "--gpio and --on go together"},
		{[]string{"camera", "--dry-run", path}, cli.ExitUsage, "--dry-run needs --gpio"},
		{[]string{"camera", "--gpio", "17", "--on", "cat:2", path}, cli.ExitUsage, "0 < PROB <= 1"},
		{[]string{"camera", "--every", "0", path}, cli.ExitUsage, "--every"},
		{[]string{"camera", "--min-prob", "1.5", path}, cli.ExitUsage, "--min-prob"},
		{[]string{"camera", "--size", "big", path}, cli.ExitUsage, "--size"},
		{[]string{"camera", "--capture", "640", "/dev/null"}, cli.ExitUsage, "--capture"},
		{[]string{"camera", "--format", "h264", "/dev/null"}, cli.ExitUsage, "--format"},
		{[]string{"camera", "a", "b"}, cli.ExitUsage, "one source at most"},
		{[]string{"camera", "--device", "/dev/video0", path}, cli.ExitUsage, "not both"},
		{[]string{"camera", "/dev/video77"}, cli.ExitFailure, "/dev/video77: no such device"},
		{[]string{"camera", filepath.Join(t.TempDir(), "nope.mjpeg")}, cli.ExitFailure, "nope.mjpeg: no such file"},
		{[]string{"camera", t.TempDir()}, cli.ExitUsage, "not a video device, pipe, file or URL"},
		{[]string{"camera", "--model", "bad.onnx", path}, cli.ExitBadModel, "bad.onnx: not an ONNX model"},
		{[]string{"camera", "http://127.0.0.1:1/stream"}, cli.ExitFailure, "http://127.0.0.1:1/stream"},
	}
	for _, c := range cases {
		_, stderr, code := runEdge(t, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != c.code || !strings.Contains(last, c.err) || !strings.HasPrefix(last, "edge camera") {
			t.Errorf("%v: exit %d, stderr %q", c.args[1:], code, stderr)
		}
	}
}

// Corrupt frames in the stream are counted and skipped: a frame cut
// inside its entropy-coded data and followed by garbage, one cut inside its
// headers by the next frame, and one cut by the end of the stream.
func TestCameraCorruptFrames(t *testing.T) {
	useFakeModel(t, 0)
	s := genStream(t, alternating(10))
	var data []byte
	for i, f := range s.frames {
		data = append(data, f...)
		switch i {
		case 4:
			data = append(data, f[:len(f)-10]...) // cut inside the entropy-coded data
			data = append(data, "garbage"...)
		case 6:
			data = append(data, f[:40]...) // cut inside the headers
		}
	}
	data = append(data, s.frames[0][:len(s.frames[0])/2]...) // the stream ends mid-JPEG
	p := filepath.Join(t.TempDir(), "bad.mjpeg")
	os.WriteFile(p, data, 0o644)
	stdout, stderr, code := runEdge(t, "camera", "--json", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	frames, statuses, _ := parseJSON(t, stdout)
	final := checkRun(t, frames, statuses, 10)
	if final.Bad != 3 || final.Classified != 10 {
		t.Errorf("%+v, want 3 bad and 10 classified", final)
	}
}
