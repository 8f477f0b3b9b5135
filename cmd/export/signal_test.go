//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptKeepsEarlierOutput signals a real export process: once in
// the middle of writing a 250 MB model (SIGINT, as the temporary file
// grows) and once before it writes (SIGTERM, while it reads the
// checkpoint). Each time the process exits with 128+signal and one line on
// stderr, the earlier file at the output path is byte for byte unchanged,
// and no temporary file is left in the folder.
func TestInterruptKeepsEarlierOutput(t *testing.T) {
	bin, m := setup(t)
	big := filepath.Join(genDir(), findFixture(t, m, "tv_wide_resnet101_2").File)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.onnx")
	earlier := []byte("an earlier model that must survive\n")
	if err := os.WriteFile(out, earlier, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sig      syscall.Signal
		midWrite bool
		code     int
		name     string
	}{
		{syscall.SIGINT, true, 130, "SIGINT"},
		{syscall.SIGTERM, false, 143, "SIGTERM"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, big, "-q", "-o", out)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if c.midWrite {
				tmp, ok := waitForTemp(dir, "out.onnx", 2*time.Minute)
				if !ok {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("no temporary file appeared before the process ended (stderr %q)", stderr.String())
				}
				t.Logf("signalled while %s existed", filepath.Base(tmp))
			} else {
				time.Sleep(300 * time.Millisecond) // inside the checkpoint reader
			}
			cmd.Process.Signal(c.sig)
			err := cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if code != c.code {
				t.Errorf("exit %d (%v), want %d; stderr %q", code, err, c.code, stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "interrupted by "+c.name) {
				t.Errorf("stderr is not one line about the signal: %q", stderr.String())
			}
			if c.midWrite && !strings.Contains(lines[0], "1 unfinished output file(s) removed") {
				t.Errorf("stderr does not report the removed file: %q", lines[0])
			}
			if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, earlier) {
				t.Errorf("the earlier output changed (%d bytes, %v)", len(b), err)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if e.Name() != "out.onnx" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

// waitForTemp polls dir until a temporary file of fileutil.Write for base
// (".base.tmp-*") exists with some data in it.
func waitForTemp(dir, base string, limit time.Duration) (string, bool) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "."+base+".tmp-") {
				if info, err := e.Info(); err == nil && info.Size() > 0 {
					return filepath.Join(dir, e.Name()), true
				}
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
	return "", false
}
