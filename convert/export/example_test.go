package export_test

import (
	"fmt"
	"log"
	"path/filepath"
	"strings"

	"github.com/piresnet/piresnet/convert/export"
	"github.com/piresnet/piresnet/internal/modelmeta"
)

// testdata/families/example.pth is a tiny ResNet in the style of the fastai
// book's chapter 14 (written by testdata/families/make_fixtures.py): a
// 1-channel ConvLayer stem, one strided ResBlock with a 1x1 idconv, and a
// Linear to 3 classes.
func ExampleExportFile() {
	opt := export.Options{
		Labels: []string{"cat", "dog", "bird"},
		Mean:   []float32{0.5}, // required for models without 3 channels
		Std:    []float32{0.25},
	}
	m, s, err := export.ExportFile(filepath.Join("..", "..", "testdata", "families", "example.pth"), opt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Architecture, s.Family)
	fmt.Println(s.Structure)
	fmt.Println("params", s.Params, "classes", s.Classes, "folded", s.FoldedBN)
	var ops []string
	for _, n := range m.Graph.Nodes {
		ops = append(ops, n.OpType+" "+n.Name)
	}
	fmt.Println(strings.Join(ops, "\n"))
	md, err := modelmeta.Parse(m)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(md.Labels, md.InputChannels, md.Mean, md.Std, md.SourceFile)
	// Output:
	// fastai-book-resnet book
	// stem 3x3/1→4; basic blocks [1], widths [8]; head avg-pool linear 8→3
	// params 1015 classes 3 folded 4
	// Conv 0.0
	// Relu 0.2
	// Conv 1.0.convs.0.0
	// Relu 1.0.convs.0.2
	// Conv 1.0.convs.1.0
	// AveragePool 1.0.pool
	// Conv 1.0.idconv.0
	// Add 1.0.add
	// Relu 1.0.relu
	// GlobalAveragePool 2
	// Flatten 3
	// Gemm 4
	// [cat dog bird] 1 [0.5] [0.25] example.pth
}
