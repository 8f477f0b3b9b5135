package modelmeta_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
)

func ExampleMetadata_Apply() {
	m := &onnx.Model{Graph: &onnx.Graph{}}
	md := &modelmeta.Metadata{
		Architecture:  "fastai-book-resnet",
		Labels:        []string{"T-shirt/top", "Trouser"},
		InputChannels: 1,
		Mean:          []float32{0.2860},
		Std:           []float32{0.3530},
		InputHeight:   28,
		InputWidth:    28,
	}
	if err := md.Apply(m); err != nil {
		log.Fatal(err)
	}
	for _, p := range m.MetadataProps {
		fmt.Printf("%s = %s\n", p.Key, p.Value)
	}
	back, err := modelmeta.Parse(m)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Labels[1], back.Mean, back.InputHeight)
	// Output:
	// piresnet.schema = 1
	// piresnet.architecture = fastai-book-resnet
	// piresnet.labels = ["T-shirt/top","Trouser"]
	// piresnet.input_channels = 1
	// piresnet.mean = 0.286
	// piresnet.std = 0.353
	// piresnet.input_size = 28x28
	// Trouser [0.286] 28
}

func ExampleParseLabels() {
	labels, err := modelmeta.ParseLabels(strings.NewReader("\ufeffT-shirt/top\r\nTrouser\r\n\r\n"))
	fmt.Println(labels, err)
	_, err = modelmeta.ParseLabels(strings.NewReader("cat\n\ndog\n"))
	fmt.Println(err)
	// Output:
	// [T-shirt/top Trouser] <nil>
	// line 2 is empty
}
