package fileutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	if err := WriteFile(p, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("second"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "second" {
		t.Fatalf("got %q, %v", b, err)
	}
	assertOnly(t, dir, "out.bin")
}

func TestFailedWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	if err := WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "old" {
		t.Fatalf("old file changed to %q", b)
	}
	assertOnly(t, dir, "out.bin")
}

func TestFailedWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new.bin")
	Write(p, 0o644, func(w io.Writer) error { return errors.New("no") })
	assertOnly(t, dir)
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("directory holds %v, want %v", got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("directory holds %v, want %v", got, names)
		}
	}
}

// RemovePending removes the temporary file of a write in progress (what a
// signal handler does before exit) and leaves the earlier file intact;
// later writes are refused.
func TestRemovePendingMidWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	if err := WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	inside, resume := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- Write(p, 0o644, func(w io.Writer) error {
			w.Write([]byte("partial"))
			close(inside)
			<-resume
			_, err := w.Write([]byte(" rest"))
			return err
		})
	}()
	<-inside
	if n := RemovePending(); n != 1 {
		t.Errorf("RemovePending removed %d files, want 1", n)
	}
	assertOnly(t, dir, "out.bin")
	close(resume)
	if err := <-done; err == nil {
		t.Error("the interrupted write reported success")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("earlier file is now %q", b)
	}
	if err := WriteFile(filepath.Join(dir, "later.bin"), []byte("x"), 0o644); err == nil {
		t.Error("a write after RemovePending succeeded")
	}
	assertOnly(t, dir, "out.bin")
	pending.Lock()
	pending.stopped = false // for other tests in this process
	pending.Unlock()
}
