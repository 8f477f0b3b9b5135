package runtime

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/ref"
)

// layerModels cuts a QDQ model into one model per quantized layer: the
// DequantizeLinear nodes feeding a node, the node, an optional Relu and
// the QuantizeLinear after it, with the 8-bit tensors the layer reads as
// graph inputs.
func layerModels(qm *onnx.Model) []*onnx.Model {
	g := qm.Graph
	producer := map[string]*onnx.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	inits := map[string]*onnx.Tensor{}
	for _, t := range g.Initializers {
		inits[t.Name] = t
	}
	var out []*onnx.Model
	for _, q := range g.Nodes {
		if q.OpType != "QuantizeLinear" {
			continue
		}
		src := producer[q.Inputs[0]]
		var relu *onnx.Node
		if src != nil && src.OpType == "Relu" {
			relu, src = src, producer[src.Inputs[0]]
		}
		if src == nil || src.OpType == "DequantizeLinear" {
			continue
		}
		sub := &onnx.Graph{Name: src.Name}
		used := map[string]bool{}
		addInit := func(name string) {
			if t := inits[name]; t != nil && !used[name] {
				used[name] = true
				sub.Initializers = append(sub.Initializers, t)
			}
		}
		ok := true
		for _, in := range src.Inputs {
			dq := producer[in]
			if dq == nil || dq.OpType != "DequantizeLinear" {
				if inits[in] != nil {
					addInit(in)
					continue
				}
				ok = false
				break
			}
			sub.Nodes = append(sub.Nodes, dq)
			for _, p := range dq.Inputs {
				addInit(p)
			}
			if inits[dq.Inputs[0]] == nil && !used[dq.Inputs[0]] {
				used[dq.Inputs[0]] = true
				sub.Inputs = append(sub.Inputs, &onnx.ValueInfo{Name: dq.Inputs[0]})
			}
		}
		if !ok {
			continue
		}
		sub.Nodes = append(sub.Nodes, src)
		if relu != nil {
			sub.Nodes = append(sub.Nodes, relu)
		}
		sub.Nodes = append(sub.Nodes, q)
		for _, p := range q.Inputs[1:] {
			addInit(p)
		}
		sub.Outputs = []*onnx.ValueInfo{{Name: q.Outputs[0]}}
		out = append(out, &onnx.Model{IRVersion: qm.IRVersion, OpsetImports: qm.OpsetImports, Graph: sub})
	}
	return out
}

// layerAgreement runs every layer of qm (layerModels) on the engine and on
// the float reference, each fed the reference's own 8-bit input tensors
// for each of the feeds, and returns the agreement per operator.
func layerAgreement(t *testing.T, qm *onnx.Model, feeds []map[string]*onnx.Tensor, allowFallback bool) (map[string]*agreement, string, agreement) {
	t.Helper()
	full := *qm
	fg := *qm.Graph
	full.Graph = &fg
	fg.Outputs = nil
	for _, n := range fg.Nodes {
		if n.OpType == "QuantizeLinear" {
			fg.Outputs = append(fg.Outputs, &onnx.ValueInfo{Name: n.Outputs[0]})
		}
	}
	p, err := ref.Compile(&full)
	if err != nil {
		t.Fatal(err)
	}
	var vals []map[string]*onnx.Tensor
	for _, feed := range feeds {
		v, err := p.Run(feed)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
	}
	byOp := map[string]*agreement{}
	worst := agreement{same: 1, total: 1}
	worstName := ""
	for _, lm := range layerModels(qm) {
		m, err := Compile(lm, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		info, _ := m.Info(0, 0)
		if len(info.Fallback) != 0 && !allowFallback {
			t.Fatalf("layer %s not lowered: %v", lm.Graph.Name, info.Fallback)
		}
		lp, err := ref.Compile(lm)
		if err != nil {
			t.Fatal(err)
		}
		s := m.NewSession()
		for _, v := range vals {
			feed := map[string]*onnx.Tensor{}
			for _, vi := range lm.Graph.Inputs {
				feed[vi.Name] = v[vi.Name]
			}
			got, err := s.Run(feed)
			if err != nil {
				t.Fatalf("layer %s: %v", lm.Graph.Name, err)
			}
			want, err := lp.Run(feed)
			if err != nil {
				t.Fatal(err)
			}
			out := lm.Graph.Outputs[0].Name
			var a agreement
			if err := u8Agreement(&a, got[out], want[out]); err != nil {
				t.Fatalf("layer %s: %v", lm.Graph.Name, err)
			}
			op := lm.Graph.Nodes[len(lm.Graph.Nodes)-2].OpType
			if op == "Relu" {
				op = lm.Graph.Nodes[len(lm.Graph.Nodes)-3].OpType + "+Relu"
			}
			b := byOp[op]
			if b == nil {
				b = &agreement{}
				byOp[op] = b
			}
			b.same += a.same
			b.total += a.total
			b.maxSteps = max(b.maxSteps, a.maxSteps)
			if a.share() < worst.share() {
				worst, worstName = a, lm.Graph.Name
			}
		}
		s.Close()
	}
	return byOp, worstName, worst
}

// checkLayers logs the agreement per operator and fails below 99.9% or
// beyond one step.
func checkLayers(t *testing.T, name string, byOp map[string]*agreement) {
	t.Helper()
	var ops []string
	for op := range byOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		a := byOp[op]
		t.Logf("%s %-18s %9d/%-9d identical to the float reference (%.4f%%), largest difference %d step", name, op, a.same, a.total, 100*a.share(), a.maxSteps)
		if a.share() < 0.999 || a.maxSteps > 1 {
			t.Errorf("%s: %s layers agree on %.4f%%, up to %d steps", name, op, 100*a.share(), a.maxSteps)
		}
	}
}

// Every layer of the QDQ ResNets, fed the float reference's own 8-bit
// input tensors: the engine's fixed-point result against the reference's
// real arithmetic, layer by layer. (End to end, the rare one-step
// differences of early layers propagate and grow through the network, so
// whole-network outputs are compared in TestResNetsMatchORTAndRef by top-1
// and reported shares.)
func TestResNetLayersMatchRef(t *testing.T) {
	man := fixtures(t)
	models, inputs := man.Models, []string{"224x224_0", "240x320_0"}
	if testing.Short() {
		models, inputs = []string{"resnet18_u8", "resnet18_s8"}, []string{"97x131_0"}
	}
	for _, name := range models {
		qm := readModel(t, filepath.Join(qdqGen, "models", name+".onnx"))
		var feeds []map[string]*onnx.Tensor
		for _, in := range inputs {
			x := readTensor(t, filepath.Join(qdqGen, "inputs", in, "input_0.pb"))
			feeds = append(feeds, map[string]*onnx.Tensor{qm.Graph.Inputs[0].Name: x})
		}
		byOp, worstName, worst := layerAgreement(t, qm, feeds, false)
		checkLayers(t, name, byOp)
		t.Logf("%s: worst layer %s at %.4f%%", name, worstName, 100*worst.share())
	}
}
