// Package brokenfiles writes a corpus of hostile inputs for the tests of
// the two binaries: ONNX models and images that are empty, truncated,
// randomly corrupted, or well formed but lying (a graph with a cycle, a
// dangling input, two nodes writing one tensor, a tensor claiming 10^12
// elements, quantization scales of zero or NaN, metadata that contradicts
// the weights). Tests run the real binaries on each file and check that the
// answer is one line naming the file, a documented exit status and never a
// Go panic trace.
//
// It is used only by tests; it lives in internal/ because cmd/edge and
// cmd/export share it.
package brokenfiles

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
	"google.golang.org/protobuf/encoding/protowire"
)

// Case is one file of the corpus.
type Case struct {
	Path string // the file (or folder) to feed to the tool
	Why  string // what is wrong with it
	// MustFail is true when the tools must refuse the file. Random byte
	// flips can leave a valid model (a changed weight), so those cases
	// only require a clean answer, success or failure.
	MustFail bool
}

// Models writes broken variants of the valid ONNX model base into dir.
// base must carry piresnet metadata (the metadata cases change it).
func Models(dir string, base []byte) ([]Case, error) {
	var cs []Case
	add := func(name, why string, mustFail bool, data []byte) error {
		p := filepath.Join(dir, name)
		cs = append(cs, Case{Path: p, Why: why, MustFail: mustFail})
		return os.WriteFile(p, data, 0o644)
	}
	if err := add("empty.onnx", "an empty file", true, nil); err != nil {
		return nil, err
	}
	if err := add("text.onnx", "a text file", true, []byte("this is not a model\n")); err != nil {
		return nil, err
	}
	folder := filepath.Join(dir, "folder.onnx")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return nil, err
	}
	cs = append(cs, Case{Path: folder, Why: "a folder", MustFail: true})

	// Truncations. Cuts inside the graph (which holds nearly all bytes)
	// or inside the last field must fail; early cuts may land on a field
	// boundary.
	n := len(base)
	for _, cut := range []struct {
		at   int
		must bool
	}{{1, false}, {7, false}, {64, false}, {n / 4, true}, {n / 2, true}, {n - 100, false}, {n - 1, true}} {
		if cut.at <= 0 || cut.at >= n {
			continue
		}
		if err := add(fmt.Sprintf("truncated_%d.onnx", cut.at), fmt.Sprintf("the first %d of %d bytes", cut.at, n),
			cut.must, base[:cut.at]); err != nil {
			return nil, err
		}
	}
	// Random corruption: a few bytes overwritten, deterministic.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 24 {
		b := bytes.Clone(base)
		for range 1 + i%4 {
			b[rng.IntN(n)] = byte(rng.Uint32())
		}
		if err := add(fmt.Sprintf("flipped_%02d.onnx", i), fmt.Sprintf("%d random bytes overwritten", 1+i%4), false, b); err != nil {
			return nil, err
		}
	}

	// Well-formed files with a lie in them.
	mutate := func(name, why string, f func(m *onnx.Model) error) error {
		m, err := onnx.Decode(base)
		if err != nil {
			return fmt.Errorf("brokenfiles: the base model does not decode: %v", err)
		}
		if err := f(m); err != nil {
			return fmt.Errorf("brokenfiles: %s: %v", name, err)
		}
		b, err := onnx.Encode(m)
		if err != nil {
			return fmt.Errorf("brokenfiles: %s: %v", name, err)
		}
		return add(name, why, true, b)
	}
	g := func(m *onnx.Model) *onnx.Graph { return m.Graph }
	steps := []struct {
		name, why string
		f         func(m *onnx.Model) error
	}{
		{"cycle.onnx", "the first node reads the last node's output", func(m *onnx.Model) error {
			ns := g(m).Nodes
			ns[0].Inputs[0] = ns[len(ns)-1].Outputs[0]
			return nil
		}},
		{"dangling.onnx", "a node reads a tensor nothing produces", func(m *onnx.Model) error {
			ns := g(m).Nodes
			ns[len(ns)/2].Inputs[0] = "produced_by_nobody"
			return nil
		}},
		{"duplicate_output.onnx", "two nodes write the same tensor", func(m *onnx.Model) error {
			ns := g(m).Nodes
			ns[len(ns)/2].Outputs[0] = ns[len(ns)/3].Outputs[0]
			return nil
		}},
		{"missing_output.onnx", "the graph output is produced by no node", func(m *onnx.Model) error {
			g(m).Nodes = g(m).Nodes[:len(g(m).Nodes)-1]
			return nil
		}},
		{"unknown_op.onnx", "an operator no runtime knows", func(m *onnx.Model) error {
			ns := g(m).Nodes
			ns[len(ns)/2].OpType = "FancyConvolution"
			return nil
		}},
		{"wrong_weight_shape.onnx", "a weight whose shape does not fit its layer", func(m *onnx.Model) error {
			t := largestInitializer(g(m))
			if t == nil || len(t.Dims) < 2 {
				return fmt.Errorf("no weight to reshape")
			}
			t.Dims = []int64{t.NumElements() / 3, 3}
			truncateData(t, int(t.Dims[0]*t.Dims[1]))
			return nil
		}},
		{"zero_scale.onnx", "every quantization scale (or float weight) is 0", func(m *onnx.Model) error {
			return setScalars(g(m), 0)
		}},
		{"nan_scale.onnx", "every quantization scale (or float weight) is NaN", func(m *onnx.Model) error {
			return setScalars(g(m), float32(math.NaN()))
		}},
		{"labels_contradict.onnx", "metadata names one label more than the weights have classes", func(m *onnx.Model) error {
			md, err := modelmeta.Parse(m)
			if err != nil {
				return err
			}
			md.Labels = append(md.Labels, "one_too_many")
			return md.Apply(m)
		}},
		{"channels_contradict.onnx", "metadata says 5 input channels; the first convolution takes another count", func(m *onnx.Model) error {
			md, err := modelmeta.Parse(m)
			if err != nil {
				return err
			}
			md.InputChannels = 5
			md.Mean, md.Std = []float32{0, 0, 0, 0, 0}, []float32{1, 1, 1, 1, 1}
			return md.Apply(m)
		}},
		{"bad_metadata.onnx", "metadata with a negative std", func(m *onnx.Model) error {
			m.SetMetadata(modelmeta.KeyStd, "-1")
			return nil
		}},
	}
	quantized := bytes.Contains(base, []byte("QuantizeLinear"))
	for _, s := range steps {
		if s.name == "zero_scale.onnx" && !quantized {
			continue // zero weights make a valid float model
		}
		if err := mutate(s.name, s.why, s.f); err != nil {
			return nil, err
		}
	}
	if err := add("huge_tensor.onnx", "an initializer claiming 10^6 x 10^6 elements", true, hugeTensorModel()); err != nil {
		return nil, err
	}
	return cs, nil
}

func largestInitializer(g *onnx.Graph) *onnx.Tensor {
	var best *onnx.Tensor
	for _, t := range g.Initializers {
		if best == nil || t.NumElements() > best.NumElements() {
			best = t
		}
	}
	return best
}

func truncateData(t *onnx.Tensor, n int) {
	switch {
	case t.F32 != nil:
		t.F32 = t.F32[:n]
	case t.I8 != nil:
		t.I8 = t.I8[:n]
	case t.U8 != nil:
		t.U8 = t.U8[:n]
	case t.I32 != nil:
		t.I32 = t.I32[:n]
	case t.I64 != nil:
		t.I64 = t.I64[:n]
	}
}

// setScalars sets every float initializer to v: in a QDQ model these are
// the scales, in a float model the weights too.
func setScalars(g *onnx.Graph, v float32) error {
	found := false
	for _, t := range g.Initializers {
		if t.DataType == onnx.Float && strings.Contains(strings.ToLower(t.Name), "scale") {
			for i := range t.F32 {
				t.F32[i] = v
			}
			found = true
		}
	}
	if found {
		return nil
	}
	for _, t := range g.Initializers {
		if t.DataType == onnx.Float && len(t.Dims) == 4 {
			for i := range t.F32 {
				t.F32[i] = v
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("no float initializer")
	}
	return nil
}

// hugeTensorModel is a hand-encoded ModelProto whose one initializer
// claims 10^6 x 10^6 float elements and holds none: a reader that sizes
// its allocation by the header would ask for 4 TB.
func hugeTensorModel() []byte {
	msg := func(num protowire.Number, body []byte) []byte {
		b := protowire.AppendTag(nil, num, protowire.BytesType)
		return protowire.AppendBytes(b, body)
	}
	str := func(num protowire.Number, s string) []byte { return msg(num, []byte(s)) }
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tensor := cat(varint(1, 1000000), varint(1, 1000000), varint(2, uint64(onnx.Float)), str(8, "w"), msg(9, nil))
	floatType := func(name string) []byte {
		return cat(str(1, name), msg(2, msg(1, varint(1, uint64(onnx.Float)))))
	}
	node := cat(str(1, "x"), str(1, "w"), str(2, "y"), str(4, "Add"))
	graph := cat(msg(1, node), str(2, "g"), msg(5, tensor), msg(11, floatType("x")), msg(12, floatType("y")))
	return cat(varint(1, 8), msg(8, varint(2, 13)), msg(7, graph))
}

// Images writes broken image files into dir (for a 1- or 3-channel model).
func Images(dir string) ([]Case, error) {
	var cs []Case
	add := func(name, why string, data []byte) error {
		p := filepath.Join(dir, name)
		cs = append(cs, Case{Path: p, Why: why, MustFail: true})
		return os.WriteFile(p, data, 0o644)
	}
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var pb, jb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		return nil, err
	}
	if err := jpeg.Encode(&jb, img, nil); err != nil {
		return nil, err
	}
	hugePNG := bytes.Clone(pb.Bytes())
	// IHDR width and height at offsets 16 and 20: 100000 x 100000 pixels
	// (10^10 bytes if decoded), the checksum fixed so that only the size lies.
	putU32 := func(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	putU32(hugePNG[16:], 100000)
	putU32(hugePNG[20:], 100000)
	putU32(hugePNG[29:], crc32.ChecksumIEEE(hugePNG[12:29]))
	hugeJPEG := bytes.Clone(jb.Bytes())
	if i := bytes.Index(hugeJPEG, []byte{0xFF, 0xC0}); i >= 0 && i+9 <= len(hugeJPEG) {
		hugeJPEG[i+5], hugeJPEG[i+6], hugeJPEG[i+7], hugeJPEG[i+8] = 0xFF, 0xFF, 0xFF, 0xFF // 65535 x 65535
	}
	for _, f := range []struct {
		name, why string
		data      []byte
	}{
		{"empty.png", "an empty file", nil},
		{"text.jpg", "a text file named .jpg", []byte("hello\n")},
		{"truncated.png", "half a PNG", pb.Bytes()[:pb.Len()/2]},
		{"truncated.jpg", "half a JPEG", jb.Bytes()[:jb.Len()/2]},
		{"huge.png", "a PNG header claiming 100000x100000 pixels", hugePNG},
		{"huge.jpg", "a JPEG header claiming 65535x65535 pixels", hugeJPEG},
	} {
		if err := add(f.name, f.why, f.data); err != nil {
			return nil, err
		}
	}
	return cs, nil
}
