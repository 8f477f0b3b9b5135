// Command int8cmd converts a float ONNX model (written by export, with its
// piresnet metadata) to a calibrated int8 QDQ model:
//
//	go run ./convert/internal/int8cmd --calib DIR|IDX [flags] FLOAT.onnx -o INT8.onnx
//
// It takes the flags `export --int8` takes (convert.CLI); the fixture
// scripts use it to convert float files they already have
// (testdata/fashion/make_default_model.sh, testdata/qdq/make_fixtures.sh).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/convert"
	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/onnx"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	err := runErr(args, stdout, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return cli.ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "int8cmd: %s\n", strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; "))
	}
	return cli.Code(err)
}

func runErr(args []string, stdout, stderr io.Writer) error {
	var c convert.CLI
	var out string
	fs := pflag.NewFlagSet("int8cmd", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	c.Register(fs)
	fs.StringVarP(&out, "output", "o", "", "int8 ONNX file to write (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: int8cmd --calib DIR|IDX [flags] FLOAT.onnx -o INT8.onnx\n\nFlags:\n%s", fs.FlagUsages())
			return err
		}
		return cli.Usage("%v", err)
	}
	if fs.NArg() != 1 || out == "" {
		return cli.Usage("want one FLOAT.onnx argument and -o INT8.onnx")
	}
	c.Int8 = true
	m, err := onnx.ReadFile(fs.Arg(0))
	if err != nil {
		return cli.BadModel(err)
	}
	q, _, err := c.Convert(m, stdout, stderr)
	if err != nil {
		return err
	}
	if err := onnx.WriteFile(out, q); err != nil {
		return &cli.Error{Code: cli.ExitFailure, Err: err}
	}
	fmt.Fprintf(stdout, "wrote %s (%s)\n", out, c.Describe())
	return nil
}
