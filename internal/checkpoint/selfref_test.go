package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Self-referencing pickles (a list that contains itself, a dict that is
// its own value, a state dict that holds its parent; made by Python's
// pickle module, protocols 2 and 4, stored as FuzzPickle seeds) are refused
// with an error: never an endless walk, a stack overflow or a panic.
func TestSelfReferencingPickles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzPickle", "selfref_*"))
	if err != nil || len(files) < 10 {
		t.Fatalf("%d self-referencing seeds (%v), want 10", len(files), err)
	}
	for _, f := range files {
		data := readFuzzSeed(t, f)
		_, err := loadPickleOnly(data, DefaultLimits())
		if err == nil {
			t.Errorf("%s: accepted", filepath.Base(f))
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error on several lines: %q", filepath.Base(f), err)
		}
		t.Logf("%s: %v", filepath.Base(f), err)
	}
}

// readFuzzSeed decodes a one-[]byte "go test fuzz v1" file.
func readFuzzSeed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz seed", path)
	}
	s := strings.TrimSpace(lines[1])
	s = strings.TrimSuffix(strings.TrimPrefix(s, "[]byte("), ")")
	var out []byte
	q := s[1 : len(s)-1]
	for i := 0; i < len(q); {
		if q[i] == '\\' && i+3 < len(q) && q[i+1] == 'x' {
			var v byte
			for _, c := range q[i+2 : i+4] {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= byte(c - '0')
				case c >= 'a' && c <= 'f':
					v |= byte(c-'a') + 10
				}
			}
			out = append(out, v)
			i += 4
			continue
		}
		t.Fatalf("%s: only \\xNN escapes are expected", path)
	}
	return out
}

// torch.save files whose state dict holds a loop beside its tensor (the
// dict itself, its parent, a list holding itself) load that one tensor.
func TestSelfReferencingCheckpoints(t *testing.T) {
	fixtures(t) // generated, or fail with how to generate them
	files, _ := filepath.Glob(filepath.Join(genDir, "selfref", "*.pth"))
	if len(files) != 3 {
		t.Fatalf("%d files in %s/selfref, want 3; rerun internal/checkpoint/testdata/make_fixtures.sh", len(files), genDir)
	}
	for _, f := range files {
		sd, err := Load(f, Options{})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if len(sd.Keys) != 1 || sd.Keys[0] != "fc.weight" {
			t.Errorf("%s: keys %q, want [fc.weight]", filepath.Base(f), sd.Keys)
		}
	}
}
