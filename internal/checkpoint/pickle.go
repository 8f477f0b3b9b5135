package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The restricted pickle machine. It understands the binary opcodes of pickle
// protocols 2 to 5 (and the protocol 1 ones they reuse), builds plain values
// (None, bool, int64, *big.Int, float64, string, []byte, *pyTuple, *pyList,
// *pyDict, *pySet) and resolves globals only through an allow-list of inert
// constructors (see globals.go). Nothing read from the file is ever called:
// REDUCE and NEWOBJ dispatch on the allow-listed global to a Go function that
// builds a value. Every structure is bounded by Limits before it grows.

// pyTuple is a Python tuple.
type pyTuple struct {
	items []any
	depth int
}

// pyList is a Python list.
type pyList struct {
	items []any
	depth int
}

// pySet is a Python set or frozenset. Its items are kept, not deduplicated.
type pySet struct {
	items []any
	depth int
}

// pyDict is a Python dict (or OrderedDict, or an allow-listed dict subclass)
// in insertion order.
type pyDict struct {
	keys  []any
	vals  []any
	index map[string]int
	depth int
}

// pyObject is an inert instance of an allow-listed class that has no meaning
// for checkpoints (argparse.Namespace, numpy scalars and dtypes, torch.device,
// torch dtypes): it keeps its constructor arguments and state, and is ignored.
type pyObject struct {
	class *pyGlobal
	args  *pyTuple
	state any
	depth int
}

func depthOf(v any) int {
	switch v := v.(type) {
	case *pyTuple:
		return v.depth
	case *pyList:
		return v.depth
	case *pySet:
		return v.depth
	case *pyDict:
		return v.depth
	case *pyObject:
		return v.depth
	}
	return 0
}

func newDict() *pyDict { return &pyDict{index: map[string]int{}} }

// get returns the value stored under the string key k.
func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.index[hashString(k)]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

func hashString(s string) string { return "s" + s }

// hashKey gives a comparable form of a hashable Python value, following
// Python's equality where it matters for checkpoints (1 == 1.0 == True).
func hashKey(v any) (string, error) {
	var b strings.Builder
	budget := maxKeyItems
	if err := writeKey(&b, v, 0, &budget); err != nil {
		return "", err
	}
	return b.String(), nil
}

// maxKeyItems bounds the values hashed for one dict key: tuples shared
// through the memo could otherwise make hashing exponential.
const maxKeyItems = 1024

func writeKey(b *strings.Builder, v any, depth int, budget *int) error {
	if *budget--; *budget < 0 || depth > 16 {
		return fmt.Errorf("dict key too large (more than %d values or 16 levels)", maxKeyItems)
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("N")
	case string:
		if depth == 0 {
			b.WriteString(hashString(v)) // as pyDict.get looks it up
		} else {
			b.WriteString("s" + strconv.Itoa(len(v)) + ":" + v)
		}
	case bool:
		if v {
			b.WriteString("i1")
		} else {
			b.WriteString("i0")
		}
	case int64:
		b.WriteString("i" + strconv.FormatInt(v, 10))
	case *big.Int: // never fits int64 (see decodeLong), so never equals one
		b.WriteString("I" + v.Text(16))
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			b.WriteString("i" + strconv.FormatInt(int64(v), 10))
		} else {
			b.WriteString("f" + strconv.FormatFloat(v, 'g', -1, 64))
		}
	case []byte:
		b.WriteString("y" + strconv.Itoa(len(v)) + ":")
		b.Write(v)
	case *pyTuple:
		b.WriteString("(")
		for _, it := range v.items {
			b.WriteString(",")
			if err := writeKey(b, it, depth+1, budget); err != nil {
				return err
			}
		}
		b.WriteString(")")
	case *pyGlobal:
		b.WriteString("g" + v.module + "." + v.name)
	case *tensorRef, *storageRef, *pyObject:
		// Hashed by identity in Python.
		fmt.Fprintf(b, "p%p", v)
	default:
		return fmt.Errorf("unhashable dict key of type %s", typeName(v))
	}
	return nil
}

func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pySet:
		return "set"
	case *pyDict:
		return "dict"
	case *pyObject:
		return v.class.String()
	case *pyGlobal:
		return v.String()
	case *tensorRef:
		return "tensor"
	case *storageRef:
		return "storage"
	}
	return fmt.Sprintf("%T", v)
}

// unpickler runs one pickle from data[pos:].
type unpickler struct {
	data    []byte
	pos     int
	stack   []any
	marks   []int
	memo    map[uint32]any
	lim     *Limits
	objects int
	short   bool // the pickle ran past the end of data

	// persistentLoad resolves BINPERSID ids; nil refuses them.
	persistentLoad func(pid any) (any, error)
}

func newUnpickler(data []byte, lim *Limits) *unpickler {
	return &unpickler{data: data, lim: lim, memo: map[uint32]any{}}
}

func (u *unpickler) truncated(n uint64) error {
	u.short = true
	if n > 1 {
		return errf(ErrFormat, "pickle ends early: an item of %d bytes runs past the end (truncated file?)", n)
	}
	return errf(ErrFormat, "pickle ends early (truncated file?)")
}

func (u *unpickler) take(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, u.truncated(n)
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

func (u *unpickler) u8() (uint64, error) {
	b, err := u.take(1)
	if err != nil {
		return 0, err
	}
	return uint64(b[0]), nil
}

func (u *unpickler) u16() (uint64, error) {
	b, err := u.take(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (u *unpickler) u32() (uint64, error) {
	b, err := u.take(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (u *unpickler) u64() (uint64, error) {
	b, err := u.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (u *unpickler) line() (string, error) {
	for i := u.pos; i < len(u.data) && i-u.pos < 1024; i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	if len(u.data)-u.pos >= 1024 {
		return "", errf(ErrFormat, "pickle GLOBAL line longer than 1024 bytes")
	}
	return "", u.truncated(1)
}

func (u *unpickler) count() error {
	u.objects++
	if u.objects > u.lim.MaxObjects {
		return errf(ErrLimit, "pickle builds more than %d objects", u.lim.MaxObjects)
	}
	return nil
}

func (u *unpickler) push(v any) error {
	if len(u.stack)+len(u.marks) >= u.lim.MaxStack {
		return errf(ErrLimit, "pickle stack deeper than %d entries", u.lim.MaxStack)
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errf(ErrFormat, "pickle stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errf(ErrFormat, "pickle stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the items above the last MARK and removes them and the mark.
// The returned slice is a copy.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errf(ErrFormat, "pickle has no MARK to pop to")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) deeper(parent int, child any) (int, error) {
	d := max(parent, depthOf(child)+1)
	if d > u.lim.MaxDepth {
		return 0, errf(ErrLimit, "pickle nests containers deeper than %d levels", u.lim.MaxDepth)
	}
	return d, nil
}

func (u *unpickler) tuple(items []any) (*pyTuple, error) {
	t := &pyTuple{items: items}
	for _, it := range items {
		d, err := u.deeper(t.depth, it)
		if err != nil {
			return nil, err
		}
		t.depth = d
	}
	return t, u.count()
}

func (u *unpickler) setItem(d *pyDict, k, v any) error {
	h, err := hashKey(k)
	if err != nil {
		return errf(ErrFormat, "%v", err)
	}
	if d.depth, err = u.deeper(d.depth, v); err != nil {
		return err
	}
	if d.depth, err = u.deeper(d.depth, k); err != nil {
		return err
	}
	if i, ok := d.index[h]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[h] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (u *unpickler) appendTo(target any, items []any) error {
	var err error
	switch t := target.(type) {
	case *pyList:
		for _, it := range items {
			if t.depth, err = u.deeper(t.depth, it); err != nil {
				return err
			}
		}
		t.items = append(t.items, items...)
	case *pySet:
		for _, it := range items {
			if t.depth, err = u.deeper(t.depth, it); err != nil {
				return err
			}
		}
		t.items = append(t.items, items...)
	default:
		return errf(ErrFormat, "cannot append to %s", typeName(target))
	}
	return nil
}

func (u *unpickler) memoPut(i uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := u.memo[i]; !ok && len(u.memo) >= u.lim.MaxMemo {
		return errf(ErrLimit, "pickle memo has more than %d entries", u.lim.MaxMemo)
	}
	u.memo[i] = v
	return nil
}

func (u *unpickler) memoGet(i uint32) error {
	v, ok := u.memo[i]
	if !ok {
		return errf(ErrFormat, "pickle memo has no entry %d", i)
	}
	return u.push(v)
}

func (u *unpickler) str(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errf(ErrFormat, "pickle string is not valid UTF-8")
	}
	return string(b), u.count()
}

// load runs the pickle at data[pos:] to its STOP and returns its value; u.pos
// is then just past the STOP.
func (u *unpickler) load() (v any, err error) {
	start := u.pos
	v, err = u.run()
	if err != nil {
		if pe, ok := err.(*problem); ok {
			return nil, &problem{kind: pe.kind, msg: fmt.Sprintf("%s (pickle byte %d)", pe.msg, u.pos-start)}
		}
		return nil, err
	}
	return v, nil
}

func (u *unpickler) run() (any, error) {
	u.stack = u.stack[:0]
	u.marks = u.marks[:0]
	for {
		op, err := u.u8()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x80: // PROTO
			p, err := u.u8()
			if err != nil {
				return nil, err
			}
			if p > 5 {
				return nil, errf(ErrUnsupported, "pickle protocol %d is not supported", p)
			}
		case 0x95: // FRAME: the whole pickle is in memory, so frames only need to be plausible
			n, err := u.u64()
			if err != nil {
				return nil, err
			}
			if n > uint64(len(u.data)-u.pos) {
				return nil, errf(ErrFormat, "pickle FRAME of %d bytes runs past the end", n)
			}
		case '.': // STOP
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case '(': // MARK
			if len(u.stack)+len(u.marks) >= u.lim.MaxStack {
				return nil, errf(ErrLimit, "pickle stack deeper than %d entries", u.lim.MaxStack)
			}
			u.marks = append(u.marks, len(u.stack))
		case '0': // POP
			if len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1] {
				u.marks = u.marks[:len(u.marks)-1]
			} else if _, err := u.pop(); err != nil {
				return nil, err
			}
		case '1': // POP_MARK
			if _, err := u.popMark(); err != nil {
				return nil, err
			}
		case '2': // DUP
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			if err := u.push(v); err != nil {
				return nil, err
			}
		case 'N':
			err = u.push(nil)
		case 0x88:
			err = u.push(true)
		case 0x89:
			err = u.push(false)
		case 'J': // BININT
			n, err2 := u.u32()
			if err2 != nil {
				return nil, err2
			}
			err = u.push(int64(int32(uint32(n))))
		case 'K': // BININT1
			n, err2 := u.u8()
			if err2 != nil {
				return nil, err2
			}
			err = u.push(int64(n))
		case 'M': // BININT2
			n, err2 := u.u16()
			if err2 != nil {
				return nil, err2
			}
			err = u.push(int64(n))
		case 0x8a, 0x8b: // LONG1, LONG4
			var n uint64
			if op == 0x8a {
				n, err = u.u8()
			} else {
				n, err = u.u32()
				if err == nil && n > 1024 {
					return nil, errf(ErrLimit, "pickle LONG4 of %d bytes", n)
				}
			}
			if err != nil {
				return nil, err
			}
			b, err2 := u.take(n)
			if err2 != nil {
				return nil, err2
			}
			if err := u.count(); err != nil {
				return nil, err
			}
			err = u.push(decodeLong(b))
		case 'G': // BINFLOAT
			b, err2 := u.take(8)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		case 'X', 0x8c, 0x8d, 'T', 'U': // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, BINSTRING, SHORT_BINSTRING
			var n uint64
			switch op {
			case 'X', 'T':
				n, err = u.u32()
				if err == nil && op == 'T' && n >= 1<<31 {
					return nil, errf(ErrFormat, "pickle BINSTRING has a negative length")
				}
			case 0x8d:
				n, err = u.u64()
			default:
				n, err = u.u8()
			}
			if err != nil {
				return nil, err
			}
			b, err2 := u.take(n)
			if err2 != nil {
				return nil, err2
			}
			s, err2 := u.str(b)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(s)
		case 'B', 'C', 0x8e, 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
			var n uint64
			switch op {
			case 'B':
				n, err = u.u32()
			case 'C':
				n, err = u.u8()
			default:
				n, err = u.u64()
			}
			if err != nil {
				return nil, err
			}
			b, err2 := u.take(n)
			if err2 != nil {
				return nil, err2
			}
			if err := u.count(); err != nil {
				return nil, err
			}
			err = u.push(append([]byte(nil), b...))
		case ')': // EMPTY_TUPLE
			err = u.push(&pyTuple{})
		case 't': // TUPLE
			items, err2 := u.popMark()
			if err2 != nil {
				return nil, err2
			}
			t, err2 := u.tuple(items)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(t)
		case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
			n := int(op - 0x84)
			items := make([]any, n)
			for i := n - 1; i >= 0; i-- {
				if items[i], err = u.pop(); err != nil {
					return nil, err
				}
			}
			t, err2 := u.tuple(items)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(t)
		case ']': // EMPTY_LIST
			if err := u.count(); err != nil {
				return nil, err
			}
			err = u.push(&pyList{})
		case 'l': // LIST
			items, err2 := u.popMark()
			if err2 != nil {
				return nil, err2
			}
			if err := u.count(); err != nil {
				return nil, err
			}
			l := &pyList{}
			if err := u.appendTo(l, items); err != nil {
				return nil, err
			}
			err = u.push(l)
		case 'a': // APPEND
			v, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			l, err2 := u.top()
			if err2 != nil {
				return nil, err2
			}
			err = u.appendTo(l, []any{v})
		case 'e': // APPENDS
			items, err2 := u.popMark()
			if err2 != nil {
				return nil, err2
			}
			l, err2 := u.top()
			if err2 != nil {
				return nil, err2
			}
			err = u.appendTo(l, items)
		case '}': // EMPTY_DICT
			if err := u.count(); err != nil {
				return nil, err
			}
			err = u.push(newDict())
		case 'd': // DICT
			items, err2 := u.popMark()
			if err2 != nil {
				return nil, err2
			}
			if len(items)%2 != 0 {
				return nil, errf(ErrFormat, "pickle DICT has an odd number of items")
			}
			if err := u.count(); err != nil {
				return nil, err
			}
			d := newDict()
			for i := 0; i < len(items); i += 2 {
				if err := u.setItem(d, items[i], items[i+1]); err != nil {
					return nil, err
				}
			}
			err = u.push(d)
		case 's': // SETITEM
			v, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			k, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			t, err2 := u.top()
			if err2 != nil {
				return nil, err2
			}
			d, ok := t.(*pyDict)
			if !ok {
				return nil, errf(ErrFormat, "pickle SETITEM on %s", typeName(t))
			}
			err = u.setItem(d, k, v)
		case 'u': // SETITEMS
			items, err2 := u.popMark()
			if err2 != nil {
				return nil, err2
			}
			if len(items)%2 != 0 {
				return nil, errf(ErrFormat, "pickle SETITEMS has an odd number of items")
			}
			t, err2 := u.top()
			if err2 != nil {
				return nil, err2
			}
			d, ok := t.(*pyDict)
			if !ok {
				return nil, errf(ErrFormat, "pickle SETITEMS on %s", typeName(t))
			}
			for i := 0; i < len(items) && err == nil; i += 2 {
				err = u.setItem(d, items[i], items[i+1])
			}
		case 0x8f: // EMPTY_SET
			if err := u.count(); err != nil {
				return nil, err
			}
			err = u.push(&pySet{})
		case 0x90: // ADDITEMS
			items, err2 := u.popMark()
			if err2 != nil {
				return nil, err2
			}
			s, err2 := u.top()
			if err2 != nil {
				return nil, err2
			}
			if _, ok := s.(*pySet); !ok {
				return nil, errf(ErrFormat, "pickle ADDITEMS on %s", typeName(s))
			}
			err = u.appendTo(s, items)
		case 0x91: // FROZENSET
			items, err2 := u.popMark()
			if err2 != nil {
				return nil, err2
			}
			if err := u.count(); err != nil {
				return nil, err
			}
			s := &pySet{}
			if err := u.appendTo(s, items); err != nil {
				return nil, err
			}
			err = u.push(s)
		case 'c': // GLOBAL
			module, err2 := u.line()
			if err2 != nil {
				return nil, err2
			}
			name, err2 := u.line()
			if err2 != nil {
				return nil, err2
			}
			g, err2 := lookupGlobal(module, name)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(g)
		case 0x93: // STACK_GLOBAL
			n, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			m, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			module, ok1 := m.(string)
			name, ok2 := n.(string)
			if !ok1 || !ok2 {
				return nil, errf(ErrFormat, "pickle STACK_GLOBAL needs two strings, got %s and %s", typeName(m), typeName(n))
			}
			g, err2 := lookupGlobal(module, name)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(g)
		case 'R': // REDUCE
			a, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			f, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			args, ok := a.(*pyTuple)
			if !ok {
				return nil, errf(ErrFormat, "pickle REDUCE arguments are a %s, not a tuple", typeName(a))
			}
			g, ok := f.(*pyGlobal)
			if !ok {
				return nil, errf(ErrFormat, "pickle REDUCE calls a %s", typeName(f))
			}
			if err := u.count(); err != nil {
				return nil, err
			}
			v, err2 := g.call(u, args)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(v)
		case 0x81: // NEWOBJ
			a, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			c, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			args, ok := a.(*pyTuple)
			if !ok {
				return nil, errf(ErrFormat, "pickle NEWOBJ arguments are a %s, not a tuple", typeName(a))
			}
			g, ok := c.(*pyGlobal)
			if !ok {
				return nil, errf(ErrFormat, "pickle NEWOBJ instantiates a %s", typeName(c))
			}
			if err := u.count(); err != nil {
				return nil, err
			}
			v, err2 := g.instantiate(u, args)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(v)
		case 'b': // BUILD
			state, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			obj, err2 := u.top()
			if err2 != nil {
				return nil, err2
			}
			switch o := obj.(type) {
			case *pyDict:
				// OrderedDict state (state_dict's _metadata) or a dict
				// subclass's __dict__: not part of the mapping, ignored.
			case *pyObject:
				if o.state != nil {
					return nil, errf(ErrFormat, "pickle BUILD twice on %s", o.class)
				}
				o.state = state
				if o.depth, err = u.deeper(o.depth, state); err != nil {
					return nil, err
				}
			default:
				return nil, errf(ErrFormat, "pickle BUILD on %s", typeName(obj))
			}
		case 'q': // BINPUT
			i, err2 := u.u8()
			if err2 != nil {
				return nil, err2
			}
			err = u.memoPut(uint32(i))
		case 'r': // LONG_BINPUT
			i, err2 := u.u32()
			if err2 != nil {
				return nil, err2
			}
			err = u.memoPut(uint32(i))
		case 0x94: // MEMOIZE
			err = u.memoPut(uint32(len(u.memo)))
		case 'h': // BINGET
			i, err2 := u.u8()
			if err2 != nil {
				return nil, err2
			}
			err = u.memoGet(uint32(i))
		case 'j': // LONG_BINGET
			i, err2 := u.u32()
			if err2 != nil {
				return nil, err2
			}
			err = u.memoGet(uint32(i))
		case 'Q': // BINPERSID
			pid, err2 := u.pop()
			if err2 != nil {
				return nil, err2
			}
			if u.persistentLoad == nil {
				return nil, errf(ErrFormat, "pickle has a persistent id where none is expected")
			}
			v, err2 := u.persistentLoad(pid)
			if err2 != nil {
				return nil, err2
			}
			err = u.push(v)
		default:
			return nil, errf(ErrUnsupported, "pickle opcode %s is not supported", opcodeName(byte(op)))
		}
		if err != nil {
			return nil, err
		}
	}
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var x uint64
		for i := len(b) - 1; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(x<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	x := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if x.IsInt64() {
		return x.Int64()
	}
	return x
}

func opcodeName(op byte) string {
	names := map[byte]string{
		'I': "INT", 'L': "LONG", 'F': "FLOAT", 'S': "STRING", 'V': "UNICODE",
		'p': "PUT", 'g': "GET", 'P': "PERSID", 'i': "INST", 'o': "OBJ",
		0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x92: "NEWOBJ_EX",
		0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
	}
	if n, ok := names[op]; ok {
		return fmt.Sprintf("%s (0x%02x)", n, op)
	}
	return fmt.Sprintf("0x%02x", op)
}
