package export_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piresnet/piresnet/convert/export"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/internal/ortrun"
	"github.com/piresnet/piresnet/runtime/ref"
)

// tolerance is the bound on max |ours - torch| / max |torch| over the logits.
const tolerance = 1e-4

// ratioTable collects the measured ratios to print them together.
type ratioTable struct {
	mu   sync.Mutex
	rows []string
}

func (r *ratioTable) add(format string, args ...any) {
	r.mu.Lock()
	r.rows = append(r.rows, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *ratioTable) print(t *testing.T, title string) {
	sort.Strings(r.rows)
	t.Logf("%s\n%s", title, strings.Join(r.rows, "\n"))
}

// exportOptions are the options the tests export a fixture with: its labels,
// and a normalization for models that do not take 3 channels.
func exportOptions(f *fixture) export.Options {
	opt := export.Options{Labels: f.Labels}
	if f.InChannels != 3 {
		opt.Mean, opt.Std = []float32{0.5}, []float32{0.25}
	}
	return opt
}

// checkAgainstTorch runs the model at path with ONNX Runtime and with
// runtime/ref on every input of f and compares with torch's logits. It
// returns the ratios "ort/ref" per input. ONNX Runtime runs with its graph
// optimizations disabled, so that it evaluates the graph exactly as exported
// (and creates its session 3x faster); the binary's tests in cmd/export run
// it with all optimizations.
func checkAgainstTorch(t *testing.T, f *fixture, path string, m *onnx.Model) []string {
	t.Helper()
	prog, err := ref.Compile(m)
	if err != nil {
		t.Fatalf("ref.Compile: %v", err)
	}
	var cells []string
	var ortTime, refTime time.Duration
	for _, tc := range f.Tests {
		x := readTensor(t, tc.Input)
		want := readTensor(t, tc.Output)
		t0 := time.Now()
		outs, err := ortrun.Run(path, []*onnx.Tensor{x}, ortrun.Options{Threads: 1, OptLevel: "disabled"})
		if err != nil {
			t.Fatalf("ONNX Runtime: %v", err)
		}
		t1 := time.Now()
		ortRatio := diffRatio(t, outs[0], want)
		got, err := prog.Run(map[string]*onnx.Tensor{export.InputName: x})
		if err != nil {
			t.Fatalf("ref.Run %v: %v", tc.Shape, err)
		}
		ortTime, refTime = ortTime+t1.Sub(t0), refTime+time.Since(t1)
		refRatio := diffRatio(t, got[export.OutputName], want)
		size := fmt.Sprintf("%dx%dx%d", tc.Shape[0], tc.Shape[2], tc.Shape[3])
		if ortRatio > tolerance {
			t.Errorf("%s: ONNX Runtime differs from torch: max diff / max |logit| = %.3g > %g", size, ortRatio, tolerance)
		}
		if refRatio > tolerance {
			t.Errorf("%s: runtime/ref differs from torch: max diff / max |logit| = %.3g > %g", size, refRatio, tolerance)
		}
		cells = append(cells, fmt.Sprintf("%-9s %.1e/%.1e", size, ortRatio, refRatio))
	}
	cells = append(cells, fmt.Sprintf("(ORT %.1fs, ref %.1fs)", ortTime.Seconds(), refTime.Seconds()))
	return cells
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// pyCheck runs onnx.checker.check_model(full_check=True) from python3-onnx
// on the files.
func pyCheck(t *testing.T, files []string) {
	t.Helper()
	if len(files) == 0 {
		t.Fatal("no model to check")
	}
	script := filepath.Join(repoRoot(), "internal", "onnx", "testdata", "pyonnx.py")
	out, err := exec.Command("/usr/bin/python3", append([]string{script, "check"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker (full check) failed: %v\n%s", err, out)
	}
}

// TestFamilies exports a checkpoint of every family, container, format and
// dtype, and compares ONNX Runtime's and runtime/ref's logits with torch's
// at three input sizes (one with batch 2, one non-square with odd sides).
// The exported files pass onnx.checker's full check. Run with -v to see the
// ratios.
func TestFamilies(t *testing.T) {
	man := loadFixtures(t)
	if _, err := ortrun.Find(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var table ratioTable
	var mu sync.Mutex
	var written []string
	t.Run("fixtures", func(t *testing.T) {
		for i := range man.Fixtures {
			f := &man.Fixtures[i]
			t.Run(f.Name, func(t *testing.T) {
				t.Parallel()
				ckpt := filepath.Join(genDir(), f.File)
				t0 := time.Now()
				m, s, err := export.ExportFile(ckpt, exportOptions(f))
				if err != nil {
					t.Fatal(err)
				}
				exportTime := time.Since(t0)
				checkSummary(t, f, s)
				out := filepath.Join(dir, f.Name+".onnx")
				if err := onnx.WriteFile(out, m); err != nil {
					t.Fatal(err)
				}
				back, err := onnx.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				checkMetadata(t, f, back, fileSHA256(t, ckpt))
				checkGraph(t, back, f)
				cells := checkAgainstTorch(t, f, out, back)
				cells = append(cells, fmt.Sprintf("(export %.1fs; torch f32 vs f64 %.0e)", exportTime.Seconds(), f.TorchF32VsF64))
				table.add("%-22s %-26s %-9s %s", f.Name, s.Architecture, f.DType, strings.Join(cells, "  "))
				mu.Lock()
				written = append(written, out)
				mu.Unlock()
			})
		}
	})
	t.Run("onnx.checker", func(t *testing.T) { pyCheck(t, written) })
	table.print(t, "max |diff| / max |torch logit|, ONNX Runtime/runtime-ref, per input NxHxW:")
}

func checkSummary(t *testing.T, f *fixture, s *export.Summary) {
	t.Helper()
	type pair struct {
		what      string
		got, want any
	}
	for _, p := range []pair{
		{"family", s.Family, f.Family},
		{"architecture", s.Architecture, f.Arch},
		{"input channels", s.InChannels, f.InChannels},
		{"classes", s.Classes, f.Classes},
		{"parameters (torch's count)", s.Params, f.Params},
		{"MACs at 224x224 (torch hooks)", s.MACs224, f.MACs224},
		{"format", s.Format, f.ReaderFormat},
		{"container", s.Container, f.Container},
		{"stripped prefix", s.StrippedPrefix, f.StrippedPrefix},
	} {
		if p.got != p.want {
			t.Errorf("%s: got %v, want %v", p.what, p.got, p.want)
		}
	}
}

func checkMetadata(t *testing.T, f *fixture, m *onnx.Model, sha string) {
	t.Helper()
	md, err := modelmeta.Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := f.Labels
	if wantLabels == nil {
		for i := 0; i < f.Classes; i++ {
			wantLabels = append(wantLabels, fmt.Sprintf("class_%d", i))
		}
	}
	if !slices.Equal(md.Labels, wantLabels) {
		t.Errorf("labels %q, want %q", md.Labels, wantLabels)
	}
	if md.InputChannels != f.InChannels || md.Architecture != f.Arch || md.SourceSHA256 != sha || md.SourceFile != f.File {
		t.Errorf("metadata %+v: want %d channels, architecture %s, source %s %s", md, f.InChannels, f.Arch, f.File, sha)
	}
	wantMean, wantStd := modelmeta.ImageNetMean, modelmeta.ImageNetStd
	if f.InChannels != 3 {
		wantMean, wantStd = repeat(0.5, f.InChannels), repeat(0.25, f.InChannels)
	}
	if !slices.Equal(md.Mean, wantMean) || !slices.Equal(md.Std, wantStd) {
		t.Errorf("mean %v std %v, want %v %v", md.Mean, md.Std, wantMean, wantStd)
	}
}

func repeat(v float32, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// checkGraph checks the interface and that only the standard operators this
// exporter promises appear.
func checkGraph(t *testing.T, m *onnx.Model, f *fixture) {
	t.Helper()
	g := m.Graph
	in, out := g.RealInputs(), g.Outputs
	if len(in) != 1 || len(out) != 1 {
		t.Fatalf("%d inputs, %d outputs", len(in), len(out))
	}
	if got, want := fmt.Sprint(in[0].Type.Shape), fmt.Sprintf("[N %d H W]", f.InChannels); got != want {
		t.Errorf("input shape %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(out[0].Type.Shape), fmt.Sprintf("[N %d]", f.Classes); got != want {
		t.Errorf("output shape %s, want %s", got, want)
	}
	allowed := map[string]bool{"Conv": true, "Relu": true, "MaxPool": true, "AveragePool": true, "Add": true,
		"GlobalAveragePool": true, "GlobalMaxPool": true, "Concat": true, "Flatten": true, "Gemm": true}
	for _, n := range g.Nodes {
		if !allowed[n.OpType] || n.Domain != "" {
			t.Errorf("node %s: operator %s.%s", n.Name, n.Domain, n.OpType)
		}
	}
	if m.OpsetVersion("") != export.DefaultOpset || m.IRVersion != export.IRVersion {
		t.Errorf("opset %d IR %d", m.OpsetVersion(""), m.IRVersion)
	}
}

// TestVariants exports some fixtures with other options: --keep-bn (Conv
// followed by BatchNormalization, and BatchNorm1d on [N, C] in a fastai
// head), opset 17, and a wrong --arch stride override, which must make the
// model differ from torch (the comparison can fail, and strides matter).
func TestVariants(t *testing.T) {
	man := loadFixtures(t)
	byName := map[string]*fixture{}
	for i := range man.Fixtures {
		byName[man.Fixtures[i].Name] = &man.Fixtures[i]
	}
	dir := t.TempDir()
	var table ratioTable
	var written []string
	for _, c := range []struct {
		fixture, variant string
		change           func(*export.Options)
		bnNodes          int
		opset            int
	}{
		{"tv_resnet18", "keep-bn", func(o *export.Options) { o.KeepBN = true }, 20, 13},
		{"vl_resnet50_1ch", "keep-bn", func(o *export.Options) { o.KeepBN = true }, 53 + 4, 13},
		{"xresnet18", "opset17", func(o *export.Options) { o.Opset = 17 }, 0, 17},
		{"book_resnet50_4ch", "keep-bn", func(o *export.Options) { o.KeepBN = true }, 3 + 16*3 + 4, 13},
	} {
		t.Run(c.fixture+"/"+c.variant, func(t *testing.T) {
			f := byName[c.fixture]
			opt := exportOptions(f)
			c.change(&opt)
			m, s, err := export.ExportFile(filepath.Join(genDir(), f.File), opt)
			if err != nil {
				t.Fatal(err)
			}
			bn := 0
			for _, n := range m.Graph.Nodes {
				if n.OpType == "BatchNormalization" {
					bn++
				}
			}
			if bn != c.bnNodes || (c.bnNodes > 0) != (s.FoldedBN == 0) {
				t.Errorf("%d BatchNormalization nodes and %d folded, want %d nodes", bn, s.FoldedBN, c.bnNodes)
			}
			if m.OpsetVersion("") != int64(c.opset) {
				t.Errorf("opset %d, want %d", m.OpsetVersion(""), c.opset)
			}
			out := filepath.Join(dir, c.fixture+"-"+c.variant+".onnx")
			if err := onnx.WriteFile(out, m); err != nil {
				t.Fatal(err)
			}
			written = append(written, out)
			cells := checkAgainstTorch(t, f, out, m)
			table.add("%-18s %-8s %s", c.fixture, c.variant, strings.Join(cells, "  "))
		})
	}
	t.Run("onnx.checker", func(t *testing.T) { pyCheck(t, written) })

	// Strides are not in a state dict: a wrong override gives another model.
	f := byName["book_resnet18"]
	opt := exportOptions(f)
	opt.Arch = "book:stem=1-1-1,stages=1-2-2-2"
	m, _, err := export.ExportFile(filepath.Join(genDir(), f.File), opt)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := ref.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	tc := f.Tests[1]
	got, err := prog.Run(map[string]*onnx.Tensor{export.InputName: readTensor(t, tc.Input)})
	if err != nil {
		t.Fatal(err)
	}
	if r := diffRatio(t, got[export.OutputName], readTensor(t, tc.Output)); r < 1e-2 {
		t.Errorf("with the stem stride overridden to 1 the model still matches torch (ratio %.2g)", r)
	} else {
		table.add("%-18s %-8s %.2g (expected to differ)", "book_resnet18", "stem=1", r)
	}
	table.print(t, "max |diff| / max |torch logit|, ONNX Runtime/runtime-ref:")
}
