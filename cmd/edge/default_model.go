package main

import "github.com/piresnet/piresnet/internal/defaultmodel"

// The model built into edge: the Fashion-MNIST ResNet of testdata/fashion,
// converted to int8 (internal/defaultmodel).
func init() {
	defaultModel = func() ([]byte, error) { return defaultmodel.Bytes(), nil }
}
