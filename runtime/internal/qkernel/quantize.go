package qkernel

import (
	"fmt"

	"github.com/piresnet/piresnet/quant"
)

// QuantizeU8 is ONNX QuantizeLinear to uint8 over a row: y[i·ys] =
// quant.Quantize(x[i], scale, zp, quant.Uint8) for every i (ys > 1 writes
// one channel of an NHWC tensor). SIMD where the CPU has it (the same
// float32 operations, so the same bytes), then the rest here.
func QuantizeU8(y []byte, ys int, x []float32, scale float32, zp int32) {
	if len(x) == 0 {
		return
	}
	if ys < 1 || (len(x)-1)*ys >= len(y) {
		panic(fmt.Sprintf("qkernel: %d values of stride %d into %d bytes", len(x), ys, len(y)))
	}
	for i := quantizeArch(y, ys, x, scale, zp); i < len(x); i++ {
		y[i*ys] = uint8(quant.Quantize(x[i], scale, zp, quant.Uint8))
	}
}

// ElementwiseKernel names the kernel that runs elementwise operation op
// ("maxpool", "quantize") on this CPU: op_avx2 where the SIMD path runs,
// else op_generic. AddKernel names Add's.
func ElementwiseKernel(op string) string { return op + "_" + elementwiseISA() }

// AddKernel names the kernel Add runs for t on this CPU.
func AddKernel(t *AddTables) string {
	if !t.simd.ok {
		return "add_generic"
	}
	return ElementwiseKernel("add")
}
