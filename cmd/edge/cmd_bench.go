package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/internal/cli"
)

// benchResult is one size of edge bench (one JSON object per size).
type benchResult struct {
	Model    string  `json:"model"`
	Size     string  `json:"size"`
	Threads  int     `json:"threads"`
	Runs     int     `json:"runs"`
	Warmup   int     `json:"warmup"`
	MedianMS float64 `json:"median_ms"`
	P90MS    float64 `json:"p90_ms"`
	MinMS    float64 `json:"min_ms"`
	MACs     int64   `json:"macs"`
	GMACs    float64 `json:"gmac_per_s"` // MACs / median
	Kernels  string  `json:"kernels"`
	Fallback int     `json:"fallback_nodes"`
	// TimesMS are the timed runs in order (scripts/benchvsort pools them
	// across rounds).
	TimesMS []float64 `json:"times_ms"`
	// CPUMS is the process CPU time (user + system) of each timed run: on
	// a loaded machine, a one-thread run's latency without the waits for a
	// CPU.
	CPUMS []float64 `json:"cpu_ms"`
}

func init() {
	var (
		eng     engineFlags
		sizes   string
		runs    int
		warmup  int
		jsonOut bool
	)
	app.Register(&cli.Command{
		Name:    "bench",
		Summary: "measure inference latency (median, p90, min) at one or more input sizes",
		Usage:   "[--model M] --size HxW[,HxW...] [--threads N] [--runs R] [--warmup W] [--json]",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&sizes, "size", "224x224", "input sizes, comma-separated HxW")
			fs.IntVarP(&runs, "runs", "r", 20, "timed runs per size")
			fs.IntVar(&warmup, "warmup", 3, "untimed runs per size before timing (the first builds the plan)")
			fs.BoolVar(&jsonOut, "json", false, "print one JSON object per size")
			eng.register(fs, true)
		},
		Run: func(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error {
			if len(args) > 0 {
				return cli.Usage("unexpected argument %q (the model is --model)", args[0])
			}
			if runs < 1 || warmup < 0 {
				return cli.Usage("--runs must be at least 1 and --warmup at least 0")
			}
			var hw [][2]int
			for _, s := range strings.Split(sizes, ",") {
				h, w, err := parseHW(strings.TrimSpace(s))
				if err != nil {
					return cli.Usage("--size %v", err)
				}
				hw = append(hw, [2]int{h, w})
			}
			m, name, err := eng.load(eng.model)
			if err != nil {
				return err
			}
			var results []benchResult
			for _, size := range hw {
				h, w := size[0], size[1]
				info, err := m.Info(h, w)
				if err != nil {
					return cli.BadModel(fmt.Errorf("%s: %v", name, err))
				}
				if len(info.Inputs) != 1 || len(info.Outputs) != 1 || len(info.Inputs[0].Dims) != 4 {
					return cli.BadModel(fmt.Errorf("%s: edge bench runs classifiers (one NCHW image input, one output)", name))
				}
				c := 3
				fmt.Sscan(info.Inputs[0].Dims[1], &c)
				classes := 1
				for _, d := range info.Outputs[0].Dims {
					var v int
					fmt.Sscan(d, &v)
					classes *= max(v, 1)
				}
				r := rand.New(rand.NewPCG(uint64(h), uint64(w)))
				input := make([]float32, c*h*w)
				for i := range input {
					input[i] = float32(r.NormFloat64())
				}
				logits := make([]float32, classes)
				s := m.NewSession()
				for i := 0; i < warmup; i++ {
					if err := s.RunFloat(input, 1, c, h, w, logits); err != nil {
						s.Close()
						return fmt.Errorf("%s: %v", name, err)
					}
				}
				times := make([]float64, runs)
				cpu := make([]float64, runs)
				for i := range times {
					c0 := processCPU()
					t0 := time.Now()
					if err := s.RunFloat(input, 1, c, h, w, logits); err != nil {
						s.Close()
						return fmt.Errorf("%s: %v", name, err)
					}
					times[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
					cpu[i] = float64((processCPU() - c0).Nanoseconds()) / 1e6
				}
				s.Close()
				inOrder := slices.Clone(times)
				slices.Sort(times)
				res := benchResult{Model: name, Size: fmt.Sprintf("%dx%d", h, w), Threads: m.Options().Threads, Runs: runs, Warmup: warmup,
					MedianMS: median(times), P90MS: percentile(times, 0.9), MinMS: times[0], MACs: info.MACs,
					Kernels: strings.Join(info.Kernels, ","), Fallback: len(info.Fallback), TimesMS: inOrder, CPUMS: cpu}
				if res.MedianMS > 0 {
					res.GMACs = float64(info.MACs) / (res.MedianMS * 1e6)
				}
				if jsonOut {
					b, _ := json.Marshal(res)
					fmt.Fprintf(stdout, "%s\n", b)
				}
				results = append(results, res)
			}
			if !jsonOut {
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "model\tsize\tthreads\truns\tmedian ms\tp90 ms\tmin ms\tGMAC/s\n")
				for _, r := range results {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\n", r.Model, r.Size, r.Threads, r.Runs, r.MedianMS, r.P90MS, r.MinMS, r.GMACs)
				}
				tw.Flush()
			}
			return nil
		},
	})
}

// median of sorted values.
func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// percentile of sorted values (nearest rank).
func percentile(v []float64, p float64) float64 {
	i := int(p*float64(len(v))+0.999999) - 1
	return v[min(max(i, 0), len(v)-1)]
}
