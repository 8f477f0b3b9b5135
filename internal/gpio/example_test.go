package gpio_test

import (
	"os"

	"github.com/piresnet/piresnet/internal/camera"
	"github.com/piresnet/piresnet/internal/gpio"
)

func ExampleAction() {
	rule, _ := gpio.ParseRule("person:0.6")
	// A dry run prints the edges; on a board, pass the pin from
	// gpio.Lookup("GPIO17", os.DirFS("/")) after host.Init.
	a, _ := gpio.New(nil, "GPIO17", rule, os.Stdout)
	for _, p := range []float32{0.2, 0.7, 0.8, 0.3} {
		a.Update([]camera.Prediction{{Label: "person", Prob: p}})
	}
	a.Close()
	// Output:
	// gpio GPIO17: high (person 0.700; top person 0.700)
	// gpio GPIO17: low (person 0.300; top person 0.300)
}
