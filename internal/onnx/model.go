package onnx

import (
	"fmt"
	"math"
)

// DataType is an ONNX TensorProto.DataType value.
type DataType int32

// The element types of ONNX tensors (onnx.proto, TensorProto.DataType).
const (
	Undefined  DataType = 0
	Float      DataType = 1
	Uint8      DataType = 2
	Int8       DataType = 3
	Uint16     DataType = 4
	Int16      DataType = 5
	Int32      DataType = 6
	Int64      DataType = 7
	String     DataType = 8
	Bool       DataType = 9
	Float16    DataType = 10
	Double     DataType = 11
	Uint32     DataType = 12
	Uint64     DataType = 13
	Complex64  DataType = 14
	Complex128 DataType = 15
	BFloat16   DataType = 16
)

var dataTypeNames = map[DataType]string{
	Undefined: "undefined", Float: "float32", Uint8: "uint8", Int8: "int8",
	Uint16: "uint16", Int16: "int16", Int32: "int32", Int64: "int64",
	String: "string", Bool: "bool", Float16: "float16", Double: "float64",
	Uint32: "uint32", Uint64: "uint64", Complex64: "complex64",
	Complex128: "complex128", BFloat16: "bfloat16",
}

func (d DataType) String() string {
	if s, ok := dataTypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("datatype(%d)", int32(d))
}

// Size is the number of bytes one element takes in raw_data, or 0 for
// types without a fixed size (string, undefined, unknown).
func (d DataType) Size() int {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Float, Int32, Uint32:
		return 4
	case Int64, Double, Uint64, Complex64:
		return 8
	case Complex128:
		return 16
	}
	return 0
}

// Model is an ONNX ModelProto: the one graph representation shared by the
// exporter, the converter and the runtime.
type Model struct {
	IRVersion       int64
	OpsetImports    []OpsetID
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           *Graph
	MetadataProps   []StringPair

	unknown []byte // fields this package does not model, kept verbatim
}

// OpsetID is an OperatorSetIdProto. Domain "" is the default ai.onnx domain.
type OpsetID struct {
	Domain  string
	Version int64
}

// StringPair is a StringStringEntryProto (metadata_props entries).
type StringPair struct {
	Key, Value string
}

// Graph is a GraphProto.
type Graph struct {
	Name         string
	Nodes        []*Node
	Initializers []*Tensor
	Inputs       []*ValueInfo
	Outputs      []*ValueInfo
	ValueInfo    []*ValueInfo
	DocString    string

	unknown []byte
}

// Node is a NodeProto: one operator application.
type Node struct {
	Name      string
	OpType    string
	Domain    string
	Inputs    []string // "" marks an omitted optional input
	Outputs   []string
	Attrs     []*Attribute
	DocString string

	unknown []byte
}

// AttrType is an AttributeProto.AttributeType value.
type AttrType int32

// Attribute types (onnx.proto, AttributeProto.AttributeType).
const (
	AttrUndefined     AttrType = 0
	AttrFloat         AttrType = 1
	AttrInt           AttrType = 2
	AttrString        AttrType = 3
	AttrTensor        AttrType = 4
	AttrGraph         AttrType = 5
	AttrFloats        AttrType = 6
	AttrInts          AttrType = 7
	AttrStrings       AttrType = 8
	AttrTensors       AttrType = 9
	AttrGraphs        AttrType = 10
	AttrSparseTensor  AttrType = 11
	AttrSparseTensors AttrType = 12
	AttrTypeProto     AttrType = 13
	AttrTypeProtos    AttrType = 14
)

var attrTypeNames = map[AttrType]string{
	AttrUndefined: "undefined", AttrFloat: "float", AttrInt: "int", AttrString: "string",
	AttrTensor: "tensor", AttrGraph: "graph", AttrFloats: "floats", AttrInts: "ints",
	AttrStrings: "strings", AttrTensors: "tensors", AttrGraphs: "graphs",
	AttrSparseTensor: "sparse_tensor", AttrSparseTensors: "sparse_tensors",
	AttrTypeProto: "type_proto", AttrTypeProtos: "type_protos",
}

func (a AttrType) String() string {
	if s, ok := attrTypeNames[a]; ok {
		return s
	}
	return fmt.Sprintf("attrtype(%d)", int32(a))
}

// Attribute is an AttributeProto. Type says which value field is meaningful.
type Attribute struct {
	Name        string
	Type        AttrType
	F           float32
	I           int64
	S           []byte
	T           *Tensor
	G           *Graph
	Floats      []float32
	Ints        []int64
	Strings     [][]byte
	Tensors     []*Tensor
	Graphs      []*Graph
	RefAttrName string
	DocString   string

	unknown []byte // sparse tensors and type protos are kept verbatim
}

// ValueInfo is a ValueInfoProto: a named value with its type.
type ValueInfo struct {
	Name      string
	Type      *Type // nil when the file gives no type
	DocString string

	unknown []byte
}

// Type is a TypeProto. Only tensor types are modelled; other kinds
// (sequence, map, optional, sparse) keep their encoding in Other and have
// IsTensor false.
type Type struct {
	IsTensor   bool
	Elem       DataType
	HasShape   bool  // false: rank unknown
	Shape      []Dim // valid when HasShape
	Denotation string

	unknown []byte
}

// Dim is a TensorShapeProto.Dimension: a fixed size, a symbolic name, or
// unknown (neither set).
type Dim struct {
	Value      int64
	Param      string
	HasValue   bool
	Denotation string
}

func (d Dim) String() string {
	switch {
	case d.HasValue:
		return fmt.Sprint(d.Value)
	case d.Param != "":
		return d.Param
	}
	return "?"
}

// Tensor is a TensorProto holding its data decoded into the slice that fits
// DataType: F32 (float), F64 (double), I64 (int64), I32 (int32, int16,
// uint16), I8 (int8), U8 (uint8, bool), U16 (the bits of float16 and
// bfloat16), U64 (uint32, uint64), Strs (string). Data read from raw_data and
// from the typed fields lands in the same slice.
type Tensor struct {
	Name      string
	DataType  DataType
	Dims      []int64
	DocString string

	F32  []float32
	F64  []float64
	I64  []int64
	I32  []int32
	I8   []int8
	U8   []uint8
	U16  []uint16
	U64  []uint64
	Strs [][]byte

	unknown []byte
}

// NumElements is the product of Dims (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Len is the number of elements actually held.
func (t *Tensor) Len() int {
	switch t.DataType {
	case Float:
		return len(t.F32)
	case Double:
		return len(t.F64)
	case Int64:
		return len(t.I64)
	case Int32, Int16, Uint16:
		return len(t.I32)
	case Int8:
		return len(t.I8)
	case Uint8, Bool:
		return len(t.U8)
	case Float16, BFloat16:
		return len(t.U16)
	case Uint32, Uint64:
		return len(t.U64)
	case String:
		return len(t.Strs)
	}
	return 0
}

// Float32s returns the data converted to float32 (a copy for every type but
// Float, whose slice is returned as is).
func (t *Tensor) Float32s() ([]float32, error) {
	var out []float32
	switch t.DataType {
	case Float:
		return t.F32, nil
	case Double:
		out = make([]float32, len(t.F64))
		for i, v := range t.F64 {
			out[i] = float32(v)
		}
	case Float16:
		out = make([]float32, len(t.U16))
		for i, v := range t.U16 {
			out[i] = HalfToFloat32(v)
		}
	case BFloat16:
		out = make([]float32, len(t.U16))
		for i, v := range t.U16 {
			out[i] = math.Float32frombits(uint32(v) << 16)
		}
	case Int64:
		out = make([]float32, len(t.I64))
		for i, v := range t.I64 {
			out[i] = float32(v)
		}
	case Int32, Int16, Uint16:
		out = make([]float32, len(t.I32))
		for i, v := range t.I32 {
			out[i] = float32(v)
		}
	case Int8:
		out = make([]float32, len(t.I8))
		for i, v := range t.I8 {
			out[i] = float32(v)
		}
	case Uint8, Bool:
		out = make([]float32, len(t.U8))
		for i, v := range t.U8 {
			out[i] = float32(v)
		}
	case Uint32, Uint64:
		out = make([]float32, len(t.U64))
		for i, v := range t.U64 {
			out[i] = float32(v)
		}
	default:
		return nil, fmt.Errorf("onnx: tensor %q: cannot convert %v to float32", t.Name, t.DataType)
	}
	return out, nil
}

// Int64s returns integer data widened to int64 (int64, int32, int16, uint16,
// int8, uint8, bool, uint32, uint64 tensors).
func (t *Tensor) Int64s() ([]int64, error) {
	var out []int64
	switch t.DataType {
	case Int64:
		return t.I64, nil
	case Int32, Int16, Uint16:
		out = make([]int64, len(t.I32))
		for i, v := range t.I32 {
			out[i] = int64(v)
		}
	case Int8:
		out = make([]int64, len(t.I8))
		for i, v := range t.I8 {
			out[i] = int64(v)
		}
	case Uint8, Bool:
		out = make([]int64, len(t.U8))
		for i, v := range t.U8 {
			out[i] = int64(v)
		}
	case Uint32, Uint64:
		out = make([]int64, len(t.U64))
		for i, v := range t.U64 {
			out[i] = int64(v)
		}
	default:
		return nil, fmt.Errorf("onnx: tensor %q: %v is not an integer type", t.Name, t.DataType)
	}
	return out, nil
}

// HalfToFloat32 converts IEEE 754 binary16 bits to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = mant * 2^-24.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Float32ToHalf converts float32 to IEEE 754 binary16 bits, rounding to
// nearest even.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // Inf/NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		rem := mant & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is the right result
	}
	return sign | uint16(r)
}

// Attr returns the attribute with that name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// AttrInt returns an int attribute or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a := n.Attr(name); a != nil && a.Type == AttrInt {
		return a.I
	}
	return def
}

// AttrFloat returns a float attribute or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a := n.Attr(name); a != nil && a.Type == AttrFloat {
		return a.F
	}
	return def
}

// AttrString returns a string attribute or def when absent.
func (n *Node) AttrString(name, def string) string {
	if a := n.Attr(name); a != nil && a.Type == AttrString {
		return string(a.S)
	}
	return def
}

// AttrInts returns an ints attribute or def when absent.
func (n *Node) AttrInts(name string, def []int64) []int64 {
	if a := n.Attr(name); a != nil && a.Type == AttrInts {
		return a.Ints
	}
	return def
}

// String names a node for messages: its name if it has one, else its op
// type and first output.
func (n *Node) String() string {
	if n.Name != "" {
		return fmt.Sprintf("%s %q", n.OpType, n.Name)
	}
	out := ""
	if len(n.Outputs) > 0 {
		out = n.Outputs[0]
	}
	return fmt.Sprintf("%s (output %q)", n.OpType, out)
}

// Metadata returns the value of a metadata_props key and whether it is set.
func (m *Model) Metadata(key string) (string, bool) {
	for _, p := range m.MetadataProps {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// SetMetadata sets or replaces a metadata_props entry.
func (m *Model) SetMetadata(key, value string) {
	for i, p := range m.MetadataProps {
		if p.Key == key {
			m.MetadataProps[i].Value = value
			return
		}
	}
	m.MetadataProps = append(m.MetadataProps, StringPair{key, value})
}

// OpsetVersion returns the imported version of a domain ("" or "ai.onnx"
// for the default domain), or 0 when it is not imported.
func (m *Model) OpsetVersion(domain string) int64 {
	if domain == "ai.onnx" {
		domain = ""
	}
	for _, o := range m.OpsetImports {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain {
			return o.Version
		}
	}
	return 0
}
