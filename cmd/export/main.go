// Command export turns a PyTorch or fastai ResNet checkpoint into an ONNX
// model, without Python:
//
//	export [flags] CHECKPOINT -o MODEL.onnx
//	export --int8 --calib DIR [flags] CHECKPOINT|FLOAT.onnx -o INT8.onnx
//
// With --int8 the float model (exported from the checkpoint, or a float
// ONNX ResNet: the project's own export or torch.onnx.export's) is
// calibrated on the images of --calib and converted to int8 QDQ ONNX by
// package convert. (export is also a shell builtin: run it as ./bin/export or go run
// ./cmd/export.) The work is done by package convert/export; this file reads
// the flags, reports progress on standard error and prints a summary on
// standard output.
//
// Exit statuses (internal/cli): 0 success, 2 usage error (bad flag, missing
// argument, labels that do not match the classes), 3 bad checkpoint
// (unreadable, malformed, refused, or no known ResNet), 4 other failure
// (writing the output).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/convert"
	"github.com/piresnet/piresnet/convert/export"
	"github.com/piresnet/piresnet/internal/checkpoint"
	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/internal/onnx"
)

const usage = `Usage: export [flags] CHECKPOINT -o MODEL.onnx
       export --int8 --calib DIR [flags] CHECKPOINT|FLOAT.onnx -o INT8.onnx

Reads a PyTorch checkpoint (torch.save zip or legacy, fastai learn.save,
Lightning, DataParallel, safetensors), recognizes the ResNet in it and writes
an ONNX model with dynamic batch, height and width. With --int8 it calibrates
on the images of --calib (a folder of JPEG/PNG, ImageFolder or flat, or an
idx file) and writes a calibrated int8 QDQ model instead. The input may also
be a float ONNX ResNet (from this tool or torch.onnx.export); one without
this tool's metadata takes --labels, --mean, --std and --input-size.

Families (--arch):
%s
Flags:
%s`

func main() {
	defer cli.CatchInterrupts("export", os.Stderr)()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) (code int) {
	defer cli.RecoverPanic("export", stderr, &code)
	err := runErr(args, stdout, stderr)
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return cli.ExitOK
		}
		msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
		fmt.Fprintf(stderr, "export: %s\n", strings.TrimPrefix(msg, "export: "))
	}
	return cli.Code(err)
}

type flags struct {
	output, arch, labels, mean, std, inputSize string
	keepBN                                     bool
	opset                                      int
	quiet                                      bool
	conv                                       convert.CLI
}

func newFlagSet(f *flags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("export", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVarP(&f.output, "output", "o", "", "ONNX file to write (required)")
	fs.StringVar(&f.arch, "arch", "auto", "architecture: auto, a family ("+strings.Join(export.FamilyKeys(), ", ")+"), a model name to confirm (resnet50, xresnet34, …), or book:stem=S-S…,stages=S-S… to set the book ResNet's strides")
	fs.StringVar(&f.labels, "labels", "", "file with the class names, one a line (default class_0, class_1, …)")
	fs.StringVar(&f.mean, "mean", "", "per-channel mean after scaling pixels to [0,1], comma-separated (default ImageNet's for 3 channels; required otherwise)")
	fs.StringVar(&f.std, "std", "", "per-channel standard deviation, comma-separated (default ImageNet's for 3 channels; required otherwise)")
	fs.StringVar(&f.inputSize, "input-size", "224x224", "suggested input size HxW written to the metadata (the model takes any size)")
	fs.BoolVar(&f.keepBN, "keep-bn", false, "keep BatchNorm as BatchNormalization nodes instead of folding it into convolutions and Linear layers")
	fs.IntVar(&f.opset, "opset", export.DefaultOpset, fmt.Sprintf("ONNX opset version (%d to %d)", export.MinOpset, export.MaxOpset))
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing on success")
	f.conv.Register(fs)
	return fs
}

func printUsage(w io.Writer, fs *pflag.FlagSet) {
	var fam strings.Builder
	for _, f := range export.Families {
		fmt.Fprintf(&fam, "  %-15s %s\n", f.Key, f.Description)
	}
	fmt.Fprintf(w, usage, fam.String(), fs.FlagUsages())
}

func runErr(args []string, stdout, stderr io.Writer) error {
	var f flags
	fs := newFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printUsage(stdout, fs)
			return err
		}
		return cli.Usage("%v (run 'export --help')", err)
	}
	if fs.NArg() != 1 {
		return cli.Usage("want one CHECKPOINT argument, have %d (run 'export --help')", fs.NArg())
	}
	if f.output == "" {
		return cli.Usage("no output file: give -o MODEL.onnx")
	}
	in := fs.Arg(0)
	opt := export.Options{Arch: f.arch, KeepBN: f.keepBN, Opset: f.opset}
	var err error
	if f.labels != "" {
		if opt.Labels, err = modelmeta.ReadLabels(f.labels); err != nil {
			return cli.Usage("--labels %v", err)
		}
	}
	if f.mean != "" {
		if opt.Mean, err = modelmeta.ParseFloats(f.mean); err != nil {
			return cli.Usage("--mean: %v", err)
		}
	}
	if f.std != "" {
		if opt.Std, err = modelmeta.ParseFloats(f.std); err != nil {
			return cli.Usage("--std: %v", err)
		}
	}
	if opt.InputHeight, opt.InputWidth, err = modelmeta.ParseSize(f.inputSize); err != nil {
		return cli.Usage("--input-size: %v", err)
	}

	if err := f.conv.Check(); err != nil {
		return err
	}
	if f.quiet {
		f.conv.Table = false
	}

	// What goes to stdout is printed once the file is written: a failed run
	// prints one line on stderr and nothing else.
	var report bytes.Buffer
	var m *onnx.Model
	if strings.EqualFold(filepath.Ext(in), ".onnx") {
		if m, err = readFloatONNX(in, fs, opt); err != nil {
			return err
		}
	} else {
		var sum *export.Summary
		if m, sum, err = exportCheckpoint(in, opt, f.quiet, stderr); err != nil {
			return err
		}
		if !f.quiet {
			printSummary(&report, sum)
		}
	}
	if f.conv.Int8 {
		progress := stderr
		if f.quiet {
			progress = io.Discard
		}
		q, _, err := f.conv.Convert(m, &report, progress)
		if err != nil {
			if cli.Code(err) == cli.ExitBadModel && !strings.Contains(err.Error(), in) {
				// Name the model the problem is in.
				return cli.BadModel(fmt.Errorf("%s: %s", in, strings.TrimPrefix(err.Error(), "convert: ")))
			}
			return err
		}
		m = q
	}
	if err := onnx.WriteFile(f.output, m); err != nil {
		return &cli.Error{Code: cli.ExitFailure, Err: fmt.Errorf("%s: %v", f.output, strings.TrimPrefix(err.Error(), "onnx: "))}
	}
	if !f.quiet {
		what := fmt.Sprintf("float, opset %d", opsetOf(m))
		if f.conv.Int8 {
			what = "int8 QDQ, " + f.conv.Describe()
		}
		fmt.Fprintf(&report, "wrote         %s (%s)\n", f.output, what)
		stdout.Write(report.Bytes())
	}
	return nil
}

// exportCheckpoint reads a checkpoint and builds the float model, with a
// progress bar on a terminal for large files.
func exportCheckpoint(in string, opt export.Options, quiet bool, stderr io.Writer) (*onnx.Model, *export.Summary, error) {
	var bar *cli.Progress
	step := ""
	opt.Progress = func(s string, done, total int64) {
		if s != step {
			bar.Done()
			bar, step = nil, s
		}
		if bar == nil {
			if !cli.IsTerminal(stderr) || total < 16<<20 || quiet {
				return
			}
			bar = cli.NewProgress(stderr, s+" "+in, total, "B")
		}
		bar.Set(done)
	}
	m, sum, err := export.ExportFile(in, opt)
	bar.Done()
	if err != nil {
		return nil, nil, classify(in, err)
	}
	return m, sum, nil
}

// readFloatONNX reads a float ONNX model given instead of a checkpoint.
// A model without this tool's metadata (torch.onnx.export's) gets it from
// the flags: labels (default class_i, as many as the output has classes),
// mean and std (default ImageNet's for 3 channels), the input size; a model
// with metadata keeps it, except for the flags given explicitly.
func readFloatONNX(in string, fs *pflag.FlagSet, opt export.Options) (*onnx.Model, error) {
	m, err := onnx.ReadFile(in)
	if err != nil {
		return nil, cli.BadModel(err)
	}
	md, err := modelmeta.Parse(m)
	switch {
	case errors.Is(err, modelmeta.ErrNoMetadata):
		if md, err = metadataFromGraph(in, m); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, cli.BadModel(fmt.Errorf("%s: %v", in, err))
	}
	if fs.Changed("labels") {
		if len(opt.Labels) != len(md.Labels) {
			return nil, cli.Usage("--labels: %d labels for a model with %d classes", len(opt.Labels), len(md.Labels))
		}
		md.Labels = opt.Labels
	}
	if fs.Changed("mean") {
		md.Mean = opt.Mean
	}
	if fs.Changed("std") {
		md.Std = opt.Std
	}
	if fs.Changed("input-size") || md.InputHeight == 0 {
		md.InputHeight, md.InputWidth = opt.InputHeight, opt.InputWidth
	}
	if md.Mean == nil && md.InputChannels == 3 {
		md.Mean, md.Std = modelmeta.ImageNetMean, modelmeta.ImageNetStd
	}
	if md.Mean == nil || md.Std == nil {
		return nil, cli.Usage("%s: a %d-channel model needs --mean and --std", in, md.InputChannels)
	}
	if err := md.Apply(m); err != nil {
		return nil, cli.Usage("%s: %v", in, strings.TrimPrefix(err.Error(), "modelmeta: "))
	}
	return m, nil
}

// metadataFromGraph starts the metadata of a model that has none from its
// graph: the input's channels ([N, C, H, W], C fixed) and the output's
// classes ([N, classes]).
func metadataFromGraph(in string, m *onnx.Model) (*modelmeta.Metadata, error) {
	g := m.Graph
	if g == nil || len(g.Inputs) == 0 || len(g.Outputs) != 1 {
		return nil, cli.BadModel(fmt.Errorf("%s: want a graph with an image input and one output", in))
	}
	var x *onnx.ValueInfo
	for _, vi := range g.Inputs {
		if g.Initializer(vi.Name) == nil {
			x = vi
			break
		}
	}
	dim := func(vi *onnx.ValueInfo, rank, i int) int64 {
		if vi == nil || vi.Type == nil || !vi.Type.HasShape || len(vi.Type.Shape) != rank || !vi.Type.Shape[i].HasValue {
			return 0
		}
		return vi.Type.Shape[i].Value
	}
	c, k := dim(x, 4, 1), dim(g.Outputs[0], 2, 1)
	if c <= 0 || c > 64 {
		return nil, cli.BadModel(fmt.Errorf("%s: the input is not [N, C, H, W] with a fixed channel count", in))
	}
	if k <= 0 || k > 1<<20 {
		return nil, cli.BadModel(fmt.Errorf("%s: the output is not [N, classes] with a fixed class count", in))
	}
	md := &modelmeta.Metadata{Architecture: "onnx", InputChannels: int(c), SourceFile: filepath.Base(in)}
	for i := range k {
		md.Labels = append(md.Labels, fmt.Sprintf("class_%d", i))
	}
	return md, nil
}

func opsetOf(m *onnx.Model) int64 {
	for _, o := range m.OpsetImports {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			return o.Version
		}
	}
	return 0
}

// classify gives an error its exit status: bad options are usage errors,
// everything about the checkpoint is a bad-model error.
func classify(in string, err error) error {
	var ce *checkpoint.Error
	switch {
	case errors.Is(err, export.ErrOption), errors.Is(err, export.ErrArch):
		return cli.Usage("%s: %v", in, unwrapFile(err))
	case errors.As(err, &ce), errors.Is(err, export.ErrUnrecognized):
		return cli.BadModel(err)
	}
	return cli.BadModel(err) // a checkpoint whose values cannot be exported (non-finite, negative variance)
}

func unwrapFile(err error) error {
	var fe *export.FileError
	if errors.As(err, &fe) {
		return fe.Err
	}
	return err
}

// readLabels reads one label a line; blank lines at the end are ignored, a
// blank line elsewhere is an error.

func printSummary(w io.Writer, s *export.Summary) {
	labels := strings.Join(s.Labels, ", ")
	if len(s.Labels) > 6 {
		labels = strings.Join(s.Labels[:5], ", ") + fmt.Sprintf(", … (%d)", len(s.Labels))
	}
	prefix := ""
	if s.StrippedPrefix != "" {
		prefix = fmt.Sprintf(", prefix %q stripped", s.StrippedPrefix)
	}
	bn := fmt.Sprintf("%d BatchNorm folded", s.FoldedBN)
	fmt.Fprintf(w, "architecture  %s (%s)\n", s.Architecture, s.Structure)
	fmt.Fprintf(w, "checkpoint    %s, %s%s\n", s.Format, s.Container, prefix)
	fmt.Fprintf(w, "parameters    %s\n", grouped(s.Params))
	fmt.Fprintf(w, "MACs          %.2f G at 224x224\n", float64(s.MACs224)/1e9)
	fmt.Fprintf(w, "input         %d channel(s), mean %s, std %s\n", s.InChannels, modelmeta.FormatFloats(s.Mean), modelmeta.FormatFloats(s.Std))
	fmt.Fprintf(w, "classes       %d: %s\n", s.Classes, labels)
	fmt.Fprintf(w, "float model   opset %d, %s\n", s.Opset, bn)
}

func grouped(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
