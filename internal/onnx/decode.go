package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// Limits bound what a decoded file may declare. Every size read from a file
// is checked against them before anything is allocated from it.
type Limits struct {
	MaxRank        int   // dimensions of one tensor or shape
	MaxElements    int64 // elements of one tensor
	MaxGraphDepth  int   // nesting of subgraphs in attributes
	MaxNodes       int   // nodes in one graph
	MaxFileBytes   int64 // size of a model file
	MaxStringBytes int   // bytes of one name, doc string or attribute string
}

// DefaultLimits are generous for any ResNet (the largest torchvision ResNet,
// wide_resnet101_2, has 127 M parameters, its largest tensor 2.4 M elements)
// and refuse headers that only an attack would write.
var DefaultLimits = Limits{
	MaxRank:        8,
	MaxElements:    1 << 30,
	MaxGraphDepth:  8,
	MaxNodes:       1 << 20,
	MaxFileBytes:   2 << 30,
	MaxStringBytes: 1 << 20,
}

// ErrExternalData marks a tensor whose bytes live outside the model file.
var ErrExternalData = errors.New("tensor data is stored in an external file, which is not supported: save the model with all tensors inside the .onnx file")

// DecodeError describes a malformed model: where in the message tree the
// problem is and what it is.
type DecodeError struct {
	Path string // e.g. graph.initializer[3] "conv1.weight"
	Msg  string
	Err  error // wrapped cause, such as ErrExternalData
}

func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

// ReadFile reads and decodes a model file. Errors name the file and fit on
// one line.
func ReadFile(path string) (*Model, error) {
	return ReadFileLimits(path, DefaultLimits)
}

// ReadFileLimits is ReadFile with explicit limits.
func ReadFileLimits(path string, lim Limits) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("onnx: %s: is a directory, not a model file", path)
	}
	if st.Size() > lim.MaxFileBytes {
		return nil, fmt.Errorf("onnx: %s: file has %d bytes, more than the limit of %d", path, st.Size(), lim.MaxFileBytes)
	}
	buf := make([]byte, st.Size())
	if _, err := readFull(f, buf); err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	m, err := DecodeLimits(buf, lim)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return m, nil
}

func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := f.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Decode parses a serialized ModelProto with DefaultLimits.
func Decode(b []byte) (*Model, error) { return DecodeLimits(b, DefaultLimits) }

// DecodeLimits parses a serialized ModelProto. The returned Model owns no
// reference to b.
func DecodeLimits(b []byte, lim Limits) (*Model, error) {
	if len(b) == 0 {
		return nil, &DecodeError{Msg: "empty file, not an ONNX model"}
	}
	d := &decoder{lim: lim}
	m := &Model{}
	if err := d.model(b, m); err != nil {
		return nil, err
	}
	if m.Graph == nil {
		return nil, &DecodeError{Msg: "not an ONNX model: no graph (is this an ONNX file?)"}
	}
	return m, nil
}

// DecodeTensor parses a serialized TensorProto, the format of ONNX test data
// (input_0.pb, output_0.pb).
func DecodeTensor(b []byte) (*Tensor, error) {
	d := &decoder{lim: DefaultLimits}
	t := &Tensor{}
	if err := d.tensor(b, t, "tensor"); err != nil {
		return nil, err
	}
	return t, nil
}

// ReadTensorFile reads a TensorProto file.
func ReadTensorFile(path string) (*Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	t, err := DecodeTensor(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return t, nil
}

type decoder struct {
	lim   Limits
	depth int
}

func (d *decoder) errf(path, format string, args ...any) error {
	return &DecodeError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// field is one decoded tag with its value.
type field struct {
	num  protowire.Number
	typ  protowire.Type
	v    uint64 // varint, fixed32, fixed64 values
	b    []byte // bytes value
	full []byte // the whole encoded field, tag included
}

// next decodes the field at the start of b.
func (d *decoder) next(b []byte, path string) (field, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, 0, d.wireErr(path, n)
	}
	f := field{num: num, typ: typ}
	var m int
	switch typ {
	case protowire.VarintType:
		f.v, m = protowire.ConsumeVarint(b[n:])
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(b[n:])
		f.v = uint64(v)
	case protowire.Fixed64Type:
		f.v, m = protowire.ConsumeFixed64(b[n:])
	case protowire.BytesType:
		f.b, m = protowire.ConsumeBytes(b[n:])
	default:
		m = protowire.ConsumeFieldValue(num, typ, b[n:])
	}
	if m < 0 {
		return field{}, 0, d.wireErr(path, m)
	}
	f.full = b[:n+m]
	return f, n + m, nil
}

func (d *decoder) wireErr(path string, code int) error {
	err := protowire.ParseError(code)
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "truncated: the file ends inside a field"
	} else {
		msg = "malformed protobuf: " + msg
	}
	return d.errf(path, "%s", msg)
}

func (d *decoder) wantBytes(f field, path, name string) error {
	if f.typ != protowire.BytesType {
		return d.errf(path, "field %s has wire type %d, want length-delimited", name, f.typ)
	}
	return nil
}

func (d *decoder) wantVarint(f field, path, name string) error {
	if f.typ != protowire.VarintType {
		return d.errf(path, "field %s has wire type %d, want varint", name, f.typ)
	}
	return nil
}

func (d *decoder) str(f field, path, name string) (string, error) {
	if err := d.wantBytes(f, path, name); err != nil {
		return "", err
	}
	if len(f.b) > d.lim.MaxStringBytes {
		return "", d.errf(path, "field %s has %d bytes, more than the limit of %d", name, len(f.b), d.lim.MaxStringBytes)
	}
	return string(f.b), nil
}

func (d *decoder) model(b []byte, m *Model) error {
	const path = "model"
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if err := d.wantVarint(f, path, "ir_version"); err != nil {
				return err
			}
			m.IRVersion = int64(f.v)
		case 2:
			if m.ProducerName, err = d.str(f, path, "producer_name"); err != nil {
				return err
			}
		case 3:
			if m.ProducerVersion, err = d.str(f, path, "producer_version"); err != nil {
				return err
			}
		case 4:
			if m.Domain, err = d.str(f, path, "domain"); err != nil {
				return err
			}
		case 5:
			if err := d.wantVarint(f, path, "model_version"); err != nil {
				return err
			}
			m.ModelVersion = int64(f.v)
		case 6:
			if m.DocString, err = d.str(f, path, "doc_string"); err != nil {
				return err
			}
		case 7:
			if err := d.wantBytes(f, path, "graph"); err != nil {
				return err
			}
			// A repeated singular message merges into the first, as
			// protobuf parsers do.
			if m.Graph == nil {
				m.Graph = &Graph{}
			}
			if err := d.graph(f.b, m.Graph, "graph"); err != nil {
				return err
			}
		case 8:
			if err := d.wantBytes(f, path, "opset_import"); err != nil {
				return err
			}
			o, err := d.opset(f.b, fmt.Sprintf("%s.opset_import[%d]", path, len(m.OpsetImports)))
			if err != nil {
				return err
			}
			m.OpsetImports = append(m.OpsetImports, o)
		case 14:
			if err := d.wantBytes(f, path, "metadata_props"); err != nil {
				return err
			}
			p, err := d.stringPair(f.b, fmt.Sprintf("%s.metadata_props[%d]", path, len(m.MetadataProps)))
			if err != nil {
				return err
			}
			m.MetadataProps = append(m.MetadataProps, p)
		default:
			m.unknown = append(m.unknown, f.full...)
		}
	}
	return nil
}

func (d *decoder) opset(b []byte, path string) (OpsetID, error) {
	var o OpsetID
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return o, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if o.Domain, err = d.str(f, path, "domain"); err != nil {
				return o, err
			}
		case 2:
			if err := d.wantVarint(f, path, "version"); err != nil {
				return o, err
			}
			o.Version = int64(f.v)
		}
	}
	return o, nil
}

func (d *decoder) stringPair(b []byte, path string) (StringPair, error) {
	var p StringPair
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return p, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if p.Key, err = d.str(f, path, "key"); err != nil {
				return p, err
			}
		case 2:
			if p.Value, err = d.str(f, path, "value"); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

func (d *decoder) graph(b []byte, g *Graph, path string) error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > d.lim.MaxGraphDepth {
		return d.errf(path, "subgraphs nested more than %d deep", d.lim.MaxGraphDepth)
	}
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if err := d.wantBytes(f, path, "node"); err != nil {
				return err
			}
			if len(g.Nodes) >= d.lim.MaxNodes {
				return d.errf(path, "more than %d nodes", d.lim.MaxNodes)
			}
			nd := &Node{}
			if err := d.node(f.b, nd, fmt.Sprintf("%s.node[%d]", path, len(g.Nodes))); err != nil {
				return err
			}
			g.Nodes = append(g.Nodes, nd)
		case 2:
			if g.Name, err = d.str(f, path, "name"); err != nil {
				return err
			}
		case 5:
			if err := d.wantBytes(f, path, "initializer"); err != nil {
				return err
			}
			t := &Tensor{}
			if err := d.tensor(f.b, t, fmt.Sprintf("%s.initializer[%d]", path, len(g.Initializers))); err != nil {
				return err
			}
			g.Initializers = append(g.Initializers, t)
		case 10:
			if g.DocString, err = d.str(f, path, "doc_string"); err != nil {
				return err
			}
		case 11, 12, 13:
			if err := d.wantBytes(f, path, "value info"); err != nil {
				return err
			}
			vi := &ValueInfo{}
			var list *[]*ValueInfo
			name := ""
			switch f.num {
			case 11:
				list, name = &g.Inputs, "input"
			case 12:
				list, name = &g.Outputs, "output"
			default:
				list, name = &g.ValueInfo, "value_info"
			}
			if err := d.valueInfo(f.b, vi, fmt.Sprintf("%s.%s[%d]", path, name, len(*list))); err != nil {
				return err
			}
			*list = append(*list, vi)
		case 15:
			return d.errf(path, "sparse initializers are not supported")
		default:
			g.unknown = append(g.unknown, f.full...)
		}
	}
	return nil
}

func (d *decoder) node(b []byte, nd *Node, path string) error {
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			s, err := d.str(f, path, "input")
			if err != nil {
				return err
			}
			nd.Inputs = append(nd.Inputs, s)
		case 2:
			s, err := d.str(f, path, "output")
			if err != nil {
				return err
			}
			nd.Outputs = append(nd.Outputs, s)
		case 3:
			if nd.Name, err = d.str(f, path, "name"); err != nil {
				return err
			}
		case 4:
			if nd.OpType, err = d.str(f, path, "op_type"); err != nil {
				return err
			}
		case 5:
			if err := d.wantBytes(f, path, "attribute"); err != nil {
				return err
			}
			a := &Attribute{}
			if err := d.attribute(f.b, a, fmt.Sprintf("%s.attribute[%d]", path, len(nd.Attrs))); err != nil {
				return err
			}
			nd.Attrs = append(nd.Attrs, a)
		case 6:
			if nd.DocString, err = d.str(f, path, "doc_string"); err != nil {
				return err
			}
		case 7:
			if nd.Domain, err = d.str(f, path, "domain"); err != nil {
				return err
			}
		default:
			nd.unknown = append(nd.unknown, f.full...)
		}
	}
	return nil
}

func (d *decoder) attribute(b []byte, a *Attribute, path string) error {
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if a.Name, err = d.str(f, path, "name"); err != nil {
				return err
			}
		case 2:
			if f.typ != protowire.Fixed32Type {
				return d.errf(path, "field f has wire type %d, want fixed32", f.typ)
			}
			a.F = math.Float32frombits(uint32(f.v))
		case 3:
			if err := d.wantVarint(f, path, "i"); err != nil {
				return err
			}
			a.I = int64(f.v)
		case 4:
			if err := d.wantBytes(f, path, "s"); err != nil {
				return err
			}
			a.S = append([]byte(nil), f.b...)
		case 5:
			if err := d.wantBytes(f, path, "t"); err != nil {
				return err
			}
			a.T = &Tensor{}
			if err := d.tensor(f.b, a.T, path+".t"); err != nil {
				return err
			}
		case 6:
			if err := d.wantBytes(f, path, "g"); err != nil {
				return err
			}
			a.G = &Graph{}
			if err := d.graph(f.b, a.G, path+".g"); err != nil {
				return err
			}
		case 7:
			if a.Floats, err = d.appendFloats(a.Floats, f, path, "floats"); err != nil {
				return err
			}
		case 8:
			if a.Ints, err = d.appendVarints(a.Ints, f, path, "ints"); err != nil {
				return err
			}
		case 9:
			if err := d.wantBytes(f, path, "strings"); err != nil {
				return err
			}
			a.Strings = append(a.Strings, append([]byte(nil), f.b...))
		case 10:
			if err := d.wantBytes(f, path, "tensors"); err != nil {
				return err
			}
			t := &Tensor{}
			if err := d.tensor(f.b, t, fmt.Sprintf("%s.tensors[%d]", path, len(a.Tensors))); err != nil {
				return err
			}
			a.Tensors = append(a.Tensors, t)
		case 11:
			if err := d.wantBytes(f, path, "graphs"); err != nil {
				return err
			}
			g := &Graph{}
			if err := d.graph(f.b, g, fmt.Sprintf("%s.graphs[%d]", path, len(a.Graphs))); err != nil {
				return err
			}
			a.Graphs = append(a.Graphs, g)
		case 13:
			if a.DocString, err = d.str(f, path, "doc_string"); err != nil {
				return err
			}
		case 20:
			if err := d.wantVarint(f, path, "type"); err != nil {
				return err
			}
			a.Type = AttrType(int32(f.v))
		case 21:
			if a.RefAttrName, err = d.str(f, path, "ref_attr_name"); err != nil {
				return err
			}
		default:
			a.unknown = append(a.unknown, f.full...)
		}
	}
	if a.Type == AttrUndefined {
		// IR version 1 files leave the type out: infer it from the field set.
		a.Type = a.inferType()
	}
	return nil
}

func (a *Attribute) inferType() AttrType {
	switch {
	case a.T != nil:
		return AttrTensor
	case a.G != nil:
		return AttrGraph
	case len(a.Floats) > 0:
		return AttrFloats
	case len(a.Ints) > 0:
		return AttrInts
	case len(a.Strings) > 0:
		return AttrStrings
	case len(a.Tensors) > 0:
		return AttrTensors
	case len(a.Graphs) > 0:
		return AttrGraphs
	case a.S != nil:
		return AttrString
	}
	return AttrUndefined
}

func (d *decoder) valueInfo(b []byte, vi *ValueInfo, path string) error {
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if vi.Name, err = d.str(f, path, "name"); err != nil {
				return err
			}
		case 2:
			if err := d.wantBytes(f, path, "type"); err != nil {
				return err
			}
			vi.Type = &Type{}
			if err := d.typeProto(f.b, vi.Type, path+".type"); err != nil {
				return err
			}
		case 3:
			if vi.DocString, err = d.str(f, path, "doc_string"); err != nil {
				return err
			}
		default:
			vi.unknown = append(vi.unknown, f.full...)
		}
	}
	return nil
}

func (d *decoder) typeProto(b []byte, t *Type, path string) error {
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if err := d.wantBytes(f, path, "tensor_type"); err != nil {
				return err
			}
			t.IsTensor = true
			if err := d.tensorType(f.b, t, path+".tensor_type"); err != nil {
				return err
			}
		case 6:
			if t.Denotation, err = d.str(f, path, "denotation"); err != nil {
				return err
			}
		default:
			t.unknown = append(t.unknown, f.full...)
		}
	}
	return nil
}

func (d *decoder) tensorType(b []byte, t *Type, path string) error {
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if err := d.wantVarint(f, path, "elem_type"); err != nil {
				return err
			}
			t.Elem = DataType(int32(f.v))
		case 2:
			if err := d.wantBytes(f, path, "shape"); err != nil {
				return err
			}
			t.HasShape = true
			if err := d.shape(f.b, t, path+".shape"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *decoder) shape(b []byte, t *Type, path string) error {
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.num != 1 {
			continue
		}
		if err := d.wantBytes(f, path, "dim"); err != nil {
			return err
		}
		if len(t.Shape) >= d.lim.MaxRank {
			return d.errf(path, "more than %d dimensions", d.lim.MaxRank)
		}
		var dim Dim
		db := f.b
		for len(db) > 0 {
			g, m, err := d.next(db, path)
			if err != nil {
				return err
			}
			db = db[m:]
			switch g.num {
			case 1:
				if err := d.wantVarint(g, path, "dim_value"); err != nil {
					return err
				}
				dim.Value, dim.HasValue = int64(g.v), true
				dim.Param = ""
			case 2:
				if dim.Param, err = d.str(g, path, "dim_param"); err != nil {
					return err
				}
				dim.Value, dim.HasValue = 0, false
			case 3:
				if dim.Denotation, err = d.str(g, path, "denotation"); err != nil {
					return err
				}
			}
		}
		t.Shape = append(t.Shape, dim)
	}
	return nil
}

// appendVarints decodes a repeated int64 field, packed or not.
func (d *decoder) appendVarints(dst []int64, f field, path, name string) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.v)), nil
	case protowire.BytesType:
		b := f.b
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, d.wireErr(path+"."+name, n)
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, d.errf(path, "field %s has wire type %d", name, f.typ)
}

func (d *decoder) appendFloats(dst []float32, f field, path, name string) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.v))), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return nil, d.errf(path, "packed %s has %d bytes, not a multiple of 4", name, len(f.b))
		}
		dst = growFloat32(dst, len(f.b)/4)
		for i := 0; i+4 <= len(f.b); i += 4 {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(f.b[i:])))
		}
		return dst, nil
	}
	return nil, d.errf(path, "field %s has wire type %d", name, f.typ)
}

func (d *decoder) appendDoubles(dst []float64, f field, path, name string) ([]float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(f.v)), nil
	case protowire.BytesType:
		if len(f.b)%8 != 0 {
			return nil, d.errf(path, "packed %s has %d bytes, not a multiple of 8", name, len(f.b))
		}
		for i := 0; i+8 <= len(f.b); i += 8 {
			dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(f.b[i:])))
		}
		return dst, nil
	}
	return nil, d.errf(path, "field %s has wire type %d", name, f.typ)
}

func (d *decoder) appendUvarints(dst []uint64, f field, path, name string) ([]uint64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, f.v), nil
	case protowire.BytesType:
		b := f.b
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, d.wireErr(path+"."+name, n)
			}
			dst = append(dst, v)
			b = b[n:]
		}
		return dst, nil
	}
	return nil, d.errf(path, "field %s has wire type %d", name, f.typ)
}

func growFloat32(s []float32, n int) []float32 {
	if cap(s)-len(s) >= n {
		return s
	}
	t := make([]float32, len(s), len(s)+n)
	copy(t, s)
	return t
}

func (d *decoder) tensor(b []byte, t *Tensor, path string) error {
	var (
		raw        []byte
		hasRaw     bool
		f32        []float32
		i32, i64   []int64
		f64        []float64
		u64        []uint64
		external   bool
		hasSegment bool
	)
	for len(b) > 0 {
		f, n, err := d.next(b, path)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if t.Dims, err = d.appendVarints(t.Dims, f, path, "dims"); err != nil {
				return err
			}
			if len(t.Dims) > d.lim.MaxRank {
				return d.errf(path, "more than %d dimensions", d.lim.MaxRank)
			}
		case 2:
			if err := d.wantVarint(f, path, "data_type"); err != nil {
				return err
			}
			t.DataType = DataType(int32(f.v))
		case 3:
			hasSegment = true
		case 4:
			if f32, err = d.appendFloats(f32, f, path, "float_data"); err != nil {
				return err
			}
		case 5:
			if i32, err = d.appendVarints(i32, f, path, "int32_data"); err != nil {
				return err
			}
		case 6:
			if err := d.wantBytes(f, path, "string_data"); err != nil {
				return err
			}
			t.Strs = append(t.Strs, append([]byte(nil), f.b...))
		case 7:
			if i64, err = d.appendVarints(i64, f, path, "int64_data"); err != nil {
				return err
			}
		case 8:
			if t.Name, err = d.str(f, path, "name"); err != nil {
				return err
			}
		case 9:
			if err := d.wantBytes(f, path, "raw_data"); err != nil {
				return err
			}
			raw, hasRaw = f.b, true
		case 10:
			if f64, err = d.appendDoubles(f64, f, path, "double_data"); err != nil {
				return err
			}
		case 11:
			if u64, err = d.appendUvarints(u64, f, path, "uint64_data"); err != nil {
				return err
			}
		case 12:
			if t.DocString, err = d.str(f, path, "doc_string"); err != nil {
				return err
			}
		case 13:
			external = true
		case 14:
			if err := d.wantVarint(f, path, "data_location"); err != nil {
				return err
			}
			if f.v == 1 {
				external = true
			}
		default:
			t.unknown = append(t.unknown, f.full...)
		}
	}
	if t.Name != "" {
		path = fmt.Sprintf("%s %q", path, t.Name)
	}
	if external {
		return &DecodeError{Path: path, Msg: ErrExternalData.Error(), Err: ErrExternalData}
	}
	if hasSegment {
		return d.errf(path, "segmented tensors are not supported")
	}
	count := int64(1)
	for _, dim := range t.Dims {
		if dim < 0 {
			return d.errf(path, "negative dimension %d in %v", dim, t.Dims)
		}
		if dim > 0 && count > d.lim.MaxElements/dim {
			return d.errf(path, "dims %v claim more than %d elements", t.Dims, d.lim.MaxElements)
		}
		count *= dim
	}
	if count > d.lim.MaxElements {
		return d.errf(path, "dims %v claim more than %d elements", t.Dims, d.lim.MaxElements)
	}
	fields := 0
	for _, has := range []bool{hasRaw && len(raw) > 0, len(f32) > 0, len(i32) > 0, len(i64) > 0, len(f64) > 0, len(u64) > 0, len(t.Strs) > 0} {
		if has {
			fields++
		}
	}
	if fields > 1 {
		return d.errf(path, "data in more than one field")
	}
	dt := t.DataType
	size := dt.Size()
	switch {
	case dt == String:
		if hasRaw && len(raw) > 0 {
			return d.errf(path, "string tensor with raw_data")
		}
		if int64(len(t.Strs)) != count {
			return d.errf(path, "has %d strings, dims %v need %d", len(t.Strs), t.Dims, count)
		}
		return nil
	case size == 0 || dt == Complex64 || dt == Complex128:
		return d.errf(path, "unsupported data type %v", dt)
	}
	if hasRaw {
		if int64(len(raw)) != count*int64(size) {
			return d.errf(path, "raw_data has %d bytes, dims %v of %v need %d", len(raw), t.Dims, dt, count*int64(size))
		}
		t.setRaw(raw)
		return nil
	}
	// Typed fields.
	var got int64
	switch dt {
	case Float:
		got = int64(len(f32))
		t.F32 = f32
	case Double:
		got = int64(len(f64))
		t.F64 = f64
	case Int64:
		got = int64(len(i64))
		t.I64 = i64
	case Uint32, Uint64:
		got = int64(len(u64))
		t.U64 = u64
	case Int32, Int16, Uint16:
		got = int64(len(i32))
		t.I32 = make([]int32, len(i32))
		for i, v := range i32 {
			t.I32[i] = int32(v)
		}
	case Int8:
		got = int64(len(i32))
		t.I8 = make([]int8, len(i32))
		for i, v := range i32 {
			t.I8[i] = int8(v)
		}
	case Uint8, Bool:
		got = int64(len(i32))
		t.U8 = make([]uint8, len(i32))
		for i, v := range i32 {
			t.U8[i] = uint8(v)
		}
	case Float16, BFloat16:
		got = int64(len(i32))
		t.U16 = make([]uint16, len(i32))
		for i, v := range i32 {
			t.U16[i] = uint16(v)
		}
	}
	if got != count {
		if fields == 0 && count > 0 {
			return d.errf(path, "has no data, dims %v need %d elements", t.Dims, count)
		}
		return d.errf(path, "has %d elements, dims %v need %d", got, t.Dims, count)
	}
	return nil
}

// setRaw decodes little-endian raw_data into the typed slice.
func (t *Tensor) setRaw(raw []byte) {
	le := binary.LittleEndian
	switch t.DataType {
	case Float:
		t.F32 = make([]float32, len(raw)/4)
		for i := range t.F32 {
			t.F32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case Double:
		t.F64 = make([]float64, len(raw)/8)
		for i := range t.F64 {
			t.F64[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
	case Int64:
		t.I64 = make([]int64, len(raw)/8)
		for i := range t.I64 {
			t.I64[i] = int64(le.Uint64(raw[8*i:]))
		}
	case Int32:
		t.I32 = make([]int32, len(raw)/4)
		for i := range t.I32 {
			t.I32[i] = int32(le.Uint32(raw[4*i:]))
		}
	case Int16:
		t.I32 = make([]int32, len(raw)/2)
		for i := range t.I32 {
			t.I32[i] = int32(int16(le.Uint16(raw[2*i:])))
		}
	case Uint16:
		t.I32 = make([]int32, len(raw)/2)
		for i := range t.I32 {
			t.I32[i] = int32(le.Uint16(raw[2*i:]))
		}
	case Int8:
		t.I8 = make([]int8, len(raw))
		for i, v := range raw {
			t.I8[i] = int8(v)
		}
	case Uint8, Bool:
		t.U8 = append([]uint8(nil), raw...)
		if t.U8 == nil {
			t.U8 = []uint8{}
		}
	case Float16, BFloat16:
		t.U16 = make([]uint16, len(raw)/2)
		for i := range t.U16 {
			t.U16[i] = le.Uint16(raw[2*i:])
		}
	case Uint32:
		t.U64 = make([]uint64, len(raw)/4)
		for i := range t.U64 {
			t.U64[i] = uint64(le.Uint32(raw[4*i:]))
		}
	case Uint64:
		t.U64 = make([]uint64, len(raw)/8)
		for i := range t.U64 {
			t.U64[i] = le.Uint64(raw[8*i:])
		}
	}
}
