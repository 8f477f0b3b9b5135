package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"periph.io/x/host/v3"

	"github.com/piresnet/piresnet/boards"
	"github.com/piresnet/piresnet/internal/camera"
	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/gpio"
)

type cameraFlags struct {
	model      modelFlags
	device     string
	capture    string
	format     string
	top        int
	jsonOut    bool
	every      int
	minProb    float64
	frames     int
	status     time.Duration
	maxFrame   int
	backoffMax time.Duration
	pin        string
	on         string
	dryRun     bool
}

func init() {
	var f cameraFlags
	app.Register(&cli.Command{
		Name:       "camera",
		OwnSignals: true,
		Summary:    "classify a live camera: V4L2 webcam, MJPEG on stdin or a pipe, or an HTTP MJPEG stream",
		Usage: `[flags] [SOURCE]

SOURCE is a V4L2 device (default /dev/video0), - for MJPEG on stdin, a named
pipe or file holding MJPEG, or an http(s):// MJPEG URL. A Raspberry Pi
camera module: rpicam-vid -t 0 --codec mjpeg -o - | edge camera -`,
		Flags: func(fs *pflag.FlagSet) {
			f.model.register(fs, "the board's suggested size, see edge board")
			fs.StringVarP(&f.device, "device", "d", "", "V4L2 device (the same as giving it as SOURCE)")
			fs.StringVar(&f.capture, "capture", "640x480", "V4L2 capture size WxH to ask the driver for")
			fs.StringVar(&f.format, "format", "auto", "V4L2 pixel format: auto (MJPEG, else YUYV), mjpeg or yuyv")
			fs.IntVarP(&f.top, "top", "k", 1, "labels per frame in the output")
			fs.BoolVar(&f.jsonOut, "json", false, "JSON lines on stdout: one per classified frame, status objects, events")
			fs.IntVar(&f.every, "every", 1, "classify one frame in N")
			fs.Float64Var(&f.minProb, "min-prob", 0, "report a frame only when its top label has at least this probability")
			fs.IntVar(&f.frames, "frames", 0, "stop after N classified frames (0: run until stopped)")
			fs.DurationVar(&f.status, "status", time.Second, "period of the status line and status objects")
			fs.IntVar(&f.maxFrame, "max-frame", camera.DefaultMaxFrame, "largest frame accepted, in bytes")
			fs.DurationVar(&f.backoffMax, "backoff-max", 8*time.Second, "longest wait between reconnection attempts")
			fs.StringVar(&f.pin, "gpio", "", "GPIO line to drive (GPIO17, 17, P1_11) while --on's label is seen")
			fs.StringVar(&f.on, "on", "", "LABEL or LABEL:PROB that holds --gpio high")
			fs.BoolVar(&f.dryRun, "dry-run", false, "with --gpio: print the edges on stderr instead of driving the pin")
		},
		Run: func(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error {
			return runCamera(f, args, stdout, stderr)
		},
	})
}

// Hooks the tests replace: periph's initialization and pin lookup, and
// the V4L2 device layer.
var (
	hostInit = func() error {
		_, err := host.Init()
		return err
	}
	lookupPin = func(name string) (gpio.Line, error) {
		p, err := gpio.Lookup(name, os.DirFS("/"))
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	openV4L2Device = camera.OpenDevice
	// stopSignals stop the camera; cameraStop, when set (tests), too.
	stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}
	cameraStop  <-chan struct{}
)

func runCamera(f cameraFlags, args []string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return cli.Usage("one source at most, got %d", len(args))
	}
	source := f.device
	if len(args) == 1 {
		if source != "" {
			return cli.Usage("give the source either as --device or as an argument, not both")
		}
		source = args[0]
	}
	if source == "" {
		source = "/dev/video0"
	}
	switch {
	case f.top < 1:
		return cli.Usage("--top must be at least 1, got %d", f.top)
	case f.every < 1:
		return cli.Usage("--every must be at least 1, got %d", f.every)
	case f.minProb < 0 || f.minProb > 1:
		return cli.Usage("--min-prob must be within [0, 1], got %g", f.minProb)
	case f.frames < 0:
		return cli.Usage("--frames must be positive, got %d", f.frames)
	case f.status <= 0:
		return cli.Usage("--status must be positive, got %v", f.status)
	case f.maxFrame < 1024:
		return cli.Usage("--max-frame must be at least 1024 bytes, got %d", f.maxFrame)
	case (f.pin == "") != (f.on == ""):
		return cli.Usage("--gpio and --on go together")
	case f.dryRun && f.pin == "":
		return cli.Usage("--dry-run needs --gpio and --on")
	}
	var rule gpio.Rule
	if f.on != "" {
		var err error
		if rule, err = gpio.ParseRule(f.on); err != nil {
			return cli.Usage("%v", err)
		}
	}

	board := boards.Detect(os.DirFS("/"), runtime.GOARCH)
	mopt, err := f.model.options(defaultSize{board.Profile.InputH, board.Profile.InputW})
	if err != nil {
		return err
	}
	if mopt.Size == (sizeSpec{}) {
		mopt.Size = sizeSpec{H: mopt.Fallback.H, W: mopt.Fallback.W}
	}

	out := newCameraOutput(stdout, stderr, f.jsonOut, f.top, float32(f.minProb))
	src, lossless, err := openSource(source, f, out)
	if err != nil {
		return err
	}
	clf, err := openClassifier(mopt)
	if err != nil {
		src.Close()
		return err
	}
	defer clf.Close()

	// The action: after the model, so that a bad model leaves the pin alone.
	var action *gpio.Action
	if f.pin != "" {
		var line gpio.Line
		var dry io.Writer
		if f.dryRun {
			dry = out.lineWriter()
		} else {
			if err := hostInit(); err != nil {
				src.Close()
				return &cli.Error{Code: cli.ExitFailure, Err: fmt.Errorf("gpio: periph host.Init: %v", err)}
			}
			if line, err = lookupPin(f.pin); err != nil {
				src.Close()
				return &cli.Error{Code: cli.ExitFailure, Err: err}
			}
		}
		if action, err = gpio.New(line, f.pin, rule, dry); err != nil {
			src.Close()
			return &cli.Error{Code: cli.ExitFailure, Err: err}
		}
		defer action.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	if cameraStop != nil {
		go func() {
			select {
			case <-cameraStop:
				stop()
			case <-ctx.Done():
			}
		}()
	}
	out.message("%s: classifying with %s at %s", source, clf.Describe(), clf.Input())
	var actErr error
	opt := camera.Options{
		Every:          f.every,
		Lossless:       lossless,
		MaxFrames:      f.frames,
		StatusInterval: f.status,
		Reconnects:     src.Reconnects,
		OnResult: func(r camera.Result) {
			out.result(r)
			if action != nil && actErr == nil {
				if actErr = action.Update(r.Predictions); actErr != nil {
					stop() // the pin failed: stop rather than run blind
				}
			}
		},
		OnStatus: out.status,
	}
	_, err = camera.Run(ctx, src, clf, opt)
	if action != nil {
		if cerr := action.Close(); actErr == nil {
			actErr = cerr
		}
	}
	if err == nil {
		err = actErr
	}
	if err != nil {
		return &cli.Error{Code: cli.ExitFailure, Err: err}
	}
	return nil
}

// openSource picks the source for the SOURCE argument and wraps it in a
// reconnecting source. lossless is set for recorded files.
func openSource(source string, f cameraFlags, out *cameraOutput) (src *camera.Reconnect, lossless bool, err error) {
	rs := &camera.Reconnect{Name: source, Max: f.backoffMax, OnEvent: out.event}
	switch {
	case source == "-":
		// A pipe is live; a redirected file (edge camera - < rec.mjpeg)
		// is a recording, read without dropping frames.
		lossless = true
		if fh, ok := stdin.(*os.File); ok {
			st, err := fh.Stat()
			lossless = err == nil && st.Mode().IsRegular()
		}
		rs.EOFEnds, rs.Once = true, true
		rs.Open = func(context.Context) (camera.Source, error) {
			return camera.NewReaderSource("stdin", io.NopCloser(stdin), f.maxFrame), nil
		}
	case strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://"):
		client := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 10 * time.Second, Proxy: http.ProxyFromEnvironment}}
		rs.Open = func(ctx context.Context) (camera.Source, error) {
			return camera.OpenHTTP(ctx, client, source, f.maxFrame)
		}
	default:
		st, serr := os.Stat(source)
		switch {
		case serr == nil && st.Mode()&os.ModeCharDevice != 0:
			cfg, err := v4l2Config(source, f)
			if err != nil {
				return nil, false, err
			}
			rs.Open = func(context.Context) (camera.Source, error) { return camera.OpenV4L2(cfg, openV4L2Device) }
		case serr == nil && st.Mode()&os.ModeNamedPipe != 0:
			// A writer that stops (rpicam-vid restarted) ends the stream;
			// reopening waits for the next one.
			rs.Open = func(context.Context) (camera.Source, error) {
				fh, err := os.Open(source)
				if err != nil {
					return nil, err
				}
				return camera.NewReaderSource(source, fh, f.maxFrame), nil
			}
		case serr == nil && st.Mode().IsRegular():
			lossless, rs.EOFEnds = true, true
			rs.Open = func(context.Context) (camera.Source, error) {
				fh, err := os.Open(source)
				if err != nil {
					return nil, err
				}
				return camera.NewReaderSource(source, fh, f.maxFrame), nil
			}
		case serr == nil:
			return nil, false, cli.Usage("%s: not a video device, pipe, file or URL", source)
		case strings.HasPrefix(source, "/dev/video"):
			return nil, false, &cli.Error{Code: cli.ExitFailure, Err: fmt.Errorf("%s: no such device (is the camera plugged in? see v4l2-ctl --list-devices)", source)}
		default:
			return nil, false, &cli.Error{Code: cli.ExitFailure, Err: fmt.Errorf("%s: %v", source, shortPathErr(serr))}
		}
	}
	return rs, lossless, nil
}

func v4l2Config(path string, f cameraFlags) (camera.V4L2Config, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(f.capture), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w < 16 || h < 16 || w > 8192 || h > 8192 {
		return camera.V4L2Config{}, cli.Usage("--capture %q: want WxH, e.g. 640x480", f.capture)
	}
	cfg := camera.V4L2Config{Path: path, Width: w, Height: h}
	switch strings.ToLower(f.format) {
	case "auto":
	case "mjpeg", "mjpg":
		cfg.PixelFormat = camera.PixMJPEG
	case "yuyv":
		cfg.PixelFormat = camera.PixYUYV
	default:
		return camera.V4L2Config{}, cli.Usage("--format %q: want auto, mjpeg or yuyv", f.format)
	}
	return cfg, nil
}

// cameraOutput writes results on stdout and a status line and messages
// on stderr; all writes are serialized (capture-side events come from
// another goroutine).
type cameraOutput struct {
	mu        sync.Mutex
	stdout    io.Writer
	stderr    io.Writer
	json      *json.Encoder
	top       int
	minProb   float32
	tty       bool // a live status line on stderr
	lineShown bool
}

func newCameraOutput(stdout, stderr io.Writer, jsonOut bool, top int, minProb float32) *cameraOutput {
	o := &cameraOutput{stdout: stdout, stderr: stderr, top: top, minProb: minProb, tty: cli.IsTerminal(stderr)}
	if jsonOut {
		o.json = json.NewEncoder(stdout)
	}
	return o
}

// clearLine removes the status line before a message (mu held).
func (o *cameraOutput) clearLine() {
	if o.lineShown {
		fmt.Fprint(o.stderr, "\r\033[K")
		o.lineShown = false
	}
}

// message prints one line on stderr.
func (o *cameraOutput) message(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearLine()
	fmt.Fprintf(o.stderr, "edge camera: "+format+"\n", args...)
}

// lineWriter is a writer for whole lines on stderr (the dry-run edges).
func (o *cameraOutput) lineWriter() io.Writer { return lineWriterFunc(o.writeLine) }

type lineWriterFunc func(p []byte) (int, error)

func (f lineWriterFunc) Write(p []byte) (int, error) { return f(p) }

func (o *cameraOutput) writeLine(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearLine()
	return o.stderr.Write(p)
}

type frameRecord struct {
	Type      string           `json:"type"` // "frame"
	Seq       uint64           `json:"seq"`
	Time      string           `json:"time"`
	Width     int              `json:"width"`
	Height    int              `json:"height"`
	LatencyMS float64          `json:"latency_ms"`
	Top       []jsonPrediction `json:"top"`
}

func (o *cameraOutput) result(r camera.Result) {
	if len(r.Predictions) == 0 || r.Predictions[0].Prob < o.minProb {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json != nil {
		o.json.Encode(frameRecord{Type: "frame", Seq: r.Seq, Time: r.Captured.UTC().Format(time.RFC3339Nano),
			Width: r.Width, Height: r.Height, LatencyMS: ms(r.Latency), Top: topK(r.Predictions, o.top)})
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "frame %d", r.Seq)
	for _, p := range r.Predictions[:min(o.top, len(r.Predictions))] {
		fmt.Fprintf(&b, "  %s %.3f", p.Label, p.Prob)
	}
	fmt.Fprintf(&b, "  (%.1f ms)\n", float64(r.Latency)/1e6)
	if o.tty {
		o.clearLine()
	}
	io.WriteString(o.stdout, b.String())
}

type statusRecord struct {
	Type          string  `json:"type"` // "status"
	Final         bool    `json:"final"`
	ElapsedS      float64 `json:"elapsed_s"`
	FramesIn      int64   `json:"frames_in"`
	Classified    int64   `json:"classified"`
	Dropped       int64   `json:"dropped"`
	Skipped       int64   `json:"skipped"`
	Bad           int64   `json:"bad"`
	Reconnects    int64   `json:"reconnects"`
	FPSIn         float64 `json:"fps_in"`
	FPSClassified float64 `json:"fps_classified"`
	LatencyP50MS  float64 `json:"latency_p50_ms"`
	LatencyP90MS  float64 `json:"latency_p90_ms"`
}

func statusText(s camera.Status) string {
	return fmt.Sprintf("%.1f fps in, %.1f fps classified, latency p50 %.1f ms p90 %.1f ms, %d dropped, %d bad, %d reconnects",
		s.FPSIn, s.FPSClassified, float64(s.LatencyP50)/1e6, float64(s.LatencyP90)/1e6, s.Dropped, s.Bad, s.Reconnects)
}

func (o *cameraOutput) status(s camera.Status) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json != nil {
		o.json.Encode(statusRecord{Type: "status", Final: s.Final, ElapsedS: round(s.Elapsed.Seconds(), 3),
			FramesIn: s.FramesIn, Classified: s.Classified, Dropped: s.Dropped, Skipped: s.Skipped, Bad: s.Bad,
			Reconnects: s.Reconnects, FPSIn: round(s.FPSIn, 2), FPSClassified: round(s.FPSClassified, 2),
			LatencyP50MS: ms(s.LatencyP50), LatencyP90MS: ms(s.LatencyP90)})
	}
	if s.Final {
		o.clearLine()
		fmt.Fprintf(o.stderr, "edge camera: %d frames in %.1f s, %d classified; %s\n", s.FramesIn, s.Elapsed.Seconds(), s.Classified, statusText(s))
		return
	}
	if o.tty {
		fmt.Fprintf(o.stderr, "\r\033[K%s", statusText(s))
		o.lineShown = true
	}
}

type eventRecord struct {
	Type    string  `json:"type"` // "event"
	Event   string  `json:"event"`
	Source  string  `json:"source"`
	Error   string  `json:"error,omitempty"`
	RetryS  float64 `json:"retry_s,omitempty"`
	Attempt int     `json:"attempt,omitempty"`
}

// event reports connection changes: one line when the stream breaks and
// one when it is back; failed attempts only in JSON.
func (o *cameraOutput) event(e camera.Event) {
	rec := eventRecord{Type: "event", Source: e.Source, Attempt: e.Attempt, RetryS: round(e.Delay.Seconds(), 3)}
	if e.Err != nil {
		rec.Error = oneLine(e.Err)
	}
	switch e.Kind {
	case camera.EventBroken:
		rec.Event = "broken"
		o.message("%s: stream broke (%s); reconnecting", e.Source, rec.Error)
	case camera.EventRetry:
		rec.Event = "retry"
	case camera.EventReconnected:
		rec.Event = "reconnected"
		o.message("%s: reconnected", e.Source)
	}
	if o.json != nil {
		o.mu.Lock()
		o.json.Encode(rec)
		o.mu.Unlock()
	}
}
