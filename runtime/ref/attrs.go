package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// attrs reads a node's attributes, checking their types: a present
// attribute of the wrong type is an error, not a silent default. The first
// error is kept in err.
type attrs struct {
	n   *onnx.Node
	err error
}

func (r *attrs) get(name string, want onnx.AttrType) *onnx.Attribute {
	a := r.n.Attr(name)
	if a == nil {
		return nil
	}
	if a.Type != want {
		if r.err == nil {
			r.err = fmt.Errorf("attribute %q has type %v, want %v", name, a.Type, want)
		}
		return nil
	}
	return a
}

func (r *attrs) has(name string) bool { return r.n.Attr(name) != nil }

func (r *attrs) int(name string, def int64) int64 {
	if a := r.get(name, onnx.AttrInt); a != nil {
		return a.I
	}
	return def
}

func (r *attrs) float(name string, def float32) float32 {
	if a := r.get(name, onnx.AttrFloat); a != nil {
		return a.F
	}
	return def
}

func (r *attrs) str(name, def string) string {
	if a := r.get(name, onnx.AttrString); a != nil {
		return string(a.S)
	}
	return def
}

func (r *attrs) ints(name string) ([]int64, bool) {
	if a := r.get(name, onnx.AttrInts); a != nil {
		return a.Ints, true
	}
	return nil, false
}

func (r *attrs) floats(name string) ([]float32, bool) {
	if a := r.get(name, onnx.AttrFloats); a != nil {
		return a.Floats, true
	}
	return nil, false
}

// fail records an error (keeping the first).
func (r *attrs) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// input returns input i of a node's inputs, or an error naming it when it is
// missing (omitted or past the end).
func input(in []*onnx.Tensor, i int, name string) (*onnx.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("missing input %d (%s)", i, name)
	}
	return in[i], nil
}

// optional returns input i or nil when it is omitted.
func optional(in []*onnx.Tensor, i int) *onnx.Tensor {
	if i >= len(in) {
		return nil
	}
	return in[i]
}
