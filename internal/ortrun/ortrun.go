// Package ortrun runs ONNX models with ONNX Runtime 1.30 (the npm package
// onnxruntime-node, driven by Node.js) so that tests and benchmarks can use
// it as an independent oracle and as a speed peer. It is test tooling: the
// binaries never import it.
//
// The package finds the npm install in $PIRESNET_ORT_DIR or in .cache/ort
// above the working directory (scripts/install-ort.sh creates it). Tensors
// cross the process boundary as raw little-endian files.
package ortrun

import (
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/piresnet/piresnet/internal/onnx"
)

//go:embed ort_run.js
var runScript []byte

// Options are the ONNX Runtime session options a run uses.
type Options struct {
	Threads int // intra-op threads; 0 means 1
	// OptLevel is the graph optimization level: "disabled", "basic",
	// "extended" or "all" (the default).
	OptLevel string
	// OptimizedModel, when set, is where ORT writes the graph it will run
	// after its optimizations (to check which kernels it fused).
	OptimizedModel string
}

// Find returns the node_modules directory holding onnxruntime-node, or an
// error that says how to install it.
func Find() (string, error) {
	if d := os.Getenv("PIRESNET_ORT_DIR"); d != "" {
		return checkDir(filepath.Join(d, "node_modules"))
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		nm := filepath.Join(d, ".cache", "ort", "node_modules")
		if _, err := os.Stat(filepath.Join(nm, "onnxruntime-node")); err == nil {
			return checkDir(nm)
		}
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", errors.New("ortrun: ONNX Runtime not installed: run scripts/install-ort.sh (npm install --ignore-scripts onnxruntime-node@1.30.0 into .cache/ort)")
}

func checkDir(nm string) (string, error) {
	if _, err := os.Stat(filepath.Join(nm, "onnxruntime-node", "package.json")); err != nil {
		return "", fmt.Errorf("ortrun: no onnxruntime-node in %s: run scripts/install-ort.sh", nm)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("ortrun: node (Node.js) is not on PATH")
	}
	return nm, nil
}

type reqInput struct {
	Name string  `json:"name"`
	Type string  `json:"type"`
	Dims []int64 `json:"dims"`
	File string  `json:"file"`
}

type benchReq struct {
	Warmup int `json:"warmup"`
	Runs   int `json:"runs"`
}

type request struct {
	Model          string     `json:"model"`
	Threads        int        `json:"threads"`
	OptLevel       string     `json:"optLevel,omitempty"`
	OptimizedModel string     `json:"optimizedModel,omitempty"`
	Inputs         []reqInput `json:"inputs"`
	Bench          *benchReq  `json:"bench,omitempty"`
}

type response struct {
	Outputs []reqInput `json:"outputs"`
	TimesMS []float64  `json:"times_ms"`
	CPUMS   []float64  `json:"cpu_ms"`
}

// Run runs the model once on the inputs (matched to the model's inputs by
// Tensor.Name) and returns the outputs in the model's output order.
func Run(model string, inputs []*onnx.Tensor, opt Options) ([]*onnx.Tensor, error) {
	resp, err := call(model, inputs, opt, nil)
	if err != nil {
		return nil, err
	}
	return resp.outputs, nil
}

// Bench runs the model warmup times untimed, then runs times, and returns
// the latency of each timed run in milliseconds.
func Bench(model string, inputs []*onnx.Tensor, opt Options, warmup, runs int) ([]float64, error) {
	resp, err := call(model, inputs, opt, &benchReq{Warmup: warmup, Runs: runs})
	if err != nil {
		return nil, err
	}
	return resp.times, nil
}

// BenchCPU is Bench that also returns the CPU time (user + system, all of
// the Node process's threads) of each timed run in milliseconds: on a
// loaded machine a single-threaded run's CPU time is its latency without
// the waits for a CPU.
func BenchCPU(model string, inputs []*onnx.Tensor, opt Options, warmup, runs int) (wall, cpu []float64, err error) {
	resp, err := call(model, inputs, opt, &benchReq{Warmup: warmup, Runs: runs})
	if err != nil {
		return nil, nil, err
	}
	return resp.times, resp.cpu, nil
}

type result struct {
	outputs []*onnx.Tensor
	times   []float64
	cpu     []float64
}

func call(model string, inputs []*onnx.Tensor, opt Options, bench *benchReq) (*result, error) {
	nm, err := Find()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(model)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ortrun-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	threads := opt.Threads
	if threads <= 0 {
		threads = 1
	}
	req := request{Model: abs, Threads: threads, OptLevel: opt.OptLevel, OptimizedModel: opt.OptimizedModel, Bench: bench}
	for i, t := range inputs {
		raw, typ, err := rawBytes(t)
		if err != nil {
			return nil, err
		}
		file := fmt.Sprintf("input_%d.bin", i)
		if err := os.WriteFile(filepath.Join(dir, file), raw, 0o644); err != nil {
			return nil, err
		}
		dims := append([]int64{}, t.Dims...) // a scalar's dims are [], not null
		req.Inputs = append(req.Inputs, reqInput{Name: t.Name, Type: typ, Dims: dims, File: file})
	}
	rb, _ := json.Marshal(req)
	reqPath := filepath.Join(dir, "request.json")
	if err := os.WriteFile(reqPath, rb, 0o644); err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "ort_run.js")
	if err := os.WriteFile(script, runScript, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", script, nm, reqPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ortrun: %s: %v: %s", model, err, strings.TrimSpace(string(out)))
	}
	var resp response
	b, err := os.ReadFile(filepath.Join(dir, "response.json"))
	if err != nil {
		return nil, fmt.Errorf("ortrun: no response: %v", err)
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("ortrun: bad response: %v", err)
	}
	res := &result{times: resp.TimesMS, cpu: resp.CPUMS}
	for _, o := range resp.Outputs {
		raw, err := os.ReadFile(filepath.Join(dir, o.File))
		if err != nil {
			return nil, err
		}
		t, err := fromRaw(o.Name, o.Type, o.Dims, raw)
		if err != nil {
			return nil, err
		}
		res.outputs = append(res.outputs, t)
	}
	return res, nil
}

func rawBytes(t *onnx.Tensor) ([]byte, string, error) {
	le := binary.LittleEndian
	switch t.DataType {
	case onnx.Float:
		b := make([]byte, 4*len(t.F32))
		for i, v := range t.F32 {
			le.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b, "float32", nil
	case onnx.Uint8:
		return append([]byte(nil), t.U8...), "uint8", nil
	case onnx.Int8:
		b := make([]byte, len(t.I8))
		for i, v := range t.I8 {
			b[i] = byte(v)
		}
		return b, "int8", nil
	case onnx.Int32:
		b := make([]byte, 4*len(t.I32))
		for i, v := range t.I32 {
			le.PutUint32(b[4*i:], uint32(v))
		}
		return b, "int32", nil
	case onnx.Int64:
		b := make([]byte, 8*len(t.I64))
		for i, v := range t.I64 {
			le.PutUint64(b[8*i:], uint64(v))
		}
		return b, "int64", nil
	}
	return nil, "", fmt.Errorf("ortrun: input %q: type %v not supported", t.Name, t.DataType)
}

func fromRaw(name, typ string, dims []int64, raw []byte) (*onnx.Tensor, error) {
	le := binary.LittleEndian
	t := &onnx.Tensor{Name: name, Dims: dims}
	switch typ {
	case "float32":
		t.DataType = onnx.Float
		t.F32 = make([]float32, len(raw)/4)
		for i := range t.F32 {
			t.F32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case "uint8", "bool":
		t.DataType = onnx.Uint8
		if typ == "bool" {
			t.DataType = onnx.Bool
		}
		t.U8 = append([]byte{}, raw...)
	case "int8":
		t.DataType = onnx.Int8
		t.I8 = make([]int8, len(raw))
		for i, v := range raw {
			t.I8[i] = int8(v)
		}
	case "int32":
		t.DataType = onnx.Int32
		t.I32 = make([]int32, len(raw)/4)
		for i := range t.I32 {
			t.I32[i] = int32(le.Uint32(raw[4*i:]))
		}
	case "int64":
		t.DataType = onnx.Int64
		t.I64 = make([]int64, len(raw)/8)
		for i := range t.I64 {
			t.I64[i] = int64(le.Uint64(raw[8*i:]))
		}
	default:
		return nil, fmt.Errorf("ortrun: output %q: type %s not supported", name, typ)
	}
	if int64(t.Len()) != t.NumElements() {
		return nil, fmt.Errorf("ortrun: output %q: %d elements for dims %v", name, t.Len(), dims)
	}
	return t, nil
}
