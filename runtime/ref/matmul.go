package ref

import (
	"fmt"
)

// matmulShape is a numpy.matmul problem: batch broadcast over the leading
// axes, then [m x k] times [k x n].
type matmulShape struct {
	out              []int64 // output dims
	batch            []int64 // broadcast batch dims
	m, k, n          int
	aBatch, bBatch   []int64 // batch dims of each operand
	aVector, bVector bool    // 1-D operands (the unit axis is dropped from out)
}

func matmulShapes(a, b []int64) (matmulShape, error) {
	var s matmulShape
	if len(a) == 0 || len(b) == 0 {
		return s, fmt.Errorf("matmul of a scalar (dims %v and %v)", a, b)
	}
	ad, bd := a, b
	if len(ad) == 1 {
		ad = []int64{1, ad[0]}
		s.aVector = true
	}
	if len(bd) == 1 {
		bd = []int64{bd[0], 1}
		s.bVector = true
	}
	ra, rb := len(ad), len(bd)
	if ad[ra-1] != bd[rb-2] {
		return s, fmt.Errorf("dims %v and %v: inner sizes %d and %d differ", a, b, ad[ra-1], bd[rb-2])
	}
	s.aBatch, s.bBatch = ad[:ra-2], bd[:rb-2]
	batch, err := broadcastShape(s.aBatch, s.bBatch)
	if err != nil {
		return s, fmt.Errorf("batch dims of %v and %v: %v", a, b, err)
	}
	s.batch = batch
	s.m, s.k, s.n = int(ad[ra-2]), int(ad[ra-1]), int(bd[rb-1])
	s.out = append(append([]int64{}, batch...), int64(s.m), int64(s.n))
	if _, err := shapeSize(s.out); err != nil {
		return s, err
	}
	out := append([]int64{}, batch...)
	if !s.aVector {
		out = append(out, int64(s.m))
	}
	if !s.bVector {
		out = append(out, int64(s.n))
	}
	s.out = out
	return s, nil
}

// matmulTasks appends one GEMM per broadcast batch element.
func matmulTasks[T number](s matmulShape, a, b, c []T) []gemmTask[T] {
	nb := prod(s.batch)
	tasks := make([]gemmTask[T], 0, nb)
	sa := broadcastStrides(s.aBatch, s.batch)
	sb := broadcastStrides(s.bBatch, s.batch)
	idx := make([]int, len(s.batch))
	bdims := make([]int, len(s.batch))
	for i, d := range s.batch {
		bdims[i] = int(d)
	}
	for i := 0; i < nb; i++ {
		oa, ob := 0, 0
		for ax := range idx {
			oa += idx[ax] * sa[ax]
			ob += idx[ax] * sb[ax]
		}
		tasks = append(tasks, gemmTask[T]{
			m: s.m, n: s.n, k: s.k,
			a: matrix[T]{a, oa * s.m * s.k, s.k, 1},
			b: densePacker[T]{matrix[T]{b, ob * s.k * s.n, s.n, 1}},
			c: c[i*s.m*s.n:], ldc: s.n,
		})
		nextIndex(idx, bdims)
	}
	return tasks
}
