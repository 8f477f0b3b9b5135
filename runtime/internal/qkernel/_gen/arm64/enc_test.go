package main

import (
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEncodings checks every encoder against the encodings that llvm-mc 14
// (`llvm-mc -triple=aarch64 -mattr=+dotprod -show-encoding`, an independent
// assembler) printed for the same mnemonics, with registers across the
// whole file (V16–V31 set the high register bits) and every SDOT lane.
func TestEncodings(t *testing.T) {
	for _, c := range []struct {
		got  inst
		want uint32
		text string
	}{
		{sdotLane(0, 1, 2, 0), 0x4f82e020, "sdot v0.4s, v1.16b, v2.4b[0]"},
		{sdotLane(31, 17, 30, 3), 0x4fbeea3f, "sdot v31.4s, v17.16b, v30.4b[3]"},
		{sdotLane(5, 24, 19, 2), 0x4f93eb05, "sdot v5.4s, v24.16b, v19.4b[2]"},
		{sdotLane(12, 29, 18, 1), 0x4fb2e3ac, "sdot v12.4s, v29.16b, v18.4b[1]"},
		{smull8(25, 16, 20), 0x0e34c219, "smull v25.8h, v16.8b, v20.8b"},
		{smull28(26, 19, 23), 0x4e37c27a, "smull2 v26.8h, v19.16b, v23.16b"},
		{smlal28(30, 17, 21), 0x4e35823e, "smlal2 v30.8h, v17.16b, v21.16b"},
		{sadalp(15, 30), 0x4e606bcf, "sadalp v15.4s, v30.8h"},
		{smull2s(19, 3, 16), 0x0eb0c073, "smull v19.2d, v3.2s, v16.2s"},
		{smull24s(26, 15, 17), 0x4eb1c1fa, "smull2 v26.2d, v15.4s, v17.4s"},
		{srshl2d(21, 20, 18), 0x4ef25695, "srshl v21.2d, v20.2d, v18.2d"},
		{sqxtn2d(7, 24), 0x0ea14b07, "sqxtn v7.2s, v24.2d"},
		{sqxtn22d(13, 31), 0x4ea14bed, "sqxtn2 v13.4s, v31.2d"},
		{sqxtn4s(27, 0), 0x0e61481b, "sqxtn v27.4h, v0.4s"},
		{sqxtn24s(28, 15), 0x4e6149fc, "sqxtn2 v28.8h, v15.4s"},
		{sqadd8h(27, 27, 29), 0x4e7d0f7b, "sqadd v27.8h, v27.8h, v29.8h"},
		{sqxtun8h(28, 28), 0x2e212b9c, "sqxtun v28.8b, v28.8h"},
		{sqxtun28h(27, 29), 0x6e212bbb, "sqxtun2 v27.16b, v29.8h"},
		{umax16b(28, 28, 30), 0x6e3e679c, "umax v28.16b, v28.16b, v30.16b"},
		{umin16b(27, 27, 31), 0x6e3f6f7b, "umin v27.16b, v27.16b, v31.16b"},
		{addp4s(1, 2, 3), 0x4ea3bc41, "addp v1.4s, v2.4s, v3.4s"},
		{addp4s(12, 12, 14), 0x4eaebd8c, "addp v12.4s, v12.4s, v14.4s"},
		{add4s(0, 16, 31), 0x4ebf8600, "add v0.4s, v16.4s, v31.4s"},
		{sqdmulh4s(3, 3, 16), 0x4eb0b463, "sqdmulh v3.4s, v3.4s, v16.4s"},
		{sqdmulh4s(31, 17, 29), 0x4ebdb63f, "sqdmulh v31.4s, v17.4s, v29.4s"},
		{srshl4s(3, 3, 17), 0x4eb15463, "srshl v3.4s, v3.4s, v17.4s"},
		{srshl4s(30, 12, 31), 0x4ebf559e, "srshl v30.4s, v12.4s, v31.4s"},
	} {
		if c.got.enc != c.want || c.got.text != c.text {
			t.Errorf("%s: encoded %#08x (%q), llvm-mc gives %#08x", c.text, c.got.enc, c.got.text, c.want)
		}
	}
}

// TestWordsMatchLLVM assembles the mnemonic in the comment of every
// distinct WORD of conv_arm64.s with llvm-mc (Debian's llvm package, which
// scripts/setup.sh installs) and checks that it gives the same encoding:
// the comments are what the kernels execute.
func TestWordsMatchLLVM(t *testing.T) {
	mc, err := exec.LookPath("llvm-mc")
	if err != nil {
		t.Fatalf("llvm-mc not found (install Debian's llvm: scripts/setup.sh): %v", err)
	}
	src, err := os.ReadFile("../../conv_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]uint32{}
	for _, m := range regexp.MustCompile(`WORD \$0x([0-9a-f]{8}) // (.*)`).FindAllStringSubmatch(string(src), -1) {
		v, _ := strconv.ParseUint(m[1], 16, 32)
		if old, ok := words[m[2]]; ok && old != uint32(v) {
			t.Fatalf("%q encoded both as %#08x and %#08x", m[2], old, v)
		}
		words[m[2]] = uint32(v)
	}
	if len(words) < 100 {
		t.Fatalf("only %d distinct WORDs in conv_arm64.s", len(words))
	}
	texts := slices.Sorted(maps.Keys(words))
	cmd := exec.Command(mc, "-triple=aarch64", "-mattr=+dotprod", "-show-encoding")
	cmd.Stdin = strings.NewReader(strings.Join(texts, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-mc: %v\n%s", err, out)
	}
	encs := regexp.MustCompile(`encoding: \[0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2})\]`).FindAllStringSubmatch(string(out), -1)
	if len(encs) != len(texts) {
		t.Fatalf("llvm-mc printed %d encodings for %d instructions:\n%s", len(encs), len(texts), out)
	}
	for i, e := range encs {
		v, _ := strconv.ParseUint(e[4]+e[3]+e[2]+e[1], 16, 32)
		if words[texts[i]] != uint32(v) {
			t.Errorf("%s: WORD $%#08x, llvm-mc encodes %#08x", texts[i], words[texts[i]], v)
		}
	}
	t.Logf("%d distinct WORDs agree with llvm-mc", len(words))
}
