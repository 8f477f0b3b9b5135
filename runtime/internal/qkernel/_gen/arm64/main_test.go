package main

import (
	"bytes"
	"os"
	"testing"
)

// TestCheckedIn fails when conv_arm64.s differs from what the generator
// writes (run `go generate` in package qkernel, or `go run .`).
func TestCheckedIn(t *testing.T) {
	have, err := os.ReadFile("../../conv_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, generate()) {
		t.Fatal("../../conv_arm64.s is stale: regenerate with `go run .` in runtime/internal/qkernel/_gen/arm64")
	}
}
