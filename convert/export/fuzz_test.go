package export

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/internal/checkpoint"
)

// The fuzz input is a state dict written as text, one tensor a line: the
// key and its dims ("layer1.0.conv1.weight 64 64 3 3"). Values are
// deterministic. Seeds are small but valid dicts of every family, so that
// mutations explore the edges of the detectors.

const maxFuzzElements = 1 << 15

func parseFuzzDict(s string) *checkpoint.StateDict {
	sd := &checkpoint.StateDict{Tensors: map[string]*checkpoint.Tensor{}, Format: "fuzz", Container: "state_dict"}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || len(f) > 9 {
			continue
		}
		shape := make([]int, 0, len(f)-1)
		n := 1
		ok := true
		for _, d := range f[1:] {
			v, err := strconv.Atoi(d)
			if err != nil || v < 0 || v > maxFuzzElements {
				ok = false
				break
			}
			shape = append(shape, v)
			n *= v
			if n > maxFuzzElements {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if _, dup := sd.Tensors[f[0]]; dup {
			continue
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32((i*7919+len(f[0]))%13)/13 + 0.1 // positive, so variances are valid
		}
		sd.Keys = append(sd.Keys, f[0])
		sd.Tensors[f[0]] = &checkpoint.Tensor{Shape: shape, DType: "float32", Data: data}
	}
	return sd
}

// fuzzDict writes a state dict as fuzz text.
type fuzzDict struct{ b strings.Builder }

func (d *fuzzDict) t(key string, dims ...int) {
	d.b.WriteString(key)
	for _, x := range dims {
		fmt.Fprintf(&d.b, " %d", x)
	}
	d.b.WriteByte('\n')
}

func (d *fuzzDict) bn(name string, c int) {
	for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
		d.t(name+"."+s, c)
	}
	d.t(name + ".num_batches_tracked")
}

func (d *fuzzDict) convBN(conv, bn string, in, out, k int) {
	d.t(conv+".weight", out, in, k, k)
	d.bn(bn, out)
}

// seedTorchvision is a torchvision ResNet laid out as l, with the given
// block kind and base width w; fc adds torchvision's classifier.
func seedTorchvision(l resnetLayout, bottleneck bool, w int, fc bool) string {
	var d fuzzDict
	d.convBN(l.conv1, l.bn1, 3, w, 7)
	in := w
	for s := 0; s < 4; s++ {
		planes := w << s
		out := planes
		if bottleneck {
			out = planes * 4
		}
		for i := 0; i < 2; i++ {
			n := fmt.Sprintf("%s.%d", l.layers[s], i)
			if bottleneck {
				d.convBN(n+".conv1", n+".bn1", in, planes, 1)
				d.convBN(n+".conv2", n+".bn2", planes, planes, 3)
				d.convBN(n+".conv3", n+".bn3", planes, out, 1)
			} else {
				d.convBN(n+".conv1", n+".bn1", in, planes, 3)
				d.convBN(n+".conv2", n+".bn2", planes, planes, 3)
			}
			if i == 0 && (s > 0 || in != out) {
				d.convBN(n+".downsample.0", n+".downsample.1", in, out, 1)
			}
			in = out
		}
	}
	if fc {
		d.t("fc.weight", 5, in)
		d.t("fc.bias", 5)
	}
	return d.b.String()
}

func seedXResNet() string {
	var d fuzzDict
	for i, c := range [][2]int{{3, 4}, {4, 4}, {4, 8}} {
		d.convBN(fmt.Sprintf("%d.0", i), fmt.Sprintf("%d.1", i), c[0], c[1], 3)
	}
	in := 8
	for s := 0; s < 2; s++ {
		out := 8 << s
		n := fmt.Sprintf("%d.0", 4+s)
		d.convBN(n+".convpath.0.0", n+".convpath.0.1", in, out, 3)
		d.convBN(n+".convpath.1.0", n+".convpath.1.1", out, out, 3)
		if in != out {
			d.convBN(n+".idpath.1.0", n+".idpath.1.1", in, out, 1)
		}
		in = out
	}
	d.t("9.weight", 3, in)
	d.t("9.bias", 3)
	return d.b.String()
}

func seedBookFastaiHead() string {
	var d fuzzDict
	d.convBN("0.0", "0.1", 1, 4, 3)
	d.convBN("1.0.convs.0.0", "1.0.convs.0.1", 4, 8, 3)
	d.convBN("1.0.convs.1.0", "1.0.convs.1.1", 8, 8, 3)
	d.convBN("1.0.idconv.0", "1.0.idconv.1", 4, 8, 1)
	d.t("4.weight", 2, 8)
	d.t("4.bias", 2)
	return d.b.String()
}

func seedVisionLearner() string {
	var d fuzzDict
	d.bn("1.2", 32) // concat pooling: 2 x 16 features
	d.t("1.4.weight", 6, 32)
	d.bn("1.6", 6)
	d.t("1.8.weight", 3, 6)
	return seedTorchvision(fastaiBodyLayout, false, 2, false) + d.b.String()
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{
		seedTorchvision(torchvisionLayout, false, 2, true), seedTorchvision(torchvisionLayout, true, 2, true), seedXResNet(), seedBookFastaiHead(), seedVisionLearner(),
		"conv1.weight 2 3 7 7\n", "0.0.weight 0 0 0 0\n", "",
	} {
		f.Add(s, "")
		f.Add(s, "book:stem=2,stages=2-2")
	}
	f.Fuzz(func(t *testing.T, text, arch string) {
		sd := parseFuzzDict(text)
		n, err := Detect(sd, arch)
		if err != nil {
			if len(err.Error()) == 0 || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if n.Classes() <= 0 || n.InChannels <= 0 {
			t.Fatalf("detected %s with %d classes and %d channels", n.Name, n.Classes(), n.InChannels)
		}
		opt := Options{Arch: arch, Mean: []float32{0.5}, Std: []float32{0.5}}
		if _, _, err := Export(sd, opt); err != nil && !strings.Contains(err.Error(), "labels") {
			// Detection accepted the dict: the build must succeed too (the
			// fuzz values are finite and the variances positive).
			t.Fatalf("detected %s but Export failed: %v", n.Name, err)
		}
	})
}

// TestFuzzSeedsDetect checks that the seeds are valid dicts of their
// families (else the fuzzer would start from nothing).
func TestFuzzSeedsDetect(t *testing.T) {
	for _, c := range []struct {
		text, family, name string
	}{
		{seedTorchvision(torchvisionLayout, false, 2, true), "resnet", "resnet18-w2-4-8-16"},
		{seedTorchvision(torchvisionLayout, true, 2, true), "resnet", "resnet26-w8-16-32-64"},
		{seedXResNet(), "xresnet", "xresnet6"},
		{seedBookFastaiHead(), "book", bookName},
		{seedVisionLearner(), "vision_learner", "vision_learner(resnet18-w2-4-8-16)"},
	} {
		n, err := Detect(parseFuzzDict(c.text), "")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if n.Family != c.family || n.Name != c.name {
			t.Errorf("got %s %s, want %s %s", n.Family, n.Name, c.family, c.name)
		}
	}
}

// TestDetectRandomShapes runs the detectors on many random variations of
// valid dicts (deleted keys, changed dims) without the fuzzing engine.
func TestDetectRandomShapes(t *testing.T) {
	seed := uint64(20261128)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	seeds := []string{seedTorchvision(torchvisionLayout, false, 2, true), seedTorchvision(torchvisionLayout, true, 2, true), seedXResNet(), seedBookFastaiHead(), seedVisionLearner()}
	for i := 0; i < 3000; i++ {
		lines := strings.Split(seeds[rng.IntN(len(seeds))], "\n")
		for j := rng.IntN(4); j > 0; j-- {
			k := rng.IntN(len(lines))
			f := strings.Fields(lines[k])
			switch rng.IntN(3) {
			case 0:
				lines[k] = ""
			case 1:
				if len(f) > 1 {
					f[1+rng.IntN(len(f)-1)] = strconv.Itoa(rng.IntN(5))
					lines[k] = strings.Join(f, " ")
				}
			case 2:
				if len(f) > 0 {
					f = append(f, strconv.Itoa(rng.IntN(4)))
					lines[k] = strings.Join(f, " ")
				}
			}
		}
		sd := parseFuzzDict(strings.Join(lines, "\n"))
		if n, err := Detect(sd, ""); err == nil {
			if _, _, err := Export(sd, Options{Mean: []float32{0.5}, Std: []float32{0.5}}); err != nil {
				t.Fatalf("detected %s but Export failed: %v", n.Name, err)
			}
		}
	}
}
