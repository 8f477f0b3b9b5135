package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/onnx"
)

func init() {
	var (
		eng    engineFlags
		inputs []string
		outDir string
	)
	app.Register(&cli.Command{
		Name:    "run",
		Summary: "run a model on TensorProto inputs and write its outputs (ONNX test-data format)",
		Usage:   "MODEL.onnx --input [NAME=]FILE.pb ... --out DIR",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringArrayVarP(&inputs, "input", "i", nil, "an input TensorProto: NAME=FILE.pb, or FILE.pb to bind the model's inputs in order (repeat)")
			fs.StringVarP(&outDir, "out", "o", "", "directory for the outputs, written as DIR/<output name>.pb")
			eng.register(fs, false)
		},
		Run: func(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error {
			if len(args) != 1 {
				return cli.Usage("want one model file, got %d arguments", len(args))
			}
			if outDir == "" {
				return cli.Usage("--out DIR is required")
			}
			if len(inputs) == 0 {
				return cli.Usage("at least one --input is required")
			}
			m, name, err := eng.load(args[0])
			if err != nil {
				return err
			}
			names := m.InputNames()
			feed := map[string]*onnx.Tensor{}
			next := 0
			for _, spec := range inputs {
				in, file, named := strings.Cut(spec, "=")
				if !named {
					file = in
					for next < len(names) && feed[names[next]] != nil {
						next++
					}
					if next >= len(names) {
						return cli.Usage("--input %s: the model has only %d input(s)", spec, len(names))
					}
					in = names[next]
				} else if !slices.Contains(names, in) {
					return cli.Usage("--input %s: the model has no input %q (it has %s)", spec, in, strings.Join(names, ", "))
				}
				if feed[in] != nil {
					return cli.Usage("--input %s: input %q given twice", spec, in)
				}
				t, err := onnx.ReadTensorFile(file)
				if err != nil {
					return err // names the file
				}
				t.Name = in
				feed[in] = t
			}
			for _, n := range names {
				if feed[n] == nil {
					return cli.Usage("no --input for the model's input %q", n)
				}
			}
			s := m.NewSession()
			defer s.Close()
			out, err := s.Run(feed)
			if err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			for _, o := range m.OutputNames() {
				t := out[o]
				path := filepath.Join(outDir, outputFileName(o))
				if err := onnx.WriteTensorFile(path, t); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s\t%v %v\t%s\n", o, t.DataType, t.Dims, path)
			}
			return nil
		},
	})
}

// outputFileName is <output name>.pb, with path separators and a leading
// dot (names like "/fc/Gemm_output_0" or "..") made harmless.
func outputFileName(name string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", "\x00", "_")
	n := r.Replace(name)
	if n == "" || strings.HasPrefix(n, ".") {
		n = "_" + n
	}
	return n + ".pb"
}
