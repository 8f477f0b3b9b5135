package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/brokenfiles"
)

// TestHostileONNXInputs converts every broken float model of the corpus
// (made from this binary's own export of example.pth) with --int8: the bad
// ones are refused with exit 3 and one line naming the file, nothing is
// written, nothing crashes.
func TestHostileONNXInputs(t *testing.T) {
	bin, _ := setup(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base.onnx")
	if _, stderr, code := runBin(t, bin, filepath.Join(repoRoot(), "testdata", "families", "example.pth"),
		"--mean", "0.5", "--std", "0.25", "-q", "-o", base); code != 0 {
		t.Fatalf("exporting example.pth: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "corpus")
	os.Mkdir(corpus, 0o755)
	cases, err := brokenfiles.Models(corpus, b)
	if err != nil {
		t.Fatal(err)
	}
	calib := filepath.Join(repoRoot(), "testdata", "fashion", "samples")
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	refused := 0
	for _, c := range cases {
		name := filepath.Base(c.Path)
		out := filepath.Join(outDir, "int8.onnx")
		stdout, stderr, code := runBin(t, bin, c.Path, "--int8", "--calib", calib, "-q", "-o", out)
		if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") || strings.Contains(stderr, "internal error") {
			t.Errorf("%s: a crash reached the user (exit %d):\n%s", name, code, stderr)
			continue
		}
		switch {
		case c.MustFail && code != 3:
			t.Errorf("%s (%s): exit %d, want 3; stderr %q", name, c.Why, code, stderr)
		case code != 0 && code != 3 && code != 2:
			// 2: a flip that erases the metadata leaves a model that needs
			// --mean and --std, a usage error.
			t.Errorf("%s (%s): exit %d, want 0, 2 or 3; stderr %q", name, c.Why, code, stderr)
		}
		if code != 0 {
			refused++
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "export: ") || !strings.Contains(lines[0], c.Path) {
				t.Errorf("%s: stderr is not one line naming the file: %q", name, stderr)
			}
			if stdout != "" {
				t.Errorf("%s: stdout %q", name, stdout)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s: an output was written", name)
			}
		}
		os.Remove(out)
		ents, _ := os.ReadDir(outDir)
		for _, e := range ents {
			t.Errorf("%s: left behind %s", name, e.Name())
		}
		t.Logf("%-26s exit %d  %s", name, code, strings.TrimSpace(stderr))
	}
	t.Logf("%d of %d broken models refused", refused, len(cases))
}
