// Package modelmeta defines the metadata_props a piresnet model carries: what
// the board needs besides the graph to classify an image (labels, input
// channels, normalization, a suggested input size) and where the model came
// from (architecture, source checkpoint). The exporter writes them
// (convert/export), the int8 converter keeps them, and the runtime and `edge`
// read them. This file is the one place that names the keys.
//
// # Keys
//
// Every key starts with "piresnet." so that it cannot clash with keys written
// by other tools; values are UTF-8 strings.
//
//	piresnet.schema          "1": the version of this set of keys
//	piresnet.architecture    recognized architecture, e.g. "resnet50", "xresnet34", "fastai-book-resnet"
//	piresnet.labels          JSON array of the class names, in output order
//	piresnet.input_channels  channels of the input image: "1" (grey) or "3" (RGB) or any other count
//	piresnet.mean            per-channel mean, comma-separated decimals: "0.485,0.456,0.406"
//	piresnet.std             per-channel standard deviation, same form
//	piresnet.input_size      suggested input "HxW", e.g. "224x224" (the model accepts any size)
//	piresnet.source_sha256   SHA-256 of the checkpoint file the model was exported from, lowercase hex
//	piresnet.source_file     base name of that checkpoint file
//
// Preprocessing that the mean and std describe: pixel values are scaled to
// [0, 1] (8-bit value / 255), then each channel c becomes (x - mean[c]) /
// std[c]. The input tensor is NCHW, float32.
//
// Keys added later must be optional for readers; a change of meaning bumps
// piresnet.schema.
package modelmeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/piresnet/piresnet/internal/onnx"
)

// The metadata_props keys.
const (
	KeySchema        = "piresnet.schema"
	KeyArchitecture  = "piresnet.architecture"
	KeyLabels        = "piresnet.labels"
	KeyInputChannels = "piresnet.input_channels"
	KeyMean          = "piresnet.mean"
	KeyStd           = "piresnet.std"
	KeyInputSize     = "piresnet.input_size"
	KeySourceSHA256  = "piresnet.source_sha256"
	KeySourceFile    = "piresnet.source_file"
)

// Schema is the value of KeySchema this package writes and reads.
const Schema = "1"

// ImageNet's normalization (torchvision's and fastai's imagenet_stats), the
// default for 3-channel models.
var (
	ImageNetMean = []float32{0.485, 0.456, 0.406}
	ImageNetStd  = []float32{0.229, 0.224, 0.225}
)

// ErrNoMetadata is returned by Parse for a model without piresnet metadata
// (for example one written by torch.onnx.export).
var ErrNoMetadata = errors.New("modelmeta: model has no piresnet metadata (" + KeySchema + " is not set)")

// Metadata is what a model carries besides its graph.
type Metadata struct {
	Architecture  string
	Labels        []string
	InputChannels int
	Mean, Std     []float32 // one value per input channel
	// InputHeight and InputWidth are the suggested input size.
	InputHeight, InputWidth int
	SourceSHA256            string // may be empty
	SourceFile              string // may be empty
}

// Validate checks that the fields are consistent: at least one label, no
// empty label or label with a line break, a positive channel count, one
// finite mean and one positive finite std per channel, a positive input
// size, and a 64-digit lowercase hex digest when one is given.
func (md *Metadata) Validate() error {
	if md.Architecture == "" {
		return errors.New("modelmeta: architecture is empty")
	}
	if len(md.Labels) == 0 {
		return errors.New("modelmeta: no labels")
	}
	for i, l := range md.Labels {
		if strings.TrimSpace(l) == "" {
			return fmt.Errorf("modelmeta: label %d is empty", i)
		}
		if strings.ContainsAny(l, "\r\n") {
			return fmt.Errorf("modelmeta: label %d contains a line break", i)
		}
	}
	if md.InputChannels <= 0 {
		return fmt.Errorf("modelmeta: input channels %d", md.InputChannels)
	}
	if len(md.Mean) != md.InputChannels || len(md.Std) != md.InputChannels {
		return fmt.Errorf("modelmeta: %d input channels need %d mean and std values, have %d and %d",
			md.InputChannels, md.InputChannels, len(md.Mean), len(md.Std))
	}
	for c := range md.Mean {
		if m := float64(md.Mean[c]); math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("modelmeta: mean[%d] = %v", c, md.Mean[c])
		}
		if s := float64(md.Std[c]); !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("modelmeta: std[%d] = %v must be positive", c, md.Std[c])
		}
	}
	if md.InputHeight <= 0 || md.InputWidth <= 0 {
		return fmt.Errorf("modelmeta: input size %dx%d", md.InputHeight, md.InputWidth)
	}
	if md.SourceSHA256 != "" && !isHex64(md.SourceSHA256) {
		return fmt.Errorf("modelmeta: source SHA-256 %q is not 64 lowercase hex digits", md.SourceSHA256)
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Apply validates md and writes it into the model's metadata_props,
// replacing earlier values of the same keys and keeping every other entry.
func (md *Metadata) Apply(m *onnx.Model) error {
	if err := md.Validate(); err != nil {
		return err
	}
	labels, err := json.Marshal(md.Labels)
	if err != nil {
		return fmt.Errorf("modelmeta: labels: %v", err)
	}
	m.SetMetadata(KeySchema, Schema)
	m.SetMetadata(KeyArchitecture, md.Architecture)
	m.SetMetadata(KeyLabels, string(labels))
	m.SetMetadata(KeyInputChannels, strconv.Itoa(md.InputChannels))
	m.SetMetadata(KeyMean, FormatFloats(md.Mean))
	m.SetMetadata(KeyStd, FormatFloats(md.Std))
	m.SetMetadata(KeyInputSize, fmt.Sprintf("%dx%d", md.InputHeight, md.InputWidth))
	if md.SourceSHA256 != "" {
		m.SetMetadata(KeySourceSHA256, md.SourceSHA256)
	}
	if md.SourceFile != "" {
		m.SetMetadata(KeySourceFile, md.SourceFile)
	}
	return nil
}

// Parse reads the metadata of a model. A model without KeySchema gives
// ErrNoMetadata; an unknown schema, a missing required key or a malformed
// value gives an error naming the key.
func Parse(m *onnx.Model) (*Metadata, error) {
	schema, ok := m.Metadata(KeySchema)
	if !ok {
		return nil, ErrNoMetadata
	}
	if schema != Schema {
		return nil, fmt.Errorf("modelmeta: %s is %q; this program reads schema %s", KeySchema, schema, Schema)
	}
	get := func(key string) (string, error) {
		v, ok := m.Metadata(key)
		if !ok {
			return "", fmt.Errorf("modelmeta: %s is missing", key)
		}
		return v, nil
	}
	md := &Metadata{}
	var err error
	if md.Architecture, err = get(KeyArchitecture); err != nil {
		return nil, err
	}
	s, err := get(KeyLabels)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(s), &md.Labels); err != nil {
		return nil, fmt.Errorf("modelmeta: %s is not a JSON array of strings: %v", KeyLabels, err)
	}
	if s, err = get(KeyInputChannels); err != nil {
		return nil, err
	}
	if md.InputChannels, err = strconv.Atoi(s); err != nil {
		return nil, fmt.Errorf("modelmeta: %s = %q is not an integer", KeyInputChannels, s)
	}
	if s, err = get(KeyMean); err != nil {
		return nil, err
	}
	if md.Mean, err = ParseFloats(s); err != nil {
		return nil, fmt.Errorf("modelmeta: %s: %v", KeyMean, err)
	}
	if s, err = get(KeyStd); err != nil {
		return nil, err
	}
	if md.Std, err = ParseFloats(s); err != nil {
		return nil, fmt.Errorf("modelmeta: %s: %v", KeyStd, err)
	}
	if s, err = get(KeyInputSize); err != nil {
		return nil, err
	}
	if md.InputHeight, md.InputWidth, err = ParseSize(s); err != nil {
		return nil, fmt.Errorf("modelmeta: %s: %v", KeyInputSize, err)
	}
	md.SourceSHA256, _ = m.Metadata(KeySourceSHA256)
	md.SourceFile, _ = m.Metadata(KeySourceFile)
	if err := md.Validate(); err != nil {
		return nil, err
	}
	return md, nil
}

// FormatFloats writes values as comma-separated decimals that read back to
// the same float32 values.
func FormatFloats(v []float32) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = strconv.FormatFloat(float64(f), 'g', -1, 32)
	}
	return strings.Join(parts, ",")
}

// maxFloats bounds the values ParseFloats accepts (channel counts).
const maxFloats = 4096

// ParseFloats reads comma-separated decimals (spaces around them allowed),
// as written by FormatFloats or given on a command line.
func ParseFloats(s string) ([]float32, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no values")
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxFloats {
		return nil, fmt.Errorf("%d values, at most %d", len(parts), maxFloats)
	}
	out := make([]float32, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a finite number", strings.TrimSpace(p))
		}
		out[i] = float32(f)
	}
	return out, nil
}

// maxSide bounds each side ParseSize accepts.
const maxSide = 1 << 16

// ParseSize reads "HxW" (or a single number for a square size).
func ParseSize(s string) (h, w int, err error) {
	hs, ws, found := strings.Cut(strings.TrimSpace(s), "x")
	if !found {
		ws = hs
	}
	h, err1 := strconv.Atoi(hs)
	w, err2 := strconv.Atoi(ws)
	if err1 != nil || err2 != nil || h <= 0 || w <= 0 || h > maxSide || w > maxSide {
		return 0, 0, fmt.Errorf("size %q is not HxW with sides from 1 to %d", s, maxSide)
	}
	return h, w, nil
}
