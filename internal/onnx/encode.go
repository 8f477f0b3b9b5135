package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Encode serializes a model. Fields are written in field-number order;
// numeric tensor data always goes to raw_data (little-endian); fields this
// package does not model are written back as they were read.
func Encode(m *Model) ([]byte, error) {
	if m.Graph == nil {
		return nil, fmt.Errorf("onnx: encode: model has no graph")
	}
	var e encoder
	b := e.model(nil, m)
	if e.err != nil {
		return nil, e.err
	}
	return b, nil
}

// EncodeTensor serializes one TensorProto (the format of ONNX test data).
func EncodeTensor(t *Tensor) ([]byte, error) {
	var e encoder
	b := e.tensor(nil, t)
	if e.err != nil {
		return nil, e.err
	}
	return b, nil
}

type encoder struct{ err error }

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendOptString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(b, num, s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// appendMessage appends a length-delimited sub-message built by fn.
func appendMessage(b []byte, num protowire.Number, fn func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	// Reserve space for the length by encoding into a scratch slice: the
	// trees here are small enough that the copy is not worth avoiding.
	body := fn(nil)
	b = protowire.AppendVarint(b, uint64(len(body)))
	return append(b, body...)
}

func (e *encoder) model(b []byte, m *Model) []byte {
	if m.IRVersion != 0 {
		b = appendVarint(b, 1, uint64(m.IRVersion))
	}
	b = appendOptString(b, 2, m.ProducerName)
	b = appendOptString(b, 3, m.ProducerVersion)
	b = appendOptString(b, 4, m.Domain)
	if m.ModelVersion != 0 {
		b = appendVarint(b, 5, uint64(m.ModelVersion))
	}
	b = appendOptString(b, 6, m.DocString)
	b = appendMessage(b, 7, func(b []byte) []byte { return e.graph(b, m.Graph) })
	for _, o := range m.OpsetImports {
		b = appendMessage(b, 8, func(b []byte) []byte {
			// The default domain is written as an empty string, which
			// proto2 parsers read back the same.
			b = appendString(b, 1, o.Domain)
			return appendVarint(b, 2, uint64(o.Version))
		})
	}
	for _, p := range m.MetadataProps {
		b = appendMessage(b, 14, func(b []byte) []byte {
			b = appendString(b, 1, p.Key)
			return appendString(b, 2, p.Value)
		})
	}
	return append(b, m.unknown...)
}

func (e *encoder) graph(b []byte, g *Graph) []byte {
	for _, n := range g.Nodes {
		b = appendMessage(b, 1, func(b []byte) []byte { return e.node(b, n) })
	}
	b = appendOptString(b, 2, g.Name)
	for _, t := range g.Initializers {
		b = appendMessage(b, 5, func(b []byte) []byte { return e.tensor(b, t) })
	}
	b = appendOptString(b, 10, g.DocString)
	for _, vi := range g.Inputs {
		b = appendMessage(b, 11, func(b []byte) []byte { return e.valueInfo(b, vi) })
	}
	for _, vi := range g.Outputs {
		b = appendMessage(b, 12, func(b []byte) []byte { return e.valueInfo(b, vi) })
	}
	for _, vi := range g.ValueInfo {
		b = appendMessage(b, 13, func(b []byte) []byte { return e.valueInfo(b, vi) })
	}
	return append(b, g.unknown...)
}

func (e *encoder) node(b []byte, n *Node) []byte {
	for _, s := range n.Inputs {
		b = appendString(b, 1, s)
	}
	for _, s := range n.Outputs {
		b = appendString(b, 2, s)
	}
	b = appendOptString(b, 3, n.Name)
	b = appendString(b, 4, n.OpType)
	for _, a := range n.Attrs {
		b = appendMessage(b, 5, func(b []byte) []byte { return e.attribute(b, a) })
	}
	b = appendOptString(b, 6, n.DocString)
	b = appendOptString(b, 7, n.Domain)
	return append(b, n.unknown...)
}

func (e *encoder) attribute(b []byte, a *Attribute) []byte {
	b = appendString(b, 1, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = appendVarint(b, 3, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, a.S)
	case AttrTensor:
		if a.T == nil {
			e.fail("attribute %q of type tensor has no tensor", a.Name)
			return b
		}
		b = appendMessage(b, 5, func(b []byte) []byte { return e.tensor(b, a.T) })
	case AttrGraph:
		if a.G == nil {
			e.fail("attribute %q of type graph has no graph", a.Name)
			return b
		}
		b = appendMessage(b, 6, func(b []byte) []byte { return e.graph(b, a.G) })
	case AttrFloats:
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case AttrInts:
		for _, v := range a.Ints {
			b = appendVarint(b, 8, uint64(v))
		}
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, 9, protowire.BytesType)
			b = protowire.AppendBytes(b, s)
		}
	case AttrTensors:
		for _, t := range a.Tensors {
			b = appendMessage(b, 10, func(b []byte) []byte { return e.tensor(b, t) })
		}
	case AttrGraphs:
		for _, g := range a.Graphs {
			b = appendMessage(b, 11, func(b []byte) []byte { return e.graph(b, g) })
		}
	}
	b = appendOptString(b, 13, a.DocString)
	b = appendVarint(b, 20, uint64(a.Type))
	b = appendOptString(b, 21, a.RefAttrName)
	return append(b, a.unknown...)
}

func (e *encoder) valueInfo(b []byte, vi *ValueInfo) []byte {
	b = appendString(b, 1, vi.Name)
	if vi.Type != nil {
		b = appendMessage(b, 2, func(b []byte) []byte { return e.typeProto(b, vi.Type) })
	}
	b = appendOptString(b, 3, vi.DocString)
	return append(b, vi.unknown...)
}

func (e *encoder) typeProto(b []byte, t *Type) []byte {
	if t.IsTensor {
		b = appendMessage(b, 1, func(b []byte) []byte {
			b = appendVarint(b, 1, uint64(t.Elem))
			if t.HasShape {
				b = appendMessage(b, 2, func(b []byte) []byte {
					for _, d := range t.Shape {
						b = appendMessage(b, 1, func(b []byte) []byte {
							switch {
							case d.HasValue:
								b = appendVarint(b, 1, uint64(d.Value))
							case d.Param != "":
								b = appendString(b, 2, d.Param)
							}
							return appendOptString(b, 3, d.Denotation)
						})
					}
					return b
				})
			}
			return b
		})
	}
	b = appendOptString(b, 6, t.Denotation)
	return append(b, t.unknown...)
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("onnx: encode: "+format, args...)
	}
}

func (e *encoder) tensor(b []byte, t *Tensor) []byte {
	if n := t.NumElements(); int64(t.Len()) != n {
		e.fail("tensor %q holds %d elements, dims %v need %d", t.Name, t.Len(), t.Dims, n)
		return b
	}
	for _, d := range t.Dims {
		b = appendVarint(b, 1, uint64(d))
	}
	b = appendVarint(b, 2, uint64(t.DataType))
	if t.DataType == String {
		for _, s := range t.Strs {
			b = protowire.AppendTag(b, 6, protowire.BytesType)
			b = protowire.AppendBytes(b, s)
		}
	}
	b = appendOptString(b, 8, t.Name)
	if t.DataType != String {
		raw, err := t.rawData()
		if err != nil {
			e.fail("%v", err)
			return b
		}
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		b = protowire.AppendBytes(b, raw)
	}
	b = appendOptString(b, 12, t.DocString)
	return append(b, t.unknown...)
}

// rawData returns the little-endian bytes of the tensor's elements.
func (t *Tensor) rawData() ([]byte, error) {
	le := binary.LittleEndian
	size := t.DataType.Size()
	if size == 0 {
		return nil, fmt.Errorf("tensor %q: cannot encode data type %v", t.Name, t.DataType)
	}
	out := make([]byte, t.Len()*size)
	switch t.DataType {
	case Float:
		for i, v := range t.F32 {
			le.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case Double:
		for i, v := range t.F64 {
			le.PutUint64(out[8*i:], math.Float64bits(v))
		}
	case Int64:
		for i, v := range t.I64 {
			le.PutUint64(out[8*i:], uint64(v))
		}
	case Int32:
		for i, v := range t.I32 {
			le.PutUint32(out[4*i:], uint32(v))
		}
	case Int16, Uint16:
		for i, v := range t.I32 {
			le.PutUint16(out[2*i:], uint16(v))
		}
	case Int8:
		for i, v := range t.I8 {
			out[i] = byte(v)
		}
	case Uint8, Bool:
		copy(out, t.U8)
	case Float16, BFloat16:
		for i, v := range t.U16 {
			le.PutUint16(out[2*i:], v)
		}
	case Uint32:
		for i, v := range t.U64 {
			le.PutUint32(out[4*i:], uint32(v))
		}
	case Uint64:
		for i, v := range t.U64 {
			le.PutUint64(out[8*i:], v)
		}
	default:
		return nil, fmt.Errorf("tensor %q: cannot encode data type %v", t.Name, t.DataType)
	}
	return out, nil
}
