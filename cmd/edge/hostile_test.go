package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/brokenfiles"
	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/defaultmodel"
)

// buildEdge builds this binary: the hostile-input tests run the real
// process, so that a panic anywhere (any goroutine) would show as a trace
// on its stderr. With -short (the qemu runs, where building and starting
// emulated processes is slow) it returns "" and the tests call app.Run in
// this process instead: a panic there fails the test binary or shows as an
// "internal error" line, so the check holds as well.
func buildEdge(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		return ""
	}
	bin := filepath.Join(t.TempDir(), "edge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func procEdge(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if bin == "" {
		return execEdge(t, args...)
	}
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// checkClean asserts the answer to one hostile input: no Go trace, and on
// failure one line per failed input naming it.
func checkClean(t *testing.T, what, stderr string, code int, names ...string) {
	t.Helper()
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") || strings.Contains(stderr, "internal error") {
		t.Errorf("%s: a crash reached the user (exit %d):\n%s", what, code, stderr)
		return
	}
	if code == 0 {
		return
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	for _, n := range names {
		found := 0
		for _, l := range lines {
			if strings.Contains(l, n) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%s: exit %d; %d stderr lines name %s, want 1:\n%s", what, code, found, n, stderr)
		}
	}
}

// TestHostileModels feeds every broken model of the corpus to edge info,
// classify and bench: the bad ones are refused with exit 3 and one line
// naming the file; nothing crashes.
func TestHostileModels(t *testing.T) {
	bin := buildEdge(t)
	dir := t.TempDir()
	cases, err := brokenfiles.Models(dir, defaultmodel.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join("..", "..", "testdata", "fashion", "samples", "0_19.png")
	refused := 0
	for _, c := range cases {
		name := filepath.Base(c.Path)
		for _, args := range [][]string{
			{"info", c.Path},
			{"classify", "-m", c.Path, img},
			{"bench", "-m", c.Path, "--size", "28x28,40x36", "--runs", "2", "--threads", "2"},
		} {
			what := name + ": edge " + args[0]
			_, stderr, code := procEdge(t, bin, args...)
			checkClean(t, what, stderr, code, name)
			switch {
			case c.MustFail && code != cli.ExitBadModel:
				t.Errorf("%s (%s): exit %d, want %d; stderr %q", what, c.Why, code, cli.ExitBadModel, stderr)
			case code != 0 && code != cli.ExitBadModel:
				t.Errorf("%s (%s): exit %d, want 0 or %d; stderr %q", what, c.Why, code, cli.ExitBadModel, stderr)
			}
			if args[0] == "classify" {
				if code != 0 {
					refused++
				}
				t.Logf("%-26s %-8s exit %d  %s", name, args[0], code, strings.TrimSpace(stderr))
			}
		}
	}
	t.Logf("%d of %d broken models refused by classify", refused, len(cases))
}

// TestHostileImages: broken images among good ones are reported one line
// each (exit 1); the good ones are still classified.
func TestHostileImages(t *testing.T) {
	bin := buildEdge(t)
	dir := t.TempDir()
	cases, err := brokenfiles.Images(dir)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join("..", "..", "testdata", "fashion", "samples", "0_19.png")
	args := []string{"classify", "--json", good}
	var names []string
	for _, c := range cases {
		args = append(args, c.Path)
		names = append(names, filepath.Base(c.Path))
	}
	stdout, stderr, code := procEdge(t, bin, append(args, good)...)
	if code != cli.ExitInputsFailed {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, cli.ExitInputsFailed, stderr)
	}
	checkClean(t, "classify", stderr, code, names...)
	if n := strings.Count(stdout, "0_19.png"); n != 2 {
		t.Errorf("the good image was classified %d times, want 2:\n%s", n, stdout)
	}
	t.Logf("stderr:\n%s", stderr)
	// And as the model's input through edge run: a file that is not a tensor.
	_, stderr, code = procEdge(t, bin, "run", filepath.Join("..", "..", "internal", "defaultmodel", defaultmodel.Name),
		"--input", "input="+cases[1].Path, "--out", t.TempDir())
	checkClean(t, "run", stderr, code, filepath.Base(cases[1].Path))
	if code == 0 {
		t.Errorf("edge run accepted a text file as a tensor")
	}
	if _, err := os.Stat(good); err != nil {
		t.Fatal(err)
	}
}
