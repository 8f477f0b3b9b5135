package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Limits bound what the readers accept, so that a header cannot make them
// allocate more than the caller allows.
type Limits struct {
	// MaxBytes bounds the data of one idx file (after decompression).
	MaxBytes int64
	// MaxDims bounds the number of dimensions of an idx file.
	MaxDims int
	// MaxFiles bounds the images a folder may list.
	MaxFiles int
	// MaxDepth bounds the folder nesting a walk descends into.
	MaxDepth int
}

// DefaultLimits holds the Fashion-MNIST and MNIST training sets (47 MB of
// pixels) with room to spare.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 30, MaxDims: 8, MaxFiles: 10_000_000, MaxDepth: 32}
}

// IDX is the content of an idx file (Yann LeCun's MNIST format): unsigned
// bytes with their dimensions, row-major.
type IDX struct {
	Dims []int
	Data []byte
}

// idx element types (the third byte of the magic number).
const idxUint8 = 0x08

var idxTypeNames = map[byte]string{0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}

// ReadIDX reads an idx file, gzip-compressed (as distributed) or not:
// the magic number 0x00 0x00 <type> <rank>, rank big-endian uint32
// dimensions, then the data. Only unsigned byte data (type 0x08, what
// MNIST and Fashion-MNIST use) is accepted. The data must be exactly as
// long as the dimensions say; nothing may follow it.
func ReadIDX(r io.Reader, lim Limits) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %v", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("no idx header: %v", shortErr(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("not an idx file (magic % x)", magic)
	}
	if magic[2] != idxUint8 {
		name, ok := idxTypeNames[magic[2]]
		if !ok {
			return nil, fmt.Errorf("not an idx file (unknown element type 0x%02x)", magic[2])
		}
		return nil, fmt.Errorf("idx element type %s is not supported (only unsigned byte)", name)
	}
	rank := int(magic[3])
	if rank == 0 || rank > lim.MaxDims {
		return nil, fmt.Errorf("idx rank %d: want 1 to %d dimensions", rank, lim.MaxDims)
	}
	raw := make([]byte, 4*rank)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, fmt.Errorf("idx header: %v", shortErr(err))
	}
	dims := make([]int, rank)
	total := int64(1)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(raw[4*i:]))
		dims[i] = int(d)
		if d == 0 {
			total = 0
			continue
		}
		if total > 0 && total > lim.MaxBytes/d {
			return nil, fmt.Errorf("idx dims %v: more than %d bytes of data", dimsUpTo(raw, rank), lim.MaxBytes)
		}
		total *= d
	}
	// Read at most total+1 bytes: the buffer grows with the data actually
	// present, never to a size only the header claims.
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(br, total+1))
	if err != nil {
		return nil, fmt.Errorf("idx data: %v", shortErr(err))
	}
	switch {
	case n < total:
		return nil, fmt.Errorf("idx data is truncated: %d bytes, dims %v need %d", n, dims, total)
	case n > total:
		return nil, fmt.Errorf("idx file has data after the %d bytes dims %v describe", total, dims)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

func dimsUpTo(raw []byte, rank int) []uint32 {
	d := make([]uint32, rank)
	for i := range d {
		d[i] = binary.BigEndian.Uint32(raw[4*i:])
	}
	return d
}

func shortErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("file ends early")
	}
	return err
}

// ReadIDXFile reads an idx file (see ReadIDX). Errors name the file.
func ReadIDXFile(path string, lim Limits) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %v", err)
	}
	defer f.Close()
	x, err := ReadIDX(f, lim)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %v", path, err)
	}
	return x, nil
}

// IDXSet is a set of grey images with labels read from a pair of idx files
// (MNIST, Fashion-MNIST): images [N, H, W] and labels [N].
type IDXSet struct {
	name    string
	images  *IDX
	labels  []byte // nil: unlabelled
	h, w    int
	classes []string
}

// Fashion-MNIST's class names in label order (zalandoresearch/fashion-mnist).
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// NewIDXSet checks that images is [N, H, W] and labels (nil for an
// unlabelled set) is [N], and makes a set of them. name identifies it in
// sample names and errors.
func NewIDXSet(name string, images, labels *IDX) (*IDXSet, error) {
	if len(images.Dims) != 3 || images.Dims[1] == 0 || images.Dims[2] == 0 {
		return nil, fmt.Errorf("dataset: %s: images have dims %v, want [N H W]", name, images.Dims)
	}
	s := &IDXSet{name: name, images: images, h: images.Dims[1], w: images.Dims[2]}
	if labels != nil {
		if len(labels.Dims) != 1 {
			return nil, fmt.Errorf("dataset: %s: labels have dims %v, want [N]", name, labels.Dims)
		}
		if labels.Dims[0] != images.Dims[0] {
			return nil, fmt.Errorf("dataset: %s: %d labels for %d images", name, labels.Dims[0], images.Dims[0])
		}
		s.labels = labels.Data
	}
	return s, nil
}

// OpenIDX reads an images file and, unless labelsPath is empty, its labels
// file. When labelsPath is "auto", the labels file is found next to the
// images by the MNIST naming convention (…-images-idx3-ubyte[.gz] →
// …-labels-idx1-ubyte[.gz]); it is an error when there is none.
func OpenIDX(imagesPath, labelsPath string, lim Limits) (*IDXSet, error) {
	if labelsPath == "auto" {
		var err error
		if labelsPath, err = LabelsPathFor(imagesPath); err != nil {
			return nil, err
		}
	}
	images, err := ReadIDXFile(imagesPath, lim)
	if err != nil {
		return nil, err
	}
	var labels *IDX
	if labelsPath != "" {
		if labels, err = ReadIDXFile(labelsPath, lim); err != nil {
			return nil, err
		}
	}
	return NewIDXSet(filepath.Base(imagesPath), images, labels)
}

// LabelsPathFor returns the labels file that goes with an MNIST-style
// images file, if it exists.
func LabelsPathFor(imagesPath string) (string, error) {
	dir, base := filepath.Split(imagesPath)
	i := strings.LastIndex(base, "images-idx3")
	if i < 0 {
		return "", fmt.Errorf("dataset: %s: cannot tell the labels file (want a name with images-idx3, as t10k-images-idx3-ubyte.gz)", imagesPath)
	}
	lb := base[:i] + "labels-idx1" + base[i+len("images-idx3"):]
	p := filepath.Join(dir, lb)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("dataset: %s: no labels file %s next to it", imagesPath, lb)
	}
	return p, nil
}

// IsIDX reports whether path names an idx file by its name (…idx3-ubyte,
// …idx1-ubyte, optionally .gz).
func IsIDX(path string) bool {
	b := strings.TrimSuffix(filepath.Base(path), ".gz")
	return strings.HasSuffix(b, "-ubyte") && strings.Contains(b, "idx")
}

// SetClasses names the labels (for example FashionMNISTClasses).
func (s *IDXSet) SetClasses(c []string) { s.classes = c }

// Len returns the number of images.
func (s *IDXSet) Len() int { return s.images.Dims[0] }

// Size returns the height and width of the images.
func (s *IDXSet) Size() (h, w int) { return s.h, s.w }

// Pixels returns image i's pixels, row-major (not a copy).
func (s *IDXSet) Pixels(i int) []byte {
	n := s.h * s.w
	return s.images.Data[i*n : (i+1)*n : (i+1)*n]
}

// Image returns image i as an *image.Gray sharing the set's memory.
func (s *IDXSet) Image(i int) (image.Image, error) {
	if i < 0 || i >= s.Len() {
		return nil, fmt.Errorf("dataset: %s: image %d of %d", s.name, i, s.Len())
	}
	return &image.Gray{Pix: s.Pixels(i), Stride: s.w, Rect: image.Rect(0, 0, s.w, s.h)}, nil
}

// Label returns image i's label, or -1 for an unlabelled set.
func (s *IDXSet) Label(i int) int {
	if s.labels == nil {
		return -1
	}
	return int(s.labels[i])
}

// Name returns "file#i".
func (s *IDXSet) Name(i int) string { return fmt.Sprintf("%s#%d", s.name, i) }

// Classes returns the names given by SetClasses, or nil.
func (s *IDXSet) Classes() []string { return s.classes }
