package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// canon renders an unpickled value as make_fixtures.py's canon renders the
// Python value.
func canon(v any) string {
	join := func(items []any) string {
		s := make([]string, len(items))
		for i, it := range items {
			s[i] = canon(it)
		}
		return strings.Join(s, ",")
	}
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return fmt.Sprint(v)
	case *big.Int:
		return v.String()
	case float64:
		return fmt.Sprintf("f%016x", math.Float64bits(v))
	case string:
		return "s" + hex.EncodeToString([]byte(v))
	case []byte:
		return "b" + hex.EncodeToString(v)
	case *pyList:
		return "[" + join(v.items) + "]"
	case *pyTuple:
		return "(" + join(v.items) + ")"
	case *pyDict:
		s := make([]string, len(v.keys))
		for i := range v.keys {
			s[i] = canon(v.keys[i]) + ":" + canon(v.vals[i])
		}
		return "{" + strings.Join(s, ",") + "}"
	case *pySet:
		s := make([]string, len(v.items))
		for i, it := range v.items {
			s[i] = canon(it)
		}
		slices.Sort(s)
		return "set{" + strings.Join(s, ",") + "}"
	}
	return fmt.Sprintf("?%T", v)
}

// TestPickleValues unpickles what Python's pickler writes with protocols 2
// to 5 for plain values (ints of every width, floats, strings, bytes,
// batched lists and dicts, sets, shared references, odd dict keys).
func TestPickleValues(t *testing.T) {
	fixtures(t)
	want, err := os.ReadFile(filepath.Join(genDir, "pickles", "values.canon"))
	if err != nil {
		t.Fatalf("missing fixtures: run internal/checkpoint/testdata/make_fixtures.sh (%v)", err)
	}
	for p := 2; p <= 5; p++ {
		data, err := os.ReadFile(filepath.Join(genDir, "pickles", fmt.Sprintf("values.p%d.pkl", p)))
		if err != nil {
			t.Fatal(err)
		}
		lim := DefaultLimits()
		u := newUnpickler(data, &lim)
		v, err := u.load()
		if err != nil {
			t.Fatalf("protocol %d: %v", p, err)
		}
		if u.pos != len(data) {
			t.Errorf("protocol %d: stopped at byte %d of %d", p, u.pos, len(data))
		}
		if got := canon(v); got != string(want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("protocol %d: values differ from Python's at byte %d:\n got …%.80s\nwant …%.80s", p, i, got[i:], want[i:])
		}
	}
}

// TestPickleOpcodes covers opcodes Python's pickler does not write for
// these values (DICT, LIST, POP, POP_MARK, DUP, LONG4, protocol-1 strings)
// and the errors of malformed streams.
func TestPickleOpcodes(t *testing.T) {
	for _, c := range []struct {
		name, pickle, want string
	}{
		{"DICT", "(K\x01K\x02K\x03K\x04d.", "{1:2,3:4}"},
		{"LIST", "(K\x01K\x02l.", "[1,2]"},
		{"POP", "K\x01K\x020.", "1"},
		{"POP of a mark", "K\x01(0.", "1"},
		{"POP_MARK", "K\x01(K\x02K\x031.", "1"},
		{"DUP", "K\x072\x86.", "(7,7)"},
		{"LONG4", "\x8b\x02\x00\x00\x00\xff\x7f.", "32767"},
		{"LONG1 negative", "\x8a\x01\xff.", "-1"},
		{"LONG1 empty", "\x8a\x00.", "0"},
		{"BININT negative", "J\xfe\xff\xff\xff.", "-2"},
		{"SHORT_BINSTRING", "U\x02ab.", "s6162"},
		{"BINSTRING", "T\x01\x00\x00\x00a.", "s61"},
		{"SETITEM replaces", "}K\x01K\x02sK\x01K\x03s.", "{1:3}"},
		{"float key equals int key", "}G?\xf0\x00\x00\x00\x00\x00\x00K\x02s\x88K\x03s.", "{f3ff0000000000000:3}"},
		{"memo", "K\x05q\x03h\x03\x86.", "(5,5)"},
		{"OrderedDict pairs", "ccollections\nOrderedDict\n((X\x01\x00\x00\x00aK\x01t(X\x01\x00\x00\x00bK\x02ll\x85R.", "{s61:1,s62:2}"},
		{"protocol 6", "\x80\x06N.", "pickle protocol 6 is not supported"},
		{"text INT", "I1\n.", "pickle opcode INT (0x49) is not supported"},
		{"INST", "i__main__\nX\n.", "pickle opcode INST (0x69) is not supported"},
		{"EXT1", "\x82\x01.", "pickle opcode EXT1 (0x82) is not supported"},
		{"empty stack", ".", "stack underflow"},
		{"no mark", "K\x01t.", "no MARK"},
		{"stop inside mark", "(.", "stack underflow"},
		{"odd DICT", "(K\x01d.", "odd number"},
		{"SETITEM on list", "]K\x01K\x02s.", "SETITEM on list"},
		{"APPEND on dict", "}K\x01a.", "cannot append to dict"},
		{"unhashable key", "}]K\x01s.", "unhashable dict key of type list"},
		{"BINGET missing", "h\x09.", "memo has no entry 9"},
		{"REDUCE non-global", "K\x01)R.", "REDUCE calls a int"},
		{"REDUCE non-tuple", "ccollections\nOrderedDict\nK\x01R.", "arguments are a int"},
		{"BUILD on int", "K\x01}b.", "BUILD on int"},
		{"persistent id", "K\x01Q.", "persistent id where none is expected"},
		{"STACK_GLOBAL os.system", "\x8c\x02os\x8c\x06system\x93.", `pickle global "os.system" is not allowed`},
		{"GLOBAL nt.system", "cnt\nsystem\n.", `pickle global "nt.system" is not allowed`},
		{"GLOBAL torch.load", "ctorch\nload\n.", `pickle global "torch.load" is not allowed`},
		{"_rebuild_tensor_v2 bad args", "ctorch._utils\n_rebuild_tensor_v2\n)R.", "unexpected arguments ()"},
		{"codecs non-latin1", "c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x9c\x93X\x06\x00\x00\x00latin1\x86R.", "is not latin-1"},
		{"invalid UTF-8", "X\x01\x00\x00\x00\xff.", "not valid UTF-8"},
		{"truncated", "X\x05\x00\x00\x00ab", "runs past the end"},
		{"no STOP", "K\x01", "pickle ends early"},
		{"long GLOBAL line", "c" + strings.Repeat("a", 2000) + "\nb\n.", "longer than 1024 bytes"},
	} {
		lim := DefaultLimits()
		u := newUnpickler([]byte(c.pickle), &lim)
		v, err := u.load()
		switch {
		case err != nil:
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %q, want %q", c.name, err, c.want)
			}
		default:
			if got := canon(v); got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
	}
}

// TestPickleHashBudget checks that a dict key built from shared tuples (each
// level holds the previous one twice: 2^30 values) is refused, not hashed.
func TestPickleHashBudget(t *testing.T) {
	p := "}K\x01"
	for range 30 {
		p += "2\x86" // DUP, TUPLE2
	}
	p += "K\x00s."
	lim := DefaultLimits()
	_, err := newUnpickler([]byte(p), &lim).load()
	if err == nil || !strings.Contains(err.Error(), "dict key too large") {
		t.Errorf("got %v", err)
	}
}

// torch2Pickle is what torch 2's signatures produce for a tensor rebuilt with
// the 7th (metadata) argument of _rebuild_tensor_v2 and a parameter rebuilt by
// _rebuild_parameter_with_state, on one 6-element storage. torch 1.13 has
// neither, so this is hand-made (with Python's pickler and stand-in
// functions of those names), not written by torch.
const torch2Pickle = "\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x06\x00\x00\x00v3metaq\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x06tq\x08QK\x01K\x02K\x02\x86q\tK\x01K\x02\x86q\n\x89h\x00)Rq\x0b}q\x0cX\x01\x00\x00\x00mq\rK\x01stq\x0eRq\x0fX\x05\x00\x00\x00paramq\x10ctorch._utils\n_rebuild_parameter_with_state\nq\x11(h\x03((h\x04h\x05h\x06h\x07K\x06tq\x12QK\x00K\x03\x85q\x13K\x02\x85q\x14\x89h\x00)Rq\x15tq\x16Rq\x17\x88h\x00)Rq\x18}q\x19X\x01\x00\x00\x00sq\x1aK\x02stq\x1bRq\x1cu."

// storageSource serves one storage's values from memory.
type storageSource struct{ data []byte }

func (s storageSource) check(*storageRef) error { return nil }

func (s storageSource) open(*storageRef) (io.Reader, error) { return bytes.NewReader(s.data), nil }

func TestTorch2Rebuilders(t *testing.T) {
	lim := DefaultLimits()
	root, err := unpickleZip([]byte(torch2Pickle), &lim)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, v := range []float32{0, 1, 2, 3, 4, 5} {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	sd, err := build(&parsed{format: "torch-zip", root: root, src: storageSource{raw}}, nil, &lim)
	if err != nil {
		t.Fatal(err)
	}
	// v3meta: offset 1, size (2, 2), stride (1, 2): [[1, 3], [2, 4]];
	// param: size (3,), stride (2,): [0, 2, 4].
	if got := fmt.Sprint(sd.Keys, sd.Tensors["v3meta"].Data, sd.Tensors["param"].Data); got != "[v3meta param] [1 3 2 4] [0 2 4]" {
		t.Errorf("got %s", got)
	}
}
