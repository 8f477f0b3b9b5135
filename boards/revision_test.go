package boards

import "testing"

// Expected fields are from the published revision-code tables
// (raspberrypi.com documentation), not from this decoder.
func TestParseRevisionPublished(t *testing.T) {
	cases := []struct {
		code      uint32
		typ       string
		processor string
		memMB     int
		maker     string
		rev       uint8
		warranty  bool
		profile   string
	}{
		{0x0002, "B", "BCM2835", 256, "Egoman", 0, false, "pi1"},
		{0x000e, "B", "BCM2835", 512, "Sony UK", 2, false, "pi1"},
		{0x0010, "B+", "BCM2835", 512, "Sony UK", 2, false, "pi1"},
		{0x0013, "B+", "BCM2835", 512, "Embest", 2, false, "pi1"},
		{0x1000002, "B", "BCM2835", 256, "Egoman", 0, true, "pi1"},
		{0x900021, "A+", "BCM2835", 512, "Sony UK", 1, false, "pi1"},
		{0x900032, "B+", "BCM2835", 512, "Sony UK", 2, false, "pi1"},
		{0x900093, "Zero", "BCM2835", 512, "Sony UK", 3, false, "pi-zero"},
		{0x9000c1, "Zero W", "BCM2835", 512, "Sony UK", 1, false, "pi-zero"},
		{0xa01041, "2B", "BCM2836", 1024, "Sony UK", 1, false, "pi2"},
		{0xa21041, "2B", "BCM2836", 1024, "Embest", 1, false, "pi2"},
		{0xa22042, "2B", "BCM2837", 1024, "Embest", 2, false, "pi2-v1.2"},
		{0xa02082, "3B", "BCM2837", 1024, "Sony UK", 2, false, "pi3"},
		{0xa32082, "3B", "BCM2837", 1024, "Sony Japan", 2, false, "pi3"},
		{0xa020d3, "3B+", "BCM2837", 1024, "Sony UK", 3, false, "pi3"},
		{0x9020e0, "3A+", "BCM2837", 512, "Sony UK", 0, false, "pi3"},
		{0xa020a0, "CM3", "BCM2837", 1024, "Sony UK", 0, false, "cm3"},
		{0xa02100, "CM3+", "BCM2837", 1024, "Sony UK", 0, false, "cm3"},
		{0x902120, "Zero 2 W", "BCM2837", 512, "Sony UK", 0, false, "pi-zero-2w"},
		{0xa03111, "4B", "BCM2711", 1024, "Sony UK", 1, false, "pi4"},
		{0xb03114, "4B", "BCM2711", 2048, "Sony UK", 4, false, "pi4"},
		{0xc03114, "4B", "BCM2711", 4096, "Sony UK", 4, false, "pi4"},
		{0xd03115, "4B", "BCM2711", 8192, "Sony UK", 5, false, "pi4"},
		{0xc03130, "400", "BCM2711", 4096, "Sony UK", 0, false, "pi400"},
		{0xb03140, "CM4", "BCM2711", 2048, "Sony UK", 0, false, "cm4"},
		{0xc04170, "5", "BCM2712", 4096, "Sony UK", 0, false, "pi5"},
		{0xd04170, "5", "BCM2712", 8192, "Sony UK", 0, false, "pi5"},
		{0xe04171, "5", "BCM2712", 16384, "Sony UK", 1, false, "pi5"},
		{0xd04190, "500", "BCM2712", 8192, "Sony UK", 0, false, "pi500"},
		{0xb04180, "CM5", "BCM2712", 2048, "Sony UK", 0, false, "cm5"},
		{0x2a020d3, "3B+", "BCM2837", 1024, "Sony UK", 3, true, "pi3"},
	}
	for _, c := range cases {
		r, err := ParseRevision(c.code)
		if err != nil {
			t.Errorf("%#x: %v", c.code, err)
			continue
		}
		if r.TypeName() != c.typ || r.ProcessorName() != c.processor || r.MemoryMB != c.memMB ||
			r.ManufacturerName() != c.maker || r.Rev != c.rev || r.WarrantyVoid != c.warranty {
			t.Errorf("%#x: got %s %s %d MB %s rev %d warranty-void %v; want %s %s %d MB %s rev %d %v",
				c.code, r.TypeName(), r.ProcessorName(), r.MemoryMB, r.ManufacturerName(), r.Rev, r.WarrantyVoid,
				c.typ, c.processor, c.memMB, c.maker, c.rev, c.warranty)
		}
		p, ok := ForRevision(r)
		if !ok || p.ID != c.profile {
			t.Errorf("%#x: profile %q (exact %v), want %q", c.code, p.ID, ok, c.profile)
		}
	}
}

func TestParseRevisionUnknown(t *testing.T) {
	for _, code := range []uint32{0, 1, 0x0a, 0x16, 0xffff} {
		if r, err := ParseRevision(code); err == nil {
			t.Errorf("%#x: no error, got %v", code, r)
		}
	}
	// An unknown new-style board type falls back to a board with the
	// same processor, and says the match is not exact.
	r, err := ParseRevision(0xc041f0) // type 0x1f, BCM2712
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ForRevision(r)
	if ok || p.Processor != BCM2712 {
		t.Errorf("type 0x1f: got %q exact=%v", p.ID, ok)
	}
	if r.TypeName() != "type 0x1f" {
		t.Errorf("TypeName = %q", r.TypeName())
	}
}
