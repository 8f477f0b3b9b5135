package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/dataset"
	"github.com/piresnet/piresnet/internal/imageprep"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/runtime"
)

// evalFlags are the flags of edge eval.
type evalFlags struct {
	engine  engineFlags
	sizes   string
	ref     string
	jsonOut bool
	labels  string
	count   int
	batch   int
	interp  string
}

func init() {
	var f evalFlags
	app.Register(&cli.Command{
		Name:    "eval",
		Summary: "measure top-1/top-5 accuracy over a labelled data set (and agreement with a reference model)",
		Usage: "[flags] DATASET\n\nDATASET is a folder in ImageFolder layout (one folder per class, named like the model's\n" +
			"labels or by class index) or an idx images file (…-images-idx3-ubyte[.gz]) with its labels\n" +
			"file next to it (…-labels-idx1-ubyte[.gz]) or given with --labels.",
		Flags: func(fs *pflag.FlagSet) {
			f.engine.register(fs, true)
			fs.StringVar(&f.sizes, "size", "", "input sizes to evaluate at, comma-separated: N (square) or HxW, e.g. 28,56 (default: the model's suggested size)")
			fs.StringVar(&f.ref, "ref", "", "reference model (float or int8 ONNX) to measure top-1 agreement with")
			fs.BoolVar(&f.jsonOut, "json", false, "print one JSON object per size on stdout")
			fs.StringVar(&f.labels, "labels", "", "idx labels file (default: found next to the images file)")
			fs.IntVarP(&f.count, "count", "n", 0, "evaluate only the first N images (0: all)")
			fs.IntVar(&f.batch, "batch", 32, "images per model run")
			fs.StringVar(&f.interp, "interp", "bilinear", "resize filter: bilinear, nearest, bicubic or lanczos3")
		},
		Run: func(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error {
			return runEval(&f, args, stdout, stderr)
		},
	})
}

// parseSizes reads "28,56" or "224x224,240x320".
func parseSizes(s string) ([][2]int, error) {
	var out [][2]int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		h, w, err := modelmeta.ParseSize(part)
		if err != nil || h > maxSide || w > maxSide {
			return nil, fmt.Errorf("--size %q: want sizes N or HxW (1 to %d), comma-separated", s, maxSide)
		}
		out = append(out, [2]int{h, w})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--size %q: no size", s)
	}
	return out, nil
}

// sessionClassifier runs a runtime model on preprocessed batches.
type sessionClassifier struct {
	s       *runtime.Session
	classes int
}

func (c *sessionClassifier) Classes() int { return c.classes }

func (c *sessionClassifier) Logits(batch []float32, n, ch, h, w int, logits []float32) error {
	return c.s.RunFloat(batch, n, ch, h, w, logits)
}

// classesOf returns the number of classes of a model: its labels, else the
// fixed last dimension of its output.
func classesOf(m *runtime.Model, md *modelmeta.Metadata) (int, error) {
	if md != nil {
		return len(md.Labels), nil
	}
	outs := m.Source().Graph.Outputs
	if len(outs) == 1 && outs[0].Type != nil && outs[0].Type.HasShape && len(outs[0].Type.Shape) == 2 && outs[0].Type.Shape[1].HasValue {
		return int(outs[0].Type.Shape[1].Value), nil
	}
	return 0, errors.New("cannot tell its number of classes (no piresnet metadata, no fixed output size)")
}

func runEval(f *evalFlags, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return cli.Usage("want one DATASET (a class folder or an idx images file), have %d arguments", len(args))
	}
	if f.count < 0 || f.batch < 1 {
		return cli.Usage("--count must not be negative and --batch must be positive")
	}
	interp, err := imageprep.ParseInterpolation(f.interp)
	if err != nil {
		return cli.Usage("--interp: %v", strings.TrimPrefix(err.Error(), "imageprep: "))
	}
	var sizes [][2]int
	if f.sizes != "" {
		if sizes, err = parseSizes(f.sizes); err != nil {
			return cli.Usage("%v", err)
		}
	}
	m, name, err := f.engine.load(f.engine.model)
	if err != nil {
		return err
	}
	md, err := modelmeta.Parse(m.Source())
	if err != nil {
		return cli.BadModel(fmt.Errorf("%s: %v (eval needs the model's labels and normalization)", name, err))
	}
	classes, _ := classesOf(m, md)
	if sizes == nil {
		sizes = [][2]int{{md.InputHeight, md.InputWidth}}
	}
	var ref dataset.Classifier
	if f.ref != "" {
		rm, _, err := f.engine.load(f.ref)
		if err != nil {
			return err
		}
		var rmd *modelmeta.Metadata
		if p, err := modelmeta.Parse(rm.Source()); err == nil {
			rmd = p
		}
		rc, err := classesOf(rm, rmd)
		if err != nil {
			return cli.BadModel(fmt.Errorf("%s: %v", f.ref, err))
		}
		if rc != classes {
			return cli.Usage("--ref %s has %d classes, the model %d", f.ref, rc, classes)
		}
		s := rm.NewSession()
		defer s.Close()
		ref = &sessionClassifier{s: s, classes: rc}
	}
	src, err := openEvalSet(args[0], f.labels)
	if err != nil {
		return err
	}
	var labelMap []int
	if cl := src.Classes(); cl != nil {
		if labelMap, err = dataset.MapClasses(cl, md.Labels); err != nil {
			return cli.Usage("%s: %v", args[0], strings.TrimPrefix(err.Error(), "dataset: "))
		}
	}
	if f.count > 0 && f.count < src.Len() {
		idx := make([]int, f.count)
		for i := range idx {
			idx[i] = i
		}
		src = &dataset.Subset{Src: src, Indices: idx}
	}
	s := m.NewSession()
	defer s.Close()
	spec := imageprep.FromMetadata(md)
	spec.Interp = interp
	bar := cli.NewProgress(stderr, "eval", int64(src.Len()*len(sizes)), "images")
	res, err := dataset.Evaluate(src, &sessionClassifier{s: s, classes: classes}, ref, dataset.EvalOptions{
		Spec: spec, Sizes: sizes, LabelMap: labelMap, Batch: f.batch,
		Progress: func(done, total int) { bar.Set(int64(done)) }})
	if err != nil {
		if cli.IsTerminal(stderr) {
			fmt.Fprintln(stderr) // end the progress bar's line
		}
		if errors.Is(err, dataset.ErrUnlabelled) {
			return cli.Usage("%v", strings.TrimPrefix(err.Error(), "dataset: "))
		}
		return &cli.Error{Code: cli.ExitFailure, Err: err}
	}
	bar.Done()
	if f.jsonOut {
		enc := json.NewEncoder(stdout)
		for _, r := range res {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(stdout, "model %s on %s (%d images)\n", name, args[0], src.Len())
	head := fmt.Sprintf("%-10s %7s %8s %8s", "size", "images", "top-1", "top-5")
	if ref != nil {
		head += fmt.Sprintf(" %9s %9s", "ref top-1", "agreement")
	}
	fmt.Fprintln(stdout, head)
	for _, r := range res {
		line := fmt.Sprintf("%-10s %7d %7.2f%% %7.2f%%", r.Size, r.Count, 100*r.Top1, 100*r.Top5)
		if r.Agreement != nil {
			line += fmt.Sprintf(" %8.2f%% %8.2f%%", 100**r.RefTop1, 100**r.Agreement)
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}

// openEvalSet opens the data set: a folder, or an idx images file with its
// labels.
func openEvalSet(path, labels string) (dataset.Source, error) {
	lim := dataset.DefaultLimits()
	if labels != "" {
		if !dataset.IsIDX(path) {
			return nil, cli.Usage("--labels goes with an idx images file, not %s", path)
		}
		s, err := dataset.OpenIDX(path, labels, lim)
		if err != nil {
			return nil, cli.Usage("%v", strings.TrimPrefix(err.Error(), "dataset: "))
		}
		return s, nil
	}
	s, err := dataset.Open(path, true, lim)
	if err != nil {
		return nil, cli.Usage("%v", strings.TrimPrefix(err.Error(), "dataset: "))
	}
	return s, nil
}
