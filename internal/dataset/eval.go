package dataset

import (
	"errors"
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/imageprep"
)

// Classifier runs a model on a batch of preprocessed images: n images of
// c×h×w float32 values (NCHW) in, n·Classes() logits out.
// runtime.Session.RunFloat is one.
type Classifier interface {
	Classes() int
	Logits(batch []float32, n, c, h, w int, logits []float32) error
}

// EvalOptions control Evaluate.
type EvalOptions struct {
	// Spec is the preprocessing; its Height and Width are replaced by each
	// of Sizes in turn.
	Spec imageprep.Spec
	// Sizes are the input sizes to evaluate at, [height, width] each.
	Sizes [][2]int
	// LabelMap maps the source's labels to the model's class indices
	// (MapClasses); nil keeps them as they are (idx files).
	LabelMap []int
	// Batch is the number of images per model run; 0 means 32.
	Batch int
	// Progress, if set, is called after each batch with the images done
	// and the total over all sizes.
	Progress func(done, total int)
}

// EvalResult is the accuracy at one input size. Top1 and Top5 are
// fractions of Count; Agreement (with a reference model) is the fraction of
// images where both models' top-1 classes are the same, nil without a
// reference, and RefTop1 the reference's own top-1.
type EvalResult struct {
	Size      string   `json:"size"`
	Height    int      `json:"height"`
	Width     int      `json:"width"`
	Count     int      `json:"count"`
	Top1      float64  `json:"top1"`
	Top5      float64  `json:"top5"`
	Agreement *float64 `json:"agreement,omitempty"`
	RefTop1   *float64 `json:"ref_top1,omitempty"`
	RefTop5   *float64 `json:"ref_top5,omitempty"`
}

// ErrUnlabelled is returned by Evaluate for a source with images that
// carry no label.
var ErrUnlabelled = errors.New("image has no label (accuracy needs a class folder or an idx labels file)")

// Evaluate runs m (and ref, if not nil) over every image of src at each
// size and measures top-1 and top-5 accuracy and the top-1 agreement of
// the two. Top-5 with fewer than five classes counts every class. Ties in
// the logits are broken toward the lower class index, for both models.
func Evaluate(src Source, m, ref Classifier, opt EvalOptions) ([]EvalResult, error) {
	n := src.Len()
	if n == 0 {
		return nil, errors.New("dataset: no images to evaluate")
	}
	if len(opt.Sizes) == 0 {
		return nil, errors.New("dataset: no input size to evaluate at")
	}
	classes := m.Classes()
	if ref != nil && ref.Classes() != classes {
		return nil, fmt.Errorf("dataset: the model has %d classes, the reference %d", classes, ref.Classes())
	}
	labels := make([]int, n)
	for i := range n {
		l := src.Label(i)
		if l < 0 {
			return nil, fmt.Errorf("dataset: %s: %w", src.Name(i), ErrUnlabelled)
		}
		if opt.LabelMap != nil {
			if l >= len(opt.LabelMap) {
				return nil, fmt.Errorf("dataset: %s: label %d has no class mapping", src.Name(i), l)
			}
			l = opt.LabelMap[l]
		}
		if l >= classes {
			return nil, fmt.Errorf("dataset: %s: label %d, but the model has %d classes", src.Name(i), l, classes)
		}
		labels[i] = l
	}
	batch := opt.Batch
	if batch <= 0 {
		batch = 32
	}
	total := n * len(opt.Sizes)
	done := 0
	var results []EvalResult
	for _, hw := range opt.Sizes {
		spec := opt.Spec
		spec.Height, spec.Width = hw[0], hw[1]
		if err := spec.Validate(); err != nil {
			return nil, fmt.Errorf("dataset: %v", err)
		}
		per := spec.Len()
		in := make([]float32, batch*per)
		logits := make([]float32, batch*classes)
		var refLogits []float32
		if ref != nil {
			refLogits = make([]float32, batch*classes)
		}
		var top1, top5, rtop1, rtop5, agree int
		for start := 0; start < n; start += batch {
			b := min(batch, n-start)
			for j := range b {
				img, err := src.Image(start + j)
				if err != nil {
					return nil, err
				}
				if _, err := spec.Tensor(img, in[j*per:(j+1)*per]); err != nil {
					return nil, fmt.Errorf("dataset: %s: %v", src.Name(start+j), err)
				}
			}
			if err := m.Logits(in[:b*per], b, spec.Channels, spec.Height, spec.Width, logits[:b*classes]); err != nil {
				return nil, err
			}
			if ref != nil {
				if err := ref.Logits(in[:b*per], b, spec.Channels, spec.Height, spec.Width, refLogits[:b*classes]); err != nil {
					return nil, fmt.Errorf("reference model: %w", err)
				}
			}
			for j := range b {
				want := labels[start+j]
				row := logits[j*classes : (j+1)*classes]
				best := argmax(row)
				if best == want {
					top1++
				}
				if rank(row, want) < 5 {
					top5++
				}
				if ref != nil {
					rrow := refLogits[j*classes : (j+1)*classes]
					rb := argmax(rrow)
					if rb == best {
						agree++
					}
					if rb == want {
						rtop1++
					}
					if rank(rrow, want) < 5 {
						rtop5++
					}
				}
			}
			done += b
			if opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
		r := EvalResult{Size: fmt.Sprintf("%dx%d", hw[0], hw[1]), Height: hw[0], Width: hw[1], Count: n,
			Top1: frac(top1, n), Top5: frac(top5, n)}
		if ref != nil {
			a, t1, t5 := frac(agree, n), frac(rtop1, n), frac(rtop5, n)
			r.Agreement, r.RefTop1, r.RefTop5 = &a, &t1, &t5
		}
		results = append(results, r)
	}
	return results, nil
}

func frac(k, n int) float64 { return float64(k) / float64(n) }

// argmax returns the index of the largest logit (the lowest index on a
// tie; NaN never wins).
func argmax(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] || math.IsNaN(float64(row[best])) && !math.IsNaN(float64(v)) {
			best = i
		}
	}
	return best
}

// rank returns how many classes rank before class c: those with a larger
// logit, and those with an equal logit and a lower index.
func rank(row []float32, c int) int {
	v := row[c]
	r := 0
	for i, x := range row {
		if x > v || (x == v && i < c) || math.IsNaN(float64(v)) && !math.IsNaN(float64(x)) {
			r++
		}
	}
	return r
}
