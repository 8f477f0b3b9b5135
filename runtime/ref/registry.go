package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// kernel is an operator bound to its attributes, which are parsed and
// checked once when it is built. run receives one tensor per node input (nil
// for an omitted optional input) and returns one tensor per node output (nil
// where the node leaves an optional output unnamed). run must not modify its
// inputs and must not return them (outputs never alias inputs), so values can
// be shared between runs and callers.
type kernel interface {
	run(in []*onnx.Tensor) ([]*onnx.Tensor, error)
}

type kernelFunc func(in []*onnx.Tensor) ([]*onnx.Tensor, error)

func (f kernelFunc) run(in []*onnx.Tensor) ([]*onnx.Tensor, error) { return f(in) }

// builder makes the kernel of one node at one opset version of its domain.
type builder func(n *onnx.Node, opset int64) (kernel, error)

// opDef describes one operator.
type opDef struct {
	since int64 // first opset version of its domain that defines it
	build builder
	// shapeInputs lists the inputs whose values (not only their shapes)
	// decide the output shape; for every other input only the shape matters.
	// It drives the folding of shape computations (see Program).
	shapeInputs []int
}

// Domains.
const (
	domainONNX      = ""
	domainMicrosoft = "com.microsoft"
)

// maxOpset is the newest default-domain opset accepted. Versions 18 to 21
// of the operators here change only their type lists, except AveragePool-19
// (dilations, implemented) and QuantizeLinear/DequantizeLinear-21 (blocked
// quantization, refused by the kernel).
const maxOpset = 21

// maxMicrosoftOpset is the newest com.microsoft opset accepted.
const maxMicrosoftOpset = 1

var registry = map[string]map[string]opDef{
	domainONNX: {
		"Add":                {since: 1, build: buildAdd},
		"AveragePool":        {since: 1, build: buildAveragePool},
		"BatchNormalization": {since: 1, build: buildBatchNormalization},
		"Cast":               {since: 1, build: buildCast},
		"Clip":               {since: 1, build: buildClip},
		"Concat":             {since: 1, build: buildConcat},
		"Constant":           {since: 1, build: buildConstant},
		"Conv":               {since: 1, build: buildConv},
		"ConvInteger":        {since: 10, build: buildConvInteger},
		"DequantizeLinear":   {since: 10, build: buildDequantizeLinear},
		"Dropout":            {since: 1, build: buildDropout},
		"Flatten":            {since: 1, build: buildFlatten},
		"Gather":             {since: 1, build: buildGather},
		"Gemm":               {since: 1, build: buildGemm},
		"GlobalAveragePool":  {since: 1, build: buildGlobalAveragePool},
		"GlobalMaxPool":      {since: 1, build: buildGlobalMaxPool},
		"Identity":           {since: 1, build: buildIdentity},
		"MatMul":             {since: 1, build: buildMatMul},
		"MatMulInteger":      {since: 10, build: buildMatMulInteger},
		"MaxPool":            {since: 1, build: buildMaxPool},
		"Mul":                {since: 1, build: buildMul},
		"QLinearConv":        {since: 10, build: buildQLinearConv},
		"QLinearMatMul":      {since: 10, build: buildQLinearMatMul},
		"QuantizeLinear":     {since: 10, build: buildQuantizeLinear},
		"Relu":               {since: 1, build: buildRelu},
		"Reshape":            {since: 1, build: buildReshape, shapeInputs: []int{1}},
		"Shape":              {since: 1, build: buildShape},
		"Slice":              {since: 1, build: buildSlice, shapeInputs: []int{1, 2, 3, 4}},
		"Softmax":            {since: 1, build: buildSoftmax},
		"Squeeze":            {since: 1, build: buildSqueeze, shapeInputs: []int{1}},
		"Unsqueeze":          {since: 1, build: buildUnsqueeze, shapeInputs: []int{1}},
	},
	domainMicrosoft: {
		"QLinearAdd":               {since: 1, build: buildQLinearAdd},
		"QLinearConcat":            {since: 1, build: buildQLinearConcat},
		"QLinearGlobalAveragePool": {since: 1, build: buildQLinearGlobalAveragePool},
	},
}

// canonicalDomain maps "ai.onnx" to "", the default domain.
func canonicalDomain(d string) string {
	if d == "ai.onnx" {
		return domainONNX
	}
	return d
}

// Supported reports whether the interpreter implements an operator.
// domain is "" (or "ai.onnx") for the default ONNX domain, or
// "com.microsoft".
func Supported(domain, opType string) bool {
	_, ok := registry[canonicalDomain(domain)][opType]
	return ok
}

// lookup finds an operator and checks it exists at the opset.
func lookup(domain, opType string, opset int64) (opDef, error) {
	domain = canonicalDomain(domain)
	def, ok := registry[domain][opType]
	if !ok {
		return opDef{}, fmt.Errorf("unsupported op %q", qualified(domain, opType))
	}
	limit := int64(maxOpset)
	if domain == domainMicrosoft {
		limit = maxMicrosoftOpset
	}
	if opset > limit {
		return opDef{}, fmt.Errorf("op %q at opset %d: newer than the newest supported (%d)", qualified(domain, opType), opset, limit)
	}
	if opset < def.since {
		return opDef{}, fmt.Errorf("op %q does not exist at opset %d (it first appears in opset %d)", qualified(domain, opType), opset, def.since)
	}
	return def, nil
}

func qualified(domain, opType string) string {
	if domain == "" {
		return opType
	}
	return domain + "." + opType
}

// RunNode runs one node on its inputs, at the given opset version of the
// node's domain. inputs holds one tensor per entry of n.Inputs (nil for an
// omitted optional input); the result holds one tensor per entry of
// n.Outputs (nil for an unnamed optional output). The inputs are not
// modified and the outputs share no memory with them. It is the fallback of
// the int8 engine for operators it has no kernel for, and the way tests
// check single operators.
func RunNode(n *onnx.Node, opset int64, inputs []*onnx.Tensor) ([]*onnx.Tensor, error) {
	if n == nil {
		return nil, fmt.Errorf("ref: nil node")
	}
	def, err := lookup(n.Domain, n.OpType, opset)
	if err != nil {
		return nil, fmt.Errorf("ref: node %s: %v", n, err)
	}
	k, err := safeBuild(def, n, opset)
	if err != nil {
		return nil, fmt.Errorf("ref: node %s: %v", n, err)
	}
	out, err := runKernel(n, k, inputs)
	if err != nil {
		return nil, fmt.Errorf("ref: node %s: %v", n, err)
	}
	return out, nil
}

// runKernel checks the inputs, runs the kernel and checks its outputs.
func runKernel(n *onnx.Node, k kernel, inputs []*onnx.Tensor) ([]*onnx.Tensor, error) {
	if len(inputs) != len(n.Inputs) {
		return nil, fmt.Errorf("got %d inputs, the node has %d", len(inputs), len(n.Inputs))
	}
	for i, t := range inputs {
		if t == nil {
			if n.Inputs[i] != "" {
				return nil, fmt.Errorf("input %d (%q) is nil", i, n.Inputs[i])
			}
			continue
		}
		if err := checkTensor(t); err != nil {
			return nil, fmt.Errorf("input %d (%q): %v", i, n.Inputs[i], err)
		}
	}
	out, err := safeRun(k, inputs)
	if err != nil {
		return nil, err
	}
	if len(out) > len(n.Outputs) {
		out = out[:len(n.Outputs)]
	}
	for len(out) < len(n.Outputs) {
		out = append(out, nil)
	}
	for i, name := range n.Outputs {
		if name == "" {
			out[i] = nil
			continue
		}
		if out[i] == nil {
			return nil, fmt.Errorf("output %d (%q) is not produced", i, name)
		}
		out[i].Name = ""
	}
	return out, nil
}

// numOutputs counts the outputs a node asks for (trailing unnamed ones
// dropped).
func numOutputs(n *onnx.Node) int {
	k := len(n.Outputs)
	for k > 0 && n.Outputs[k-1] == "" {
		k--
	}
	return k
}

// wantOutput reports whether output i of the node is named.
func wantOutput(n *onnx.Node, i int) bool { return i < len(n.Outputs) && n.Outputs[i] != "" }

// safeBuild builds a kernel, turning a panic into an error (see safeRun).
func safeBuild(def opDef, n *onnx.Node, opset int64) (k kernel, err error) {
	defer func() {
		if r := recover(); r != nil {
			k, err = nil, fmt.Errorf("%s: %v", errInternal, r)
		}
	}()
	return def.build(n, opset)
}
