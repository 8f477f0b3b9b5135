package checkpoint_test

import (
	"fmt"
	"log"

	"github.com/piresnet/piresnet/internal/checkpoint"
)

// testdata/example.pth was written by torch.save (see testdata/make_fixtures.py):
// OrderedDict(fc.weight = [[0.5, -1], [2, 0.25]], fc.bias = float16 [1, -1]).
func ExampleLoad() {
	sd, err := checkpoint.Load("testdata/example.pth", checkpoint.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sd.Format, sd.Container)
	for _, k := range sd.Keys {
		t := sd.Tensors[k]
		fmt.Println(k, t.Shape, t.DType, t.Data)
	}
	// Output:
	// torch-zip state_dict
	// fc.weight [2 2] float32 [0.5 -1 2 0.25]
	// fc.bias [2] float16 [1 -1]
}

// Errors are one line naming the file; the kind is there for errors.Is.
func ExampleLoad_error() {
	_, err := checkpoint.Load("testdata/no-such.pth", checkpoint.Options{})
	fmt.Println(err)
	// Output:
	// checkpoint: testdata/no-such.pth: no such file or directory
}
