package boards

import "fmt"

// Revision is a decoded Raspberry Pi revision code, as found in
// /proc/device-tree/system/linux,revision (4 bytes, big-endian) or on the
// "Revision" line of /proc/cpuinfo.
//
// New-style codes (bit 23 set) pack the fields as
//
//	NOQu uuWu FMMM CCCC PPPP TTTT TTTT RRRR
//
// N overvoltage allowed, O OTP programming allowed, Q OTP reading allowed,
// W warranty void, F new-style flag, M memory size, C manufacturer,
// P processor, T board type, R board revision. Old-style codes (Pi 1 and
// the first Compute Module) are a plain number from a published list; bit
// 24 marks a voided warranty. Reference: "Raspberry Pi revision codes",
// https://www.raspberrypi.com/documentation/computers/raspberry-pi.html#raspberry-pi-revision-codes
type Revision struct {
	Code         uint32
	NewStyle     bool
	Type         uint8 // board type (see TypeName)
	Processor    uint8 // 0 BCM2835, 1 BCM2836, 2 BCM2837, 3 BCM2711, 4 BCM2712
	MemoryMB     int
	Manufacturer uint8
	Rev          uint8 // board revision: 0 is 1.0, 1 is 1.1, …
	WarrantyVoid bool
}

// Board type codes (the T field of a new-style revision code).
const (
	TypeA       = 0x00
	TypeB       = 0x01
	TypeAPlus   = 0x02
	TypeBPlus   = 0x03
	Type2B      = 0x04
	TypeAlpha   = 0x05
	TypeCM1     = 0x06
	Type3B      = 0x08
	TypeZero    = 0x09
	TypeCM3     = 0x0a
	TypeZeroW   = 0x0c
	Type3BPlus  = 0x0d
	Type3APlus  = 0x0e
	TypeCM3Plus = 0x10
	Type4B      = 0x11
	TypeZero2W  = 0x12
	Type400     = 0x13
	TypeCM4     = 0x14
	TypeCM4S    = 0x15
	Type5       = 0x17
	TypeCM5     = 0x18
	Type500     = 0x19
	TypeCM5Lite = 0x1a
)

// Processor codes (the P field).
const (
	BCM2835 = 0
	BCM2836 = 1
	BCM2837 = 2
	BCM2711 = 3
	BCM2712 = 4
)

var typeNames = map[uint8]string{
	TypeA: "A", TypeB: "B", TypeAPlus: "A+", TypeBPlus: "B+", Type2B: "2B",
	TypeAlpha: "Alpha", TypeCM1: "CM1", Type3B: "3B", TypeZero: "Zero",
	TypeCM3: "CM3", TypeZeroW: "Zero W", Type3BPlus: "3B+", Type3APlus: "3A+",
	0x0f: "Internal", TypeCM3Plus: "CM3+", Type4B: "4B", TypeZero2W: "Zero 2 W",
	Type400: "400", TypeCM4: "CM4", TypeCM4S: "CM4S", 0x16: "Internal",
	Type5: "5", TypeCM5: "CM5", Type500: "500", TypeCM5Lite: "CM5 Lite",
}

var processorNames = []string{"BCM2835", "BCM2836", "BCM2837", "BCM2711", "BCM2712"}

var manufacturerNames = []string{"Sony UK", "Egoman", "Embest", "Sony Japan", "Embest", "Stadium"}

// oldStyle lists the old-style codes: type, memory, manufacturer, revision.
var oldStyle = map[uint32]Revision{
	0x02: {Type: TypeB, MemoryMB: 256, Manufacturer: 1, Rev: 0},
	0x03: {Type: TypeB, MemoryMB: 256, Manufacturer: 1, Rev: 0},
	0x04: {Type: TypeB, MemoryMB: 256, Manufacturer: 0, Rev: 2},
	0x05: {Type: TypeB, MemoryMB: 256, Manufacturer: 0xff, Rev: 2}, // Qisda
	0x06: {Type: TypeB, MemoryMB: 256, Manufacturer: 1, Rev: 2},
	0x07: {Type: TypeA, MemoryMB: 256, Manufacturer: 1, Rev: 2},
	0x08: {Type: TypeA, MemoryMB: 256, Manufacturer: 0, Rev: 2},
	0x09: {Type: TypeA, MemoryMB: 256, Manufacturer: 0xff, Rev: 2}, // Qisda
	0x0d: {Type: TypeB, MemoryMB: 512, Manufacturer: 1, Rev: 2},
	0x0e: {Type: TypeB, MemoryMB: 512, Manufacturer: 0, Rev: 2},
	0x0f: {Type: TypeB, MemoryMB: 512, Manufacturer: 1, Rev: 2},
	0x10: {Type: TypeBPlus, MemoryMB: 512, Manufacturer: 0, Rev: 2},
	0x11: {Type: TypeCM1, MemoryMB: 512, Manufacturer: 0, Rev: 0},
	0x12: {Type: TypeAPlus, MemoryMB: 256, Manufacturer: 0, Rev: 1},
	0x13: {Type: TypeBPlus, MemoryMB: 512, Manufacturer: 2, Rev: 2},
	0x14: {Type: TypeCM1, MemoryMB: 512, Manufacturer: 2, Rev: 0},
	0x15: {Type: TypeAPlus, MemoryMB: 256, Manufacturer: 2, Rev: 1}, // 256 or 512 MB
}

// ParseRevision decodes a revision code. It fails only for an old-style
// code missing from the published list.
func ParseRevision(code uint32) (Revision, error) {
	if code&(1<<23) != 0 {
		return Revision{
			Code:         code,
			NewStyle:     true,
			Type:         uint8(code >> 4),
			Processor:    uint8(code>>12) & 0xf,
			MemoryMB:     256 << ((code >> 20) & 7),
			Manufacturer: uint8(code>>16) & 0xf,
			Rev:          uint8(code) & 0xf,
			WarrantyVoid: code&(1<<25) != 0,
		}, nil
	}
	r, ok := oldStyle[code&^(1<<24)]
	if !ok {
		return Revision{}, fmt.Errorf("boards: unknown Raspberry Pi revision code %#x", code)
	}
	r.Code = code
	r.Processor = BCM2835
	r.WarrantyVoid = code&(1<<24) != 0
	return r, nil
}

// TypeName is the board type's short name ("4B", "Zero 2 W"), or "type 0xNN".
func (r Revision) TypeName() string {
	if n, ok := typeNames[r.Type]; ok {
		return n
	}
	return fmt.Sprintf("type %#02x", r.Type)
}

// ProcessorName is the SoC's name ("BCM2711"), or "processor N".
func (r Revision) ProcessorName() string {
	if int(r.Processor) < len(processorNames) {
		return processorNames[r.Processor]
	}
	return fmt.Sprintf("processor %d", r.Processor)
}

// ManufacturerName is the maker's name, or "manufacturer N".
func (r Revision) ManufacturerName() string {
	if r.Manufacturer == 0xff {
		return "Qisda"
	}
	if int(r.Manufacturer) < len(manufacturerNames) {
		return manufacturerNames[r.Manufacturer]
	}
	return fmt.Sprintf("manufacturer %d", r.Manufacturer)
}

// String describes the code in one line:
// "c03114: 4B rev 1.4, BCM2711, 4 GB, Sony UK".
func (r Revision) String() string {
	mem := fmt.Sprintf("%d MB", r.MemoryMB)
	if r.MemoryMB >= 1024 {
		mem = fmt.Sprintf("%d GB", r.MemoryMB/1024)
	}
	return fmt.Sprintf("%x: %s rev 1.%d, %s, %s, %s", r.Code, r.TypeName(), r.Rev, r.ProcessorName(), mem, r.ManufacturerName())
}
