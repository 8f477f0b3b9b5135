package quant

// A minimal reader for the TensorProto files (and the one node of the model)
// in ONNX's backend conformance data, written on protowire so that these
// tests depend neither on a generated ONNX package nor on internal/onnx.

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// onnxNodeDir is where Debian's libonnx-testdata installs ONNX's node tests.
const onnxNodeDir = "/usr/share/libonnx-testdata/data/node"

// TensorProto.DataType values used here.
const (
	tpFloat = 1
	tpUint8 = 2
	tpInt8  = 3
	tpInt32 = 6
)

type tensorProto struct {
	name     string
	dataType int
	dims     []int64
	raw      []byte
	floats   []float32
	int32s   []int32
}

// values returns the elements as float64, decoding raw_data little-endian.
func (tp *tensorProto) values() ([]float64, error) {
	n := int64(1)
	for _, d := range tp.dims {
		n *= d
	}
	var out []float64
	switch {
	case tp.raw != nil:
		switch tp.dataType {
		case tpFloat:
			for i := 0; i+4 <= len(tp.raw); i += 4 {
				out = append(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(tp.raw[i:]))))
			}
		case tpUint8:
			for _, b := range tp.raw {
				out = append(out, float64(b))
			}
		case tpInt8:
			for _, b := range tp.raw {
				out = append(out, float64(int8(b)))
			}
		case tpInt32:
			for i := 0; i+4 <= len(tp.raw); i += 4 {
				out = append(out, float64(int32(binary.LittleEndian.Uint32(tp.raw[i:]))))
			}
		default:
			return nil, fmt.Errorf("tensor %q: data_type %d not handled", tp.name, tp.dataType)
		}
	case tp.dataType == tpFloat:
		for _, f := range tp.floats {
			out = append(out, float64(f))
		}
	default: // uint8, int8, int32 travel in int32_data
		for _, v := range tp.int32s {
			out = append(out, float64(v))
		}
	}
	if int64(len(out)) != n {
		return nil, fmt.Errorf("tensor %q: %d values for dims %v", tp.name, len(out), tp.dims)
	}
	return out, nil
}

// forEachField calls f for every field of a protobuf message.
func forEachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			x = uint64(u)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// packedVarints decodes a packed repeated varint field, or a single value.
func packedVarints(typ protowire.Type, v []byte, x uint64) ([]uint64, error) {
	if typ == protowire.VarintType {
		return []uint64{x}, nil
	}
	var out []uint64
	for len(v) > 0 {
		u, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		out = append(out, u)
		v = v[n:]
	}
	return out, nil
}

func parseTensorProto(b []byte) (*tensorProto, error) {
	tp := &tensorProto{}
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1: // dims
			us, err := packedVarints(typ, v, x)
			for _, u := range us {
				tp.dims = append(tp.dims, int64(u))
			}
			return err
		case 2:
			tp.dataType = int(x)
		case 4: // float_data
			if typ == protowire.Fixed32Type {
				tp.floats = append(tp.floats, math.Float32frombits(uint32(x)))
				return nil
			}
			for i := 0; i+4 <= len(v); i += 4 {
				tp.floats = append(tp.floats, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
			}
		case 5: // int32_data
			us, err := packedVarints(typ, v, x)
			for _, u := range us {
				tp.int32s = append(tp.int32s, int32(u))
			}
			return err
		case 8:
			tp.name = string(v)
		case 9:
			tp.raw = append([]byte{}, v...)
		}
		return nil
	})
	return tp, err
}

// onnxNode is the single node of a conformance model.
type onnxNode struct {
	opType  string
	intAttr map[string]int64
}

func parseSingleNodeModel(b []byte) (*onnxNode, error) {
	var node *onnxNode
	err := forEachField(b, func(num protowire.Number, _ protowire.Type, graph []byte, _ uint64) error {
		if num != 7 { // ModelProto.graph
			return nil
		}
		return forEachField(graph, func(num protowire.Number, _ protowire.Type, nb []byte, _ uint64) error {
			if num != 1 { // GraphProto.node
				return nil
			}
			if node != nil {
				return fmt.Errorf("more than one node")
			}
			node = &onnxNode{intAttr: map[string]int64{}}
			return forEachField(nb, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				switch num {
				case 4: // op_type
					node.opType = string(v)
				case 5: // attribute
					var name string
					var i int64
					err := forEachField(v, func(num protowire.Number, _ protowire.Type, v []byte, x uint64) error {
						switch num {
						case 1:
							name = string(v)
						case 3:
							i = int64(x)
						}
						return nil
					})
					node.intAttr[name] = i
					return err
				}
				return nil
			})
		})
	})
	if err == nil && node == nil {
		err = fmt.Errorf("no node")
	}
	return node, err
}

// onnxCase is one conformance test directory: its node and data set 0.
type onnxCase struct {
	dir     string
	node    *onnxNode
	inputs  []*tensorProto
	outputs []*tensorProto
}

// loadONNXCase reads ONNX's conformance test name. A missing directory fails
// the test: these files are the independent reference, not an option.
func loadONNXCase(t *testing.T, name string) *onnxCase {
	t.Helper()
	dir := filepath.Join(onnxNodeDir, name)
	mb, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatalf("ONNX conformance data missing (%v): install Debian's libonnx-testdata (apt-get install libonnx-testdata)", err)
	}
	c := &onnxCase{dir: dir}
	if c.node, err = parseSingleNodeModel(mb); err != nil {
		t.Fatalf("%s/model.onnx: %v", dir, err)
	}
	for _, kind := range []string{"input", "output"} {
		for i := 0; ; i++ {
			p := filepath.Join(dir, "test_data_set_0", fmt.Sprintf("%s_%d.pb", kind, i))
			b, err := os.ReadFile(p)
			if os.IsNotExist(err) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			tp, err := parseTensorProto(b)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if kind == "input" {
				c.inputs = append(c.inputs, tp)
			} else {
				c.outputs = append(c.outputs, tp)
			}
		}
	}
	if len(c.inputs) == 0 || len(c.outputs) == 0 {
		t.Fatalf("%s: no test_data_set_0 inputs or outputs", dir)
	}
	return c
}

func mustValues(t *testing.T, tp *tensorProto) []float64 {
	t.Helper()
	v, err := tp.values()
	if err != nil {
		t.Fatal(err)
	}
	return v
}
