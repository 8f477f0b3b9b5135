package convert

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime"
	"github.com/piresnet/piresnet/runtime/ref"
)

// Report describes a conversion: the parameters of every quantized tensor
// and how far the int8 model is from the float one on held-back samples.
type Report struct {
	Method      string `json:"method"`
	Activations string `json:"activations"`
	Source      string `json:"source,omitempty"`
	Calibration int    `json:"calibration_samples"`
	HeldBack    int    `json:"held_back_samples"`
	// Engine computed the int8 side of SQNR: "runtime" (the fixed-point
	// int8 engine) or "ref" (the float reference running the QDQ graph).
	Engine string `json:"engine,omitempty"`
	// Fallback lists the nodes the int8 engine ran in float (none for a
	// model it fully lowers).
	Fallback []string       `json:"engine_fallback,omitempty"`
	Tensors  []TensorReport `json:"activations_report"`
	Weights  []WeightReport `json:"weights_report"`
	Notes    []string       `json:"notes,omitempty"`
	Seconds  float64        `json:"seconds"`
}

// TensorReport is one quantized activation tensor.
type TensorReport struct {
	Name string `json:"name"`
	// Op is the operator computing it (with "+Relu" when a ReLU was
	// absorbed), "input" for the graph input.
	Op        string  `json:"op"`
	Type      string  `json:"type"`
	Scale     float32 `json:"scale"`
	ZeroPoint int32   `json:"zero_point"`
	// Min and Max were observed on the calibration samples; Lo and Hi is
	// the range the method chose, before tied tensors were merged.
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	Lo  float32 `json:"range_lo"`
	Hi  float32 `json:"range_hi"`
	// Clipped is the fraction of values, on the held-back samples, that
	// the 8-bit type clips: beyond the ends of the range that Scale and
	// ZeroPoint represent by more than half a step (rounding's share).
	Clipped float64 `json:"clipped"`
	// SQNR is 10·log10(Σ f² / Σ (f − q)²) in dB over the held-back
	// samples, f the float model's value and q the int8 model's
	// (dequantized): the error accumulated up to this tensor. LocalSQNR
	// is the same for f quantized alone with this tensor's parameters (its
	// own rounding and clipping). null in JSON means no error at all.
	SQNR      DB `json:"sqnr_db"`
	LocalSQNR DB `json:"local_sqnr_db"`
}

// WeightReport is one quantized weight tensor.
type WeightReport struct {
	Name     string  `json:"name"`
	Channels int     `json:"channels"`
	MinScale float32 `json:"min_scale"`
	MaxScale float32 `json:"max_scale"`
	SQNR     DB      `json:"sqnr_db"`
}

// DB is a ratio in decibels; +Inf (no noise) is written as null in JSON.
type DB float64

// MarshalJSON writes the value with 2 decimals, or null when not finite.
func (d DB) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(d), 0) || math.IsNaN(float64(d)) {
		return []byte("null"), nil
	}
	return []byte(fmt.Sprintf("%.2f", float64(d))), nil
}

// UnmarshalJSON reads a number, null as +Inf.
func (d *DB) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = DB(math.Inf(1))
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = DB(f)
	return nil
}

func (d DB) String() string {
	if math.IsInf(float64(d), 1) {
		return "inf"
	}
	if math.IsNaN(float64(d)) {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(d))
}

func dbOf(signal, noise float64) DB {
	switch {
	case noise == 0:
		return DB(math.Inf(1))
	case signal == 0:
		return DB(math.NaN())
	}
	return DB(10 * math.Log10(signal/noise))
}

func weightReport(name string, w []float32, q []int8, scales []float32) WeightReport {
	per := len(w) / len(scales)
	var signal, noise float64
	for i, v := range w {
		d := float64(v) - float64(quant.Dequantize(int32(q[i]), scales[i/per], 0))
		signal += float64(float64(v) * float64(v))
		noise += float64(d * d)
	}
	return WeightReport{Name: name, Channels: len(scales), MinScale: slices.Min(scales), MaxScale: slices.Max(scales), SQNR: dbOf(signal, noise)}
}

func (p *plan) tensorReport(t *qtensor, qt quant.QType) TensorReport {
	op := "input"
	if t.prod != nil {
		op = t.prod.OpType
	}
	if t.act != nil {
		op += "+" + t.act.OpType
	}
	return TensorReport{Name: t.name, Op: op, Type: qt.String(), Scale: t.scale, ZeroPoint: t.zp,
		Min: t.hist.Min(), Max: t.hist.Max(), Lo: t.lo, Hi: t.hi,
		Clipped: math.NaN(), SQNR: DB(math.NaN()), LocalSQNR: DB(math.NaN())}
}

// withReportOutputs returns a copy of the quantized model with one more
// output per quantized tensor: its 8-bit value dequantized (a second
// DequantizeLinear on the QuantizeLinear's output).
func withReportOutputs(q *onnx.Model, tensors []*qtensor) (*onnx.Model, map[string]string, error) {
	c := *q
	c.MetadataProps = nil // extra outputs: no longer the classifier the metadata describes
	g := *q.Graph
	g.Nodes = slices.Clone(g.Nodes)
	g.Outputs = slices.Clone(g.Outputs)
	names := map[string]bool{}
	for _, n := range g.Nodes {
		names[n.Name] = true
		for _, o := range n.Outputs {
			names[o] = true
		}
	}
	for _, t := range g.Initializers {
		names[t.Name] = true
	}
	unique := func(base string) string {
		s := base
		for i := 1; names[s]; i++ {
			s = fmt.Sprintf("%s_%d", base, i)
		}
		names[s] = true
		return s
	}
	// The QuantizeLinear of each tensor: the node whose float input is the
	// tensor's value (or its renamed float value) and whose output a
	// DequantizeLinear turns into the tensor's readers' input.
	qOf := map[string]*onnx.Node{}
	for _, n := range g.Nodes {
		if n.OpType == "QuantizeLinear" {
			qOf[n.Name] = n
		}
	}
	out := map[string]string{}
	for _, t := range tensors {
		qn := qOf[t.qnode]
		if qn == nil {
			return nil, nil, fmt.Errorf("convert: internal error: no QuantizeLinear for %q", t.name)
		}
		name := unique(t.name + "_report")
		g.Nodes = append(g.Nodes, &onnx.Node{Name: unique(t.name + "_report_DequantizeLinear"), OpType: "DequantizeLinear",
			Inputs: []string{qn.Outputs[0], qn.Inputs[1], qn.Inputs[2]}, Outputs: []string{name}})
		g.Outputs = append(g.Outputs, &onnx.ValueInfo{Name: name})
		out[t.name] = name
	}
	c.Graph = &g
	return &c, out, nil
}

// int8Runner runs the quantized model with the report outputs.
type int8Runner interface {
	Run(map[string]*onnx.Tensor) (map[string]*onnx.Tensor, error)
}

// measure runs the float and the int8 model on the held-back samples and
// fills the error columns of the report.
func (p *plan) measure(prepared, q *onnx.Model, calib Calibration, idx []int, opt Options, rep *Report) error {
	qr, outs, err := withReportOutputs(q, p.tensors)
	if err != nil {
		return err
	}
	var run int8Runner
	rep.Engine = opt.Engine
	if opt.Engine == EngineRuntime {
		m, err := runtime.Compile(qr, runtime.Options{})
		if err != nil {
			return fmt.Errorf("convert: the int8 engine cannot run the converted model: %v", err)
		}
		_, h, w := calib.Shape()
		if info, err := m.Info(h, w); err == nil {
			rep.Fallback = info.Fallback
		}
		s := m.NewSession()
		defer s.Close()
		run = s
	} else {
		prog, err := ref.Compile(qr)
		if err != nil {
			return fmt.Errorf("convert: the converted model does not compile: %v", err)
		}
		run = prog
	}
	names := make([]string, len(p.tensors))
	for i, t := range p.tensors {
		names[i] = t.name
	}
	fprog, err := compileWithOutputs(prepared, names)
	if err != nil {
		return err
	}
	type acc struct{ signal, noise, local float64 }
	accs := make([]acc, len(p.tensors))
	clipped := make([]int64, len(p.tensors))
	total := make([]int64, len(p.tensors))
	var runErr error
	err = runSamples(fprog, p.g.input, calib, idx, opt.Batch, func(vals map[string][]float32, done int) {
		if runErr != nil {
			return
		}
		x := vals[p.g.input]
		c, h, w := calib.Shape()
		b := len(x) / (c * h * w)
		in := onnx.NewFloat(p.g.input, []int64{int64(b), int64(c), int64(h), int64(w)}, x)
		res, err := run.Run(map[string]*onnx.Tensor{p.g.input: in})
		if err != nil {
			runErr = fmt.Errorf("convert: int8 model: %v", err)
			return
		}
		for i, t := range p.tensors {
			f := vals[t.name]
			qt := res[outs[t.name]]
			if qt == nil || qt.DataType != onnx.Float || len(qt.F32) != len(f) {
				runErr = fmt.Errorf("convert: int8 model: tensor %q has no matching output", t.name)
				return
			}
			// Clipped: beyond the ends of the 8-bit range by more than the
			// half step that rounding moves any value.
			lo := quant.Dequantize(opt.Activations.Min(), t.scale, t.zp) - t.scale/2
			hi := quant.Dequantize(opt.Activations.Max(), t.scale, t.zp) + t.scale/2
			a := &accs[i]
			for j, v := range f {
				fv := float64(v)
				d := fv - float64(qt.F32[j])
				l := fv - float64(quant.Dequantize(quant.Quantize(v, t.scale, t.zp, opt.Activations), t.scale, t.zp))
				a.signal += float64(fv * fv)
				a.noise += float64(d * d)
				a.local += float64(l * l)
				if !(v >= lo && v <= hi) {
					clipped[i]++
				}
			}
			total[i] += int64(len(f))
		}
		if opt.Progress != nil {
			opt.Progress("measuring", done, len(idx))
		}
	})
	if err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	for i := range p.tensors {
		r := &rep.Tensors[i]
		r.SQNR = dbOf(accs[i].signal, accs[i].noise)
		r.LocalSQNR = dbOf(accs[i].signal, accs[i].local)
		if total[i] > 0 {
			r.Clipped = float64(clipped[i]) / float64(total[i])
		}
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the per-tensor table shown on standard output.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "calibration: %s, %s activations, %d samples", r.Method, r.Activations, r.Calibration)
	if r.Source != "" {
		fmt.Fprintf(&b, " of %s", r.Source)
	}
	if r.HeldBack > 0 {
		fmt.Fprintf(&b, "; SQNR on %d held-back samples, int8 side by %s", r.HeldBack, engineName(r.Engine))
	}
	b.WriteString("\n")
	width := len("tensor")
	for _, t := range r.Tensors {
		width = max(width, len(t.Name))
	}
	width = min(width, 48)
	fmt.Fprintf(&b, "%-*s  %-18s %12s %5s %12s %12s %9s %8s %8s\n", width, "tensor", "op", "scale", "zp", "range lo", "range hi", "clipped", "SQNR dB", "local dB")
	for _, t := range r.Tensors {
		name := t.Name
		if len(name) > width {
			name = "…" + name[len(name)-width+1:]
		}
		clip := "-"
		if !math.IsNaN(t.Clipped) {
			clip = fmt.Sprintf("%.4f%%", 100*t.Clipped)
		}
		fmt.Fprintf(&b, "%-*s  %-18s %12.6g %5d %12.5g %12.5g %9s %8s %8s\n", width, name, t.Op, t.Scale, t.ZeroPoint, t.Lo, t.Hi, clip, t.SQNR, t.LocalSQNR)
	}
	if len(r.Weights) > 0 {
		worst := slices.MinFunc(r.Weights, func(a, b WeightReport) int { return cmpDB(a.SQNR, b.SQNR) })
		fmt.Fprintf(&b, "weights: %d tensors int8 per channel; lowest SQNR %s dB (%s)\n", len(r.Weights), worst.SQNR, worst.Name)
	}
	if len(r.Fallback) > 0 {
		fmt.Fprintf(&b, "int8 engine ran %d node(s) in float: %s\n", len(r.Fallback), strings.Join(r.Fallback, ", "))
	}
	for _, n := range r.Notes {
		if strings.Contains(n, "saturated") {
			fmt.Fprintf(&b, "warning: %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func engineName(e string) string {
	if e == EngineRef {
		return "the float reference running the QDQ graph (runtime/ref)"
	}
	return "the int8 engine (runtime)"
}

func cmpDB(a, b DB) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
