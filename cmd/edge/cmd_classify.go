package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for classify's inputs
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/internal/camera"
	"github.com/piresnet/piresnet/internal/cli"
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

// modelFlags are the flags every classifying command has.
type modelFlags struct {
	path    string
	size    string
	threads int
}

func (m *modelFlags) register(fs *pflag.FlagSet, sizeDefault string) {
	fs.StringVarP(&m.path, "model", "m", "", "int8 ONNX model (default: the model built into edge)")
	fs.StringVar(&m.size, "size", "", "input size HxW, or native to feed images at their own size (default: "+sizeDefault+")")
	fs.IntVarP(&m.threads, "threads", "t", 0, "inference threads (default: the board's, see edge board)")
}

// defaultSize is the size used when --size is not given and the model
// suggests none.
type defaultSize struct{ H, W int }

// modelOptions is what openClassifier needs.
type modelOptions struct {
	Path     string   // "" for the built-in model
	Threads  int      // 0: the board's default
	Size     sizeSpec // unset: the model's suggestion, else Fallback
	Fallback defaultSize
}

func (m *modelFlags) options(fallback defaultSize) (modelOptions, error) {
	size, err := parseSize(m.size)
	if err != nil {
		return modelOptions{}, cli.Usage("%v", err)
	}
	if m.threads < 0 {
		return modelOptions{}, cli.Usage("--threads must be positive, got %d", m.threads)
	}
	if fallback.H == 0 {
		fallback = defaultSize{224, 224}
	}
	return modelOptions{Path: m.path, Threads: m.threads, Size: size, Fallback: fallback}, nil
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

// openClassifier loads a model. The int8 runtime (runtime.Load) and the
// preprocessing (internal/imageprep) are wired here once they land; tests
// replace it with a fake.
var openClassifier = func(opt modelOptions) (imageClassifier, error) {
	name := opt.Path
	if name == "" {
		name = "the built-in model"
	}
	return nil, &cli.Error{Code: cli.ExitFailure, Err: fmt.Errorf("%s: this build of edge has no inference engine yet (runtime.Load and internal/imageprep are not wired in)", name)}
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

// readImage reads and decodes one input, checking the size its header
// claims before decoding.
func readImage(in input) (image.Image, error) {
	var r io.Reader
	if in.path == "" {
		r = stdin
	} else {
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
	if len(data) > maxImageBytes {
		return nil, fmt.Errorf("larger than %d MiB", maxImageBytes>>20)
	}
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return nil, errors.New("not a JPEG or PNG image")
	}
	if err != nil {
		return nil, err
	}
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("%s of %dx%d pixels is beyond the %d-megapixel limit", format, cfg.Width, cfg.Height, maxImagePixels>>20)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", format, err)
	}
	return img, nil
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
