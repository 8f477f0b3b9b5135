// Command fashiontable measures the Fashion-MNIST models of testdata/fashion
// in float and in int8 with every calibration method, at 28x28 and 56x56,
// and prints the results table of convert/README-snippet.md:
//
//	go run ./convert/internal/fashiontable [-count N] [-calib-count N] [-calib-size 28,56] RUN=CHECKPOINT...
//
// e.g. plain=testdata/fashion/gen/run_ce/model.pth
// smooth=testdata/fashion/gen/run_ls/model.pth. Each checkpoint is exported
// as make_default_model.sh does (labels and normalization of
// testdata/fashion/model.json), converted with each method on training
// images (the same seeded draw for every method), and evaluated on the
// test images with the int8 engine (package runtime) against the float
// model (runtime/ref through package runtime).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/piresnet/piresnet/convert"
	"github.com/piresnet/piresnet/convert/export"
	"github.com/piresnet/piresnet/internal/dataset"
	"github.com/piresnet/piresnet/internal/imageprep"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime"
)

var (
	data       = flag.String("data", "/usr/share/datasets/fashion-mnist", "folder of the Fashion-MNIST idx files")
	meta       = flag.String("meta", "testdata/fashion/model.json", "model.json with the normalization")
	labelsFile = flag.String("labels", "testdata/fashion/labels.txt", "class names")
	count      = flag.Int("count", 0, "test images to evaluate (0: all 10,000)")
	calibCount = flag.Int("calib-count", 2000, "calibration images (training set)")
	reduce     = flag.Bool("reduce-range", false, "convert with 7-bit weights (convert.Options.ReduceRange)")
	pairSafe   = flag.Bool("pair-safe", false, "convert with pair-safe 8-bit weights (convert.Options.PairSafe)")
	methods    = flag.String("methods", "minmax,percentile:99.99,entropy,mse", "calibration methods, comma-separated")
	calibSizes = flag.String("calib-size", "28,56", "sizes to calibrate at, comma-separated N (export's --calib-size): one int8 model for all of them")
)

func main() {
	flag.Parse()
	if err := run(flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "fashiontable:", err)
		os.Exit(1)
	}
}

type row struct {
	run, model         string
	top1, top5, agree  [2]float64
	hasAgree           bool
	seconds            float64
	calibrationSamples int
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("want RUN=CHECKPOINT arguments")
	}
	b, err := os.ReadFile(*meta)
	if err != nil {
		return err
	}
	var md struct {
		Mean, Std []float32
	}
	if err := json.Unmarshal(b, &md); err != nil {
		return err
	}
	labels, err := modelmeta.ReadLabels(*labelsFile)
	if err != nil {
		return err
	}
	test, err := dataset.OpenIDX(filepath.Join(*data, "t10k-images-idx3-ubyte.gz"), "auto", dataset.DefaultLimits())
	if err != nil {
		return err
	}
	var src dataset.Source = test
	if *count > 0 {
		idx := make([]int, *count)
		for i := range idx {
			idx[i] = i
		}
		src = &dataset.Subset{Src: test, Indices: idx}
	}
	train, err := dataset.OpenIDX(filepath.Join(*data, "train-images-idx3-ubyte.gz"), "", dataset.DefaultLimits())
	if err != nil {
		return err
	}
	spec := imageprep.Spec{Channels: 1, Mean: md.Mean, Std: md.Std, Height: 28, Width: 28}
	var multi convert.MultiCalibration
	for _, f := range strings.Split(*calibSizes, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 4096 {
			return fmt.Errorf("-calib-size %q: want sizes in pixels, e.g. 28,56", *calibSizes)
		}
		s := spec
		s.Height, s.Width = n, n
		c, err := convert.NewImageCalibration(train, s)
		if err != nil {
			return err
		}
		multi = append(multi, c)
	}
	var cal convert.Calibration = multi[0]
	if len(multi) > 1 {
		cal = multi
	}
	sizes := [][2]int{{28, 28}, {56, 56}}
	type variant struct {
		name string
		opt  convert.Options
	}
	var variants []variant
	for _, name := range strings.Split(*methods, ",") {
		m, err := quant.ParseMethod(name)
		if err != nil {
			return err
		}
		v := variant{m.String(), convert.Options{Method: m, Count: *calibCount, Held: -1, ReduceRange: *reduce, PairSafe: *pairSafe}}
		switch {
		case *reduce:
			v.name += ", 7-bit weights"
		case *pairSafe:
			v.name += ", pair-safe weights"
		}
		variants = append(variants, v)
	}
	var rows []row
	for _, a := range args {
		name, ckpt, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("argument %q: want RUN=CHECKPOINT", a)
		}
		float, _, err := export.ExportFile(ckpt, export.Options{Labels: labels, Mean: md.Mean, Std: md.Std, InputHeight: 28, InputWidth: 28})
		if err != nil {
			return err
		}
		fm, err := runtime.Compile(float, runtime.Options{})
		if err != nil {
			return err
		}
		fsess := fm.NewSession()
		// The float model's logits, computed once and replayed.
		ref := &replay{c: &classifier{fsess}}
		var fr []dataset.EvalResult
		fr, err = dataset.Evaluate(src, ref, nil, dataset.EvalOptions{Spec: spec, Sizes: sizes, Batch: 100})
		if err != nil {
			return err
		}
		r := row{run: name, model: "float"}
		for k := range sizes {
			r.top1[k], r.top5[k] = fr[k].Top1, fr[k].Top5
		}
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "%s float: %.2f%% / %.2f%%\n", name, 100*r.top1[0], 100*r.top1[1])
		for _, v := range variants {
			start := time.Now()
			q, rep, err := convert.Quantize(float, cal, v.opt)
			if err != nil {
				return err
			}
			qm, err := runtime.Compile(q, runtime.Options{})
			if err != nil {
				return err
			}
			qs := qm.NewSession()
			ref.next = 0
			res, err := dataset.Evaluate(src, &classifier{qs}, ref, dataset.EvalOptions{Spec: spec, Sizes: sizes, Batch: 100})
			qs.Close()
			if err != nil {
				return err
			}
			r := row{run: name, model: "int8 " + v.name, hasAgree: true, seconds: time.Since(start).Seconds(), calibrationSamples: rep.Calibration}
			for k := range sizes {
				r.top1[k], r.top5[k], r.agree[k] = res[k].Top1, res[k].Top5, *res[k].Agreement
			}
			rows = append(rows, r)
			fmt.Fprintf(os.Stderr, "%s %s: %.2f%% (agree %.2f%%) / %.2f%% (agree %.2f%%)\n", name, v.name, 100*r.top1[0], 100*r.agree[0], 100*r.top1[1], 100*r.agree[1])
		}
		fsess.Close()
	}
	fmt.Printf("| run | model | top-1 28x28 | top-5 28x28 | agreement 28x28 | top-1 56x56 | top-5 56x56 | agreement 56x56 |\n")
	fmt.Printf("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		ag := func(k int) string {
			if !r.hasAgree {
				return "—"
			}
			return fmt.Sprintf("%.2f %%", 100*r.agree[k])
		}
		fmt.Printf("| %s | %s | %.2f %% | %.2f %% | %s | %.2f %% | %.2f %% | %s |\n", r.run, r.model,
			100*r.top1[0], 100*r.top5[0], ag(0), 100*r.top1[1], 100*r.top5[1], ag(1))
	}
	fmt.Printf("\n%d test images; int8 models calibrated on %d training images at %s pixels.\n", src.Len(), *calibCount, *calibSizes)
	return nil
}

// replay records the logits of the first pass over the data set and
// replays them on later passes (dataset.Evaluate calls it in the same
// order every time), so that the float model runs once per size.
type replay struct {
	c     dataset.Classifier
	saved [][]float32
	next  int
}

func (r *replay) Classes() int { return r.c.Classes() }
func (r *replay) Logits(b []float32, n, ch, h, w int, l []float32) error {
	if r.next < len(r.saved) {
		if len(r.saved[r.next]) != len(l) {
			return fmt.Errorf("replay: batch %d has %d logits, recorded %d", r.next, len(l), len(r.saved[r.next]))
		}
		copy(l, r.saved[r.next])
		r.next++
		return nil
	}
	if err := r.c.Logits(b, n, ch, h, w, l); err != nil {
		return err
	}
	r.saved = append(r.saved, append([]float32(nil), l...))
	r.next++
	return nil
}

type classifier struct{ s *runtime.Session }

func (c *classifier) Classes() int { return 10 }
func (c *classifier) Logits(b []float32, n, ch, h, w int, l []float32) error {
	return c.s.RunFloat(b, n, ch, h, w, l)
}
