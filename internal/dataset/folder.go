package dataset

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/piresnet/piresnet/internal/imageprep"
)

// Source is a set of images, labelled or not: an IDXSet, a Folder, or a
// Subset of one.
type Source interface {
	// Len returns the number of images.
	Len() int
	// Image decodes image i (0 ≤ i < Len()).
	Image(i int) (image.Image, error)
	// Label returns image i's class index into Classes, or -1 when it has
	// none.
	Label(i int) int
	// Name identifies image i in messages (a path, or file#index).
	Name(i int) string
	// Classes names the labels, or is nil when the source does not know
	// them (idx files: labels are the model's class indices).
	Classes() []string
}

// ImageExts are the file extensions a folder contributes (lower case).
var ImageExts = []string{".jpg", ".jpeg", ".png"}

func isImageFile(name string) bool {
	return slices.Contains(ImageExts, strings.ToLower(filepath.Ext(name)))
}

// Folder is a folder of JPEG and PNG images, in one of two layouts:
//
//   - ImageFolder (torchvision's): every subfolder is a class, named by
//     the folder, and holds that class's images (at any depth). Images
//     directly in the root have no label.
//   - flat: no subfolder holds images; every image in the root is
//     unlabelled.
//
// Files and folders whose name starts with "." are skipped; names are
// sorted, so the order is the same on every machine.
type Folder struct {
	root    string
	paths   []string
	labels  []int
	classes []string
	imgLim  imageprep.Limits
}

// OpenFolder lists the images of a folder (see Folder). It fails when the
// folder holds no image or more than lim.MaxFiles.
func OpenFolder(dir string, lim Limits) (*Folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %v", err)
	}
	f := &Folder{root: dir, imgLim: imageprep.DefaultLimits()}
	add := func(path string, label int) error {
		if len(f.paths) >= lim.MaxFiles {
			return fmt.Errorf("dataset: %s: more than %d images", dir, lim.MaxFiles)
		}
		f.paths = append(f.paths, path)
		f.labels = append(f.labels, label)
		return nil
	}
	for _, e := range entries { // os.ReadDir sorts by name
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		if e.IsDir() {
			n := len(f.paths)
			err := walkImages(path, lim.MaxDepth, func(p string) error { return add(p, len(f.classes)) })
			if err != nil {
				return nil, err
			}
			if len(f.paths) > n {
				f.classes = append(f.classes, name)
			}
			continue
		}
		if isImageFile(name) {
			if err := add(path, -1); err != nil {
				return nil, err
			}
		}
	}
	if len(f.paths) == 0 {
		return nil, fmt.Errorf("dataset: %s: no .jpg, .jpeg or .png images", dir)
	}
	return f, nil
}

// walkImages calls fn for every image file under dir, in sorted order,
// skipping hidden entries, not following symbolic links to folders.
func walkImages(dir string, maxDepth int, fn func(string) error) error {
	base := strings.Count(filepath.Clean(dir), string(filepath.Separator))
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("dataset: %v", err)
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if strings.Count(filepath.Clean(p), string(filepath.Separator))-base > maxDepth {
				return fmt.Errorf("dataset: %s: folders nested deeper than %d", p, maxDepth)
			}
			return nil
		}
		if d.Type().IsRegular() && isImageFile(d.Name()) {
			return fn(p)
		}
		return nil
	})
}

// Layout returns "imagefolder" or "flat".
func (f *Folder) Layout() string {
	if len(f.classes) > 0 {
		return "imagefolder"
	}
	return "flat"
}

// Len returns the number of images.
func (f *Folder) Len() int { return len(f.paths) }

// Image decodes image i.
func (f *Folder) Image(i int) (image.Image, error) {
	if i < 0 || i >= len(f.paths) {
		return nil, fmt.Errorf("dataset: %s: image %d of %d", f.root, i, len(f.paths))
	}
	img, err := imageprep.DecodeFile(f.paths[i], f.imgLim)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s", strings.TrimPrefix(err.Error(), "imageprep: "))
	}
	return img, nil
}

// Label returns the class index of image i, -1 for an image outside the
// class folders.
func (f *Folder) Label(i int) int { return f.labels[i] }

// Name returns the path of image i.
func (f *Folder) Name(i int) string { return f.paths[i] }

// Classes returns the class folder names, sorted (nil for a flat folder).
func (f *Folder) Classes() []string { return f.classes }

// Open opens a data set given on a command line: a folder (Folder), or an
// idx images file (IDXSet, with its labels file found next to it when
// labels is true; see LabelsPathFor).
func Open(path string, labels bool, lim Limits) (Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %v", err)
	}
	if st.IsDir() {
		return OpenFolder(path, lim)
	}
	if !IsIDX(path) {
		return nil, fmt.Errorf("dataset: %s: not a folder or an idx images file (…-images-idx3-ubyte[.gz])", path)
	}
	lp := ""
	if labels {
		lp = "auto"
	}
	return OpenIDX(path, lp, lim)
}

// Subset is a view of some images of a source, in a given order.
type Subset struct {
	Src     Source
	Indices []int
}

func (s *Subset) Len() int                         { return len(s.Indices) }
func (s *Subset) Image(i int) (image.Image, error) { return s.Src.Image(s.Indices[i]) }
func (s *Subset) Label(i int) int                  { return s.Src.Label(s.Indices[i]) }
func (s *Subset) Name(i int) string                { return s.Src.Name(s.Indices[i]) }
func (s *Subset) Classes() []string                { return s.Src.Classes() }

// Permutation returns a pseudo-random permutation of 0…n−1 that depends
// only on n and seed (PCG), the same on every machine: calibration draws
// its images with it so that a folder sorted by class is sampled evenly.
func Permutation(n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.Uint64N(uint64(i + 1)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// ErrUnmatchedClass is wrapped by MapClasses' error.
var ErrUnmatchedClass = errors.New("class folder matches no label of the model")

// MapClasses maps the class names of a data set (ImageFolder folder names)
// to the indices of a model's labels: a folder named like a label (ignoring
// case, and treating every run of characters other than letters and digits
// as one separator, so that "T-shirt_top" names "T-shirt/top") maps to it;
// otherwise a folder named by a decimal number maps to that index. Any other
// folder is an error.
func MapClasses(classes, labels []string) ([]int, error) {
	byKey := map[string]int{}
	for i, l := range labels {
		k := classKey(l)
		if _, dup := byKey[k]; !dup {
			byKey[k] = i
		}
	}
	out := make([]int, len(classes))
	for i, c := range classes {
		if j, ok := byKey[classKey(c)]; ok {
			out[i] = j
			continue
		}
		if n, err := strconv.Atoi(c); err == nil && n >= 0 && n < len(labels) {
			out[i] = n
			continue
		}
		return nil, fmt.Errorf("dataset: %w: %q (labels: %s)", ErrUnmatchedClass, c, strings.Join(labels, ", "))
	}
	return out, nil
}

func classKey(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
			continue
		}
		sep = true
	}
	return b.String()
}
