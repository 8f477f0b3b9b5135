package export

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/piresnet/piresnet/internal/checkpoint"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
)

// Opset range: 13 is the first with Gemm, Flatten and pooling as written
// here; 17 is the newest that python3-onnx 1.12's checker (the reference
// the tests use) knows.
const (
	DefaultOpset = 13
	MinOpset     = 13
	MaxOpset     = 17
	// IRVersion is ONNX IR version 8 (onnx 1.10+); ONNX Runtime 1.30 reads
	// it.
	IRVersion = 8
	// DefaultBNEps is torch's BatchNorm eps, which state dicts do not
	// store (torchvision, timm and fastai all keep the default).
	DefaultBNEps = 1e-5
)

// Options controls Export.
type Options struct {
	// Arch is "" or "auto" to detect the architecture, a family key
	// ("resnet", "vision_learner", "xresnet", "book") to force one, or a
	// model name ("resnet50", "xresnet34", …) that detection must
	// confirm. The book family takes stride overrides:
	// "book:stem=2-1-1,stages=1-2-2-2".
	Arch string
	// KeepBN keeps BatchNorm layers as BatchNormalization nodes instead of
	// folding them into the convolutions and Linear layers.
	KeepBN bool
	// Opset is the ai.onnx opset version, MinOpset…MaxOpset; 0 means
	// DefaultOpset.
	Opset int
	// BNEps is the BatchNorm epsilon; 0 means DefaultBNEps.
	BNEps float64
	// Labels are the class names in output order; nil gives class_0, ….
	Labels []string
	// Mean and Std normalize the input per channel (after scaling pixels to
	// [0, 1]). A single value applies to every channel. Nil takes
	// ImageNet's for 3-channel models; other channel counts must give them.
	Mean, Std []float32
	// InputHeight and InputWidth are the suggested input size written to
	// the metadata; 0 means 224.
	InputHeight, InputWidth int
	// SourceSHA256 and SourceFile describe the checkpoint in the metadata
	// (ExportFile sets them).
	SourceSHA256 string
	SourceFile   string
	// Progress, if not nil, is called by ExportFile while the checkpoint is
	// hashed and read, with bytes done and the total, and a label for the
	// step ("hashing", "reading").
	Progress func(step string, done, total int64)
}

// Summary describes an exported model.
type Summary struct {
	Architecture string // Net.Name
	Family       string
	Structure    string // Net.Describe
	InChannels   int
	Classes      int
	// Params is the number of parameters as torch counts them (weights and
	// biases; not BatchNorm running statistics).
	Params int64
	// MACs224 is the multiply-accumulates of convolutions and fully
	// connected layers for one 224x224 image.
	MACs224 int64
	// FoldedBN is the number of BatchNorm layers folded away.
	FoldedBN int
	// Checkpoint format, container and stripped key prefix (ExportFile).
	Format, Container, StrippedPrefix string
	Labels                            []string
	Mean, Std                         []float32
	Opset                             int
}

// ErrOption is the kind of errors caused by the options rather than the
// checkpoint (labels that do not match the classes, missing normalization).
var ErrOption = errors.New("invalid export option")

// kindError is an error of a kind (for errors.Is) whose message does not
// repeat the kind.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func optionErr(format string, args ...any) error {
	return &kindError{kind: ErrOption, msg: fmt.Sprintf(format, args...)}
}

// Export recognizes the architecture of a state dict and builds the ONNX
// model: input "input" [N, C, H, W] and output "logits" [N, classes] with
// symbolic N, H and W, BatchNorm folded unless opt.KeepBN, metadata from
// modelmeta. Errors wrap ErrUnrecognized (no family fits), ErrArch (a bad
// opt.Arch) or ErrOption (other options).
func Export(sd *checkpoint.StateDict, opt Options) (*onnx.Model, *Summary, error) {
	opset := opt.Opset
	if opset == 0 {
		opset = DefaultOpset
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, nil, optionErr("opset %d is not supported (%d to %d)", opset, MinOpset, MaxOpset)
	}
	eps := opt.BNEps
	if eps == 0 {
		eps = DefaultBNEps
	}
	if !(eps > 0) || eps > 1 {
		return nil, nil, optionErr("BatchNorm eps %v is not in (0, 1]", eps)
	}
	n, err := Detect(sd, opt.Arch)
	if err != nil {
		return nil, nil, err
	}
	md, err := metadataFor(n, opt)
	if err != nil {
		return nil, nil, err
	}

	g := &onnx.Graph{
		Name:      n.Name,
		Inputs:    []*onnx.ValueInfo{onnx.TensorInfo(InputName, onnx.Float, "N", n.InChannels, "H", "W")},
		Outputs:   []*onnx.ValueInfo{onnx.TensorInfo(OutputName, onnx.Float, "N", n.Classes())},
		DocString: n.Name + ": " + n.Describe(),
	}
	b := &builder{sd: sd, g: g, keepBN: opt.KeepBN, eps: eps}
	if err := b.build(n); err != nil {
		return nil, nil, err
	}
	m := &onnx.Model{
		IRVersion:       IRVersion,
		OpsetImports:    []onnx.OpsetID{{Domain: "", Version: int64(opset)}},
		ProducerName:    "piresnet-export",
		ProducerVersion: "1",
		DocString:       "Exported from a PyTorch checkpoint by piresnet export: " + n.Name,
		Graph:           g,
	}
	if err := md.Apply(m); err != nil {
		return nil, nil, optionErr("%v", err)
	}
	s := &Summary{
		Architecture: n.Name, Family: n.Family, Structure: n.Describe(),
		InChannels: n.InChannels, Classes: n.Classes(),
		Params: countParams(sd), MACs224: n.MACs(224, 224), FoldedBN: b.folded,
		Format: sd.Format, Container: sd.Container, StrippedPrefix: sd.StrippedPrefix,
		Labels: md.Labels, Mean: md.Mean, Std: md.Std, Opset: opset,
	}
	return m, s, nil
}

// countParams counts what torch's model.parameters() holds: every tensor
// but BatchNorm's running statistics.
func countParams(sd *checkpoint.StateDict) int64 {
	var p int64
	for _, k := range sd.Keys {
		if strings.HasSuffix(k, ".running_mean") || strings.HasSuffix(k, ".running_var") || strings.HasSuffix(k, ".num_batches_tracked") {
			continue
		}
		p += int64(sd.Tensors[k].NumElements())
	}
	return p
}

func metadataFor(n *Net, opt Options) (*modelmeta.Metadata, error) {
	md := &modelmeta.Metadata{
		Architecture:  n.Name,
		InputChannels: n.InChannels,
		InputHeight:   224,
		InputWidth:    224,
		SourceSHA256:  opt.SourceSHA256,
		SourceFile:    opt.SourceFile,
	}
	classes := n.Classes()
	if opt.Labels != nil {
		if len(opt.Labels) != classes {
			return nil, optionErr("%d labels for a model with %d classes", len(opt.Labels), classes)
		}
		md.Labels = opt.Labels
	} else {
		md.Labels = make([]string, classes)
		for i := range md.Labels {
			md.Labels[i] = fmt.Sprintf("class_%d", i)
		}
	}
	switch {
	case opt.Mean == nil && opt.Std == nil && n.InChannels == 3:
		md.Mean, md.Std = modelmeta.ImageNetMean, modelmeta.ImageNetStd
	case opt.Mean == nil || opt.Std == nil:
		if n.InChannels == 3 {
			return nil, optionErr("give both mean and std, or neither for ImageNet's")
		}
		return nil, optionErr("the model takes %d input channel(s): give its normalization (mean and std; ImageNet's defaults are for 3 channels)", n.InChannels)
	default:
		var err error
		if md.Mean, err = perChannel("mean", opt.Mean, n.InChannels); err != nil {
			return nil, err
		}
		if md.Std, err = perChannel("std", opt.Std, n.InChannels); err != nil {
			return nil, err
		}
	}
	if opt.InputHeight != 0 || opt.InputWidth != 0 {
		md.InputHeight, md.InputWidth = opt.InputHeight, opt.InputWidth
	}
	if err := md.Validate(); err != nil {
		return nil, optionErr("%v", err)
	}
	return md, nil
}

func perChannel(what string, v []float32, ch int) ([]float32, error) {
	switch len(v) {
	case ch:
		return v, nil
	case 1:
		out := make([]float32, ch)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	}
	return nil, optionErr("%d %s values for %d input channels (give 1 or %d)", len(v), what, ch, ch)
}

// ExportFile reads, hashes and exports the checkpoint at path (see
// checkpoint.Load for the formats). The SHA-256 and base name of the file
// go into the metadata. Checkpoint errors are *checkpoint.Error; the others
// are as for Export, prefixed with the path.
func ExportFile(path string, opt Options) (*onnx.Model, *Summary, error) {
	lopt := checkpoint.Options{}
	if opt.Progress != nil {
		lopt.Progress = func(done, total int64) { opt.Progress("reading", done, total) }
	}
	sd, err := checkpoint.Load(path, lopt)
	if err != nil {
		return nil, nil, err
	}
	sum, err := hashFile(path, opt.Progress)
	if err != nil {
		return nil, nil, &checkpoint.Error{Path: path, Kind: err, Msg: oneLine(err)}
	}
	opt.SourceSHA256 = sum
	opt.SourceFile = filepath.Base(path)
	m, s, err := Export(sd, opt)
	if err != nil {
		return nil, nil, &FileError{Path: path, Err: err}
	}
	return m, s, nil
}

// FileError is an Export error for a checkpoint file.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return "export: " + e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

func oneLine(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func hashFile(path string, progress func(string, int64, int64)) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var r io.Reader = f
	if progress != nil {
		r = &progressReader{r: f, total: st.Size(), fn: func(d, t int64) { progress("hashing", d, t) }}
	}
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}
