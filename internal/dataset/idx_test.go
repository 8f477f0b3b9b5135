package dataset

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const python = "/usr/bin/python3"

// fashionDir holds the Fashion-MNIST idx files (Debian's
// dataset-fashion-mnist; scripts/setup.sh installs it).
const fashionDir = "/usr/share/datasets/fashion-mnist"

func fashionFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(fashionDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: install the Fashion-MNIST idx files (scripts/setup.sh)", p)
	}
	return p
}

// idxFile builds an idx file: magic, dims, data.
func idxFile(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

type pyIDX struct {
	Dims   []int    `json:"dims"`
	SHA256 string   `json:"sha256"`
	First  []int    `json:"first"`
	Hist   []uint64 `json:"hist"`
}

// TestFashionMNISTAgainstNumpy reads the distributed Fashion-MNIST files
// and compares dims and data with an independent numpy reader.
func TestFashionMNISTAgainstNumpy(t *testing.T) {
	files := []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"}
	var paths []string
	for _, f := range files {
		paths = append(paths, fashionFile(t, f))
	}
	out, err := exec.Command(python, append([]string{"testdata/idxref.py"}, paths...)...).Output()
	if err != nil {
		t.Fatalf("testdata/idxref.py (needs %s with numpy): %v", python, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("idxref.py printed %d lines for %d files", len(lines), len(paths))
	}
	for i, p := range paths {
		var want pyIDX
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		x, err := ReadIDXFile(p, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x.Dims, want.Dims) {
			t.Errorf("%s: dims %v, numpy %v", files[i], x.Dims, want.Dims)
		}
		sum := sha256.Sum256(x.Data)
		if hex.EncodeToString(sum[:]) != want.SHA256 {
			t.Errorf("%s: data differs from numpy's", files[i])
		}
	}
	// The test set has 1000 images of each class.
	set, err := OpenIDX(paths[0], "auto", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 10000 {
		t.Fatalf("%d images", set.Len())
	}
	counts := make([]int, 10)
	for i := range set.Len() {
		counts[set.Label(i)]++
	}
	for c, n := range counts {
		if n != 1000 {
			t.Errorf("class %d has %d test images, want 1000", c, n)
		}
	}
	img, err := set.Image(7)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 28 || b.Dy() != 28 {
		t.Errorf("image bounds %v", b)
	}
	if h, w := set.Size(); h != 28 || w != 28 {
		t.Errorf("size %dx%d", h, w)
	}
}

func TestReadIDXRawAndGzip(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6}
	raw := idxFile(0x08, []uint32{2, 3}, data)
	for name, b := range map[string][]byte{"raw": raw, "gzip": gz(raw)} {
		x, err := ReadIDX(bytes.NewReader(b), DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(x.Dims, []int{2, 3}) || !bytes.Equal(x.Data, data) {
			t.Errorf("%s: got dims %v data %v", name, x.Dims, x.Data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxBytes = 1000
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":          {nil, "no idx header"},
		"bad magic":      {[]byte{1, 0, 8, 1, 0, 0, 0, 0}, "not an idx file"},
		"float":          {idxFile(0x0D, []uint32{1}, []byte{0, 0, 0, 0}), "float32 is not supported"},
		"unknown type":   {idxFile(0x42, []uint32{1}, []byte{0}), "unknown element type"},
		"rank 0":         {[]byte{0, 0, 8, 0}, "rank 0"},
		"rank 9":         {idxFile(0x08, make([]uint32, 9), nil), "rank 9"},
		"short header":   {[]byte{0, 0, 8, 2, 0, 0, 0, 1}, "idx header: file ends early"},
		"truncated":      {idxFile(0x08, []uint32{2, 3}, []byte{1, 2, 3}), "truncated: 3 bytes"},
		"trailing":       {idxFile(0x08, []uint32{2}, []byte{1, 2, 3}), "data after the 2 bytes"},
		"too big":        {idxFile(0x08, []uint32{100, 100}, nil), "more than 1000 bytes"},
		"huge dims":      {idxFile(0x08, []uint32{1 << 31, 1 << 31, 1 << 31}, nil), "more than 1000 bytes"},
		"gzip corrupted": {append([]byte{0x1f, 0x8b}, make([]byte, 20)...), "gzip"},
	}
	for name, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.data), lim)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
	// A zero dimension is an empty, valid file.
	x, err := ReadIDX(bytes.NewReader(idxFile(0x08, []uint32{0, 28, 28}, nil)), lim)
	if err != nil || len(x.Data) != 0 {
		t.Errorf("empty set: %v, %v", x, err)
	}
}

func TestNewIDXSetChecks(t *testing.T) {
	images := &IDX{Dims: []int{2, 2, 2}, Data: make([]byte, 8)}
	cases := map[string]struct {
		images, labels *IDX
		want           string
	}{
		"images rank": {&IDX{Dims: []int{8}, Data: make([]byte, 8)}, nil, "want [N H W]"},
		"labels rank": {images, &IDX{Dims: []int{2, 1}, Data: make([]byte, 2)}, "want [N]"},
		"count":       {images, &IDX{Dims: []int{3}, Data: make([]byte, 3)}, "3 labels for 2 images"},
	}
	for name, c := range cases {
		_, err := NewIDXSet("x", c.images, c.labels)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	s, err := NewIDXSet("x", images, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Label(1) != -1 || s.Name(1) != "x#1" {
		t.Errorf("unlabelled set: label %d name %q", s.Label(1), s.Name(1))
	}
	if _, err := s.Image(2); err == nil {
		t.Error("image out of range accepted")
	}
}

func TestLabelsPathFor(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "t10k-images-idx3-ubyte.gz")
	lab := filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")
	os.WriteFile(img, nil, 0o644)
	if _, err := LabelsPathFor(img); err == nil || !strings.Contains(err.Error(), "no labels file") {
		t.Errorf("missing labels: %v", err)
	}
	os.WriteFile(lab, nil, 0o644)
	if p, err := LabelsPathFor(img); err != nil || p != lab {
		t.Errorf("got %q, %v; want %q", p, err, lab)
	}
	if _, err := LabelsPathFor(filepath.Join(dir, "pictures.gz")); err == nil {
		t.Error("a name without images-idx3 accepted")
	}
	for name, want := range map[string]bool{"train-images-idx3-ubyte.gz": true, "t10k-labels-idx1-ubyte": true, "x.png": false, "idx.gz": false} {
		if IsIDX(name) != want {
			t.Errorf("IsIDX(%q) = %v", name, !want)
		}
	}
}
