package export

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/piresnet/piresnet/internal/checkpoint"
)

// Family is a kind of ResNet the exporter recognizes.
type Family struct {
	// Key is what --arch takes to force the family.
	Key string
	// Description names the models and the module layout.
	Description string
	detect      func(m *matcher, o archOptions) (*Net, error)
}

// Families lists the recognized families in the order detection tries them.
var Families = []Family{
	{"resnet", "torchvision resnet18…152, resnext50_32x4d, resnext101_32x8d, wide_resnet50_2/101_2 and timm's torchvision-compatible resnets incl. deep-stem c/d/s/e variants (conv1, bn1, layer1…layer4, fc)", detectResNet},
	{"vision_learner", "fastai vision_learner / cnn_learner: a torchvision ResNet or XResNet body under 0.* and fastai's head under 1.* (AdaptiveConcatPool2d, Flatten, BatchNorm1d, Dropout, Linear, ReLU, …)", detectVisionLearner},
	{"xresnet", "fastai XResNet xresnet18…152 (Sequential: ConvLayer stem, MaxPool, ResBlocks with convpath/idpath, AdaptiveAvgPool, Flatten, Dropout, Linear)", detectXResNet},
	{"book", "the fastai book's chapter-14 ResNet (Sequential: ConvLayer stem [, MaxPool], ResBlocks with convs/idconv/pool, AdaptiveAvgPool2d, Flatten, Linear)", detectBook},
}

// FamilyKeys returns the keys of Families.
func FamilyKeys() []string {
	k := make([]string, len(Families))
	for i, f := range Families {
		k[i] = f.Key
	}
	return k
}

// ErrUnrecognized is the kind of the error Detect returns when no family
// fits the state dict (for errors.Is).
var ErrUnrecognized = errors.New("state dict fits no known ResNet family")

// ErrArch is the kind of the error for an invalid --arch value.
var ErrArch = errors.New("invalid architecture option")

func archErr(format string, args ...any) error {
	return &kindError{kind: ErrArch, msg: fmt.Sprintf(format, args...)}
}

// archOptions is a parsed --arch value.
type archOptions struct {
	family string // "" for any
	model  string // a model name that the detected Name must equal, or ""
	// Stride overrides (family "book"): per stem conv, per stage.
	stemStrides  []int
	stageStrides []int
}

// parseArch reads an --arch value: "" or "auto" (detect), a family key
// ("resnet", "vision_learner", "xresnet", "book"), or a model name
// ("resnet50", "xresnet34", …) that detection must confirm. The book family
// takes stride overrides: "book:stem=2-1-1,stages=1-2-2-2" gives the stride
// of each stem convolution and of the first block of each stage.
func parseArch(s string) (archOptions, error) {
	var o archOptions
	s = strings.TrimSpace(s)
	if s == "" || s == "auto" {
		return o, nil
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		return o, archErr("--arch %q: spaces or control characters inside", s)
	}
	name, opts, _ := strings.Cut(s, ":")
	for _, f := range Families {
		if f.Key == name {
			o.family = name
		}
	}
	if o.family == "" {
		switch {
		case strings.HasPrefix(name, "xresnet"):
			o.family = "xresnet"
		case strings.HasPrefix(name, "vision_learner("):
			o.family = "vision_learner"
		case strings.HasPrefix(name, "resnet"), strings.HasPrefix(name, "resnext"), strings.HasPrefix(name, "wide_resnet"):
			o.family = "resnet"
		case name == bookName:
			o.family = "book"
		default:
			return o, archErr("--arch %q: not a family (%s, or auto) nor a model name such as resnet50 or xresnet34",
				s, strings.Join(FamilyKeys(), ", "))
		}
		o.model = name
	}
	if opts == "" {
		return o, nil
	}
	if o.family != "book" {
		return o, archErr("--arch %q: only the book family takes options", s)
	}
	for _, kv := range strings.Split(opts, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return o, archErr("--arch %q: option %q is not key=value", s, kv)
		}
		var list []int
		for _, p := range strings.Split(v, "-") {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 64 {
				return o, archErr("--arch %q: stride %q is not a number from 1 to 64", s, p)
			}
			list = append(list, n)
		}
		switch k {
		case "stem":
			o.stemStrides = list
		case "stages":
			o.stageStrides = list
		default:
			return o, archErr("--arch %q: unknown option %q (book takes stem= and stages=)", s, k)
		}
	}
	return o, nil
}

// Detect recognizes the architecture of a state dict. arch is an --arch
// value (see Options.Arch). When no family fits, the error (of kind
// ErrUnrecognized) says for each family what did not fit and lists the
// first keys of the dict.
func Detect(sd *checkpoint.StateDict, arch string) (*Net, error) {
	o, err := parseArch(arch)
	if err != nil {
		return nil, err
	}
	var reasons []string
	for _, f := range Families {
		if o.family != "" && f.Key != o.family {
			continue
		}
		m := newMatcher(sd)
		n, err := f.detect(m, o)
		if err == nil {
			err = m.allUsed()
		}
		if err == nil && o.model != "" && n.Name != o.model {
			err = fmt.Errorf("the state dict is a %s, not a %s", n.Name, o.model)
		}
		if err == nil {
			n.Family = f.Key
			return n, nil
		}
		reasons = append(reasons, f.Key+": "+err.Error())
	}
	what := "no known ResNet family fits"
	if o.family != "" {
		what = "the state dict is not a " + strings.TrimSpace(arch)
	}
	return nil, &DetectError{Msg: fmt.Sprintf("%s (families: %s); %s; first keys: %s",
		what, strings.Join(FamilyKeys(), ", "), strings.Join(reasons, "; "), firstKeys(sd, 6))}
}

// DetectError is the error of Detect when no family fits.
type DetectError struct{ Msg string }

func (e *DetectError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrUnrecognized) true.
func (e *DetectError) Unwrap() error { return ErrUnrecognized }

func firstKeys(sd *checkpoint.StateDict, n int) string {
	if len(sd.Keys) == 0 {
		return "(none: the state dict is empty)"
	}
	var parts []string
	for i, k := range sd.Keys {
		if i == n {
			parts = append(parts, fmt.Sprintf("… (%d keys)", len(sd.Keys)))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %v", k, shapeOf(sd.Tensors[k])))
	}
	return strings.Join(parts, ", ")
}

func shapeOf(t *checkpoint.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape
}

// matcher reads a state dict for a detector: it hands out tensors with the
// rank and sizes a module needs and records which keys were taken, so that
// a detector accepts a dict only if it explains every key.
type matcher struct {
	sd   *checkpoint.StateDict
	used map[string]bool
}

func newMatcher(sd *checkpoint.StateDict) *matcher {
	return &matcher{sd: sd, used: map[string]bool{}}
}

func (m *matcher) has(key string) bool {
	_, ok := m.sd.Tensors[key]
	return ok
}

// hasPrefix reports whether some key starts with p.
func (m *matcher) hasPrefix(p string) bool {
	for _, k := range m.sd.Keys {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// tensor takes key, which must have the given shape (-1 matches any
// positive size).
func (m *matcher) tensor(key string, shape ...int) (*checkpoint.Tensor, error) {
	t, ok := m.sd.Tensors[key]
	if !ok || t == nil {
		return nil, fmt.Errorf("no %s", key)
	}
	if len(t.Shape) != len(shape) {
		return nil, fmt.Errorf("%s has shape %v, want %d dims", key, t.Shape, len(shape))
	}
	for i, d := range shape {
		if t.Shape[i] <= 0 || d >= 0 && t.Shape[i] != d {
			return nil, fmt.Errorf("%s has shape %v, want %s", key, t.Shape, shapeString(shape))
		}
	}
	if len(t.Data) != t.NumElements() {
		return nil, fmt.Errorf("%s holds %d values for shape %v", key, len(t.Data), t.Shape)
	}
	m.used[key] = true
	return t, nil
}

func shapeString(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			p[i] = "*"
		} else {
			p[i] = strconv.Itoa(d)
		}
	}
	return "[" + strings.Join(p, " ") + "]"
}

// optional takes key if it is present (with the given shape).
func (m *matcher) optional(key string, shape ...int) (bool, error) {
	if !m.has(key) {
		return false, nil
	}
	_, err := m.tensor(key, shape...)
	return err == nil, err
}

// numBatches takes the 0-d (or 1-element) num_batches_tracked buffer if
// present.
func (m *matcher) numBatches(name string) {
	key := name + ".num_batches_tracked"
	if t, ok := m.sd.Tensors[key]; ok && t != nil && t.NumElements() == 1 && len(t.Data) == 1 {
		m.used[key] = true
	}
}

// conv reads a Conv2d at name with in input channels (-1: any) and returns
// it with stride 1 and padding Kernel/2. Groups are in / weight.shape[1].
func (m *matcher) conv(name string, in int) (Conv, error) {
	w, err := m.tensor(name+".weight", -1, -1, -1, -1)
	if err != nil {
		return Conv{}, err
	}
	out, inPerGroup, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	if kh != kw || kh%2 == 0 {
		return Conv{}, fmt.Errorf("%s.weight has a %dx%d kernel: only square odd kernels are supported", name, kh, kw)
	}
	if in < 0 {
		in = inPerGroup
	}
	if in%inPerGroup != 0 {
		return Conv{}, fmt.Errorf("%s.weight has shape %v: %d input channels are not a multiple of %d", name, w.Shape, in, inPerGroup)
	}
	groups := in / inPerGroup
	if out%groups != 0 {
		return Conv{}, fmt.Errorf("%s.weight has shape %v: %d groups do not divide %d outputs", name, w.Shape, groups, out)
	}
	c := Conv{Name: name, In: in, Out: out, Kernel: kh, Stride: 1, Pad: kh / 2, Groups: groups}
	if c.Bias, err = m.optional(name+".bias", out); err != nil {
		return Conv{}, err
	}
	return c, nil
}

// bn reads a BatchNorm (2d or 1d) of ch features at name: running_mean and
// running_var, and weight and bias unless it was built with affine=False.
func (m *matcher) bn(name string, ch int) (affine bool, err error) {
	if _, err := m.tensor(name+".running_mean", ch); err != nil {
		return false, err
	}
	if _, err := m.tensor(name+".running_var", ch); err != nil {
		return false, err
	}
	m.numBatches(name)
	hasW, hasB := m.has(name+".weight"), m.has(name+".bias")
	if hasW != hasB {
		return false, fmt.Errorf("%s has only one of weight and bias", name)
	}
	if hasW {
		if _, err := m.tensor(name+".weight", ch); err != nil {
			return false, err
		}
		if _, err := m.tensor(name+".bias", ch); err != nil {
			return false, err
		}
	}
	return hasW, nil
}

// convBN reads a Conv2d at conv followed by a BatchNorm2d at bn.
func (m *matcher) convBN(conv, bn string, in int) (Conv, error) {
	c, err := m.conv(conv, in)
	if err != nil {
		return c, err
	}
	c.BN = bn
	c.BNAffine, err = m.bn(bn, c.Out)
	return c, err
}

// allUsed checks that every key was explained by the detector.
func (m *matcher) allUsed() error {
	var left []string
	for _, k := range m.sd.Keys {
		if !m.used[k] {
			left = append(left, k)
		}
	}
	if len(left) == 0 {
		return nil
	}
	more := ""
	if len(left) > 3 {
		more = fmt.Sprintf(" and %d more", len(left)-3)
		left = left[:3]
	}
	return fmt.Errorf("unexpected keys %s%s", strings.Join(left, ", "), more)
}

// indices returns the sorted distinct integers i for which some key starts
// with prefix + i + ".".
func (m *matcher) indices(prefix string) []int {
	seen := map[int]bool{}
	for _, k := range m.sd.Keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		head, _, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(head)
		if err != nil || i < 0 || strconv.Itoa(i) != head {
			continue
		}
		seen[i] = true
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// count returns n such that prefix+"0", …, prefix+(n-1) all have keys
// (consecutive indices from 0).
func (m *matcher) count(prefix string) int {
	idx := m.indices(prefix)
	n := 0
	for n < len(idx) && idx[n] == n {
		n++
	}
	return n
}

// names makes node names unique: the first use of a name keeps it, later
// uses get _1, _2, ….
type names map[string]int

func (u names) unique(n string) string {
	c, seen := u[n]
	u[n] = c + 1
	if !seen {
		return n
	}
	for {
		cand := n + "_" + strconv.Itoa(c)
		if _, taken := u[cand]; !taken {
			u[cand] = 1
			return cand
		}
		c++
	}
}

// checkChain checks that each convolution of a path takes the output of the
// previous one.
func checkChain(path []Conv) error {
	for i := 1; i < len(path); i++ {
		if path[i].In != path[i-1].Out {
			return fmt.Errorf("%s takes %d channels but %s gives %d", path[i].Name, path[i].In, path[i-1].Name, path[i-1].Out)
		}
	}
	return nil
}
