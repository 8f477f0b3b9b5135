package checkpoint

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// nativeLittleEndian is true where float32 values in memory have the byte
// order of the files (amd64, arm, arm64: every Raspberry Pi).
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// float32Bytes views f's memory as bytes.
func float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// dtype is an element type of a stored tensor and its conversion to float32.
type dtype struct {
	name string // torch's name
	size int    // bytes per element
	// decode converts len(dst) little-endian elements from src.
	decode func(dst []float32, src []byte)
}

var (
	dtFloat32 = dtype{"float32", 4, func(dst []float32, src []byte) {
		src = src[:4*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[:4:4]))
			src = src[4:]
		}
	}}
	dtFloat64 = dtype{"float64", 8, func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	}}
	dtFloat16 = dtype{"float16", 2, func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = math.Float32frombits(f16bits(binary.LittleEndian.Uint16(src[2*i:])))
		}
	}}
	dtBFloat16 = dtype{"bfloat16", 2, func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	}}
	dtInt64 = dtype{"int64", 8, func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = float32(int64(binary.LittleEndian.Uint64(src[8*i:])))
		}
	}}
	dtInt32 = dtype{"int32", 4, func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
		}
	}}
	dtInt16 = dtype{"int16", 2, func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
		}
	}}
	dtInt8 = dtype{"int8", 1, func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	}}
	dtUint8 = dtype{"uint8", 1, func(dst []float32, src []byte) {
		for i := range dst {
			dst[i] = float32(src[i])
		}
	}}
	dtBool = dtype{"bool", 1, func(dst []float32, src []byte) {
		for i := range dst {
			if src[i] != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		}
	}}
)

// f16bits converts IEEE binary16 bits to binary32 bits exactly: every half
// value, subnormals included, is a float32; NaN payloads are kept.
func f16bits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f: // Inf, NaN
		return sign | 0x7f800000 | mant<<13
	case 0:
		if mant == 0 {
			return sign
		}
		// Subnormal: mant·2^-24. Normalize so that bit 10 is the implicit 1.
		e := uint32(127 - 14)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return sign | e<<23 | (mant&0x3ff)<<13
	}
	return sign | (exp+127-15)<<23 | mant<<13
}
