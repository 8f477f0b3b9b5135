//go:build !purego

package qkernel

// An interpreter for the instructions of the generated conv_amd64.s, so
// that the AVX-512 VNNI kernels are tested bit-exact against ConvRef on
// machines without AVX-512 (and the AVX2 kernels, run through it, check the
// interpreter against the real CPU). It executes the text of the assembly
// file, instruction by instruction, on emulated registers; memory accesses
// go to the Go buffers the kernel was given, bounds-checked, so a stray read
// or write is a test failure rather than a crash.
//
// Operand order is Go's (sources first, destination last; CMP compares its
// first operand with its second). Only the instructions the generator
// emits are known; anything else fails the test.

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

type emuOperand struct {
	kind  byte // 'r' GP register, 'v' vector register, 'k' mask, 'i' immediate, 'm' memory, 'l' label
	reg   int  // register number
	width int  // vector width in bytes (16, 32, 64) or GP width
	imm   int64
	// memory: base register (-1 none), index register (-1), scale,
	// displacement; or a symbol: "FP" (argument offset), "SP" (frame),
	// "SB" (data symbol).
	base, index, scale int
	disp               int64
	sym                string
	label              string
}

type emuInst struct {
	op   string
	args []emuOperand
	line int
}

type emuFunc struct {
	insts  []emuInst
	labels map[string]int
	frame  int
}

type emuProgram struct {
	funcs map[string]*emuFunc
	data  map[string][]byte
}

var gpNames = map[string]int{"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
	"R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15}

func parseEmuOperand(s string) (emuOperand, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "$"):
		v, err := strconv.ParseInt(s[1:], 0, 64)
		return emuOperand{kind: 'i', imm: v}, err
	case len(s) >= 2 && (s[0] == 'X' || s[0] == 'Y' || s[0] == 'Z') && s[1] >= '0' && s[1] <= '9':
		n, err := strconv.Atoi(s[1:])
		w := map[byte]int{'X': 16, 'Y': 32, 'Z': 64}[s[0]]
		return emuOperand{kind: 'v', reg: n, width: w}, err
	case len(s) == 2 && s[0] == 'K':
		return emuOperand{kind: 'k', reg: int(s[1] - '0')}, nil
	}
	if r, ok := gpNames[s]; ok {
		return emuOperand{kind: 'r', reg: r, width: 8}, nil
	}
	if len(s) > 0 && s[0] == 'E' || s == "R8L" {
		if r, ok := gpNames[s[1:]]; ok { // EAX …: 32-bit
			return emuOperand{kind: 'r', reg: r, width: 4}, nil
		}
	}
	if i := strings.Index(s, "("); i >= 0 {
		m := emuOperand{kind: 'm', base: -1, index: -1, scale: 1}
		pre, rest := s[:i], s[i:]
		// Symbolic: name+off(FP), name<>+off(SB), off(SP).
		for _, sym := range []string{"(FP)", "(SB)", "(SP)"} {
			if rest == sym {
				m.sym = sym[1:3]
				off := pre
				if j := strings.LastIndex(pre, "+"); j >= 0 {
					m.label = pre[:j]
					off = pre[j+1:]
				}
				if off != "" {
					v, err := strconv.ParseInt(off, 0, 64)
					if err != nil {
						return m, err
					}
					m.disp = v
				}
				return m, nil
			}
		}
		if pre != "" {
			v, err := strconv.ParseInt(pre, 0, 64)
			if err != nil {
				return m, err
			}
			m.disp = v
		}
		parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")"), ")(")
		b, ok := gpNames[parts[0]]
		if !ok {
			return m, fmt.Errorf("base %q", parts[0])
		}
		m.base = b
		if len(parts) == 2 {
			ix, sc, _ := strings.Cut(parts[1], "*")
			m.index, ok = gpNames[ix]
			if !ok {
				return m, fmt.Errorf("index %q", ix)
			}
			m.scale, _ = strconv.Atoi(sc)
		}
		return m, nil
	}
	return emuOperand{kind: 'l', label: s}, nil
}

func splitOperands(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

var (
	emuOnce sync.Once
	emuProg *emuProgram
	emuErr  error
)

// loadEmu parses conv_amd64.s once.
func loadEmu() (*emuProgram, error) {
	emuOnce.Do(func() {
		src, err := os.ReadFile("conv_amd64.s")
		if err != nil {
			emuErr = err
			return
		}
		p := &emuProgram{funcs: map[string]*emuFunc{}, data: map[string][]byte{}}
		var f *emuFunc
		for n, line := range strings.Split(string(src), "\n") {
			line = strings.TrimSpace(line)
			if i := strings.Index(line, "//"); i >= 0 {
				line = strings.TrimSpace(line[:i])
			}
			// PCALIGN (function alignment) changes no state.
			if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "GLOBL") || strings.HasPrefix(line, "PCALIGN ") {
				continue
			}
			if strings.HasPrefix(line, "DATA ") {
				// DATA sym<>+off(SB)/size, $value
				lhs, val, _ := strings.Cut(line[5:], ",")
				name, rest, _ := strings.Cut(lhs, "<>+")
				offs, size, _ := strings.Cut(strings.TrimSuffix(rest, ""), "(SB)/")
				off, _ := strconv.Atoi(offs)
				sz, _ := strconv.Atoi(size)
				v, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(val), "$")), 0, 64)
				if err != nil {
					emuErr = fmt.Errorf("line %d: %v", n+1, err)
					return
				}
				d := p.data[name]
				for len(d) < off+sz {
					d = append(d, 0)
				}
				for b := 0; b < sz; b++ {
					d[off+b] = byte(v >> (8 * b))
				}
				p.data[name] = d
				continue
			}
			if strings.HasPrefix(line, "TEXT ") {
				name := strings.TrimPrefix(strings.Fields(line)[1], "·")
				name = strings.TrimSuffix(name, "(SB),")
				f = &emuFunc{labels: map[string]int{}}
				p.funcs[name] = f
				continue
			}
			if strings.HasSuffix(line, ":") {
				f.labels[strings.TrimSuffix(line, ":")] = len(f.insts)
				continue
			}
			op, rest, _ := strings.Cut(line, " ")
			in := emuInst{op: op, line: n + 1}
			for _, a := range splitOperands(rest) {
				o, err := parseEmuOperand(a)
				if err != nil {
					emuErr = fmt.Errorf("conv_amd64.s:%d: operand %q: %v", n+1, a, err)
					return
				}
				in.args = append(in.args, o)
			}
			f.insts = append(f.insts, in)
		}
		emuProg = p
	})
	return emuProg, emuErr
}

// emuRegion is a Go buffer the emulated code may touch.
type emuRegion struct {
	start uintptr
	size  int
	base  unsafe.Pointer
}

type emuMachine struct {
	prog    *emuProgram
	gp      [16]uint64
	vec     [32][64]byte
	k       [8]uint64
	args    []uint64
	frame   []byte
	regions []emuRegion
	// flags: the last CMP operands (a, b) or the last arithmetic result.
	cmpA, cmpB int64
}

func (m *emuMachine) addRegion(b []byte) {
	if len(b) == 0 {
		return
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	m.regions = append(m.regions, emuRegion{start: uintptr(p), size: len(b), base: p})
}

// mem returns n bytes at address a, which must lie inside one region.
func (m *emuMachine) mem(a uint64, n int) []byte {
	for _, r := range m.regions {
		if uint64(r.start) <= a && a+uint64(n) <= uint64(r.start)+uint64(r.size) {
			return unsafe.Slice((*byte)(unsafe.Add(r.base, int(a-uint64(r.start)))), n)
		}
	}
	panic(fmt.Sprintf("emulator: access of %d bytes at %#x outside every buffer", n, a))
}

// operand memory: FP args, SP frame, SB data, or a GP address.
func (m *emuMachine) memOp(o emuOperand, n int) []byte {
	switch o.sym {
	case "FP":
		if o.disp%8 != 0 || int(o.disp/8) >= len(m.args) || n > 8 {
			panic(fmt.Sprintf("emulator: argument %s+%d", o.label, o.disp))
		}
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, m.args[o.disp/8])
		return b[:n]
	case "SP":
		return m.frame[o.disp : o.disp+int64(n)]
	case "SB":
		d := m.prog.data[strings.TrimSuffix(o.label, "<>")]
		return d[o.disp : o.disp+int64(n)]
	}
	a := uint64(o.disp)
	if o.base >= 0 {
		a += m.gp[o.base]
	}
	if o.index >= 0 {
		a += m.gp[o.index] * uint64(o.scale)
	}
	return m.mem(a, n)
}

func (m *emuMachine) gpVal(o emuOperand) int64 {
	switch o.kind {
	case 'i':
		return o.imm
	case 'r':
		if o.width == 4 {
			return int64(uint32(m.gp[o.reg]))
		}
		return int64(m.gp[o.reg])
	case 'm':
		return int64(binary.LittleEndian.Uint64(m.memOp(o, 8)))
	}
	panic(fmt.Sprintf("emulator: not a GP value: %+v", o))
}

func (m *emuMachine) setGP(o emuOperand, v int64) {
	switch o.kind {
	case 'r':
		if o.width == 4 {
			v = int64(uint32(v))
		}
		m.gp[o.reg] = uint64(v)
	case 'm':
		binary.LittleEndian.PutUint64(m.memOp(o, 8), uint64(v))
	default:
		panic(fmt.Sprintf("emulator: not a GP destination: %+v", o))
	}
}

// vsrc returns the bytes of a vector source of width w (a register, or
// memory read at that width).
func (m *emuMachine) vsrc(o emuOperand, w int) []byte {
	switch o.kind {
	case 'v':
		return m.vec[o.reg][:w]
	case 'm':
		b := make([]byte, w)
		copy(b, m.memOp(o, w))
		return b
	}
	panic(fmt.Sprintf("emulator: not a vector source: %+v", o))
}

// vdst writes a vector result: registers are zero-extended to 512 bits
// (VEX and EVEX writes), memory gets len(v) bytes.
func (m *emuMachine) vdst(o emuOperand, v []byte) {
	switch o.kind {
	case 'v':
		var r [64]byte
		copy(r[:], v)
		m.vec[o.reg] = r
	case 'm':
		copy(m.memOp(o, len(v)), v)
	default:
		panic(fmt.Sprintf("emulator: not a vector destination: %+v", o))
	}
}

func le32(b []byte, i int) int32     { return int32(binary.LittleEndian.Uint32(b[4*i:])) }
func put32(b []byte, i int, v int32) { binary.LittleEndian.PutUint32(b[4*i:], uint32(v)) }
func le64(b []byte, i int) int64     { return int64(binary.LittleEndian.Uint64(b[8*i:])) }
func put64(b []byte, i int, v int64) { binary.LittleEndian.PutUint64(b[8*i:], uint64(v)) }
func le16(b []byte, i int) int16     { return int16(binary.LittleEndian.Uint16(b[2*i:])) }
func put16(b []byte, i int, v int16) { binary.LittleEndian.PutUint16(b[2*i:], uint16(v)) }

// lanes32 applies f to every dword lane of (a, b) into a new vector.
func lanes32(a, b []byte, f func(x, y int32, j int) int32) []byte {
	d := make([]byte, len(a))
	for j := 0; j < len(a)/4; j++ {
		put32(d, j, f(le32(a, j), le32(b, j), j))
	}
	return d
}

func lanes64(a, b []byte, f func(x, y int64) int64) []byte {
	d := make([]byte, len(a))
	for j := 0; j < len(a)/8; j++ {
		put64(d, j, f(le64(a, j), le64(b, j)))
	}
	return d
}

func sat16(v int32) int16 { return int16(min(max(v, math.MinInt16), math.MaxInt16)) }
func usat8(v int16) byte  { return byte(min(max(v, 0), 255)) }

// run executes function name with the argument words args.
func (m *emuMachine) run(name string) {
	f := m.prog.funcs[name]
	if f == nil {
		panic("emulator: no function " + name)
	}
	m.frame = make([]byte, 256)
	steps := 0
	for pc := 0; pc < len(f.insts); {
		in := f.insts[pc]
		pc++
		steps++
		if steps > 1<<28 {
			panic("emulator: runaway loop in " + name)
		}
		a := in.args
		w := 0 // vector width from the destination
		if len(a) > 0 && a[len(a)-1].kind == 'v' {
			w = a[len(a)-1].width
		}
		jump := func(take bool) {
			if take {
				t, ok := f.labels[a[0].label]
				if !ok {
					panic("emulator: no label " + a[0].label)
				}
				pc = t
			}
		}
		switch in.op {
		case "MOVQ":
			if a[0].kind == 'v' { // MOVQ X, mem: low 8 bytes
				copy(m.memOp(a[1], 8), m.vec[a[0].reg][:8])
				break
			}
			m.setGP(a[1], m.gpVal(a[0]))
		case "MOVL":
			m.setGP(a[1], int64(uint32(m.gpVal(a[0]))))
		case "MOVLQSX":
			var v int64
			if a[0].kind == 'm' {
				v = int64(int32(binary.LittleEndian.Uint32(m.memOp(a[0], 4))))
			} else {
				v = int64(int32(m.gpVal(a[0])))
			}
			m.setGP(a[1], v)
		case "ADDQ":
			m.setGP(a[1], m.gpVal(a[1])+m.gpVal(a[0]))
		case "SUBQ":
			r := m.gpVal(a[1]) - m.gpVal(a[0])
			m.setGP(a[1], r)
			m.cmpA, m.cmpB = r, 0
		case "SHRQ":
			r := int64(uint64(m.gpVal(a[1])) >> uint(m.gpVal(a[0])))
			m.setGP(a[1], r)
			m.cmpA, m.cmpB = r, 0
		case "TESTQ":
			m.cmpA, m.cmpB = m.gpVal(a[0])&m.gpVal(a[1]), 0
		case "SHLQ":
			m.setGP(a[1], m.gpVal(a[1])<<uint(m.gpVal(a[0])))
		case "IMULQ":
			m.setGP(a[1], m.gpVal(a[1])*m.gpVal(a[0]))
		case "DECQ":
			r := m.gpVal(a[0]) - 1
			m.setGP(a[0], r)
			m.cmpA, m.cmpB = r, 0
		case "LEAQ":
			o := a[0]
			v := o.disp
			if o.base >= 0 {
				v += int64(m.gp[o.base])
			}
			if o.index >= 0 {
				v += int64(m.gp[o.index]) * int64(o.scale)
			}
			m.setGP(a[1], v)
		case "CMPQ":
			m.cmpA, m.cmpB = m.gpVal(a[0]), m.gpVal(a[1])
		case "CMPL":
			v := func(o emuOperand) int64 {
				if o.kind == 'm' {
					return int64(int32(binary.LittleEndian.Uint32(m.memOp(o, 4))))
				}
				return int64(int32(m.gpVal(o)))
			}
			m.cmpA, m.cmpB = v(a[0]), v(a[1])
		case "CMOVQLT":
			if m.cmpA < m.cmpB {
				m.setGP(a[1], m.gpVal(a[0]))
			}
		case "JNE":
			jump(m.cmpA != m.cmpB)
		case "JE":
			jump(m.cmpA == m.cmpB)
		case "JLE":
			jump(m.cmpA <= m.cmpB)
		case "JMP":
			jump(true)
		case "RET":
			return
		case "VZEROUPPER":
			for r := range m.vec {
				clear(m.vec[r][16:])
			}
		case "KMOVW":
			m.k[a[1].reg] = uint64(uint16(m.gpVal(a[0])))
		case "VPXOR", "VPXORD":
			x, y := m.vsrc(a[0], w), m.vsrc(a[1], w)
			d := make([]byte, w)
			for i := range d {
				d[i] = x[i] ^ y[i]
			}
			m.vdst(a[2], d)
		case "VPOR", "VPORD":
			x, y := m.vsrc(a[0], w), m.vsrc(a[1], w)
			d := make([]byte, w)
			for i := range d {
				d[i] = x[i] | y[i]
			}
			m.vdst(a[2], d)
		case "VPTEST": // ZF = (a AND b) == 0, as a compare of that with 0
			x, y := m.vsrc(a[0], w), m.vsrc(a[1], w)
			m.cmpA, m.cmpB = 0, 0
			for i := range x {
				if x[i]&y[i] != 0 {
					m.cmpA = 1
				}
			}
		case "VMOVDQU", "VMOVDQU32":
			n := w
			if a[0].kind == 'v' {
				n = a[0].width
			}
			m.vdst(a[1], m.vsrc(a[0], n))
		case "VPBROADCASTD":
			v := m.memOp(a[0], 4)
			d := make([]byte, w)
			for j := 0; j < w; j += 4 {
				copy(d[j:], v)
			}
			m.vdst(a[1], d)
		case "VPSHUFB":
			mask, src := m.vsrc(a[0], w), m.vsrc(a[1], w)
			d := make([]byte, w)
			for i := range d {
				if c := mask[i]; c&0x80 == 0 {
					d[i] = src[i&^15+int(c&15)]
				}
			}
			m.vdst(a[2], d)
		case "VPMADDWD":
			y, x := m.vsrc(a[0], w), m.vsrc(a[1], w)
			d := make([]byte, w)
			for j := 0; j < w/4; j++ {
				s := int32(le16(x, 2*j))*int32(le16(y, 2*j)) + int32(le16(x, 2*j+1))*int32(le16(y, 2*j+1))
				put32(d, j, s)
			}
			m.vdst(a[2], d)
		case "VPDPBUSD":
			wt, act := m.vsrc(a[0], w), m.vsrc(a[1], w)
			acc := m.vsrc(a[2], w)
			d := make([]byte, w)
			for j := 0; j < w/4; j++ {
				s := le32(acc, j)
				for b := 0; b < 4; b++ {
					s += int32(act[4*j+b]) * int32(int8(wt[4*j+b]))
				}
				put32(d, j, s)
			}
			m.vdst(a[2], d)
		case "VPADDD":
			m.vdst(a[2], lanes32(m.vsrc(a[1], w), m.vsrc(a[0], w), func(x, y int32, _ int) int32 { return x + y }))
		case "VPADDQ":
			m.vdst(a[2], lanes64(m.vsrc(a[1], w), m.vsrc(a[0], w), func(x, y int64) int64 { return x + y }))
		case "VPMAXSD":
			m.vdst(a[2], lanes32(m.vsrc(a[1], w), m.vsrc(a[0], w), func(x, y int32, _ int) int32 { return max(x, y) }))
		case "VPMINSD":
			m.vdst(a[2], lanes32(m.vsrc(a[1], w), m.vsrc(a[0], w), func(x, y int32, _ int) int32 { return min(x, y) }))
		case "VPSLLVD":
			m.vdst(a[2], lanes32(m.vsrc(a[1], w), m.vsrc(a[0], w), func(x, c int32, _ int) int32 {
				if uint32(c) > 31 {
					return 0
				}
				return x << uint(c)
			}))
		case "VPSRAVD":
			m.vdst(a[2], lanes32(m.vsrc(a[1], w), m.vsrc(a[0], w), func(x, c int32, _ int) int32 {
				return x >> min(uint32(c), 31)
			}))
		case "VPHADDD":
			y, x := m.vsrc(a[0], w), m.vsrc(a[1], w)
			d := make([]byte, w)
			for l := 0; l < w/16; l++ {
				put32(d, 4*l+0, le32(x, 4*l)+le32(x, 4*l+1))
				put32(d, 4*l+1, le32(x, 4*l+2)+le32(x, 4*l+3))
				put32(d, 4*l+2, le32(y, 4*l)+le32(y, 4*l+1))
				put32(d, 4*l+3, le32(y, 4*l+2)+le32(y, 4*l+3))
			}
			m.vdst(a[2], d)
		case "VPSHUFD":
			imm := a[0].imm
			x := m.vsrc(a[1], w)
			d := make([]byte, w)
			for l := 0; l < w/16; l++ {
				for i := 0; i < 4; i++ {
					put32(d, 4*l+i, le32(x, 4*l+int(imm>>(2*i))&3))
				}
			}
			m.vdst(a[2], d)
		case "VPMULDQ":
			m.vdst(a[2], lanes64(m.vsrc(a[1], w), m.vsrc(a[0], w), func(x, y int64) int64 {
				return int64(int32(x)) * int64(int32(y))
			}))
		case "VPSRLQ":
			sh := uint(a[0].imm)
			m.vdst(a[2], lanes64(m.vsrc(a[1], w), m.vsrc(a[1], w), func(x, _ int64) int64 {
				if sh > 63 {
					return 0
				}
				return int64(uint64(x) >> sh)
			}))
		case "VPBLENDD":
			imm := a[0].imm
			m.vdst(a[3], lanes32(m.vsrc(a[2], w), m.vsrc(a[1], w), func(x, y int32, j int) int32 {
				if imm>>(j%8)&1 != 0 {
					return y
				}
				return x
			}))
		case "VMOVDQA32": // src, K, dst: merge-masked move
			k := m.k[a[1].reg]
			m.vdst(a[2], lanes32(m.vsrc(a[2], w), m.vsrc(a[0], w), func(x, y int32, j int) int32 {
				if k>>j&1 != 0 {
					return y
				}
				return x
			}))
		case "VPACKSSDW":
			y, x := m.vsrc(a[0], w), m.vsrc(a[1], w)
			d := make([]byte, w)
			for l := 0; l < w/16; l++ {
				for i := 0; i < 4; i++ {
					put16(d, 8*l+i, sat16(le32(x, 4*l+i)))
					put16(d, 8*l+4+i, sat16(le32(y, 4*l+i)))
				}
			}
			m.vdst(a[2], d)
		case "VPACKUSWB":
			y, x := m.vsrc(a[0], w), m.vsrc(a[1], w)
			d := make([]byte, w)
			for l := 0; l < w/16; l++ {
				for i := 0; i < 8; i++ {
					d[16*l+i] = usat8(le16(x, 8*l+i))
					d[16*l+8+i] = usat8(le16(y, 8*l+i))
				}
			}
			m.vdst(a[2], d)
		case "VPERMQ":
			imm := a[0].imm
			x := m.vsrc(a[1], w)
			d := make([]byte, w)
			for i := 0; i < w/8; i++ {
				put64(d, i, le64(x, int(imm>>(2*i))&3))
			}
			m.vdst(a[2], d)
		case "VEXTRACTI128":
			x := m.vsrc(a[1], 32)
			m.vdst(a[2], x[16*a[0].imm:16*a[0].imm+16])
		case "VPMOVDB":
			x := m.vsrc(a[0], a[0].width)
			d := make([]byte, a[0].width/4)
			for j := range d {
				d[j] = x[4*j]
			}
			m.vdst(a[1], d)
		default:
			panic(fmt.Sprintf("emulator: conv_amd64.s:%d: unknown instruction %s", in.line, in.op))
		}
	}
	panic("emulator: fell off the end of " + name)
}

// emuAsm returns an x86Asm that runs the named kernel (of layout l) in the
// emulator. The memory it may touch is what the kernel contract allows,
// derived from the arguments: the rows the indirection entries point at
// (4·kq bytes each), the mr·ks entries, nb blocks of weights, mr output
// rows of nb·NR bytes, and the output constants. Anything else panics.
func emuAsm(prog *emuProgram, name string, l x86Layout) func(x *byte, ind *int32, ks, kq, mr, nb int, w *byte, bs int, c *byte, cs int, oc *int32) {
	return func(x *byte, ind *int32, ks, kq, mr, nb int, w *byte, bs int, c *byte, cs int, oc *int32) {
		m := &emuMachine{prog: prog}
		entries := unsafe.Slice(ind, mr*ks)
		lo, hi := int(entries[0]), int(entries[0])
		for _, e := range entries {
			lo, hi = min(lo, int(e)), max(hi, int(e))
		}
		region := func(p unsafe.Pointer, off, n int) {
			m.addRegion(unsafe.Slice((*byte)(unsafe.Add(p, off)), n))
		}
		region(unsafe.Pointer(x), lo, hi-lo+4*kq)
		region(unsafe.Pointer(ind), 0, 4*mr*ks)
		region(unsafe.Pointer(w), 0, (nb-1)*bs+l.weightsOff()+ks*kq*l.stepBytes())
		region(unsafe.Pointer(c), 0, (mr-1)*cs+nb*l.nr)
		region(unsafe.Pointer(oc), 0, 4*len(outConsts(&Output{})))
		m.args = []uint64{uint64(uintptr(unsafe.Pointer(x))), uint64(uintptr(unsafe.Pointer(ind))), uint64(ks), uint64(kq),
			uint64(mr), uint64(nb), uint64(uintptr(unsafe.Pointer(w))), uint64(bs), uint64(uintptr(unsafe.Pointer(c))), uint64(cs),
			uint64(uintptr(unsafe.Pointer(oc)))}
		m.run(name)
	}
}

// emulated returns a copy of amd64 kernel k that runs in the emulator.
func emulated(t testing.TB, k *ConvKernel) *ConvKernel {
	prog, err := loadEmu()
	if err != nil {
		t.Fatal(err)
	}
	l := x86Layout{mr: k.MR, nr: k.NR, lanes: 8, wordSize: 2}
	if k.ISA == isaAVX512VNNI {
		l.lanes, l.wordSize = 16, 1
	}
	emu := emuAsm(prog, k.Name, l)
	e := *k
	e.Name += "(emulated)"
	e.Available = true
	e.IGEMM = func(mr, nc, kc, ks int, ind []int32, xoff int, x, w []byte, bs int, c []byte, cs int, o *Output) {
		base := l.checkIGEMM(mr, nc, kc, ks, ind, xoff, x, w, bs, c, cs)
		runEmu(l, emu, base, &ind[0], ks, kc, mr, nc, w, bs, c, cs, o)
	}
	e.GEMM = func(mr, nc, kc int, a []byte, as int, w []byte, bs int, c []byte, cs int, o *Output) {
		ind := l.checkGEMM(mr, nc, kc, a, as, w, bs, c, cs)
		runEmu(l, emu, &a[0], &ind[0], 1, kc, mr, nc, w, bs, c, cs, o)
	}
	return &e
}

// runEmu is x86Layout.run with the kernel emulated.
func runEmu(l x86Layout, emu func(x *byte, ind *int32, ks, kq, mr, nb int, w *byte, bs int, c *byte, cs int, oc *int32),
	x *byte, ind *int32, ks, kc, mr, nc int, w []byte, bs int, c []byte, cs int, o *Output) {
	oc := outConsts(o)
	kq := alignUp(kc, 4) / 4
	full := nc / l.nr
	if full > 0 {
		emu(x, ind, ks, kq, mr, full, &w[0], bs, &c[0], cs, &oc[0])
	}
	if rem := nc - full*l.nr; rem > 0 {
		var tile [8 * 64]byte
		emu(x, ind, ks, kq, mr, 1, &w[full*bs], bs, &tile[0], l.nr, &oc[0])
		for i := 0; i < mr; i++ {
			copy(c[i*cs+full*l.nr:i*cs+nc], tile[i*l.nr:])
		}
	}
}

// The emulator runs the AVX2 kernels exactly as the CPU does: the same
// bytes on random tiles (this checks the interpreter and its parser, so
// that its verdict on the AVX-512 kernels means something).
func TestEmulatorMatchesCPU(t *testing.T) {
	if !x86Features.avx2 {
		t.Skip("no AVX2 on this CPU: nothing to compare the emulator with")
	}
	r := newRand(t)
	n := 40
	if testing.Short() {
		n = 10
	}
	for _, k := range amd64Kernels {
		if k.ISA != isaAVX2 || k.KR != 4 { // the c4 kernels share the AVX-512 kernels' signature
			continue
		}
		e := emulated(t, k)
		for i := 0; i < n; i++ {
			c := edgeCase(r, k, i%3 == 0)
			seed := r.Uint64()
			got := c.run(t, rand.New(rand.NewPCG(seed, 1)), e, false)
			want := c.run(t, rand.New(rand.NewPCG(seed, 1)), k, false)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: %s: emulator differs from the CPU at %s", k.Name, c, firstDiff(got, want))
			}
		}
	}
}

// The AVX-512 VNNI kernels, emulated, against ConvRef: ragged tiles,
// channel counts around NR, every requantization branch, guard bands.
func TestAVX512KernelsEmulated(t *testing.T) {
	r := newRand(t)
	n := 120
	if testing.Short() {
		n = 25
	}
	for _, k := range amd64Kernels {
		if k.ISA != isaAVX512VNNI {
			continue
		}
		e := emulated(t, k)
		t.Run(k.Name, func(t *testing.T) {
			for i := 0; i < n; i++ {
				pointwise := i%3 == 0
				c := edgeCase(r, k, pointwise)
				want := make([]uint8, c.g.Pixels()*c.g.OC)
				ConvRef(&c.g, c.x, c.xZero, c.w, c.bias, c.req, c.o, want)
				if got := c.run(t, r, e, false); !slices.Equal(got, want) {
					t.Fatalf("%s: igemm differs from ConvRef at %s", c, firstDiff(got, want))
				}
				if pointwise {
					if got := c.run(t, r, e, true); !slices.Equal(got, want) {
						t.Fatalf("%s: gemm differs from ConvRef at %s", c, firstDiff(got, want))
					}
				}
			}
			for mr := 1; mr <= k.MR; mr++ {
				for _, nc := range []int{1, k.NR - 1, k.NR + 3} {
					tileCase(t, r, e, mr, nc, pick(r, 1, 3, 5, 8, 17), 1+r.IntN(3))
				}
			}
		})
	}
}
