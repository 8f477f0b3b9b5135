package dataset

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/imageprep"
)

// ruleModel predicts from the image's pixel value i (every pixel the
// same): class i%10, or (i+1)%10 when i ≥ wrongFrom. Its logits are
// −(c − pred)², so the true class of a wrong prediction ranks second,
// except for class 9 predicted as 0, which ranks last.
type ruleModel struct {
	wrongFrom int
	calls     []int
}

func (m *ruleModel) Classes() int { return 10 }

func (m *ruleModel) Logits(batch []float32, n, c, h, w int, logits []float32) error {
	m.calls = append(m.calls, n)
	per := c * h * w
	for j := range n {
		i := int(math.Round(float64(batch[j*per] * 255)))
		for k := 1; k < per; k++ {
			if batch[j*per+k] != batch[j*per] {
				return errors.New("image not constant after preprocessing")
			}
		}
		pred := i % 10
		if i >= m.wrongFrom {
			pred = (i + 1) % 10
		}
		for k := range 10 {
			d := float32(k - pred)
			logits[j*10+k] = -d * d
		}
	}
	return nil
}

func constantSet(t *testing.T, n int, labelled bool) *IDXSet {
	t.Helper()
	data := make([]byte, n*2*2)
	labels := make([]byte, n)
	for i := range n {
		for k := range 4 {
			data[i*4+k] = byte(i)
		}
		labels[i] = byte(i % 10)
	}
	var lab *IDX
	if labelled {
		lab = &IDX{Dims: []int{n}, Data: labels}
	}
	s, err := NewIDXSet("const", &IDX{Dims: []int{n, 2, 2}, Data: data}, lab)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEvaluate(t *testing.T) {
	src := constantSet(t, 100, true)
	m := &ruleModel{wrongFrom: 70}
	ref := &ruleModel{wrongFrom: 1000}
	spec := imageprep.Spec{Channels: 1, Mean: []float32{0}, Std: []float32{1}, Interp: imageprep.Nearest}
	var progress []int
	res, err := Evaluate(src, m, ref, EvalOptions{Spec: spec, Sizes: [][2]int{{2, 2}, {3, 5}}, Batch: 16,
		Progress: func(done, total int) {
			if total != 200 {
				t.Errorf("progress total %d", total)
			}
			progress = append(progress, done)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Size != "2x2" || res[1].Size != "3x5" || res[1].Height != 3 || res[1].Width != 5 {
		t.Fatalf("results %+v", res)
	}
	// Wrong from 70 on: 30 misses in top-1; in top-5, only 79, 89 and 99
	// (class 9 predicted as 0).
	for _, r := range res {
		if r.Count != 100 || r.Top1 != 0.70 || r.Top5 != 0.97 || r.Agreement == nil || *r.Agreement != 0.70 ||
			*r.RefTop1 != 1 || *r.RefTop5 != 1 {
			t.Errorf("%s: %+v (agreement %v)", r.Size, r, *r.Agreement)
		}
	}
	// 100 images in batches of 16: six of 16 and one of 4, per size.
	if len(m.calls) != 14 || m.calls[6] != 4 || progress[len(progress)-1] != 200 {
		t.Errorf("batches %v, progress %v", m.calls, progress)
	}
	// Without a reference there is no agreement.
	res, err = Evaluate(src, m, nil, EvalOptions{Spec: spec, Sizes: [][2]int{{2, 2}}})
	if err != nil || res[0].Agreement != nil {
		t.Errorf("no reference: %+v, %v", res, err)
	}
	// A label map moves labels: every label k becomes 9−k, and top-1
	// falls to the images where i%10 = 9 − i%10, none.
	lm := []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	res, err = Evaluate(src, ref, nil, EvalOptions{Spec: spec, Sizes: [][2]int{{2, 2}}, LabelMap: lm})
	if err != nil || res[0].Top1 != 0 {
		t.Errorf("label map: %+v, %v", res, err)
	}
}

func TestEvaluateErrors(t *testing.T) {
	spec := imageprep.Spec{Channels: 1, Mean: []float32{0}, Std: []float32{1}}
	sizes := [][2]int{{2, 2}}
	_, err := Evaluate(constantSet(t, 3, false), &ruleModel{}, nil, EvalOptions{Spec: spec, Sizes: sizes})
	if !errors.Is(err, ErrUnlabelled) || !strings.Contains(err.Error(), "const#0") {
		t.Errorf("unlabelled: %v", err)
	}
	src := constantSet(t, 12, true)
	src.labels[11] = 10
	_, err = Evaluate(src, &ruleModel{}, nil, EvalOptions{Spec: spec, Sizes: sizes})
	if err == nil || !strings.Contains(err.Error(), "label 10, but the model has 10 classes") {
		t.Errorf("label out of range: %v", err)
	}
	if _, err := Evaluate(constantSet(t, 3, true), &ruleModel{}, nil, EvalOptions{Spec: spec}); err == nil {
		t.Error("no size accepted")
	}
	if _, err := Evaluate(constantSet(t, 3, true), &ruleModel{}, nil, EvalOptions{Spec: spec, Sizes: sizes, LabelMap: []int{0}}); err == nil {
		t.Error("label without a mapping accepted")
	}
}

func TestArgmaxAndRank(t *testing.T) {
	row := []float32{1, 3, 3, float32(math.NaN()), 2}
	if argmax(row) != 1 {
		t.Errorf("argmax %d, want the first of the tied maxima", argmax(row))
	}
	if rank(row, 2) != 1 || rank(row, 1) != 0 || rank(row, 4) != 2 || rank(row, 0) != 3 {
		t.Errorf("ranks %d %d %d %d", rank(row, 2), rank(row, 1), rank(row, 4), rank(row, 0))
	}
	if rank(row, 3) != 4 {
		t.Errorf("NaN ranks %d, want last", rank(row, 3))
	}
	if argmax([]float32{float32(math.NaN()), 1}) != 1 {
		t.Error("NaN won argmax")
	}
}
