// Package fileutil writes files so that a reader never sees a partial one:
// data goes to a temporary file in the destination's directory, is synced,
// and is renamed over the destination only when complete. A failed or
// interrupted write leaves any earlier file at the destination intact.
package fileutil

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// pending holds the temporary files of writes in progress, so that a
// process stopped by a signal can remove them (RemovePending) before it
// exits. The destination files are never touched by an interrupted write.
var pending struct {
	sync.Mutex
	paths   map[string]struct{}
	stopped bool // RemovePending ran: the process is about to exit
}

// errStopped refuses writes that start after RemovePending.
var errStopped = fmt.Errorf("interrupted")

func track(tmp string) error {
	pending.Lock()
	defer pending.Unlock()
	if pending.stopped {
		return errStopped
	}
	if pending.paths == nil {
		pending.paths = map[string]struct{}{}
	}
	pending.paths[tmp] = struct{}{}
	return nil
}

func untrack(tmp string) {
	pending.Lock()
	delete(pending.paths, tmp)
	pending.Unlock()
}

// RemovePending removes the temporary files of every write still in
// progress and returns how many it removed. A signal handler calls it just
// before the process exits; the writes' destinations keep their earlier
// contents. Writes that start afterwards fail at once.
func RemovePending() int {
	pending.Lock()
	defer pending.Unlock()
	pending.stopped = true
	n := 0
	for p := range pending.paths {
		if os.Remove(p) == nil {
			n++
		}
		delete(pending.paths, p)
	}
	return n
}

// WriteFile writes data to path atomically with the given permissions.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write calls fill with a writer on a temporary file next to path and, if
// fill succeeds, syncs the file and renames it to path. On any error the
// temporary file is removed and path is left as it was.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp := f.Name()
	if err = track(tmp); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	renamed := false
	defer func() { // also on a panic in fill
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
		untrack(tmp)
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	renamed = true
	return nil
}
