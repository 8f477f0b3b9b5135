package onnx

// Test helpers shared with the external test package (onnx_test), which
// exists to import internal/ortrun without an import cycle.
var (
	PyONNX         = pyonnx
	ConformanceDir = conformanceDir
)
