package quant

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// ortCase mirrors one entry of testdata/gen/cases.json (gen_qlinear.py).
type ortCase struct {
	ID         int      `json:"id"`
	Op         string   `json:"op"`
	Act        string   `json:"act"`
	K, OC, H   int      `json:"-"`
	KJ         int      `json:"K"`
	OCJ        int      `json:"OC"`
	HJ         int      `json:"H"`
	WJ         int      `json:"W"`
	X          []int32  `json:"x"`
	XZP        int32    `json:"x_zp"`
	YZP        int32    `json:"y_zp"`
	XScaleBits uint32   `json:"x_scale_bits"`
	YScaleBits uint32   `json:"y_scale_bits"`
	WScaleBits []uint32 `json:"w_scale_bits"`
	Wt         []int32  `json:"w"`
	Bias       []int32  `json:"bias"`
}

type ortOutputs struct {
	ORT   map[string]string `json:"ort"`
	Cases []struct {
		ID   int     `json:"id"`
		Dims []int   `json:"y_dims"`
		Y    []int32 `json:"y"`
	} `json:"cases"`
}

// loadORTFixtures reads the fixtures of make_fixtures.sh. Missing fixtures
// fail the test: ONNX Runtime's outputs are the reference here.
func loadORTFixtures(t *testing.T) ([]ortCase, *ortOutputs) {
	t.Helper()
	dir := filepath.Join("testdata", "gen")
	var spec struct {
		Cases []ortCase `json:"cases"`
	}
	var out ortOutputs
	for name, v := range map[string]any{"cases.json": &spec, "ort_outputs.json": &out} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("ONNX Runtime fixtures missing (%v): run quant/testdata/make_fixtures.sh", err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v (regenerate with quant/testdata/make_fixtures.sh)", filepath.Join(dir, name), err)
		}
	}
	if len(spec.Cases) == 0 || len(spec.Cases) != len(out.Cases) {
		t.Fatalf("fixtures: %d cases but %d ORT outputs: rerun quant/testdata/make_fixtures.sh", len(spec.Cases), len(out.Cases))
	}
	return spec.Cases, &out
}

// accumulators computes the exact int32 accumulators of a case (1x1
// QLinearConv in NCHW, or QLinearMatMul [M,K]x[K,OC]) and, per element, the
// index of its output channel.
func (c *ortCase) accumulators() (acc []int32, channel []int) {
	K, OC, HW := c.KJ, c.OCJ, c.HJ*c.WJ
	acc = make([]int32, OC*HW)
	channel = make([]int, OC*HW)
	for oc := range OC {
		for p := range HW {
			var s int64
			for k := range K {
				var x int32
				if c.Op == "QLinearConv" {
					x = c.X[k*HW+p] // [K, H, W]
				} else {
					x = c.X[p*K+k] // [M, K]
				}
				s += int64(x-c.XZP) * int64(c.Wt[oc*K+k])
			}
			if c.Bias != nil {
				s += int64(c.Bias[oc])
			}
			if s > math.MaxInt32 || s < math.MinInt32 {
				panic("accumulator overflows int32: fix gen_qlinear.py")
			}
			var i int
			if c.Op == "QLinearConv" {
				i = oc*HW + p // [OC, H, W]
			} else {
				i = p*OC + oc // [M, OC]
			}
			acc[i], channel[i] = int32(s), oc
		}
	}
	return acc, channel
}

// TestRequantizeRealMatchesORT checks that RequantScale + RequantizeReal
// reproduce ONNX Runtime's QLinearConv and QLinearMatMul outputs exactly,
// element for element, over many random scale combinations; and measures
// how often the fixed-point Requantize (RequantMultiplier) agrees with ORT.
func TestRequantizeRealMatchesORT(t *testing.T) {
	cases, out := loadORTFixtures(t)
	t.Logf("ONNX Runtime %v", out.ORT)
	var elems, scales, fixedSame, fixedOff1 int
	for ci := range cases {
		c := &cases[ci]
		y := out.Cases[ci].Y
		if out.Cases[ci].ID != c.ID || len(y) != c.OCJ*c.HJ*c.WJ {
			t.Fatalf("case %d: ORT output %d has %d values, want %d", c.ID, out.Cases[ci].ID, len(y), c.OCJ*c.HJ*c.WJ)
		}
		qt := Uint8
		if c.Act == "int8" {
			qt = Int8
		}
		xs, ys := math.Float32frombits(c.XScaleBits), math.Float32frombits(c.YScaleBits)
		acc, ch := c.accumulators()
		bad := 0
		for i, a := range acc {
			ws := math.Float32frombits(c.WScaleBits[min(ch[i], len(c.WScaleBits)-1)])
			got := RequantizeReal(a, RequantScale(xs, ws, ys), c.YZP, qt.Min(), qt.Max())
			if got != y[i] {
				if bad < 5 {
					t.Errorf("case %d (%s %s K=%d): element %d: acc %d, scales x=%g w=%g y=%g zp %d: RequantizeReal = %d, ORT = %d",
						c.ID, c.Op, c.Act, c.KJ, i, a, xs, ws, ys, c.YZP, got, y[i])
				}
				bad++
			}
			m, err := RequantMultiplier(xs, ws, ys)
			if err != nil {
				t.Fatalf("case %d: RequantMultiplier: %v", c.ID, err)
			}
			switch d := Requantize(a, m, c.YZP, qt.Min(), qt.Max()) - y[i]; {
			case d == 0:
				fixedSame++
			case d == 1 || d == -1:
				fixedOff1++
			default:
				t.Errorf("case %d: element %d: fixed-point Requantize is %d steps from ORT", c.ID, i, d)
			}
		}
		if bad > 0 {
			t.Errorf("case %d: %d of %d elements differ from ORT", c.ID, bad, len(acc))
		}
		elems += len(acc)
		scales += len(c.WScaleBits)
	}
	t.Logf("RequantizeReal matches ONNX Runtime on %d elements from %d cases (%d output scales)", elems, len(cases), scales)
	t.Logf("fixed-point Requantize vs ONNX Runtime: %d identical (%.4f %%), %d one step apart, none further",
		fixedSame, 100*float64(fixedSame)/float64(elems), fixedOff1)
}
