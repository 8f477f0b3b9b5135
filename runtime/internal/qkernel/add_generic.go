package qkernel

// Add computes y = a + b (AddTables) over equal-length slices: SIMD
// (addArch) where the CPU has it, then the rest here.
func Add(t *AddTables, a, b, y []uint8) {
	a = a[:len(y)]
	b = b[:len(y)]
	m, s := int64(t.Out.Mult), uint(t.Out.Shift)
	o := &t.O
	for i := addArch(t, a, b, y); i < len(y); i++ {
		y[i] = requantize(t.A[a[i]]+t.B[b[i]], m, s, o)
	}
}
