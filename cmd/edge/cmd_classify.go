package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/internal/camera"
	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/imageprep"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/runtime"
)

func init() {
	var (
		model   modelFlags
		top     int
		jsonOut bool
	)
	app.Register(&cli.Command{
		Name:    "classify",
		Summary: "classify image files, folders, globs or stdin",
		Usage:   "[flags] PATH... (files, folders, globs, - for stdin)",
		Flags: func(fs *pflag.FlagSet) {
			model.register(fs, "the model's suggested size (its metadata), else 224x224")
			fs.IntVarP(&top, "top", "k", 5, "labels to show per image")
			fs.BoolVar(&jsonOut, "json", false, "one JSON object per image on stdout")
		},
		Run: func(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error {
			if len(args) == 0 {
				return cli.Usage("no input: give image files, folders, globs or - for stdin")
			}
			if top < 1 {
				return cli.Usage("--top must be at least 1, got %d", top)
			}
			opt, err := model.options(defaultSize{})
			if err != nil {
				return err
			}
			clf, err := openClassifier(opt)
			if err != nil {
				return err
			}
			defer clf.Close()
			return classifyInputs(clf, args, top, jsonOut, stdout, stderr)
		},
	})
}

// ---- Models: what classify and camera share ----

// sizeSpec is the --size flag: HxW, or native (the image's own size), or
// unset (a default that depends on the command).
type sizeSpec struct {
	Native bool
	H, W   int
}

func (s sizeSpec) String() string {
	switch {
	case s.Native:
		return "native"
	case s.H == 0:
		return "default"
	}
	return fmt.Sprintf("%dx%d", s.H, s.W)
}

// maxSide bounds --size: the runtime accepts any size, but a typo like
// 22400x224 should not allocate gigabytes.
const maxSide = 8192

func parseSize(s string) (sizeSpec, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "":
		return sizeSpec{}, nil
	case "native":
		return sizeSpec{Native: true}, nil
	}
	hs, ws, ok := strings.Cut(s, "x")
	h, err1 := strconv.Atoi(hs)
	w, err2 := strconv.Atoi(ws)
	if !ok || err1 != nil || err2 != nil || h < 1 || w < 1 || h > maxSide || w > maxSide {
		return sizeSpec{}, fmt.Errorf("--size %q: want HxW (1 to %d each, e.g. 224x224) or native", s, maxSide)
	}
	return sizeSpec{H: h, W: w}, nil
}

// modelFlags are the flags every classifying command has: the engine's
// (--model, --threads, --kernels, shared with run and bench) and --size.
type modelFlags struct {
	engine engineFlags
	size   string
}

func (m *modelFlags) register(fs *pflag.FlagSet, sizeDefault string) {
	m.engine.register(fs, true)
	fs.StringVar(&m.size, "size", "", "input size HxW, or native to feed images at their own size (default: "+sizeDefault+")")
}

// defaultSize is the size used when --size is not given and the model
// suggests none.
type defaultSize struct{ H, W int }

// modelOptions is what openClassifier needs.
type modelOptions struct {
	Path     string   // "" for the built-in model
	Threads  int      // --threads (0: the board's default)
	Size     sizeSpec // unset: the model's suggestion, else Fallback
	Fallback defaultSize
	engine   *engineFlags // loads the model (model.go)
}

func (m *modelFlags) options(fallback defaultSize) (modelOptions, error) {
	size, err := parseSize(m.size)
	if err != nil {
		return modelOptions{}, cli.Usage("%v", err)
	}
	if m.engine.threads < 0 {
		return modelOptions{}, cli.Usage("--threads must be positive, got %d", m.engine.threads)
	}
	if fallback.H == 0 {
		fallback = defaultSize{224, 224}
	}
	return modelOptions{Path: m.engine.model, Threads: m.engine.threads, Size: size, Fallback: fallback, engine: &m.engine}, nil
}

// imageClassifier is a loaded model ready to label images: it resizes to
// the chosen input size, normalizes as the model's metadata says, runs
// the model and returns every class, most probable first.
type imageClassifier interface {
	camera.Classifier
	// Input is the size images are fed at ("224x224" or "native").
	Input() sizeSpec
	// Describe names the model in one line for status messages.
	Describe() string
	Close() error
}

// openClassifier loads a model; tests replace it with a fake.
var openClassifier = func(opt modelOptions) (imageClassifier, error) {
	c, err := openRuntimeClassifier(opt)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// runtimeClassifier runs a model on the int8 runtime, with the
// preprocessing of internal/imageprep and the labels, channels and
// normalization of the model's metadata.
type runtimeClassifier struct {
	name    string
	model   *runtime.Model
	sess    *runtime.Session
	spec    imageprep.Spec // Height and Width unused when native
	native  bool
	labels  []string
	softmax bool // the graph ends with Softmax: its output is already probabilities
	arch    string
	kernels string
	input   []float32
	logits  []float32
	probs   []float64
	order   []int
}

func openRuntimeClassifier(opt modelOptions) (*runtimeClassifier, error) {
	m, name, err := opt.engine.load(opt.Path) // the built-in model when Path is ""
	if err != nil {
		return nil, err
	}
	src := m.Source()
	c := &runtimeClassifier{name: filepath.Base(name), model: m}
	bad := func(format string, args ...any) error {
		return cli.BadModel(fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}

	// Channels from the input's declared shape (NCHW), for models
	// without metadata.
	inputs := src.Graph.RealInputs()
	if len(inputs) != 1 || len(src.Graph.Outputs) != 1 {
		return nil, bad("a classifier has one input and one output; this model has %d and %d", len(inputs), len(src.Graph.Outputs))
	}
	channels := 3
	if t := inputs[0].Type; t != nil && t.HasShape && len(t.Shape) == 4 && t.Shape[1].HasValue {
		channels = int(t.Shape[1].Value)
	}
	md, err := modelmeta.Parse(src)
	switch {
	case errors.Is(err, modelmeta.ErrNoMetadata):
		// A model from torch.onnx.export: ImageNet statistics, numbered classes.
		md = &modelmeta.Metadata{InputChannels: channels, Mean: modelmeta.ImageNetMean, Std: modelmeta.ImageNetStd}
		if channels != 3 {
			md.Mean, md.Std = repeat(0.5, channels), repeat(0.5, channels)
		}
		c.arch = "no piresnet metadata"
	case err != nil:
		return nil, bad("%v", err)
	default:
		c.arch = md.Architecture // runtime.Load checked it against the graph
	}
	c.spec = imageprep.Spec{Channels: md.InputChannels, Mean: md.Mean, Std: md.Std}
	switch {
	case opt.Size.Native:
		c.native = true
	case opt.Size.H > 0:
		c.spec.Height, c.spec.Width = opt.Size.H, opt.Size.W
	case md.InputHeight > 0:
		c.spec.Height, c.spec.Width = md.InputHeight, md.InputWidth
	default:
		c.spec.Height, c.spec.Width = opt.Fallback.H, opt.Fallback.W
	}

	// The number of classes: the output's size at a planned input size.
	h, w := c.spec.Height, c.spec.Width
	if c.native {
		h, w = opt.Fallback.H, opt.Fallback.W
	}
	info, err := m.Info(h, w)
	if err != nil {
		return nil, bad("%v", err)
	}
	classes := 1
	for _, d := range info.Outputs[0].Dims {
		v, err := strconv.Atoi(d)
		if err != nil || v < 1 {
			return nil, bad("output %s has dims %v at %dx%d", info.Outputs[0].Name, info.Outputs[0].Dims, h, w)
		}
		classes *= v
	}
	if md.Labels == nil {
		for i := range classes {
			md.Labels = append(md.Labels, strconv.Itoa(i))
		}
	}
	if len(md.Labels) != classes {
		return nil, bad("metadata has %d labels, the output has %d classes", len(md.Labels), classes)
	}
	c.labels = md.Labels
	c.kernels = strings.Join(info.Kernels, ", ")
	out := src.Graph.Outputs[0].Name
	for _, n := range src.Graph.Nodes {
		if slices.Contains(n.Outputs, out) && n.OpType == "Softmax" {
			c.softmax = true
		}
	}
	c.logits = make([]float32, classes)
	c.probs = make([]float64, classes)
	c.order = make([]int, classes)
	c.sess = m.NewSession()
	return c, nil
}

func repeat(v float32, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Classify implements camera.Classifier: preprocess, run, softmax, sort.
func (c *runtimeClassifier) Classify(img image.Image) ([]camera.Prediction, error) {
	spec := c.spec
	if c.native {
		b := img.Bounds()
		spec.Height, spec.Width = b.Dy(), b.Dx()
	}
	var err error
	if c.input, err = spec.Tensor(img, c.input); err != nil {
		return nil, err
	}
	if err := c.sess.RunFloat(c.input, 1, spec.Channels, spec.Height, spec.Width, c.logits); err != nil {
		return nil, err
	}
	probabilities(c.logits, c.softmax, c.probs)
	for i := range c.order {
		c.order[i] = i
	}
	slices.SortStableFunc(c.order, func(a, b int) int {
		switch {
		case c.probs[a] > c.probs[b]:
			return -1
		case c.probs[a] < c.probs[b]:
			return 1
		}
		return 0
	})
	preds := make([]camera.Prediction, len(c.order))
	for i, k := range c.order {
		preds[i] = camera.Prediction{Index: k, Label: c.labels[k], Prob: float32(c.probs[k])}
	}
	return preds, nil
}

// probabilities writes softmax(logits) into p (in float64, shifted by the
// maximum), or the logits themselves when the model ends with Softmax.
func probabilities(logits []float32, already bool, p []float64) {
	if already {
		for i, v := range logits {
			p[i] = float64(v)
		}
		return
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	var sum float64
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
}

func (c *runtimeClassifier) Input() sizeSpec {
	if c.native {
		return sizeSpec{Native: true}
	}
	return sizeSpec{H: c.spec.Height, W: c.spec.Width}
}

func (c *runtimeClassifier) Describe() string {
	kind := "int8"
	if c.model.Float() {
		kind = "float"
	}
	return fmt.Sprintf("%s (%s, %s, %d classes, %d threads, kernels %s)", c.name, c.arch, kind, len(c.labels), c.model.Options().Threads, c.kernels)
}

func (c *runtimeClassifier) Close() error {
	c.sess.Close()
	return nil
}

// ---- classify ----

// maxImageBytes bounds one input file or stdin; maxImagePixels bounds
// what a header may claim before decoding allocates for it.
const (
	maxImageBytes  = 256 << 20
	maxImagePixels = camera.MaxPixels
)

// stdin is where "-" reads from (tests replace it).
var stdin io.Reader = os.Stdin

// imageExts are the files a folder contributes.
var imageExts = []string{".jpg", ".jpeg", ".png"}

// input is one image to classify, or why it cannot be.
type input struct {
	name string // as printed
	path string // "" for stdin
	err  error
}

// expandInputs turns the arguments into inputs, in order: "-" is stdin,
// a folder gives its image files (recursively, sorted, hidden ones
// skipped), a path that does not exist is tried as a glob.
func expandInputs(args []string) []input {
	var out []input
	stdinUsed := false
	for _, a := range args {
		if a == "-" {
			if stdinUsed {
				out = append(out, input{name: "-", err: errors.New("stdin given twice")})
				continue
			}
			stdinUsed = true
			out = append(out, input{name: "-"})
			continue
		}
		st, err := os.Stat(a)
		switch {
		case err == nil && st.IsDir():
			files, err := imagesIn(a)
			if err != nil {
				out = append(out, input{name: a, err: err})
			} else if len(files) == 0 {
				out = append(out, input{name: a, err: errors.New("folder holds no .jpg, .jpeg or .png files")})
			}
			for _, f := range files {
				out = append(out, input{name: f, path: f})
			}
		case err == nil:
			out = append(out, input{name: a, path: a})
		case strings.ContainsAny(a, "*?["):
			matches, gerr := filepath.Glob(a)
			if gerr != nil {
				out = append(out, input{name: a, err: fmt.Errorf("bad pattern: %v", gerr)})
			} else if len(matches) == 0 {
				out = append(out, input{name: a, err: errors.New("no file matches")})
			}
			for _, m := range matches {
				out = append(out, input{name: m, path: m})
			}
		default:
			out = append(out, input{name: a, err: shortPathErr(err)})
		}
	}
	return out
}

func imagesIn(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && slices.Contains(imageExts, strings.ToLower(filepath.Ext(p))) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, shortPathErr(err)
	}
	slices.Sort(files)
	return files, nil
}

// shortPathErr drops the path that *PathError repeats (messages name the
// input already).
func shortPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, fs.ErrNotExist) {
			return errors.New("no such file")
		}
		return pe.Err
	}
	return err
}

// readImage reads and decodes one input (internal/imageprep checks the
// size its header claims before decoding).
func readImage(in input) (image.Image, error) {
	r := stdin
	if in.path != "" {
		f, err := os.Open(in.path)
		if err != nil {
			return nil, shortPathErr(err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxImageBytes+1))
	if err != nil {
		return nil, shortPathErr(err)
	}
	if len(data) == 0 {
		return nil, errors.New("empty file")
	}
	return imageprep.DecodeBytes(data, imageprep.Limits{MaxBytes: maxImageBytes, MaxPixels: maxImagePixels})
}

// jsonPrediction is a prediction in JSON output.
type jsonPrediction struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float64 `json:"prob"`
}

func topK(preds []camera.Prediction, k int) []jsonPrediction {
	out := make([]jsonPrediction, 0, min(k, len(preds)))
	for _, p := range preds[:min(k, len(preds))] {
		out = append(out, jsonPrediction{Index: p.Index, Label: p.Label, Prob: round(float64(p.Prob), 6)})
	}
	return out
}

func round(x float64, digits int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return v
}

func ms(d time.Duration) float64 { return round(float64(d)/1e6, 3) }

type classifyRecord struct {
	Path      string           `json:"path"`
	Width     int              `json:"width"` // the image's own size
	Height    int              `json:"height"`
	Input     string           `json:"input"` // the size fed to the model
	LatencyMS float64          `json:"latency_ms"`
	Top       []jsonPrediction `json:"top"`
}

// classifyInputs classifies every readable input, prints each result as
// soon as it is known, reports each failure in one line on stderr, and
// returns cli.InputsFailed when any failed.
func classifyInputs(clf imageClassifier, args []string, top int, jsonOut bool, stdout, stderr io.Writer) error {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	failed := 0
	fail := func(name string, err error) {
		out.Flush()
		failed++
		fmt.Fprintf(stderr, "edge classify: %s: %v\n", name, oneLine(err))
	}
	for _, in := range expandInputs(args) {
		if in.err != nil {
			fail(in.name, in.err)
			continue
		}
		img, err := readImage(in)
		if err != nil {
			fail(in.name, err)
			continue
		}
		t0 := time.Now()
		preds, err := clf.Classify(img)
		lat := time.Since(t0)
		if err != nil {
			fail(in.name, err)
			continue
		}
		if len(preds) == 0 {
			fail(in.name, errors.New("the model returned no classes"))
			continue
		}
		b := img.Bounds()
		input := clf.Input()
		if input.Native {
			input = sizeSpec{H: b.Dy(), W: b.Dx()}
		}
		if jsonOut {
			enc.Encode(classifyRecord{Path: in.name, Width: b.Dx(), Height: b.Dy(), Input: input.String(), LatencyMS: ms(lat), Top: topK(preds, top)})
		} else {
			fmt.Fprintf(out, "%s  %s  %.1f ms\n", in.name, input, float64(lat)/1e6)
			for i, p := range preds[:min(top, len(preds))] {
				fmt.Fprintf(out, "  %2d  %.4f  %s\n", i+1, p.Prob, p.Label)
			}
		}
		out.Flush()
	}
	if failed > 0 {
		return cli.InputsFailed(failed)
	}
	return nil
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
