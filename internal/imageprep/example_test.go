package imageprep_test

import (
	"fmt"
	"image"

	"github.com/piresnet/piresnet/internal/imageprep"
)

// A grey 2x2 image becomes the input of a 1-channel model with
// Fashion-MNIST's normalization, upscaled to 4x4 by pixel replication.
func ExampleSpec_Tensor() {
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	copy(img.Pix, []uint8{0, 255, 128, 64})
	s := imageprep.Spec{Channels: 1, Mean: []float32{0.2860406}, Std: []float32{0.3530242},
		Height: 4, Width: 4, Interp: imageprep.Nearest}
	x, err := s.Tensor(img, nil)
	if err != nil {
		panic(err)
	}
	for y := range 4 {
		fmt.Printf("%6.3f\n", x[y*4:(y+1)*4])
	}
	// Output:
	// [-0.810 -0.810  2.022  2.022]
	// [-0.810 -0.810  2.022  2.022]
	// [ 0.612  0.612 -0.099 -0.099]
	// [ 0.612  0.612 -0.099 -0.099]
}
