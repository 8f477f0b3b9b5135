package checkpoint

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// The fuzz targets feed mutated files to the readers with small limits and
// check that they return either a one-line error or a consistent StateDict,
// never a panic. Seeds are in testdata/fuzz/<target>/ (small torch-written
// files and data.pkl pickles); crashers found there stay as regression seeds.

func fuzzLimits() Limits {
	return Limits{
		MaxTensorElements: 1 << 18, MaxTotalBytes: 1 << 20, MaxPickleBytes: 1 << 20,
		MaxHeaderBytes: 1 << 20, MaxDepth: 100, MaxStack: 10000, MaxMemo: 10000,
		MaxObjects: 100000, MaxCompressionRatio: 100,
	}
}

func checkResult(t *testing.T, sd *StateDict, err error) {
	t.Helper()
	if err != nil {
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("error is not one line: %q", err)
		}
		return
	}
	if len(sd.Keys) != len(sd.Tensors) || len(sd.Keys) == 0 {
		t.Fatalf("%d keys, %d tensors", len(sd.Keys), len(sd.Tensors))
	}
	for _, k := range sd.Keys {
		tt := sd.Tensors[k]
		if tt == nil || len(tt.Data) != tt.NumElements() {
			t.Fatalf("tensor %q inconsistent", k)
		}
	}
}

func fuzzLoad(t *testing.T, data []byte) {
	sd, err := load(bytes.NewReader(data), int64(len(data)), Options{Limits: fuzzLimits()})
	checkResult(t, sd, err)
}

func FuzzLoadZip(f *testing.F)     { f.Fuzz(fuzzLoad) }
func FuzzLegacy(f *testing.F)      { f.Fuzz(fuzzLoad) }
func FuzzSafetensors(f *testing.F) { f.Fuzz(fuzzLoad) }

// zeroSource backs every storage with zeros, so that FuzzPickle exercises
// the pickle machine, the containers and the tensor checks.
type zeroSource struct{}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func (zeroSource) check(*storageRef) error { return nil }

func (zeroSource) open(s *storageRef) (io.Reader, error) {
	return io.LimitReader(zeros{}, s.numel*int64(s.dt.size)), nil
}

// FuzzPickle runs a data.pkl as the zip format does.
func FuzzPickle(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := loadPickleOnly(data, fuzzLimits())
		checkResult(t, sd, err)
	})
}

// loadPickleOnly reads data as a torch zip checkpoint's data.pkl whose
// storages are all zeros, and builds the state dict.
func loadPickleOnly(data []byte, lim Limits) (*StateDict, error) {
	lim = lim.withDefaults()
	root, err := unpickleZip(data, &lim)
	if err != nil {
		return nil, err
	}
	return build(&parsed{format: "torch-zip", root: root, src: zeroSource{}}, nil, &lim)
}
