package convert

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/piresnet/piresnet/internal/dataset"
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime/ref"
)

// Calibration is a source of preprocessed model inputs: images already
// resized and normalized as the model expects (see ImageCalibration).
type Calibration interface {
	// Len returns the number of samples available.
	Len() int
	// Shape returns the channels, height and width of every sample.
	Shape() (c, h, w int)
	// Sample writes sample i (c·h·w float32 values, CHW) into dst.
	Sample(i int, dst []float32) error
}

// Options control Quantize.
type Options struct {
	// Method turns each activation's calibration histogram into its range;
	// the zero Method means DefaultMethod.
	Method quant.Method
	// Activations is the 8-bit type of activations: quant.Uint8 (the
	// default, what ONNX Runtime fuses into QLinearConv on x86) or
	// quant.Int8.
	Activations quant.QType
	// Count is the number of calibration samples; 0 means DefaultCount.
	// When the source has fewer than Count + Held, Held shrinks to a tenth
	// of it and Count takes the rest.
	Count int
	// Held is the number of further samples, never used for calibration,
	// that the report measures the int8 model on; 0 means DefaultHeld,
	// negative means none (no SQNR in the report).
	Held int
	// Seed chooses which samples are drawn (a permutation of the source;
	// sources sorted by class are sampled evenly). 0 means 1.
	Seed uint64
	// Batch is the number of samples per calibration run; 0 means 8.
	Batch int
	// ReduceRange quantizes weights to 7 bits, [−64, 64] (scale absmax/64),
	// as ONNX Runtime's quantizer does with reduce_range. x86 kernels that
	// multiply uint8 activations by int8 weights with VPMADDUBSW add pairs
	// of products into int16 with saturation: 2·255·127 overflows, 2·255·64
	// = 32640 does not. ONNX Runtime 1.30's x86 QLinearConv saturates this
	// way (measured in ort_test.go); the project's engine does not, and
	// loses one bit of weight precision with it.
	ReduceRange bool
	// PairSafe keeps 8-bit weights but limits every pair of neighbouring
	// weights to |w0| + |w1| ≤ 128 (quant.QuantizePairSafe): the same x86
	// kernels then compute the file exactly, at the cost of moving a few
	// weights in a thousand toward zero (or of a coarser scale for a
	// channel whose weights are mostly large) instead of halving every step
	// as ReduceRange does. Ignored with ReduceRange (7-bit weights already
	// satisfy the limit). The zero Options leave it off; `export --int8`
	// (CLI) turns it on unless given --pair-safe=false.
	PairSafe bool
	// Engine computes the int8 side of the report: EngineRuntime (the
	// default: the project's fixed-point engine) or EngineRef (the float
	// reference interpreter running the QDQ graph).
	Engine string
	// Progress, if set, is called as samples are processed, with the stage
	// ("calibrating", "measuring"), the samples done and the stage's total.
	Progress func(stage string, done, total int)
	// Source describes the calibration data in the metadata and the report
	// (e.g. "train-images-idx3-ubyte.gz"); optional.
	Source string
}

// Defaults.
const (
	DefaultCount = 256
	DefaultHeld  = 32
)

// DefaultMethod is the calibration method used when Options.Method is not
// set. MSE measured best on the Fashion-MNIST model (convert/README-snippet.md).
var DefaultMethod = quant.MSE

// The engines of Options.Engine.
const (
	EngineRuntime = "runtime"
	EngineRef     = "ref"
)

// Metadata keys the converter adds to the float model's metadata_props.
const (
	KeyQuantMethod      = "piresnet.quant.method"
	KeyQuantActivations = "piresnet.quant.activations"
	KeyQuantWeights     = "piresnet.quant.weights"
	KeyQuantCalibration = "piresnet.quant.calibration"
)

// The values of KeyQuantWeights.
const (
	WeightsScheme        = "int8 symmetric per-output-channel [-127,127]"
	WeightsSchemeReduced = "int8 symmetric per-output-channel [-64,64] (reduce_range)"
	WeightsSchemePairs   = "int8 symmetric per-output-channel [-127,127], neighbour pairs |w0|+|w1| <= 128"
)

// qtensor is an activation tensor of the prepared graph that gets its own
// QuantizeLinear/DequantizeLinear pair.
type qtensor struct {
	name string     // the float value in the prepared graph
	prod *onnx.Node // node computing it (nil: the graph input)
	// act is the Relu or Clip absorbed into prod's output range (name is
	// then act's output), nil if none.
	act  *onnx.Node
	hist *quant.Histogram
	// bounds from act (Relu: [0, +Inf)).
	actLo, actHi float32
	lo, hi       float32 // the method's range
	group        int
	scale        float32
	zp           int32
	qnode        string // its QuantizeLinear in the quantized graph
}

type plan struct {
	g       *graphEdit
	tensors []*qtensor
	byName  map[string]*qtensor
	// preAct maps the output of a node that feeds an absorbed activation to
	// that activation's tensor.
	preAct map[string]*qtensor
}

// makePlan lists the tensors to quantize and ties the ones that must share
// parameters.
func makePlan(m *onnx.Model) (*plan, error) {
	g, err := newGraphEdit(m)
	if err != nil {
		return nil, err
	}
	p := &plan{g: g, byName: map[string]*qtensor{}, preAct: map[string]*qtensor{}}
	add := func(t *qtensor) {
		t.actLo, t.actHi = float32(math.Inf(-1)), float32(math.Inf(1))
		t.group = len(p.tensors)
		p.tensors = append(p.tensors, t)
		p.byName[t.name] = t
	}
	add(&qtensor{name: g.input})
	absorbed := map[*onnx.Node]bool{}
	for _, n := range g.nodes {
		if absorbed[n] {
			continue
		}
		out := n.Outputs[0]
		if r := g.soleReader(out); r != nil && (r.OpType == "Relu" || r.OpType == "Clip") && n != nil {
			absorbed[r] = true
			t := &qtensor{name: r.Outputs[0], prod: n, act: r}
			add(t)
			t.actLo, t.actHi = 0, float32(math.Inf(1))
			if r.OpType == "Clip" {
				t.actLo, t.actHi = g.clipBounds(r)
			}
			p.preAct[out] = t
			continue
		}
		add(&qtensor{name: out, prod: n})
	}
	// Ties: pooling by maximum and reshaping keep their input's
	// parameters; a concatenation's inputs that only it reads take its
	// parameters, so that it copies bytes.
	parent := make([]int, len(p.tensors))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b *qtensor) { parent[find(a.group)] = find(b.group) }
	for _, t := range p.tensors {
		n := t.prod
		if n == nil || t.act != nil {
			continue
		}
		switch n.OpType {
		case "MaxPool", "GlobalMaxPool", "Flatten", "Reshape":
			if in := p.byName[input(n, 0)]; in != nil {
				union(t, in)
			}
		case "Concat":
			for _, x := range n.Inputs {
				if in := p.byName[x]; in != nil && g.soleReader(x) == n {
					union(in, t)
				}
			}
		}
	}
	for _, t := range p.tensors {
		t.group = find(t.group)
	}
	return p, nil
}

// clipBounds returns a Clip's constant bounds.
func (e *graphEdit) clipBounds(n *onnx.Node) (lo, hi float32) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if e.opset() < 11 {
		return n.AttrFloat("min", lo), n.AttrFloat("max", hi)
	}
	if v, _, ok := e.floats(input(n, 1)); ok && len(v) == 1 {
		lo = v[0]
	}
	if v, _, ok := e.floats(input(n, 2)); ok && len(v) == 1 {
		hi = v[0]
	}
	return lo, hi
}

// ModelError is an error of Quantize caused by the float model itself (a
// graph it cannot quantize, NaN or infinite activations), not by the
// calibration data or the options.
type ModelError struct{ Err error }

func (e *ModelError) Error() string { return e.Err.Error() }
func (e *ModelError) Unwrap() error { return e.Err }

// Quantize converts a float model to a calibrated int8 model in ONNX's QDQ
// form (see the package documentation) and reports, tensor by tensor, the
// parameters chosen and the error measured on held-back samples.
func Quantize(float *onnx.Model, calib Calibration, opt Options) (*onnx.Model, *Report, error) {
	start := time.Now()
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	prepared, notes, err := Prepare(float)
	if err != nil {
		return nil, nil, &ModelError{err}
	}
	p, err := makePlan(prepared)
	if err != nil {
		return nil, nil, &ModelError{err}
	}
	if calib == nil || calib.Len() == 0 {
		return nil, nil, errors.New("convert: no calibration samples")
	}
	if mc, ok := calib.(MultiCalibration); ok {
		if err := mc.check(); err != nil {
			return nil, nil, err
		}
	}
	count, held := opt.Count, opt.Held
	if n := calib.Len(); n < count+held {
		held = min(held, n/10)
		count = n - held
	}
	perm := dataset.Permutation(calib.Len(), opt.Seed)
	calIdx, heldIdx := perm[:count], perm[count:count+held]

	// Calibration: histograms of every tensor over the samples.
	for _, t := range p.tensors {
		if t.hist, err = quant.NewHistogram(quant.DefaultBins); err != nil {
			return nil, nil, err
		}
	}
	names := make([]string, len(p.tensors))
	for i, t := range p.tensors {
		names[i] = t.name
	}
	prog, err := compileWithOutputs(prepared, names)
	if err != nil {
		return nil, nil, err
	}
	members := []Calibration{calib}
	if mc, ok := calib.(MultiCalibration); ok {
		members = mc
	}
	for k, c := range members {
		err = runSamples(prog, p.g.input, c, calIdx, opt.Batch, func(vals map[string][]float32, n int) {
			for _, t := range p.tensors {
				t.hist.Add(vals[t.name])
			}
			if opt.Progress != nil {
				opt.Progress("calibrating", k*len(calIdx)+n, len(members)*len(calIdx))
			}
		})
		if err != nil {
			return nil, nil, err
		}
	}
	if err := p.chooseParams(opt.Method, opt.Activations); err != nil {
		return nil, nil, err
	}
	pairSafe := opt.PairSafe && !opt.ReduceRange
	q, wrep, bnotes, err := p.build(prepared, opt.Activations, opt.ReduceRange, pairSafe)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, bnotes...)
	src := opt.Source
	if src == "" {
		src = "unnamed source"
	}
	q.SetMetadata(KeyQuantMethod, opt.Method.String())
	q.SetMetadata(KeyQuantActivations, opt.Activations.String())
	switch {
	case opt.ReduceRange:
		q.SetMetadata(KeyQuantWeights, WeightsSchemeReduced)
	case pairSafe:
		q.SetMetadata(KeyQuantWeights, WeightsSchemePairs)
	default:
		q.SetMetadata(KeyQuantWeights, WeightsScheme)
	}
	q.SetMetadata(KeyQuantCalibration, strconv.Itoa(len(calIdx))+" samples of "+src)

	rep := &Report{Method: opt.Method.String(), Activations: opt.Activations.String(), Source: opt.Source,
		Calibration: len(calIdx), HeldBack: len(heldIdx), Weights: wrep, Notes: notes}
	for _, t := range p.tensors {
		rep.Tensors = append(rep.Tensors, p.tensorReport(t, opt.Activations))
	}
	if len(heldIdx) > 0 {
		if err := p.measure(prepared, q, calib, heldIdx, opt, rep); err != nil {
			return nil, nil, err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return q, rep, nil
}

func (opt Options) withDefaults() (Options, error) {
	if opt.Method == (quant.Method{}) {
		opt.Method = DefaultMethod
	}
	if _, err := quant.ParseMethod(opt.Method.String()); err != nil {
		return opt, fmt.Errorf("convert: %v", err)
	}
	switch opt.Activations {
	case 0:
		opt.Activations = quant.Uint8
	case quant.Uint8, quant.Int8:
	default:
		return opt, fmt.Errorf("convert: activations %v: want uint8 or int8", opt.Activations)
	}
	if opt.Count < 0 {
		return opt, fmt.Errorf("convert: calibration count %d", opt.Count)
	}
	if opt.Count == 0 {
		opt.Count = DefaultCount
	}
	switch {
	case opt.Held == 0:
		opt.Held = DefaultHeld
	case opt.Held < 0:
		opt.Held = 0
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	if opt.Batch <= 0 {
		opt.Batch = 8
	}
	switch opt.Engine {
	case "":
		opt.Engine = EngineRuntime
	case EngineRuntime, EngineRef:
	default:
		return opt, fmt.Errorf("convert: engine %q: want %s or %s", opt.Engine, EngineRuntime, EngineRef)
	}
	return opt, nil
}

// compileWithOutputs compiles a copy of m on the float reference with the
// named values as its outputs (the graph input among them is passed
// through by runSamples).
func compileWithOutputs(m *onnx.Model, names []string) (*ref.Program, error) {
	c := *m
	g := *m.Graph
	g.Outputs = nil
	inputs := map[string]bool{}
	for _, vi := range g.RealInputs() {
		inputs[vi.Name] = true
	}
	for _, n := range names {
		if !inputs[n] {
			g.Outputs = append(g.Outputs, &onnx.ValueInfo{Name: n})
		}
	}
	c.Graph = &g
	prog, err := ref.Compile(&c)
	if err != nil {
		return nil, fmt.Errorf("convert: %v", err)
	}
	return prog, nil
}

// runSamples runs prog over the samples idx in batches and calls fn with
// every output (and the input) by name, and the samples done so far.
func runSamples(prog *ref.Program, inputName string, calib Calibration, idx []int, batch int, fn func(map[string][]float32, int)) error {
	c, h, w := calib.Shape()
	per := c * h * w
	buf := make([]float32, batch*per)
	for start := 0; start < len(idx); start += batch {
		b := min(batch, len(idx)-start)
		in := buf[:b*per]
		for j := range b {
			if err := calib.Sample(idx[start+j], in[j*per:(j+1)*per]); err != nil {
				return err
			}
		}
		x := onnx.NewFloat(inputName, []int64{int64(b), int64(c), int64(h), int64(w)}, in)
		out, err := prog.Run(map[string]*onnx.Tensor{inputName: x})
		if err != nil {
			return fmt.Errorf("convert: float model: %v", err)
		}
		vals := map[string][]float32{inputName: in}
		for name, t := range out {
			if t.DataType != onnx.Float {
				return fmt.Errorf("convert: value %q is %v, not float32", name, t.DataType)
			}
			vals[name] = t.F32
		}
		fn(vals, start+b)
	}
	return nil
}

// chooseParams turns histograms into ranges and, per group of tied
// tensors, into one scale and zero point.
func (p *plan) chooseParams(method quant.Method, qt quant.QType) error {
	type span struct{ lo, hi float32 }
	groups := map[int]*span{}
	for _, t := range p.tensors {
		m := method
		switch {
		case t.prod == nil:
			// The input is 8-bit pixels normalized: its observed range is
			// the pixel range, and clipping it would throw away contrast
			// (Fashion-MNIST's black background is half the pixels: a
			// method that clips by distribution cuts the bright ones).
			m = quant.MinMax
		case p.g.output[t.name]:
			// The logits keep their observed range: clipping them would
			// saturate the largest ones to the same value and let the
			// lower class index win the tie.
			m = quant.MinMax
		}
		lo, hi, err := m.Range(t.hist)
		if errors.Is(err, quant.ErrEmptyHistogram) {
			lo, hi, err = 0, 0, nil // never saw a finite value: scale 1
		}
		if err != nil {
			return fmt.Errorf("convert: tensor %q: %v", t.name, err)
		}
		if t.hist.NonFinite() > 0 {
			return &ModelError{fmt.Errorf("convert: tensor %q: %d NaN or infinite values during calibration", t.name, t.hist.NonFinite())}
		}
		lo, hi = max(lo, t.actLo), min(hi, t.actHi)
		if lo > hi { // a Clip entirely outside what was observed
			lo, hi = min(t.actLo, 0), max(t.actHi, 0)
			if math.IsInf(float64(lo), 0) || math.IsInf(float64(hi), 0) {
				lo, hi = 0, 0
			}
		}
		t.lo, t.hi = lo, hi
		s := groups[t.group]
		if s == nil {
			groups[t.group] = &span{lo, hi}
			continue
		}
		s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
	}
	for _, t := range p.tensors {
		s := groups[t.group]
		scale, zp, err := quant.ChooseAsymmetric(s.lo, s.hi, qt)
		if err != nil {
			return fmt.Errorf("convert: tensor %q: %v", t.name, err)
		}
		t.scale, t.zp = scale, zp
	}
	return nil
}

// qdqBuilder writes the quantized graph.
type qdqBuilder struct {
	e  *graphEdit
	qt quant.QType
	// reduceRange quantizes weights to [−64, 64] (Options.ReduceRange).
	reduceRange bool
	// pairSafe limits neighbouring weights' magnitudes (Options.PairSafe);
	// pairSteps counts the steps it moved weights by.
	pairSafe  bool
	pairSteps int
	out       []*onnx.Node
	inits     []*onnx.Tensor
	// dq is the DequantizeLinear output each quantized float value is read
	// through.
	dq      map[string]string
	weights map[string]*weightQ
	notes   []string
	wrep    []WeightReport
}

type weightQ struct {
	dqOut  string
	scales []float32
}

func (b *qdqBuilder) init(t *onnx.Tensor) string {
	b.inits = append(b.inits, t)
	return t.Name
}

func (b *qdqBuilder) scalarParams(base string, scale float32, zp int32) (s, z string) {
	s = b.init(onnx.NewFloat(b.e.unique(base+"_scale"), nil, []float32{scale}))
	zn := b.e.unique(base + "_zero_point")
	if b.qt == quant.Uint8 {
		z = b.init(onnx.NewUint8(zn, nil, []uint8{uint8(zp)}))
	} else {
		z = b.init(onnx.NewInt8(zn, nil, []int8{int8(zp)}))
	}
	return s, z
}

// quantizeValue emits QuantizeLinear(float) → DequantizeLinear for tensor
// t, whose float value is named float; the DequantizeLinear writes dqName.
func (b *qdqBuilder) quantizeValue(t *qtensor, float, dqName string) {
	s, z := b.scalarParams(t.name, t.scale, t.zp)
	qOut := b.e.unique(t.name + "_quantized")
	t.qnode = b.e.unique(t.name + "_QuantizeLinear")
	b.out = append(b.out,
		&onnx.Node{Name: t.qnode, OpType: "QuantizeLinear", Inputs: []string{float, s, z}, Outputs: []string{qOut}},
		&onnx.Node{Name: b.e.unique(t.name + "_DequantizeLinear"), OpType: "DequantizeLinear", Inputs: []string{qOut, s, z}, Outputs: []string{dqName}})
	b.dq[t.name] = dqName
}

// weight quantizes a Conv or Gemm weight per output channel (axis 0).
func (b *qdqBuilder) weight(name string) (*weightQ, error) {
	if w, ok := b.weights[name]; ok {
		return w, nil
	}
	vals, t, ok := b.e.floats(name)
	if !ok {
		return nil, fmt.Errorf("convert: weight %q is not a constant float tensor", name)
	}
	oc := int(t.Dims[0])
	var q []int8
	var scales []float32
	var err error
	if b.pairSafe {
		// [out, c, taps…] (Conv) or [out, in] (Gemm): c input channels per
		// tap, taps the product of the spatial dimensions, kernel rows of
		// kw (the last dimension) taps.
		c, taps, kw := 1, 1, 1
		if len(t.Dims) >= 2 {
			c = int(t.Dims[1])
		}
		for _, d := range t.Dims[min(2, len(t.Dims)):] {
			taps *= int(d)
		}
		if len(t.Dims) >= 3 {
			kw = int(t.Dims[len(t.Dims)-1])
		}
		var steps int
		q, scales, steps, err = quant.QuantizePairSafe(vals, oc, c, taps, kw)
		b.pairSteps += steps
	} else {
		scales, err = quant.ChooseSymmetricPerChannel(vals, oc)
		if err == nil && b.reduceRange {
			reduceScales(vals, scales)
		}
		if err == nil {
			q, err = quant.QuantizeSymmetricPerChannel(vals, scales)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("convert: weight %q: %v", name, err)
	}
	qn := b.init(onnx.NewInt8(b.e.unique(name+"_quantized"), slices.Clone(t.Dims), q))
	sn := b.init(onnx.NewFloat(b.e.unique(name+"_scale"), []int64{int64(oc)}, scales))
	zn := b.init(onnx.NewInt8(b.e.unique(name+"_zero_point"), []int64{int64(oc)}, make([]int8, oc)))
	out := b.e.unique(name + "_DequantizeLinear_Output")
	b.out = append(b.out, &onnx.Node{Name: b.e.unique(name + "_DequantizeLinear"), OpType: "DequantizeLinear",
		Inputs: []string{qn, sn, zn}, Outputs: []string{out}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", 0)}})
	w := &weightQ{dqOut: out, scales: scales}
	b.weights[name] = w
	b.wrep = append(b.wrep, weightReport(name, vals, q, scales))
	return w, nil
}

// reduceScales replaces per-channel scales absmax/127 by absmax/64.
func reduceScales(w []float32, scales []float32) {
	per := len(w) / len(scales)
	for c := range scales {
		var amax float64
		for _, v := range w[c*per : (c+1)*per] {
			amax = max(amax, math.Abs(float64(v)))
		}
		if s := amax / ReducedWeightMax; s >= 0x1p-126 {
			scales[c] = float32(s)
		}
	}
}

// ReducedWeightMax is the largest weight magnitude with Options.ReduceRange.
const ReducedWeightMax = 64

// bias quantizes a bias to int32 with scale xScale·wScale[c].
func (b *qdqBuilder) bias(name string, xScale float32, ws []float32, node *onnx.Node) (string, error) {
	vals, _, ok := b.e.floats(name)
	if !ok || len(vals) != len(ws) {
		return "", fmt.Errorf("convert: node %s: bias %q does not have %d values", node, name, len(ws))
	}
	q, sat, err := quant.QuantizeBias(vals, xScale, ws)
	if err != nil {
		return "", fmt.Errorf("convert: node %s: bias: %v", node, err)
	}
	if sat > 0 {
		b.notes = append(b.notes, fmt.Sprintf("node %s: %d bias values saturated int32 (tiny input or weight scale)", node, sat))
	}
	scales := make([]float32, len(ws))
	for c, s := range ws {
		scales[c] = xScale * s
	}
	qn := b.init(onnx.NewInt32(b.e.unique(name+"_quantized"), []int64{int64(len(q))}, q))
	sn := b.init(onnx.NewFloat(b.e.unique(name+"_scale"), []int64{int64(len(q))}, scales))
	out := b.e.unique(name + "_DequantizeLinear_Output")
	b.out = append(b.out, &onnx.Node{Name: b.e.unique(name + "_DequantizeLinear"), OpType: "DequantizeLinear",
		Inputs: []string{qn, sn}, Outputs: []string{out}, Attrs: []*onnx.Attribute{onnx.AttrI("axis", 0)}})
	return out, nil
}

// build writes the QDQ model: every activation quantized once after the
// node (or absorbed activation) that computes it and read through one
// DequantizeLinear by all its readers, weights and biases as quantized
// constants behind DequantizeLinear.
func (p *plan) build(prepared *onnx.Model, qt quant.QType, reduceRange, pairSafe bool) (*onnx.Model, []WeightReport, []string, error) {
	e := p.g
	b := &qdqBuilder{e: e, qt: qt, reduceRange: reduceRange, pairSafe: pairSafe, dq: map[string]string{}, weights: map[string]*weightQ{}}
	qmin := qt.Min()
	// The names the float values get in the output: a graph output's name
	// goes to its DequantizeLinear, its float value is renamed.
	floatName := func(name string) string {
		if e.output[name] {
			return e.unique(name + "_float")
		}
		return name
	}
	dqName := func(name string) string {
		if e.output[name] {
			return name
		}
		return e.unique(name + "_DequantizeLinear_Output")
	}
	in := p.byName[e.input]
	b.quantizeValue(in, e.input, dqName(e.input))
	for _, n := range e.nodes {
		t := p.byName[n.Outputs[0]]
		if t != nil && t.act == n {
			// An absorbed activation: Relu disappears when the zero point
			// is the bottom of the range (quantization clamps for it), as
			// ONNX Runtime's quantizer and its ReluQuantFusion do.
			pre := n.Inputs[0]
			if n.OpType == "Relu" && t.zp == qmin {
				b.quantizeValue(t, pre, dqName(t.name))
				continue
			}
			c := *n
			c.Inputs = slices.Clone(n.Inputs)
			c.Outputs = []string{floatName(t.name)}
			if n.OpType == "Clip" && e.opset() < 11 {
				// Clip-6's attributes become the inputs of Clip-11 (the
				// quantized model imports opset 13).
				lo, hi := e.clipBounds(n)
				c.Attrs = nil
				c.Inputs = []string{c.Inputs[0],
					b.init(onnx.NewFloat(e.unique(t.name+"_min"), nil, []float32{lo})),
					b.init(onnx.NewFloat(e.unique(t.name+"_max"), nil, []float32{hi}))}
			}
			b.out = append(b.out, &c)
			b.quantizeValue(t, c.Outputs[0], dqName(t.name))
			continue
		}
		c := *n
		c.Inputs = slices.Clone(n.Inputs)
		c.Outputs = slices.Clone(n.Outputs)
		// Activation inputs read the DequantizeLinear of their tensor.
		for i, x := range c.Inputs {
			if d, ok := b.dq[x]; ok {
				c.Inputs[i] = d
			}
		}
		if n.OpType == "Conv" || n.OpType == "Gemm" {
			x := p.byName[n.Inputs[0]]
			if x == nil {
				return nil, nil, nil, fmt.Errorf("convert: node %s: input is not a quantized activation", n)
			}
			w, err := b.weight(n.Inputs[1])
			if err != nil {
				return nil, nil, nil, err
			}
			c.Inputs[1] = w.dqOut
			if bn := input(n, 2); bn != "" {
				if c.Inputs[2], err = b.bias(bn, x.scale, w.scales, n); err != nil {
					return nil, nil, nil, err
				}
			}
		}
		out := n.Outputs[0]
		if t != nil {
			c.Outputs[0] = floatName(out)
			b.out = append(b.out, &c)
			b.quantizeValue(t, c.Outputs[0], dqName(out))
			continue
		}
		if p.preAct[out] == nil {
			return nil, nil, nil, fmt.Errorf("convert: internal error: value %q has no quantization", out)
		}
		b.out = append(b.out, &c) // its output feeds an absorbed activation
	}
	// Constants other than weights and biases (Reshape shapes, Clip
	// bounds) are kept as they are.
	have := map[string]bool{}
	for _, t := range b.inits {
		have[t.Name] = true
	}
	for _, n := range b.out {
		for _, x := range n.Inputs {
			if t := e.consts[x]; t != nil && !have[x] {
				have[x] = true
				b.inits = append(b.inits, t)
			}
		}
	}
	m := *prepared
	g := *prepared.Graph
	g.Nodes = b.out
	g.Initializers = b.inits
	g.ValueInfo = nil
	m.Graph = &g
	m.MetadataProps = slices.Clone(prepared.MetadataProps)
	m.OpsetImports = nil
	hasDefault := false
	for _, o := range prepared.OpsetImports {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			o.Domain = ""
			o.Version = max(o.Version, 13) // per-axis DequantizeLinear
			hasDefault = true
		}
		m.OpsetImports = append(m.OpsetImports, o)
	}
	if !hasDefault {
		m.OpsetImports = append(m.OpsetImports, onnx.OpsetID{Version: 13})
	}
	m.IRVersion = max(m.IRVersion, 7)
	m.ProducerName, m.ProducerVersion = "piresnet-convert", ""
	sorted, err := g.SortNodes()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("convert: internal error: %v", err)
	}
	g.Nodes = sorted
	if b.pairSafe {
		b.notes = append(b.notes, fmt.Sprintf("pair-safe weights: %d steps moved toward zero in total so that no two neighbours exceed |w0|+|w1| = %d", b.pairSteps, quant.PairSumLimit))
	}
	return &m, b.wrep, b.notes, nil
}
