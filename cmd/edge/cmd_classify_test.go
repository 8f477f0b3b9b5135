package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piresnet/piresnet/internal/camera"
	"github.com/piresnet/piresnet/internal/cli"
)

// runEdge runs the edge app as main would, with args.
func runEdge(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = app.Run(args, &o, &e)
	return o.String(), e.String(), code
}

// fakeModel stands in for the runtime until it lands: two classes,
// "dark" and "bright", from the mean luma (P(bright) = mean/255).
type fakeModel struct {
	opt    modelOptions
	delay  time.Duration
	gate   func() // called before each classification
	calls  atomic.Int64
	closed atomic.Bool
}

func (m *fakeModel) Classify(img image.Image) ([]camera.Prediction, error) {
	m.calls.Add(1)
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	if m.gate != nil {
		m.gate()
	}
	b := img.Bounds()
	var sum, n float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.GrayModel.Convert(img.At(x, y)).(color.Gray)
			sum += float64(c.Y)
			n++
		}
	}
	p := float32(sum / n / 255)
	bright := camera.Prediction{Index: 1, Label: "bright", Prob: p}
	dark := camera.Prediction{Index: 0, Label: "dark", Prob: 1 - p}
	if p >= 0.5 {
		return []camera.Prediction{bright, dark}, nil
	}
	return []camera.Prediction{dark, bright}, nil
}

func (m *fakeModel) Input() sizeSpec {
	if m.opt.Size == (sizeSpec{}) {
		return sizeSpec{H: m.opt.Fallback.H, W: m.opt.Fallback.W}
	}
	return m.opt.Size
}
func (m *fakeModel) Describe() string { return "fake brightness model (2 classes)" }
func (m *fakeModel) Close() error     { m.closed.Store(true); return nil }

// useFakeModel makes openClassifier return a fake and records the options.
func useFakeModel(t *testing.T, delay time.Duration) *fakeModel {
	t.Helper()
	m := &fakeModel{delay: delay}
	old := openClassifier
	openClassifier = func(opt modelOptions) (imageClassifier, error) {
		if opt.Path == "bad.onnx" {
			return nil, cli.BadModel(errors.New("bad.onnx: not an ONNX model"))
		}
		m.opt = opt
		return m, nil
	}
	t.Cleanup(func() { openClassifier = old })
	return m
}

func solid(v uint8, w, h int) image.Image {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	var b bytes.Buffer
	var err error
	if strings.HasSuffix(path, ".png") {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 100})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestClassifyFolderTable(t *testing.T) {
	m := useFakeModel(t, 0)
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "b_dark.png"), solid(51, 8, 8))      // P(bright) = 0.2
	writeImage(t, filepath.Join(dir, "a_bright.png"), solid(204, 16, 8))  // 0.8
	writeImage(t, filepath.Join(dir, "sub", "c.PNG"), solid(255, 4, 4))   // 1.0
	writeImage(t, filepath.Join(dir, ".hidden", "d.png"), solid(0, 4, 4)) // skipped
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	stdout, stderr, code := runEdge(t, "classify", "--top", "2", "--size", "64x48", dir)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := []string{
		filepath.Join(dir, "a_bright.png") + "  64x48  ",
		"   1  0.8000  bright",
		"   2  0.2000  dark",
		filepath.Join(dir, "b_dark.png") + "  64x48  ",
		"   1  0.8000  dark",
		"   2  0.2000  bright",
		filepath.Join(dir, "sub", "c.PNG") + "  64x48  ",
		"   1  1.0000  bright",
		"   2  0.0000  dark",
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s", stdout)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d: %q, want prefix %q", i, lines[i], want[i])
		}
	}
	if !strings.HasSuffix(lines[0], " ms") {
		t.Errorf("no latency on %q", lines[0])
	}
	if m.opt.Size != (sizeSpec{H: 64, W: 48}) || !m.closed.Load() {
		t.Errorf("options %+v, closed %v", m.opt, m.closed.Load())
	}
}

func TestClassifyJSONGlobStdin(t *testing.T) {
	useFakeModel(t, 0)
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "x1.jpg"), solid(230, 32, 16))
	writeImage(t, filepath.Join(dir, "x2.jpg"), solid(20, 32, 16))
	writeImage(t, filepath.Join(dir, "y.jpg"), solid(20, 32, 16))
	var png bytes.Buffer
	writeImage(t, filepath.Join(dir, "in.png"), solid(128, 10, 20))
	b, _ := os.ReadFile(filepath.Join(dir, "in.png"))
	png.Write(b)
	old := stdin
	stdin = &png
	defer func() { stdin = old }()

	stdout, stderr, code := runEdge(t, "classify", "--json", "--top", "1", "--size", "native", filepath.Join(dir, "x*.jpg"), "-")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("output:\n%s", stdout)
	}
	var recs []classifyRecord
	for _, l := range lines {
		var r classifyRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		recs = append(recs, r)
	}
	want := []struct {
		path, label, input string
		w, h               int
	}{
		{filepath.Join(dir, "x1.jpg"), "bright", "16x32", 32, 16},
		{filepath.Join(dir, "x2.jpg"), "dark", "16x32", 32, 16},
	}
	for i, w := range want {
		r := recs[i]
		if r.Path != w.path || r.Top[0].Label != w.label || r.Input != w.input || r.Width != w.w || r.Height != w.h || len(r.Top) != 1 {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	// Grey 128 of 255: P(bright) = 0.501961.
	if r := recs[2]; r.Path != "-" || r.Input != "20x10" || r.Top[0].Label != "bright" || r.Top[0].Prob != 0.501961 {
		t.Errorf("stdin record: %+v", r)
	}
}

// Failures are one line each on stderr; the readable inputs are still
// classified; exit 1.
func TestClassifyFailures(t *testing.T) {
	useFakeModel(t, 0)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	writeImage(t, good, solid(200, 4, 4))
	os.WriteFile(filepath.Join(dir, "empty.jpg"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "junk.jpg"), []byte("GIF89a? no"), 0o644)
	// A PNG header claiming 9000 x 9000 pixels.
	ihdr := []byte("IHDR\x00\x00\x23\x28\x00\x00\x23\x28\x08\x00\x00\x00\x00")
	huge := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d"), ihdr...)
	huge = binary.BigEndian.AppendUint32(huge, crc32.ChecksumIEEE(ihdr))
	os.WriteFile(filepath.Join(dir, "huge.png"), huge, 0o644)
	os.Mkdir(filepath.Join(dir, "emptydir"), 0o755)
	stdout, stderr, code := runEdge(t, "classify",
		filepath.Join(dir, "missing.jpg"), filepath.Join(dir, "empty.jpg"), good,
		filepath.Join(dir, "junk.jpg"), filepath.Join(dir, "huge.png"), filepath.Join(dir, "nothing*.png"),
		filepath.Join(dir, "emptydir"))
	if code != cli.ExitInputsFailed {
		t.Errorf("exit %d", code)
	}
	if !strings.HasPrefix(stdout, good+"  224x224  ") || strings.Count(stdout, "\n") != 3 {
		t.Errorf("stdout:\n%s", stdout)
	}
	wantErr := []string{
		"missing.jpg: no such file",
		"empty.jpg: empty file",
		"junk.jpg: not a JPEG or PNG image",
		"huge.png: png image of 9000x9000 pixels: more than 67108864 pixels",
		"nothing*.png: no file matches",
		"emptydir: folder holds no .jpg, .jpeg or .png files",
		"edge classify: 6 input(s) failed",
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != len(wantErr) {
		t.Fatalf("stderr:\n%s", stderr)
	}
	for i, w := range wantErr {
		if !strings.HasPrefix(lines[i], "edge classify: ") || !strings.Contains(lines[i], w) {
			t.Errorf("stderr line %d: %q, want %q", i, lines[i], w)
		}
	}
}

func TestClassifyUsageAndModelErrors(t *testing.T) {
	useFakeModel(t, 0)
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"classify"}, cli.ExitUsage, "no input"},
		{[]string{"classify", "--size", "224", "x.jpg"}, cli.ExitUsage, `--size "224"`},
		{[]string{"classify", "--size", "0x10", "x.jpg"}, cli.ExitUsage, "--size"},
		{[]string{"classify", "--top", "0", "x.jpg"}, cli.ExitUsage, "--top"},
		{[]string{"classify", "--threads", "-1", "x.jpg"}, cli.ExitUsage, "--threads"},
		{[]string{"classify", "--bogus", "x.jpg"}, cli.ExitUsage, "unknown flag"},
		{[]string{"classify", "--model", "bad.onnx", "x.jpg"}, cli.ExitBadModel, "bad.onnx: not an ONNX model"},
	}
	for _, c := range cases {
		stdout, stderr, code := runEdge(t, c.args...)
		if code != c.code || stdout != "" || !strings.Contains(stderr, c.err) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", c.args, code, stdout, stderr)
		}
	}
	if out, _, code := runEdge(t, "classify", "--help"); code != 0 || !strings.Contains(out, "--top") {
		t.Errorf("--help: %d %q", code, out)
	}
}

// Without --model, classify runs the built-in model: each committed
// Fashion-MNIST sample (testdata/fashion/samples/<class>_<index>.png, the
// class from the data set's labels) gets its class as top-1.
func TestClassifyBuiltInModel(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "fashion", "samples")
	stdout, stderr, code := runEdge(t, "classify", "--json", "--top", "1", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d results, want 10: %q", len(lines), stdout)
	}
	for _, l := range lines {
		var r struct {
			Path string
			Top  []struct{ Index int }
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil || len(r.Top) != 1 {
			t.Fatalf("%q: %v", l, err)
		}
		want, err := strconv.Atoi(strings.SplitN(filepath.Base(r.Path), "_", 2)[0])
		if err != nil {
			t.Fatalf("%s: sample not named <class>_<index>.png", r.Path)
		}
		if r.Top[0].Index != want {
			t.Errorf("%s: top-1 class %d, want %d", r.Path, r.Top[0].Index, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]sizeSpec{"": {}, "native": {Native: true}, "224x224": {H: 224, W: 224}, "240X320": {H: 240, W: 320}} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"224", "x", "-1x5", "9000x10", "axb", "224x224x3"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
