package dataset_test

import (
	"bytes"
	"fmt"

	"github.com/piresnet/piresnet/internal/dataset"
)

// An idx file of two 2x3 images: magic 0x00000803, dims 2, 2, 3, pixels.
func ExampleReadIDX() {
	file := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	x, err := dataset.ReadIDX(bytes.NewReader(file), dataset.DefaultLimits())
	if err != nil {
		panic(err)
	}
	set, err := dataset.NewIDXSet("example", x, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Dims, set.Len(), set.Pixels(1))
	// Output: [2 2 3] 2 [7 8 9 10 11 12]
}
