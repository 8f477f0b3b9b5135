package qkernel

// Add computes y = a + b (AddTables) over equal-length slices.
func Add(t *AddTables, a, b, y []uint8) {
	a = a[:len(y)]
	b = b[:len(y)]
	m, s := int64(t.Out.Mult), uint(t.Out.Shift)
	o := &t.O
	for i := range y {
		y[i] = requantize(t.A[a[i]]+t.B[b[i]], m, s, o)
	}
}
