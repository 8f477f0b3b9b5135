package convert

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/dataset"
	"github.com/piresnet/piresnet/internal/imageprep"
	"github.com/piresnet/piresnet/internal/onnx"
)

// ImageCalibration is a Calibration over a set of images (a folder, idx
// files) preprocessed with a model's Spec.
type ImageCalibration struct {
	Src  dataset.Source
	Spec imageprep.Spec
}

// NewImageCalibration checks the spec and returns the calibration.
func NewImageCalibration(src dataset.Source, spec imageprep.Spec) (*ImageCalibration, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("convert: %v", err)
	}
	return &ImageCalibration{Src: src, Spec: spec}, nil
}

// Len returns the number of images.
func (c *ImageCalibration) Len() int { return c.Src.Len() }

// Shape returns the spec's channels and size.
func (c *ImageCalibration) Shape() (int, int, int) {
	return c.Spec.Channels, c.Spec.Height, c.Spec.Width
}

// Sample decodes and preprocesses image i into dst.
func (c *ImageCalibration) Sample(i int, dst []float32) error {
	img, err := c.Src.Image(i)
	if err != nil {
		return fmt.Errorf("convert: %v", err)
	}
	if _, err := c.Spec.Tensor(img, dst); err != nil {
		return fmt.Errorf("convert: %s: %v", c.Src.Name(i), err)
	}
	return nil
}

// TensorCalibration is a Calibration over tensors in memory, each
// [1, C, H, W] or [C, H, W], all of the same shape.
type TensorCalibration []*onnx.Tensor

// Len returns the number of tensors.
func (t TensorCalibration) Len() int { return len(t) }

// Shape returns the shape of the first tensor.
func (t TensorCalibration) Shape() (int, int, int) {
	d := t[0].Dims
	d = d[len(d)-3:]
	return int(d[0]), int(d[1]), int(d[2])
}

// Sample copies tensor i.
func (t TensorCalibration) Sample(i int, dst []float32) error {
	if len(t[i].F32) != len(dst) {
		return fmt.Errorf("convert: calibration tensor %d has %d values, want %d", i, len(t[i].F32), len(dst))
	}
	copy(dst, t[i].F32)
	return nil
}

// MultiCalibration calibrates with the same samples at several input
// sizes (the first member's size is the report's): each sample is run
// through the float model once per member and every run adds to the same
// histograms, so that one int8 model fits every size it will run at (a
// fully convolutional ResNet's activations depend on the input size). The
// members must have the same length, the same samples in the same order.
type MultiCalibration []Calibration

func (m MultiCalibration) check() error {
	if len(m) == 0 {
		return fmt.Errorf("convert: empty MultiCalibration")
	}
	for _, c := range m[1:] {
		if c.Len() != m[0].Len() {
			return fmt.Errorf("convert: MultiCalibration members of %d and %d samples", m[0].Len(), c.Len())
		}
		if _, ok := c.(MultiCalibration); ok {
			return fmt.Errorf("convert: nested MultiCalibration")
		}
	}
	return nil
}

// Len returns the number of samples of the first member.
func (m MultiCalibration) Len() int { return m[0].Len() }

// Shape returns the first member's shape.
func (m MultiCalibration) Shape() (int, int, int) { return m[0].Shape() }

// Sample returns the first member's sample.
func (m MultiCalibration) Sample(i int, dst []float32) error { return m[0].Sample(i, dst) }
