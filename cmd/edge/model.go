package main

import (
	"fmt"
	"os"
	goruntime "runtime"

	"github.com/spf13/pflag"

	"github.com/piresnet/piresnet/boards"
	"github.com/piresnet/piresnet/internal/cli"
	"github.com/piresnet/piresnet/runtime"
)

// defaultModel returns the ONNX model built into edge, used when a command
// is given no model. It is nil until a file of this package that embeds the
// default model sets it (from init).
var defaultModel func() ([]byte, error)

// defaultModelName names the built-in model in messages.
const defaultModelName = "built-in model"

// engineFlags are the model-loading flags shared by the edge subcommands
// that run a model: which model, how many threads, which kernels.
type engineFlags struct {
	model   string
	threads int
	kernels string
}

// register declares the flags; withModel adds --model (for commands whose
// model is not a positional argument).
func (f *engineFlags) register(fs *pflag.FlagSet, withModel bool) {
	if withModel {
		fs.StringVarP(&f.model, "model", "m", "", "ONNX model (default: the model built into edge)")
	}
	fs.IntVarP(&f.threads, "threads", "t", 0, "inference threads (default: the board's, see edge board)")
	fs.StringVar(&f.kernels, "kernels", "auto", "convolution kernels: auto, generic, or a kernel name (edge info lists them)")
}

// options returns the runtime options the flags ask for, the thread count
// resolved (0: the board profile's, else the CPUs').
func (f *engineFlags) options() (runtime.Options, error) {
	if f.threads < 0 {
		return runtime.Options{}, cli.Usage("--threads must be positive, got %d", f.threads)
	}
	threads := f.threads
	if threads == 0 {
		threads = boards.Detect(os.DirFS("/"), goruntime.GOARCH).Threads
	}
	if threads <= 0 {
		threads = goruntime.NumCPU()
	}
	return runtime.Options{Threads: threads, Kernels: f.kernels}, nil
}

// load loads the model at path (or, when path is "", the built-in model)
// with the flags' options. It returns the model and the name to show.
// Errors are one line naming the file; a model that cannot be read or run
// exits with status 3, a bad flag with 2.
func (f *engineFlags) load(path string) (*runtime.Model, string, error) {
	opt, err := f.options()
	if err != nil {
		return nil, "", err
	}
	if _, err := runtime.KernelsAvailable(opt.Kernels); err != nil {
		return nil, "", cli.Usage("--kernels %s: %v", opt.Kernels, err)
	}
	if path == "" {
		if defaultModel == nil {
			return nil, "", cli.Usage("no model given and this build of edge has no built-in model")
		}
		b, err := defaultModel()
		if err != nil {
			return nil, "", cli.BadModel(fmt.Errorf("%s: %v", defaultModelName, err))
		}
		m, err := runtime.LoadBytes(b, defaultModelName, opt)
		if err != nil {
			return nil, "", cli.BadModel(err)
		}
		return m, defaultModelName, nil
	}
	m, err := runtime.Load(path, opt)
	if err != nil {
		return nil, "", cli.BadModel(err)
	}
	return m, path, nil
}
