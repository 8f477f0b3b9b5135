package ref

// Mul (opsets 1, 6, 7, 13, 14): A * B with numpy broadcasting from opset 7,
// the broadcast/axis attributes before it; every numeric type.
var buildMul = buildArith(opMul)
