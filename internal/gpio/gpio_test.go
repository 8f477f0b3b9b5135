package gpio

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/piresnet/piresnet/internal/camera"
)

func preds(pairs ...any) []camera.Prediction {
	var out []camera.Prediction
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, camera.Prediction{Index: i / 2, Label: pairs[i].(string), Prob: float32(pairs[i+1].(float64))})
	}
	return out
}

func TestParseRule(t *testing.T) {
	cases := []struct {
		in   string
		want Rule
		err  bool
	}{
		{"person", Rule{Label: "person", Top1: true}, false},
		{"person:0.6", Rule{Label: "person", MinProb: 0.6}, false},
		{"person:1", Rule{Label: "person", MinProb: 1}, false},
		{"n01440764:tench", Rule{Label: "n01440764:tench", Top1: true}, false},
		{"cat:0", Rule{}, true},
		{"cat:1.5", Rule{}, true},
		{":0.5", Rule{}, true},
		{"", Rule{}, true},
	}
	for _, c := range cases {
		got, err := ParseRule(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseRule(%q) = %+v, %v", c.in, got, err)
		}
	}
}

// The line follows the latest frame, and is written only on edges.
func TestActionFakePin(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO17", Num: 17, L: gpio.High}
	rule, _ := ParseRule("cat:0.5")
	a, err := New(recorder{pin, new([]gpio.Level)}, "17", rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	writes := a.line.(recorder).writes
	if pin.Read() != gpio.Low {
		t.Fatal("the line did not start low")
	}
	frames := [][]camera.Prediction{
		preds("dog", 0.9, "cat", 0.1),
		preds("cat", 0.7, "dog", 0.3), // high
		preds("cat", 0.6, "dog", 0.4), // stays high, no write
		preds("cat", 0.5, "dog", 0.5), // ≥ 0.5: still high
		preds("dog", 0.51, "cat", 0.49),
		preds("cat", 0.95),
	}
	var levels []gpio.Level
	for _, p := range frames {
		if err := a.Update(p); err != nil {
			t.Fatal(err)
		}
		levels = append(levels, pin.Read())
	}
	if fmt.Sprint(levels) != "[Low High High High Low High]" {
		t.Errorf("levels %v", levels)
	}
	if err := a.Close(); err != nil || pin.Read() != gpio.Low {
		t.Errorf("Close: %v, level %v", err, pin.Read())
	}
	// Writes: the initial low, then one per edge.
	if fmt.Sprint(*writes) != "[Low High Low High Low]" || a.Edges != 4 {
		t.Errorf("writes %v, edges %d", *writes, a.Edges)
	}
}

// recorder logs every write to the pin.
type recorder struct {
	*gpiotest.Pin
	writes *[]gpio.Level
}

func (r recorder) Out(l gpio.Level) error {
	*r.writes = append(*r.writes, l)
	return r.Pin.Out(l)
}

// Top-1 rule: the label must be the most probable class.
func TestActionTop1DryRun(t *testing.T) {
	var out bytes.Buffer
	rule, _ := ParseRule("person")
	a, err := New(nil, "GPIO27", rule, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]camera.Prediction{
		preds("car", 0.4, "person", 0.35),
		preds("person", 0.41, "car", 0.4),
		preds("person", 0.9),
		preds("bicycle", 1.0),
	} {
		a.Update(p)
	}
	a.Close()
	want := "gpio GPIO27: high (person 0.410; top person 0.410)\n" +
		"gpio GPIO27: low (person 0.000; top bicycle 1.000)\n"
	if out.String() != want {
		t.Errorf("dry run printed\n%s\nwant\n%s", out.String(), want)
	}
}

type failingPin struct{ gpiotest.Pin }

func (p *failingPin) Out(gpio.Level) error { return errors.New("device or resource busy") }

func TestActionPinError(t *testing.T) {
	rule, _ := ParseRule("cat")
	_, err := New(&failingPin{gpiotest.Pin{N: "GPIO4"}}, "4", rule, nil)
	if err == nil || err.Error() != "gpio: GPIO4: set low: device or resource busy" {
		t.Errorf("err %v", err)
	}
}

func TestExplain(t *testing.T) {
	none := fstest.MapFS{"dev/null": {}}
	chips := fstest.MapFS{"dev/gpiochip0": {}, "dev/gpiochip1": {}}
	denied := func(string) error { return fs.ErrPermission }
	ok := func(string) error { return nil }
	cases := []struct {
		root fs.FS
		open func(string) error
		want string
	}{
		{none, ok, "no GPIO chip"},
		{chips, denied, "permission denied on /dev/gpiochip0 (add the user to the gpio group"},
		{chips, ok, `no pin "GPIO99" on /dev/gpiochip0, /dev/gpiochip1`},
	}
	for _, c := range cases {
		err := explain("GPIO99", c.root, c.open)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	// Through Lookup: nothing is registered in a test binary.
	if _, err := Lookup("GPIO17", none); err == nil || !strings.Contains(err.Error(), "not a Raspberry Pi") {
		t.Errorf("Lookup: %v", err)
	}
}
