package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/internal/ortrun"
	"github.com/piresnet/piresnet/runtime/ref"
)

// These tests run the real binary (built once into a temporary directory)
// on the checkpoints of testdata/families (made by its make_fixtures.sh).

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func genDir() string { return filepath.Join(repoRoot(), "testdata", "families", "gen") }

type fixture struct {
	Name       string   `json:"name"`
	File       string   `json:"file"`
	Arch       string   `json:"arch"`
	InChannels int      `json:"in_channels"`
	Classes    int      `json:"classes"`
	Labels     []string `json:"labels"`
	Tests      []struct {
		Input  string `json:"input"`
		Output string `json:"output"`
	} `json:"tests"`
}

type manifest struct {
	Fixtures []fixture `json:"fixtures"`
	Bad      []struct {
		File string `json:"file"`
		Why  string `json:"why"`
		Exit int    `json:"exit"`
	} `json:"bad"`
}

var (
	setupOnce sync.Once
	binPath   string
	man       manifest
	setupErr  error
)

func setup(t *testing.T) (string, *manifest) {
	t.Helper()
	setupOnce.Do(func() {
		cmd := exec.Command(filepath.Join(repoRoot(), "testdata", "families", "make_fixtures.sh"))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if setupErr = cmd.Run(); setupErr != nil {
			return
		}
		var b []byte
		if b, setupErr = os.ReadFile(filepath.Join(genDir(), "manifest.json")); setupErr != nil {
			return
		}
		if setupErr = json.Unmarshal(b, &man); setupErr != nil {
			return
		}
		dir, err := os.MkdirTemp("", "export-bin-*")
		if err != nil {
			setupErr = err
			return
		}
		binPath = filepath.Join(dir, "export")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			setupErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return binPath, &man
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// runBin runs the binary and returns its stdout, stderr and exit status.
func runBin(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func findFixture(t *testing.T, m *manifest, name string) *fixture {
	for i := range m.Fixtures {
		if m.Fixtures[i].Name == name {
			return &m.Fixtures[i]
		}
	}
	t.Fatalf("no fixture %s", name)
	return nil
}

func maxRatio(t *testing.T, got, want *onnx.Tensor) float64 {
	t.Helper()
	g, _ := got.Float32s()
	if len(g) != len(want.F32) {
		t.Fatalf("%d logits, torch %d", len(g), len(want.F32))
	}
	var d, a float64
	for i, w := range want.F32 {
		d = max(d, math.Abs(float64(g[i])-float64(w)))
		a = max(a, math.Abs(float64(w)))
	}
	return d / a
}

// TestBinaryEndToEnd exports fastai vision_learner and Lightning/float16
// checkpoints through the binary with --labels, and checks the file with
// ONNX Runtime and runtime/ref against torch.
func TestBinaryEndToEnd(t *testing.T) {
	bin, m := setup(t)
	dir := t.TempDir()
	for _, name := range []string{"vl_resnet34", "vl_resnet18_firstbn"} {
		f := findFixture(t, m, name)
		labels := f.Labels
		if labels == nil {
			for i := 0; i < f.Classes; i++ {
				labels = append(labels, fmt.Sprintf("label %d", i))
			}
		}
		lf := filepath.Join(dir, name+".labels.txt")
		if err := os.WriteFile(lf, []byte(strings.Join(labels, "\r\n")+"\n\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name+".onnx")
		stdout, stderr, code := runBin(t, bin, filepath.Join(genDir(), f.File), "--labels", lf, "-o", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		for _, want := range []string{"architecture  " + f.Arch, "parameters", "MACs", fmt.Sprintf("classes       %d:", f.Classes), "wrote         " + out} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: summary lacks %q:\n%s", name, want, stdout)
			}
		}
		t.Logf("%s summary:\n%s", name, stdout)
		model, err := onnx.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		md, err := modelmeta.Parse(model)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(md.Labels, labels) {
			t.Errorf("labels %q, want %q", md.Labels, labels)
		}
		prog, err := ref.Compile(model)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range f.Tests {
			x, err := onnx.ReadTensorFile(filepath.Join(genDir(), tc.Input))
			if err != nil {
				t.Fatal(err)
			}
			want, err := onnx.ReadTensorFile(filepath.Join(genDir(), tc.Output))
			if err != nil {
				t.Fatal(err)
			}
			o, err := ortrun.Run(out, []*onnx.Tensor{x}, ortrun.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := prog.Run(map[string]*onnx.Tensor{"input": x})
			if err != nil {
				t.Fatal(err)
			}
			ro, rr := maxRatio(t, o[0], want), maxRatio(t, r["logits"], want)
			t.Logf("%s %v: ORT %.2g, ref %.2g", name, x.Dims, ro, rr)
			if ro > 1e-4 || rr > 1e-4 {
				t.Errorf("%s %v: max diff / max |logit|: ORT %.3g, ref %.3g > 1e-4", name, x.Dims, ro, rr)
			}
		}
	}
}

// TestBadCheckpoints runs the binary on checkpoints it must refuse: each
// gives one line on stderr naming the file, the documented exit status, no
// output file, and an earlier output file left intact.
func TestBadCheckpoints(t *testing.T) {
	bin, m := setup(t)
	if len(m.Bad) < 10 {
		t.Fatalf("only %d bad checkpoints in the manifest", len(m.Bad))
	}
	dir := t.TempDir()
	earlier := filepath.Join(dir, "earlier.onnx")
	if _, stderr, code := runBin(t, bin, filepath.Join(repoRoot(), "testdata", "families", "example.pth"),
		"--mean", "0.5", "--std", "0.25", "-q", "-o", earlier); code != 0 {
		t.Fatalf("exporting example.pth: exit %d: %s", code, stderr)
	}
	before, err := os.ReadFile(earlier)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range m.Bad {
		t.Run(b.File, func(t *testing.T) {
			in := filepath.Join(genDir(), b.File)
			for _, out := range []string{filepath.Join(dir, "new.onnx"), earlier} {
				stdout, stderr, code := runBin(t, bin, in, "-o", out)
				if code != b.Exit {
					t.Errorf("%s: exit %d, want %d; stderr: %s", b.Why, code, b.Exit, stderr)
				}
				lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "export: ") || !strings.Contains(lines[0], in) {
					t.Errorf("%s: stderr is not one line naming the file: %q", b.Why, stderr)
				}
				if stdout != "" {
					t.Errorf("stdout %q", stdout)
				}
				if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
					t.Errorf("panic: %s", stderr)
				}
				t.Logf("%s: %s", b.Why, strings.TrimSpace(stderr))
			}
			if _, err := os.Stat(filepath.Join(dir, "new.onnx")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("output file left behind: %v", err)
			}
			after, err := os.ReadFile(earlier)
			if err != nil || !bytes.Equal(after, before) {
				t.Errorf("the earlier output was changed: %v", err)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if e.Name() != "earlier.onnx" {
					t.Errorf("stray file %s", e.Name())
				}
			}
		})
	}
	if _, err := os.Stat("/tmp/piresnet-pwned"); err == nil {
		t.Errorf("/tmp/piresnet-pwned exists: something executed the pickle's os.system")
	}
}

// TestUsage checks flags and arguments: usage errors exit 2 with one line,
// --help exits 0.
func TestUsage(t *testing.T) {
	bin, m := setup(t)
	dir := t.TempDir()
	example := filepath.Join(repoRoot(), "testdata", "families", "example.pth")
	fashionLike := filepath.Join(genDir(), findFixture(t, m, "book_resnet18").File)
	labels3 := filepath.Join(dir, "labels3.txt")
	os.WriteFile(labels3, []byte("a\nb\nc\n"), 0o644)
	holey := filepath.Join(dir, "holey.txt")
	os.WriteFile(holey, []byte("a\n\nc\n"), 0o644)
	out := filepath.Join(dir, "out.onnx")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no args", nil, 2, "want one CHECKPOINT argument"},
		{"two args", []string{example, example, "-o", out}, 2, "want one CHECKPOINT argument, have 2"},
		{"no -o", []string{example}, 2, "no output file"},
		{"unknown flag", []string{"--fp16", example, "-o", out}, 2, "unknown flag: --fp16"},
		{"int8 without calib", []string{"--int8", fashionLike, "-o", out}, 2, "--int8 needs --calib"},
		{"calib without int8", []string{"--calib", dir, fashionLike, "-o", out}, 2, "need --int8"},
		{"bad method", []string{"--int8", "--calib", dir, "--method", "max", fashionLike, "-o", out}, 2, "--method"},
		{"empty calib folder", []string{"--int8", "--calib", dir, fashionLike, "-o", out}, 2, dir},
		{"missing file", []string{filepath.Join(dir, "none.pth"), "-o", out}, 3, "no such file"},
		{"no normalization for 1 channel", []string{example, "-o", out}, 2, "give its normalization"},
		{"mean count", []string{example, "--mean", "0.1,0.2", "--std", "0.3", "-o", out}, 2, "2 mean values for 1 input channels"},
		{"bad mean", []string{example, "--mean", "x", "--std", "0.3", "-o", out}, 2, "--mean"},
		{"labels count", []string{fashionLike, "--labels", labels3, "-o", out}, 2, "3 labels for a model with 10 classes"},
		{"blank label", []string{fashionLike, "--labels", holey, "-o", out}, 2, "line 2 is empty"},
		{"no labels file", []string{fashionLike, "--labels", filepath.Join(dir, "nope.txt"), "-o", out}, 2, "--labels"},
		{"bad arch", []string{fashionLike, "--arch", "vgg16", "-o", out}, 2, "not a family"},
		{"wrong arch", []string{fashionLike, "--arch", "resnet50", "-o", out}, 3, "not a resnet50"},
		{"wrong family", []string{fashionLike, "--arch", "xresnet", "-o", out}, 3, "xresnet:"},
		{"opset", []string{fashionLike, "--opset", "11", "-o", out}, 2, "opset 11"},
		{"input size", []string{fashionLike, "--input-size", "0x3", "-o", out}, 2, "--input-size"},
		{"output dir missing", []string{fashionLike, "-o", filepath.Join(dir, "no", "x.onnx")}, 4, "x.onnx"},
	} {
		stdout, stderr, code := runBin(t, bin, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want exit %d and one line with %q", c.name, code, stderr, stdout, c.code, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: wrote %s", c.name, out)
		}
	}
	stdout, _, code := runBin(t, bin, "--help")
	if code != 0 || !strings.Contains(stdout, "Usage: export [flags] CHECKPOINT -o MODEL.onnx") || !strings.Contains(stdout, "vision_learner") {
		t.Errorf("--help: exit %d:\n%s", code, stdout)
	}
	// The book override that restates the convention gives the same file.
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	runBin(t, bin, fashionLike, "-q", "-o", a)
	if _, stderr, code := runBin(t, bin, fashionLike, "-q", "--arch", "book:stem=2-1-1,stages=1-2-2-2", "-o", b); code != 0 {
		t.Fatalf("override: %s", stderr)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ab) == 0 || !bytes.Equal(ab, bb) {
		t.Errorf("--arch book:stem=2-1-1,stages=1-2-2-2 differs from the convention's file")
	}
}
