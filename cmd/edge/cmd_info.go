package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/internal/modelmeta"
	"github.com/piresnet/piresnet/runtime"
)

func init() {
	var (
		eng     engineFlags
		size    string
		jsonOut bool
		layers  bool
	)
	app.Register(&cli.Command{
		Name:    "info",
		Summary: "describe a model: inputs, outputs, operators, parameters, MACs, lowered and fallback nodes, memory, kernels",
		Usage:   "[MODEL.onnx] [--size HxW]",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&size, "size", "", "input size HxW the MACs and the arena are computed for (default: the model's suggested size, its metadata, else 224x224)")
			fs.BoolVar(&layers, "layers", false, "also list the engine's layers")
			fs.BoolVar(&jsonOut, "json", false, "print one JSON object")
			eng.register(fs, false)
		},
		Run: func(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error {
			if len(args) > 1 {
				return cli.Usage("want at most one model file, got %d arguments", len(args))
			}
			h, w := 0, 0
			if size != "" {
				var err error
				if h, w, err = parseHW(size); err != nil {
					return cli.Usage("--size %v", err)
				}
			}
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			m, name, err := eng.load(path)
			if err != nil {
				return err
			}
			if h == 0 {
				h, w = 224, 224
				if md, err := modelmeta.Parse(m.Source()); err == nil && md.InputHeight > 0 {
					h, w = md.InputHeight, md.InputWidth
				}
			}
			info, err := m.Info(h, w)
			if err != nil {
				return cli.BadModel(fmt.Errorf("%s: %v", name, err))
			}
			if jsonOut {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Size string `json:"size"`
					*runtime.Info
					AllKernels []string `json:"all_kernels"`
				}{fmt.Sprintf("%dx%d", h, w), info, runtime.KernelNames()})
			}
			printInfo(stdout, name, info, h, w, layers)
			return nil
		},
	})
}

// parseHW parses "HxW".
func parseHW(s string) (int, int, error) {
	var h, w int
	var rest string
	if n, _ := fmt.Sscanf(s, "%dx%d%s", &h, &w, &rest); n != 2 || h < 1 || w < 1 || h > 1<<14 || w > 1<<14 {
		return 0, 0, fmt.Errorf("%q: want HxW, e.g. 224x224", s)
	}
	return h, w, nil
}

func mib(b int64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }

func printInfo(out io.Writer, name string, info *runtime.Info, h, w int, layers bool) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	kind := "int8, integer engine"
	if info.Float {
		kind = "float, on the float reference"
	}
	fmt.Fprintf(tw, "model:\t%s (%s)\n", name, kind)
	for _, t := range info.Inputs {
		fmt.Fprintf(tw, "input:\t%s %v [%s]\n", t.Name, t.Type, strings.Join(t.Dims, " "))
	}
	for _, t := range info.Outputs {
		fmt.Fprintf(tw, "output:\t%s %v [%s]\n", t.Name, t.Type, strings.Join(t.Dims, " "))
	}
	for _, p := range info.Metadata {
		v := p.Value
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		fmt.Fprintf(tw, "metadata:\t%s = %s\n", p.Key, v)
	}
	var ops []string
	for op, n := range info.OpCounts {
		ops = append(ops, fmt.Sprintf("%s %d", op, n))
	}
	sort.Strings(ops)
	fmt.Fprintf(tw, "operators:\t%s\n", strings.Join(ops, ", "))
	fmt.Fprintf(tw, "parameters:\t%d (%.2f M)\n", info.Parameters, float64(info.Parameters)/1e6)
	fmt.Fprintf(tw, "MACs at %dx%d:\t%d (%.3f G)\n", h, w, info.MACs, float64(info.MACs)/1e9)
	fmt.Fprintf(tw, "lowered nodes:\t%d\n", len(info.Lowered))
	if len(info.Fallback) == 0 {
		fmt.Fprintf(tw, "fallback nodes:\tnone\n")
	} else {
		fmt.Fprintf(tw, "fallback nodes:\t%d (float reference): %s\n", len(info.Fallback), strings.Join(info.Fallback, ", "))
	}
	fmt.Fprintf(tw, "weights:\t%s\n", mib(info.WeightsBytes))
	if !info.Float {
		fmt.Fprintf(tw, "arena at %dx%d:\t%s (+ %s indirection and gather tables)\n", h, w, mib(info.ArenaBytes), mib(info.TableBytes))
		fmt.Fprintf(tw, "peak memory at %dx%d:\t%s per session (weights + arena + tables)\n", h, w, mib(info.WeightsBytes+info.ArenaBytes+info.TableBytes))
	}
	fmt.Fprintf(tw, "kernels:\t%s\n", strings.Join(info.Kernels, ", "))
	fmt.Fprintf(tw, "threads:\t%d\n", info.Threads)
	tw.Flush()
	if layers {
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "\nlayer\tkind\tkernel\tnodes\n")
		for i, l := range info.Layers {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i, l.Kind, l.Kernel, strings.Join(l.Nodes, ", "))
		}
		tw.Flush()
	}
}
