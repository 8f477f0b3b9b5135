module github.com/piresnet/piresnet/runtime/internal/qkernel/_gen/arm64

go 1.26
