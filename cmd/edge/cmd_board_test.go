package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/piresnet/piresnet/boards"
	"github.com/piresnet/piresnet/internal/cli"
)

const trees = "../../boards/testdata/"

func TestBoardCapturedTrees(t *testing.T) {
	cases := []struct {
		tree string
		want []string
	}{
		{"pi4b", []string{
			"board:               Raspberry Pi 4 Model B Rev 1.4 (Raspberry Pi)",
			"revision:            c03114: 4B rev 1.4, BCM2711, 4 GB, Sony UK",
			"profile:             pi4: Raspberry Pi 4 Model B",
			"cpu:                 4 x Cortex-A72 (ARMv8-A, BCM2711), NEON yes, dot product no",
			"recommended binary:  linux/arm64, neon kernels",
			"threads:             4",
			"suggested input:     224x224",
		}},
		{"pi5", []string{"profile:             pi5: Raspberry Pi 5", "recommended binary:  linux/arm64, neondot kernels", "dot product yes"}},
		{"pi-zero-w", []string{"profile:             pi-zero: Raspberry Pi Zero / Zero W", "recommended binary:  linux/arm GOARM=6, generic kernels", "threads:             1", "112x112"}},
		{"pi-zero-2w", []string{"profile:             pi-zero-2w", "4 x Cortex-A53", "linux/arm64, neon kernels"}},
		{"pi3bplus", []string{"a020d3: 3B+ rev 1.3", "profile:             pi3", "160x160"}},
		{"x86-host", []string{"board:               AMD EPYC (not a Raspberry Pi)", "profile:             generic-amd64", "recommended binary:  linux/amd64, avx2 kernels", "threads:             2"}},
	}
	for _, c := range cases {
		stdout, stderr, code := runEdge(t, "board", "--root", trees+c.tree)
		if code != 0 || stderr != "" {
			t.Errorf("%s: exit %d, stderr %q", c.tree, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.tree, w, stdout)
			}
		}
		// A captured tree is not the live system: no periph probe.
		if strings.Contains(stdout, "rpi.Present") {
			t.Errorf("%s: periph probed for a captured tree", c.tree)
		}
		if !strings.Contains(stdout, "this binary:         linux/"+runtime.GOARCH) {
			t.Errorf("%s: no line for this binary:\n%s", c.tree, stdout)
		}
	}
}

func TestBoardJSON(t *testing.T) {
	stdout, _, code := runEdge(t, "board", "--json", "--root", trees+"pi5")
	var r struct {
		Pi       bool
		Revision struct{ Code uint32 }
		Profile  boards.Profile
		Kernels  string
		Binary   binaryInfo
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, stdout)
	}
	if !r.Pi || r.Revision.Code != 0xd04170 || r.Profile.ID != "pi5" || !r.Profile.DotProduct || r.Kernels != "neondot" {
		t.Errorf("%+v", r)
	}
	if r.Binary.Planned != boards.KernelFamily(runtime.GOARCH, r.Binary.Features) || len(r.Binary.RuntimeKernels) == 0 ||
		r.Binary.Kernels != r.Binary.Planned && r.Binary.Kernels != "generic" {
		t.Errorf("binary %+v", r.Binary)
	}
}

// The live system: whatever it is, a result (not a failure), periph asked.
func TestBoardLive(t *testing.T) {
	stdout, stderr, code := runEdge(t, "board")
	if code != 0 || stderr != "" || !strings.Contains(stdout, "periph rpi.Present:") || !strings.Contains(stdout, "profile:") {
		t.Errorf("exit %d, stderr %q:\n%s", code, stderr, stdout)
	}
	t.Logf("\n%s", stdout)
}

func TestBoardList(t *testing.T) {
	stdout, _, code := runEdge(t, "board", "--list")
	if code != 0 {
		t.Fatal(code)
	}
	for _, p := range boards.Profiles() {
		if !strings.Contains(stdout, p.ID+" ") {
			t.Errorf("list lacks %s", p.ID)
		}
	}
	stdout, _, _ = runEdge(t, "board", "--list", "--json")
	var ps []boards.Profile
	if err := json.Unmarshal([]byte(stdout), &ps); err != nil || len(ps) != len(boards.Profiles()) {
		t.Errorf("%v: %d profiles", err, len(ps))
	}
}

func TestBoardErrors(t *testing.T) {
	for _, args := range [][]string{{"board", "extra"}, {"board", "--root", "/nonexistent"}, {"board", "--root", trees + "make_trees.sh"}} {
		_, stderr, code := runEdge(t, args...)
		if code != cli.ExitUsage || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}

func TestRuntimeHas(t *testing.T) {
	names := []string{"convU8S8_2x6c1_swar64 (generic, 2x6 tiles, 1 input channels per step)",
		"convU8S8_4x16c4_neondot (neondot, 4x16 tiles, 4 input channels per step) [not on this CPU]",
		"convU8S8_4x8c8_neon (neon, 4x8 tiles, 8 input channels per step)"}
	if !runtimeHas(names, "generic") || !runtimeHas(names, "neon") || runtimeHas(names, "neondot") || runtimeHas(names, "avx2") {
		t.Error("runtimeHas")
	}
}
