package boards_test

import (
	"fmt"
	"testing/fstest"

	"github.com/piresnet/piresnet/boards"
)

func ExampleDetect() {
	// A Raspberry Pi 4 as its /proc shows it (cut down to one core).
	root := fstest.MapFS{
		"proc/device-tree/model":                 {Data: []byte("Raspberry Pi 4 Model B Rev 1.4\x00")},
		"proc/device-tree/system/linux,revision": {Data: []byte{0x00, 0xc0, 0x31, 0x14}},
		"proc/cpuinfo": {Data: []byte("processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\n" +
			"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd08\n")},
	}
	r := boards.Detect(root, "arm64")
	fmt.Println(r.Model)
	fmt.Println(r.Revision)
	fmt.Println(r.Profile.ID, r.Profile.Core, r.Profile.Target(), r.Kernels)
	// Output:
	// Raspberry Pi 4 Model B Rev 1.4
	// c03114: 4B rev 1.4, BCM2711, 4 GB, Sony UK
	// pi4 Cortex-A72 linux/arm64 neon
}

func ExampleParseRevision() {
	r, err := boards.ParseRevision(0x902120)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := boards.ForRevision(r)
	fmt.Println(r.TypeName(), r.ProcessorName(), r.MemoryMB, "MB;", p.Name, p.Cores, "x", p.Core)
	// Output:
	// Zero 2 W BCM2837 512 MB; Raspberry Pi Zero 2 W 4 x Cortex-A53
}
