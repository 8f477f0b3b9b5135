package runtime

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
	"github.com/piresnet/piresnet/runtime/ref"
)

// Options configure a Model.
type Options struct {
	// Threads is the number of threads a Session runs a layer on (its
	// persistent worker pool has Threads−1 goroutines besides the caller).
	// 0 means the number of CPUs.
	Threads int
	// Kernels chooses the convolution microkernels: "auto" (the default:
	// the fastest this CPU runs), "generic" (portable Go), later "avx2",
	// "avx512vnni", "neon", "neondot", or a kernel's full name (see
	// KernelNames).
	Kernels string
	// PlanCache is how many plans (one per input shape) a Session keeps,
	// least recently used evicted first. 0 means 4.
	PlanCache int
}

func (o Options) withDefaults() Options {
	if o.Threads <= 0 {
		o.Threads = goruntime.NumCPU()
	}
	if o.Kernels == "" {
		o.Kernels = qkernel.ISAAuto
	}
	if o.PlanCache <= 0 {
		o.PlanCache = 4
	}
	return o
}

// KernelNames lists the convolution microkernels this build has, marking
// those this CPU cannot run.
func KernelNames() []string {
	var names []string
	for _, k := range qkernel.ConvKernels {
		s := fmt.Sprintf("%s (%s, %dx%d tiles, %d input channels per step)", k.Name, k.ISA, k.MR, k.NR, k.KR)
		if !k.Available {
			s += " [not on this CPU]"
		}
		names = append(names, s)
	}
	return names
}

// ErrBadModel is wrapped by every error that Load, LoadBytes and Compile
// return for a model they cannot run (malformed, unsupported).
var ErrBadModel = errors.New("bad model")

// A Model is a compiled ONNX model: an int8 model lowered to integer
// kernels with its weights packed, or a float model on the float
// reference. It is immutable and may be shared by goroutines, each running
// it through its own Session.
type Model struct {
	name   string
	opt    Options
	src    *onnx.Model
	float  *ref.Program // float model: no quantized nodes
	prog   *program
	kernel *qkernel.ConvKernel
	params int64
}

type modelError struct {
	name string
	err  error
}

func (e *modelError) Error() string {
	msg := e.err.Error()
	if e.name != "" && !strings.Contains(msg, e.name) {
		msg = e.name + ": " + msg
	}
	return "runtime: " + strings.TrimPrefix(msg, "runtime: ")
}

func (e *modelError) Unwrap() []error { return []error{ErrBadModel, e.err} }

// Load reads and compiles the ONNX model at path.
func Load(path string, opt Options) (*Model, error) {
	m, err := onnx.ReadFile(path)
	if err != nil {
		return nil, &modelError{path, err}
	}
	return compileNamed(m, path, opt)
}

// LoadBytes decodes and compiles an ONNX model held in memory; name
// identifies it in errors.
func LoadBytes(b []byte, name string, opt Options) (*Model, error) {
	m, err := onnx.Decode(b)
	if err != nil {
		return nil, &modelError{name, err}
	}
	return compileNamed(m, name, opt)
}

// Compile compiles a decoded model. The model must not be modified
// afterwards.
func Compile(m *onnx.Model, opt Options) (*Model, error) {
	return compileNamed(m, "", opt)
}

// quantizedOps are the node types that make a model an int8 model.
var quantizedOps = map[string]bool{
	"QuantizeLinear": true, "DequantizeLinear": true, "QLinearConv": true, "QLinearMatMul": true,
	"QLinearAdd": true, "QLinearGlobalAveragePool": true, "QLinearConcat": true,
}

func compileNamed(m *onnx.Model, name string, opt Options) (*Model, error) {
	opt = opt.withDefaults()
	if m == nil || m.Graph == nil {
		return nil, &modelError{name, errors.New("model has no graph")}
	}
	md := &Model{name: name, opt: opt, src: m}
	for _, t := range m.Graph.Initializers {
		md.params += int64(t.Len())
	}
	quantized := false
	for _, n := range m.Graph.Nodes {
		if quantizedOps[n.OpType] {
			quantized = true
		}
	}
	if !quantized {
		p, err := ref.Compile(m)
		if err != nil {
			return nil, &modelError{name, err}
		}
		md.float = p
		if err := checkMetadata(md); err != nil {
			return nil, &modelError{name, err}
		}
		return md, nil
	}
	k, err := qkernel.Select(opt.Kernels)
	if err != nil {
		return nil, fmt.Errorf("runtime: %v", err)
	}
	md.kernel = k
	if err := checkScales(m.Graph); err != nil {
		return nil, &modelError{name, err}
	}
	g, err := newGraph(m)
	if err != nil {
		return nil, &modelError{name, err}
	}
	pr, err := compile(g, k)
	if err != nil {
		return nil, &modelError{name, err}
	}
	if len(pr.inputs) == 0 {
		return nil, &modelError{name, errors.New("model has no input")}
	}
	md.prog = pr
	md.src = slimSource(m, pr)
	if err := checkMetadata(md); err != nil {
		return nil, &modelError{name, err}
	}
	return md, nil
}

// slimSource returns a copy of m whose initializers keep their names,
// types and dims but drop their data when the program does not read them
// (the weights it packed): a loaded model then holds its weights once.
func slimSource(m *onnx.Model, pr *program) *onnx.Model {
	keep := map[*onnx.Tensor]bool{}
	for _, v := range pr.values {
		if v.konst != nil {
			keep[v.konst] = true
		}
	}
	cm := *m
	g := *m.Graph
	cm.Graph = &g
	g.Initializers = make([]*onnx.Tensor, len(m.Graph.Initializers))
	for i, t := range m.Graph.Initializers {
		if keep[t] {
			g.Initializers[i] = t
			continue
		}
		g.Initializers[i] = &onnx.Tensor{Name: t.Name, DataType: t.DataType, Dims: t.Dims, DocString: t.DocString}
	}
	return &cm
}

// Float reports whether the model runs on the float reference (it has no
// quantized nodes).
func (m *Model) Float() bool { return m.float != nil }

// InputNames returns the names of the model's inputs, in order.
func (m *Model) InputNames() []string {
	if m.float != nil {
		return m.float.InputNames()
	}
	var names []string
	for _, id := range m.prog.inputs {
		names = append(names, m.prog.values[id].name)
	}
	return names
}

// OutputNames returns the names of the model's outputs, in order.
func (m *Model) OutputNames() []string {
	if m.float != nil {
		return m.float.OutputNames()
	}
	var names []string
	for _, id := range m.prog.outputs {
		names = append(names, m.prog.values[id].name)
	}
	return names
}

// Source returns the decoded ONNX model (not to be modified). For an int8
// model, the initializers that were packed into the engine's layout keep
// their names, types and dims but not their data.
func (m *Model) Source() *onnx.Model { return m.src }

// Options returns the options the model was compiled with, defaults
// filled in.
func (m *Model) Options() Options { return m.opt }

// KernelsAvailable checks a kernel choice (Options.Kernels) and returns the
// convolution kernel it selects on this CPU.
func KernelsAvailable(choice string) (string, error) {
	k, err := qkernel.Select(choice)
	if err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), "qkernel: "))
	}
	return k.Name, nil
}
