package export

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/modelmeta"
)

func TestParseArch(t *testing.T) {
	for _, c := range []struct {
		in            string
		family, model string
		stem, stages  []int
		err           string
	}{
		{in: ""}, {in: "auto"},
		{in: "resnet", family: "resnet"},
		{in: "book", family: "book"},
		{in: "resnet50", family: "resnet", model: "resnet50"},
		{in: "resnext50_32x4d", family: "resnet", model: "resnext50_32x4d"},
		{in: "wide_resnet50_2", family: "resnet", model: "wide_resnet50_2"},
		{in: "xresnet34", family: "xresnet", model: "xresnet34"},
		{in: "vision_learner(resnet34)", family: "vision_learner", model: "vision_learner(resnet34)"},
		{in: "fastai-book-resnet", family: "book", model: "fastai-book-resnet"},
		{in: "book:stem=2-1-1,stages=1-2-2-2", family: "book", stem: []int{2, 1, 1}, stages: []int{1, 2, 2, 2}},
		{in: "book:stages=1-2", family: "book", stages: []int{1, 2}},
		{in: "vgg16", err: "not a family"},
		{in: "resnet:stem=2", err: "only the book family"},
		{in: "book:stem", err: "not key=value"},
		{in: "book:stem=0", err: "not a number from 1 to 64"},
		{in: "book:stem=a-b", err: "not a number"},
		{in: "book:depth=3", err: "unknown option"},
	} {
		o, err := parseArch(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrArch) {
				t.Errorf("%q: got %v, want an ErrArch with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || o.family != c.family || o.model != c.model || !slices.Equal(o.stemStrides, c.stem) || !slices.Equal(o.stageStrides, c.stages) {
			t.Errorf("%q: got %+v, %v", c.in, o, err)
		}
	}
}

func TestExportOptions(t *testing.T) {
	gray := parseFuzzDict(seedBookFastaiHead()) // 1 channel, 2 classes
	rgb := parseFuzzDict(seedXResNet())         // 3 channels, 3 classes
	for _, c := range []struct {
		name string
		sd   string
		opt  Options
		err  string
	}{
		{"gray needs normalization", "gray", Options{}, "give its normalization"},
		{"gray mean only", "gray", Options{Mean: []float32{0.5}}, "give its normalization"},
		{"rgb std only", "rgb", Options{Std: []float32{0.2}}, "give both mean and std"},
		{"rgb two means", "rgb", Options{Mean: []float32{0.5, 0.5}, Std: []float32{0.2}}, "2 mean values for 3 input channels"},
		{"labels", "rgb", Options{Labels: []string{"a", "b"}}, "2 labels for a model with 3 classes"},
		{"empty label", "rgb", Options{Labels: []string{"a", "", "c"}}, "label 1 is empty"},
		{"std 0", "gray", Options{Mean: []float32{0.5}, Std: []float32{0}}, "std[0]"},
		{"opset", "rgb", Options{Opset: 12}, "opset 12"},
		{"opset high", "rgb", Options{Opset: 18}, "opset 18"},
		{"eps", "rgb", Options{BNEps: -1}, "eps"},
	} {
		sd := rgb
		if c.sd == "gray" {
			sd = gray
		}
		_, _, err := Export(sd, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrOption) {
			t.Errorf("%s: got %v, want an ErrOption with %q", c.name, err, c.err)
		}
	}
	m, s, err := Export(rgb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := modelmeta.Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(md.Mean, modelmeta.ImageNetMean) || !slices.Equal(md.Labels, []string{"class_0", "class_1", "class_2"}) ||
		md.InputHeight != 224 || md.InputWidth != 224 || s.Opset != DefaultOpset {
		t.Errorf("defaults: %+v", md)
	}
	m, _, err = Export(gray, Options{Mean: []float32{0.3}, Std: []float32{0.4}, InputHeight: 28, InputWidth: 28, Labels: []string{"no", "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	md, err = modelmeta.Parse(m)
	if err != nil || md.InputHeight != 28 || md.Labels[1] != "yes" || md.Mean[0] != 0.3 {
		t.Errorf("gray: %+v, %v", md, err)
	}
}

// TestBadValues checks that values a checkpoint may hold but no model can
// use are refused with the tensor's name.
func TestBadValues(t *testing.T) {
	sd := parseFuzzDict(seedBookFastaiHead())
	sd.Tensors["1.0.convs.0.1.running_var"].Data[3] = -2
	if _, _, err := Export(sd, Options{Mean: []float32{0}, Std: []float32{1}}); err == nil || !strings.Contains(err.Error(), "1.0.convs.0.1.running_var[3]") {
		t.Errorf("negative variance: %v", err)
	}
	sd = parseFuzzDict(seedBookFastaiHead())
	sd.Tensors["4.weight"].Data[1] = float32(math.Inf(1))
	if _, _, err := Export(sd, Options{Mean: []float32{0}, Std: []float32{1}}); err == nil || !strings.Contains(err.Error(), "4.weight[1]") {
		t.Errorf("infinite weight: %v", err)
	}
}
