package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The fixtures are written by torch (testdata/make_fixtures.py, run through
// testdata/make_fixtures.sh) into testdata/gen, with the values torch loads
// for every tensor in gen/expected.json and gen/expected.bin.

const genDir = "testdata/gen"

type expectedTensor struct {
	Shape  []int  `json:"shape"`
	DType  string `json:"dtype"`
	Offset *int64 `json:"offset"`
	Numel  int    `json:"numel"`
}

type expectedFile struct {
	Format    string                     `json:"format"`
	Container string                     `json:"container"`
	Stripped  string                     `json:"stripped"`
	Keys      []string                   `json:"keys"`
	Tensors   map[string]*expectedTensor `json:"tensors"`
}

type expectedIndex struct {
	Files       map[string]*expectedFile `json:"files"`
	PwnedMarker string                   `json:"pwned_marker"`
}

func fixtures(tb testing.TB) (*expectedIndex, []byte) {
	tb.Helper()
	js, err := os.ReadFile(filepath.Join(genDir, "expected.json"))
	if err != nil {
		tb.Fatalf("missing fixtures: run internal/checkpoint/testdata/make_fixtures.sh (%v)", err)
	}
	var idx expectedIndex
	if err := json.Unmarshal(js, &idx); err != nil {
		tb.Fatalf("testdata/gen/expected.json: %v; rerun internal/checkpoint/testdata/make_fixtures.sh", err)
	}
	bin, err := os.ReadFile(filepath.Join(genDir, "expected.bin"))
	if err != nil {
		tb.Fatalf("missing fixtures: run internal/checkpoint/testdata/make_fixtures.sh (%v)", err)
	}
	if len(idx.Files) < 20 {
		tb.Fatalf("testdata/gen/expected.json lists %d files; rerun internal/checkpoint/testdata/make_fixtures.sh", len(idx.Files))
	}
	return &idx, bin
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// TestFixtures loads every file torch wrote and compares every tensor, bit
// for bit, with the values torch loads from it.
func TestFixtures(t *testing.T) {
	idx, bin := fixtures(t)
	for _, name := range sortedNames(idx.Files) {
		want := idx.Files[name]
		t.Run(name, func(t *testing.T) {
			sd, err := Load(filepath.Join(genDir, name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sd.Format != want.Format || sd.Container != want.Container || sd.StrippedPrefix != want.Stripped {
				t.Errorf("format %q container %q stripped %q, want %q %q %q",
					sd.Format, sd.Container, sd.StrippedPrefix, want.Format, want.Container, want.Stripped)
			}
			if !slices.Equal(sd.Keys, want.Keys) {
				t.Fatalf("keys %q\nwant %q", sd.Keys, want.Keys)
			}
			if len(sd.Tensors) != len(want.Keys) {
				t.Errorf("%d tensors, want %d", len(sd.Tensors), len(want.Keys))
			}
			for _, k := range want.Keys {
				got, w := sd.Tensors[k], want.Tensors[k]
				if got == nil {
					t.Fatalf("tensor %q missing", k)
				}
				if !slices.Equal(got.Shape, w.Shape) || got.DType != w.DType {
					t.Errorf("%q: shape %v dtype %s, want %v %s", k, got.Shape, got.DType, w.Shape, w.DType)
					continue
				}
				if len(got.Data) != got.NumElements() {
					t.Errorf("%q: %d values for shape %v", k, len(got.Data), got.Shape)
					continue
				}
				if w.Offset == nil {
					continue // keys and shapes only (resnet50)
				}
				raw := bin[*w.Offset : *w.Offset+4*int64(w.Numel)]
				if w.Numel != len(got.Data) {
					t.Errorf("%q: %d values, want %d", k, len(got.Data), w.Numel)
					continue
				}
				bad := 0
				for i, v := range got.Data {
					wb := binary.LittleEndian.Uint32(raw[4*i:])
					if math.Float32bits(v) != wb {
						if bad < 3 {
							t.Errorf("%q[%d] = %v (%#08x), torch gives %v (%#08x)", k, i, v, math.Float32bits(v), math.Float32frombits(wb), wb)
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("%q: %d of %d values differ from torch's", k, bad, len(got.Data))
				}
			}
		})
	}
}

// badFiles lists every file of gen/bad and what its error must say.
var badFiles = map[string][]string{
	"evil_system.pth":              {`pickle global "posix.system" is not allowed`},
	"evil_system.legacy.pth":       {`pickle global "posix.system" is not allowed`},
	"evil_system.tar.pth":          {`pickle global "posix.system" is not allowed`},
	"truncated.tar.pth":            {`tar entry "storages" of 1903 bytes runs past the end`, "truncated file?"},
	"evil_eval.pth":                {`pickle global "__builtin__.eval" is not allowed`}, // protocol 2 spells builtins so
	"evil_getattr.pkl":             {`pickle global "__builtin__.getattr" is not allowed`},
	"whole_model.pth":              {`pickle global "torch.nn.modules.container.Sequential" is not allowed`},
	"truncated.pth":                {"zip archive", "truncated file?"},
	"truncated.legacy.pth":         {`storage "`, "truncated file?"},
	"truncated_pickle.legacy.pth":  {"pickle ends early", "truncated file?"},
	"truncated.safetensors":        {`tensor "fc.bias" has data_offsets [552 564] outside the 561 bytes of data`},
	"empty.pth":                    {"empty file"},
	"garbage.pth":                  {"not a checkpoint"},
	"wrong_magic.legacy.pth":       {"not a torch.save file"},
	"torchscript.pt":               {"TorchScript"},
	"storage_too_small.pth":        {`tensor "layer.weight"`, "needs 100 storage elements", "holds 50"},
	"offset_too_large.pth":         {`tensor "bias"`, "offset 45", "needs 51 storage elements", "holds 50"},
	"stride_too_large.pth":         {`tensor "w"`, "strides [1 12]", "needs 53 storage elements"},
	"negative_size.pth":            {`tensor "w"`, "negative size"},
	"entry_too_short.pth":          {`storage "0" claims 100 elements`, "holds 160 bytes"},
	"missing_entry.pth":            {`storage "3" has no entry "archive/data/3" in the archive`},
	"big_endian.pth":               {`byte order "big" is not supported`},
	"huge_tensor.pth":              {`tensor "big"`, "1000000000000 elements", "Limits.MaxTensorElements"},
	"huge_storage.pth":             {`tensor "small"`, "storage claims 2305843009213693952 elements", "Limits.MaxTotalBytes"},
	"zip_bomb.pth":                 {`zip entry "archive/data.pkl" has 268435456 bytes, more than 67108864`},
	"zip_bomb_pickle.pth":          {`zip entry "archive/data.pkl" inflates`, "zip bomb"},
	"zip_bomb_tensor.pth":          {`"archive/data/0" inflates`, "zip bomb"},
	"deep_nesting.pth":             {"deeper than 1000 levels"},
	"deep_dicts.pth":               {"deeper than 1000 levels"},
	"self_model_loop.pth":          {"no state dict found", `"model"`},
	"self_state_dict_loop.pth":     {"no state dict found", `"state_dict"`},
	"memo_flood.pth":               {"memo has more than 1048576 entries"},
	"long_frame.pth":               {"FRAME of 1152921504606846976 bytes runs past the end"},
	"long_string.pth":              {"item of 4294967295 bytes runs past the end"},
	"list.pth":                     {"holds a list, not a state dict"},
	"no_tensors.pth":               {"no state dict found", `"epoch"`},
	"header_too_long.safetensors":  {"header of 4611686018427387904 bytes", "Limits.MaxHeaderBytes"},
	"header_past_end.safetensors":  {"header of 200 bytes runs past the end"},
	"bad_json.safetensors":         {"header is not valid JSON"},
	"offsets_past_end.safetensors": {`tensor "w" has data_offsets [0 32] outside the 16 bytes`},
	"shape_mismatch.safetensors":   {`tensor "w" of shape [3 2]`, "needs 24 bytes"},
	"unknown_dtype.safetensors":    {`unknown dtype "Q7"`},
	"huge_shape.safetensors":       {`tensor "w"`, "1000000000000 elements"},
	"overlap.safetensors":          {`tensor "b" starts at data byte 8`, "overlap"},
	"hole.safetensors":             {`tensor "b" starts at data byte 12`, "hole"},
	"duplicate_key.safetensors":    {`names "w" twice`},
	"negative_dim.safetensors":     {`tensor "w"`, "negative dimension"},
}

// TestBadFiles checks that every bad file gives one line naming the file and
// its problem.
func TestBadFiles(t *testing.T) {
	idx, _ := fixtures(t)
	dir := filepath.Join(genDir, "bad")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("missing fixtures: run internal/checkpoint/testdata/make_fixtures.sh (%v)", err)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := badFiles[name]
			if !ok {
				t.Fatalf("gen/bad/%s has no entry in badFiles", name)
			}
			path := filepath.Join(dir, name)
			sd, err := Load(path, Options{})
			if err == nil {
				t.Fatalf("loaded %d tensors from a bad file", len(sd.Keys))
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, "checkpoint: "+path+": ") {
				t.Errorf("error does not start with the package and file: %q", msg)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Path != path {
				t.Errorf("error is %T, not *Error with the path", err)
			}
		})
	}
	for name := range badFiles {
		if !seen[name] {
			t.Errorf("gen/bad/%s is missing; rerun internal/checkpoint/testdata/make_fixtures.sh", name)
		}
	}
	if _, err := os.Stat(idx.PwnedMarker); !os.IsNotExist(err) {
		t.Errorf("%s exists: a payload ran (%v)", idx.PwnedMarker, err)
	}
}

// TestMaliciousKinds checks the kinds callers branch on.
func TestMaliciousKinds(t *testing.T) {
	fixtures(t)
	for name, kind := range map[string]error{
		"evil_system.pth":        ErrNotAllowed,
		"evil_eval.pth":          ErrNotAllowed,
		"evil_system.legacy.pth": ErrNotAllowed,
		"evil_system.tar.pth":    ErrNotAllowed,
		"huge_tensor.pth":        ErrLimit,
		"zip_bomb_tensor.pth":    ErrLimit,
		"storage_too_small.pth":  ErrFormat,
		"torchscript.pt":         ErrUnsupported,
	} {
		_, err := Load(filepath.Join(genDir, "bad", name), Options{})
		if !errors.Is(err, kind) {
			t.Errorf("%s: error %v is not %v", name, err, kind)
		}
	}
}

// TestProgress checks that Progress counts exactly the bytes of the state
// dict's storages: fastai's optimizer state, twice as large, is not read.
func TestProgress(t *testing.T) {
	idx, _ := fixtures(t)
	sizes := map[string]int64{"float32": 4, "int64": 8}
	var want int64
	for _, tt := range idx.Files["fastai.pth"].Tensors {
		n := int64(1)
		for _, d := range tt.Shape {
			n *= int64(d)
		}
		want += n * sizes[tt.DType]
	}
	var calls int
	var last, total int64 = -1, -1
	_, err := Load(filepath.Join(genDir, "fastai.pth"), Options{Progress: func(done, tot int64) {
		if done < last || (total >= 0 && tot != total) {
			t.Fatalf("progress went from %d to %d of %d (total was %d)", last, done, tot, total)
		}
		calls++
		last, total = done, tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	if total != want || last != want {
		t.Errorf("progress ended at %d of %d, want %d of %d", last, total, want, want)
	}
	if calls < 10 {
		t.Errorf("progress called %d times for %d bytes", calls, want)
	}
}

// TestLimits checks that limits set in Options are applied and named.
func TestLimits(t *testing.T) {
	fixtures(t)
	path := filepath.Join(genDir, "dtypes.pth")
	for _, c := range []struct {
		lim  Limits
		want string
	}{
		{Limits{MaxTensorElements: 100}, `tensor "conv.weight" has shape [8 3 3 3]: 216 elements, more than 100`},
		{Limits{MaxTotalBytes: 1000}, "more than 1000 bytes (Limits.MaxTotalBytes)"},
		{Limits{MaxPickleBytes: 1000}, "bytes, more than 1000"},
		{Limits{MaxMemo: 10}, "memo has more than 10 entries"},
		{Limits{MaxObjects: 50}, "more than 50 objects"},
		{Limits{MaxStack: 5}, "stack deeper than 5 entries"},
		{Limits{MaxDepth: 1}, "deeper than 1 levels"},
	} {
		_, err := Load(path, Options{Limits: c.lim})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.lim, err, c.want)
		}
		if c.lim.MaxDepth == 0 && !errors.Is(err, ErrLimit) {
			t.Errorf("%+v: %v is not ErrLimit", c.lim, err)
		}
	}
	_, err := Load(filepath.Join(genDir, "dtypes.legacy.pth"), Options{Limits: Limits{MaxPickleBytes: 1000}})
	if err == nil || !strings.Contains(err.Error(), "pickles larger than 1000 bytes") {
		t.Errorf("legacy MaxPickleBytes: %v", err)
	}
	_, err = Load(filepath.Join(genDir, "dtypes.safetensors"), Options{Limits: Limits{MaxHeaderBytes: 100}})
	if err == nil || !strings.Contains(err.Error(), "more than 100 (Limits.MaxHeaderBytes)") {
		t.Errorf("safetensors MaxHeaderBytes: %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.pth", Options{})
	if err == nil || err.Error() != "checkpoint: testdata/no-such-file.pth: no such file or directory" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
	_, err = Load("testdata", Options{})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}

// TestFloat16 checks every binary16 value against its definition:
// (-1)^s · 2^(e-15) · (1 + m/1024), or m · 2^-24 when e = 0.
func TestFloat16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		got := math.Float32frombits(f16bits(uint16(h)))
		var want float64
		switch {
		case e == 0x1f && m == 0:
			want = math.Inf(1)
		case e == 0x1f:
			if !math.IsNaN(float64(got)) || math.Float32bits(got)&0x7fffff != uint32(m)<<13 {
				t.Fatalf("%#04x: %v (%#08x), want NaN with payload %#x", h, got, math.Float32bits(got), m)
			}
			continue
		case e == 0:
			want = float64(m) * math.Pow(2, -24)
		default:
			want = math.Pow(2, float64(e-15)) * (1 + float64(m)/1024)
		}
		if s == 1 {
			want = -want
		}
		if float64(got) != want || math.Signbit(float64(got)) != (s == 1) {
			t.Fatalf("%#04x: %v, want %v", h, got, want)
		}
	}
}

// TestFloat32InPlace checks that reading float32 storages in place gives the
// bits that the portable decoder gives (NaN payloads included).
func TestFloat32InPlace(t *testing.T) {
	src := make([]byte, 4*4096)
	for i := range src {
		src[i] = byte(i*131 + i/7)
	}
	binary.LittleEndian.PutUint32(src, 0x7fc00001) // a quiet NaN with a payload
	binary.LittleEndian.PutUint32(src[4:], 0xff800001)
	want := make([]float32, 4096)
	dtFloat32.decode(want, src)
	got := make([]float32, 4096)
	if !nativeLittleEndian {
		t.Fatal("this test expects a little-endian host (amd64, arm, arm64)")
	}
	copy(float32Bytes(got), src)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("value %d: %#08x in place, %#08x decoded", i, math.Float32bits(got[i]), math.Float32bits(want[i]))
		}
	}
}
