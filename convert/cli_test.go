package convert

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/modelmeta"
)

// pngFolder writes n random colour PNGs of w×h into an ImageFolder layout
// with two classes.
func pngFolder(t *testing.T, n, w, h int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(9, 9))
	for i := range n {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		base := r.IntN(200)
		for j := range img.Pix {
			img.Pix[j] = uint8(base + r.IntN(56))
			if j%4 == 3 {
				img.Pix[j] = 255
			}
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		p := filepath.Join(dir, []string{"a", "b"}[i%2], string(rune('a'+i%26))+string(rune('a'+i/26))+".png")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, buf.Bytes(), 0o644)
	}
	return dir
}

func parseCLI(t *testing.T, args ...string) *CLI {
	t.Helper()
	var c CLI
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	c.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestCLIConvert(t *testing.T) {
	m := readModel(t, fixture(t, "tiny_plain.onnx"))
	md := modelmeta.Metadata{Architecture: "tiny", Labels: []string{"a", "b", "c", "d", "e"}, InputChannels: 3,
		Mean: modelmeta.ImageNetMean, Std: modelmeta.ImageNetStd, InputHeight: 40, InputWidth: 48}
	if err := md.Apply(m); err != nil {
		t.Fatal(err)
	}
	dir := pngFolder(t, 30, 50, 45)
	report := filepath.Join(t.TempDir(), "report.json")
	c := parseCLI(t, "--int8", "--calib", dir, "--calib-count", "20", "--report-count", "6", "--method", "percentile", "--percentile", "99.9", "--report", report)
	var stdout, stderr bytes.Buffer
	q, rep, err := c.Convert(m, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Calibration != 20 || rep.HeldBack != 6 || rep.Method != "percentile:99.9" || rep.Source != filepath.Base(dir) {
		t.Errorf("report %+v", rep)
	}
	if v, _ := q.Metadata(KeyQuantCalibration); v != "20 samples of "+filepath.Base(dir) {
		t.Errorf("metadata %q", v)
	}
	// Pair-safe weights are the default; --pair-safe=false writes plain
	// 8-bit ones and --reduce-range 7-bit ones.
	if v, _ := q.Metadata(KeyQuantWeights); v != WeightsSchemePairs {
		t.Errorf("default weights %q, want %q", v, WeightsSchemePairs)
	}
	for flag, want := range map[string]string{"--pair-safe=false": WeightsScheme, "--reduce-range": WeightsSchemeReduced} {
		c := parseCLI(t, "--int8", "--calib", dir, "--calib-count", "4", "--report-count", "0", "--table=false", flag)
		q, _, err := c.Convert(m, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := q.Metadata(KeyQuantWeights); v != want {
			t.Errorf("%s: weights %q, want %q", flag, v, want)
		}
	}
	if !strings.Contains(stdout.String(), "percentile:99.9, uint8 activations, 20 samples") {
		t.Errorf("table:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "calibrating: 20/20 images") {
		t.Errorf("progress: %q", stderr.String())
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Tensors) != len(rep.Tensors) {
		t.Errorf("report file: %v", err)
	}
}

func TestCLIErrors(t *testing.T) {
	m := readModel(t, fixture(t, "tiny_plain.onnx")) // no piresnet metadata
	dir := pngFolder(t, 4, 8, 8)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--int8"}, 2, "needs --calib"},
		{[]string{"--calib", dir}, 2, "need --int8"},
		{[]string{"--int8", "--calib", dir, "--method", "kl"}, 2, `--method "kl"`},
		{[]string{"--int8", "--calib", dir, "--method", "percentile", "--percentile", "0"}, 2, "--percentile 0"},
		{[]string{"--int8", "--calib", dir, "--activations", "int4"}, 2, "--activations"},
		{[]string{"--int8", "--calib", dir, "--calib-count", "0"}, 2, "--calib-count"},
		{[]string{"--int8", "--calib", dir, "--calib-size", "big"}, 2, "--calib-size"},
		{[]string{"--int8", "--calib", dir}, 3, "no piresnet metadata"},
	}
	for _, c := range cases {
		cl := parseCLI(t, c.args...)
		var err error
		if cl.Int8 {
			_, _, err = cl.Convert(m, &bytes.Buffer{}, &bytes.Buffer{})
		} else {
			err = cl.Check()
		}
		if cli.Code(err) != c.code || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v (exit %d), want exit %d and %q", c.args, err, cli.Code(err), c.code, c.want)
		}
	}
	md := modelmeta.Metadata{Architecture: "tiny", Labels: []string{"a", "b", "c", "d", "e"}, InputChannels: 3,
		Mean: modelmeta.ImageNetMean, Std: modelmeta.ImageNetStd, InputHeight: 8, InputWidth: 8}
	md.Apply(m)
	cl := parseCLI(t, "--int8", "--calib", filepath.Join(dir, "missing"))
	if _, _, err := cl.Convert(m, &bytes.Buffer{}, &bytes.Buffer{}); cli.Code(err) != 2 || !strings.Contains(err.Error(), "--calib") {
		t.Errorf("missing calibration folder: %v", err)
	}
}
