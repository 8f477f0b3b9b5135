package convert

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/dataset"
	"github.com/piresnet/piresnet/internal/fileutil"
	"github.com/piresnet/piresnet/internal/imageprep"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime"
)

// CLI is the command-line side of a conversion, shared by `export --int8`
// and the tools that convert a float ONNX file: the flags (Register) and
// what they do (Convert). The zero value holds no settings; Register sets
// the defaults.
type CLI struct {
	Int8        bool
	Calib       string // folder (ImageFolder or flat) or idx images file
	Count       int
	Method      string
	Percentile  float64
	Activations string
	ReduceRange bool
	PairSafe    bool
	Report      string // JSON file
	Held        int
	Seed        uint64
	Size        string // calibration input size HxW; default the metadata's
	Interp      string
	Table       bool
}

// Register declares the conversion flags on fs.
func (c *CLI) Register(fs *pflag.FlagSet) {
	fs.BoolVar(&c.Int8, "int8", false, "convert to a calibrated int8 model (QDQ ONNX); needs --calib")
	fs.StringVar(&c.Calib, "calib", "", "calibration images: a folder (ImageFolder layout or flat; JPEG, PNG) or an idx images file (…-images-idx3-ubyte[.gz])")
	fs.IntVar(&c.Count, "calib-count", DefaultCount, "calibration images to use (drawn at random, seeded)")
	fs.StringVar(&c.Method, "method", DefaultMethod.String(), "calibration method: minmax, percentile, entropy (KL, TensorRT's) or mse")
	fs.Float64Var(&c.Percentile, "percentile", 99.99, "percentile kept by --method percentile")
	fs.StringVar(&c.Activations, "activations", "uint8", "activation type: uint8 (what ONNX Runtime fuses on x86) or int8")
	fs.BoolVar(&c.ReduceRange, "reduce-range", false, "7-bit weights [-64,64] (ONNX Runtime's reduce_range: its x86 kernels saturate with 8-bit weights)")
	fs.BoolVar(&c.PairSafe, "pair-safe", true, "8-bit weights with no two neighbours summing to more than 128 in magnitude: exact in ONNX Runtime's x86 kernels, as --reduce-range, at a fraction of its precision loss (--pair-safe=false: plain 8-bit weights)")
	fs.StringVar(&c.Report, "report", "", "write the per-tensor report as JSON to this file")
	fs.IntVar(&c.Held, "report-count", DefaultHeld, "further images, not used for calibration, that the report measures SQNR on (0: none)")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the random choice of calibration images")
	fs.StringVar(&c.Size, "calib-size", "", "input sizes to calibrate at, comma-separated HxW or N (default: the model's suggested size, its metadata); several sizes fit one model to all of them")
	fs.StringVar(&c.Interp, "interp", "bilinear", "resize filter: bilinear, nearest, bicubic or lanczos3")
	fs.BoolVar(&c.Table, "table", true, "print the per-tensor table on standard output")
}

// Check validates the flags (usage errors, exit 2).
func (c *CLI) Check() error {
	if !c.Int8 {
		for _, f := range []string{c.Calib, c.Report} {
			if f != "" {
				return cli.Usage("--calib and --report need --int8")
			}
		}
		return nil
	}
	if c.Calib == "" {
		return cli.Usage("--int8 needs --calib DIR (calibration images) or an idx images file")
	}
	if c.Count < 1 {
		return cli.Usage("--calib-count must be at least 1, got %d", c.Count)
	}
	if c.Held < 0 {
		return cli.Usage("--report-count must not be negative, got %d", c.Held)
	}
	if _, err := c.method(); err != nil {
		return cli.Usage("%v", err)
	}
	if _, err := c.qtype(); err != nil {
		return err
	}
	if c.Size != "" {
		if _, err := parseSizes(c.Size); err != nil {
			return cli.Usage("--calib-size: %v", err)
		}
	}
	if _, err := imageprep.ParseInterpolation(c.Interp); err != nil {
		return cli.Usage("--interp: %v", strings.TrimPrefix(err.Error(), "imageprep: "))
	}
	return nil
}

func (c *CLI) method() (quant.Method, error) {
	if c.Method == "percentile" {
		if !(c.Percentile > 0 && c.Percentile <= 100) {
			return quant.Method{}, fmt.Errorf("--percentile %g: must be in (0, 100]", c.Percentile)
		}
		return quant.Percentile(c.Percentile), nil
	}
	m, err := quant.ParseMethod(c.Method)
	if err != nil {
		return m, fmt.Errorf("--method %q: want minmax, percentile, entropy or mse", c.Method)
	}
	return m, nil
}

func (c *CLI) qtype() (quant.QType, error) {
	switch c.Activations {
	case "uint8":
		return quant.Uint8, nil
	case "int8":
		return quant.Int8, nil
	}
	return 0, cli.Usage("--activations %q: want uint8 or int8", c.Activations)
}

// Convert calibrates and converts a float model as the flags say: the
// model's preprocessing comes from its metadata (a model without piresnet
// metadata is refused: export it with export, which writes it), a progress
// bar goes to stderr, the table to stdout, the JSON report to --report.
// Errors carry their exit status (internal/cli).
func (c *CLI) Convert(float *onnx.Model, stdout, stderr io.Writer) (*onnx.Model, *Report, error) {
	if err := c.Check(); err != nil {
		return nil, nil, err
	}
	md, err := modelmeta.Parse(float)
	if errors.Is(err, modelmeta.ErrNoMetadata) {
		return nil, nil, cli.BadModel(fmt.Errorf("convert: %v: its input's channels and normalization are unknown", err))
	}
	if err != nil {
		return nil, nil, cli.BadModel(fmt.Errorf("convert: %v", err))
	}
	// The float model must be one the engines can run, with metadata that
	// fits its graph: refuse it before reading any calibration image.
	if _, err := runtime.Compile(float, runtime.Options{Threads: 1}); err != nil {
		return nil, nil, cli.BadModel(fmt.Errorf("convert: %v", strings.TrimPrefix(err.Error(), "runtime: ")))
	}
	spec := imageprep.FromMetadata(md)
	spec.Interp, _ = imageprep.ParseInterpolation(c.Interp)
	sizes := [][2]int{{spec.Height, spec.Width}}
	if c.Size != "" {
		sizes, _ = parseSizes(c.Size)
	}
	src, err := dataset.Open(c.Calib, false, dataset.DefaultLimits())
	if err != nil {
		return nil, nil, cli.Usage("--calib: %v", strings.TrimPrefix(err.Error(), "dataset: "))
	}
	var multi MultiCalibration
	for _, hw := range sizes {
		spec.Height, spec.Width = hw[0], hw[1]
		c, err := NewImageCalibration(src, spec)
		if err != nil {
			return nil, nil, cli.Usage("%v", err)
		}
		multi = append(multi, c)
	}
	var cal Calibration = multi[0]
	if len(multi) > 1 {
		cal = multi
	}
	method, _ := c.method()
	qt, _ := c.qtype()
	var bar *cli.Progress
	stage := ""
	opt := Options{Method: method, Activations: qt, Count: c.Count, Held: c.Held, Seed: c.Seed,
		ReduceRange: c.ReduceRange, PairSafe: c.PairSafe, Source: filepath.Base(filepath.Clean(c.Calib)),
		Progress: func(s string, done, total int) {
			if s != stage {
				bar.Done()
				bar, stage = cli.NewProgress(stderr, s, int64(total), "images"), s
			}
			bar.Set(int64(done))
		}}
	if c.Held == 0 {
		opt.Held = -1
	}
	q, rep, err := Quantize(float, cal, opt)
	bar.Done()
	if err != nil {
		code := cli.ExitFailure
		if errors.As(err, new(*ModelError)) {
			code = cli.ExitBadModel
		}
		return nil, nil, &cli.Error{Code: code, Err: err}
	}
	if c.Table {
		if err := rep.WriteTable(stdout); err != nil {
			return nil, nil, err
		}
	}
	if c.Report != "" {
		if err := fileutil.Write(c.Report, 0o644, rep.WriteJSON); err != nil {
			return nil, nil, &cli.Error{Code: cli.ExitFailure, Err: fmt.Errorf("--report %s: %v", c.Report, err)}
		}
	}
	return q, rep, nil
}

// parseSizes reads "28,56" or "224x224,240x320".
func parseSizes(s string) ([][2]int, error) {
	var out [][2]int
	for _, part := range strings.Split(s, ",") {
		h, w, err := modelmeta.ParseSize(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, [2]int{h, w})
	}
	return out, nil
}

// Describe is the one-line summary of the settings, e.g. "mse, uint8
// activations, 256 images of train-images-idx3-ubyte.gz".
func (c *CLI) Describe() string {
	m, _ := c.method()
	return m.String() + ", " + c.Activations + " activations, " + strconv.Itoa(c.Count) + " images of " + filepath.Base(c.Calib)
}
