// Package gpio is edge camera's detection action: it holds a GPIO line
// high while a label is seen in the latest classified frame, and low
// otherwise (an LED, a relay, a buzzer). Lines are periph.io pins
// (gpioreg.ByName after host.Init, which cmd/edge calls); a dry run
// prints the edges instead of driving a pin.
package gpio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/piresnet/piresnet/internal/camera"
)

// Rule says when the line is high: LABEL alone means "LABEL is the most
// probable class"; LABEL:P means "LABEL has probability ≥ P".
type Rule struct {
	Label   string
	MinProb float32 // 0 with Top1
	Top1    bool
}

// ParseRule reads "LABEL" or "LABEL:PROB" (PROB in (0, 1]). The label may
// itself contain colons; the text after the last one is taken as the
// probability only if it parses as a number.
func ParseRule(s string) (Rule, error) {
	if strings.TrimSpace(s) == "" {
		return Rule{}, errors.New("gpio: empty label in --on")
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if p, err := strconv.ParseFloat(s[i+1:], 32); err == nil {
			if !(p > 0 && p <= 1) || s[:i] == "" {
				return Rule{}, fmt.Errorf("gpio: --on %q: want LABEL or LABEL:PROB with 0 < PROB <= 1", s)
			}
			return Rule{Label: s[:i], MinProb: float32(p)}, nil
		}
	}
	return Rule{Label: s, Top1: true}, nil
}

func (r Rule) String() string {
	if r.Top1 {
		return r.Label + " (top-1)"
	}
	return fmt.Sprintf("%s ≥ %.2f", r.Label, r.MinProb)
}

// Match reports whether preds (most probable first) satisfy the rule, and
// the label's probability.
func (r Rule) Match(preds []camera.Prediction) (bool, float32) {
	for i, p := range preds {
		if p.Label != r.Label {
			continue
		}
		if r.Top1 {
			return i == 0, p.Prob
		}
		return p.Prob >= r.MinProb, p.Prob
	}
	return false, 0
}

// Line is an output pin; periph's gpio.PinIO satisfies it.
type Line interface {
	Out(l gpio.Level) error
	Name() string
}

// Action drives a line from classification results. It writes the line
// only on edges (low→high, high→low).
type Action struct {
	line  Line
	name  string
	rule  Rule
	dry   io.Writer
	level gpio.Level
	Edges int // edges so far
}

// New starts an action on line (drawn low at once); with dryRun set,
// line may be nil and each edge is printed on dryRun instead, one line
// per edge. name is the pin as the user gave it.
func New(line Line, name string, rule Rule, dryRun io.Writer) (*Action, error) {
	a := &Action{line: line, name: name, rule: rule, dry: dryRun}
	if line != nil && dryRun == nil {
		a.name = line.Name()
		if err := line.Out(gpio.Low); err != nil {
			return nil, fmt.Errorf("gpio: %s: set low: %v", a.name, err)
		}
	}
	return a, nil
}

// Update applies the latest frame's predictions.
func (a *Action) Update(preds []camera.Prediction) error {
	seen, p := a.rule.Match(preds)
	want := gpio.Level(seen)
	if want == a.level {
		return nil
	}
	top := ""
	if len(preds) > 0 {
		top = fmt.Sprintf("%s %.3f", preds[0].Label, preds[0].Prob)
	}
	return a.set(want, fmt.Sprintf("%s %.3f; top %s", a.rule.Label, p, top))
}

func (a *Action) set(l gpio.Level, why string) error {
	a.level = l
	a.Edges++
	if a.dry != nil {
		_, err := fmt.Fprintf(a.dry, "gpio %s: %s (%s)\n", a.name, levelName(l), why)
		return err
	}
	if err := a.line.Out(l); err != nil {
		return fmt.Errorf("gpio: %s: set %s: %v", a.name, levelName(l), err)
	}
	return nil
}

func levelName(l gpio.Level) string {
	if l {
		return "high"
	}
	return "low"
}

// Level is the line's current level.
func (a *Action) Level() gpio.Level { return a.level }

// Close draws the line low (the detection is over when edge stops).
func (a *Action) Close() error {
	if a.level == gpio.Low {
		return nil
	}
	return a.set(gpio.Low, "stopping")
}

// Lookup finds a pin by name ("GPIO17", "17", "P1_11") among periph's
// registered pins: call host.Init first. When the pin is missing it says
// why in one line: no GPIO chip (not a board), no permission on the chip
// device, or an unknown name. root is the file system holding /dev
// (os.DirFS("/") on the board).
func Lookup(name string, root fs.FS) (gpio.PinIO, error) {
	if p := gpioreg.ByName(name); p != nil {
		return p, nil
	}
	return nil, explain(name, root, canOpen)
}

// canOpen checks that the chip device opens for writing.
var canOpen = func(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// explain words why a pin is missing.
func explain(name string, root fs.FS, open func(string) error) error {
	chips, _ := fs.Glob(root, "dev/gpiochip*")
	if len(chips) == 0 {
		return fmt.Errorf("gpio: no pin %q: this machine has no GPIO chip (/dev/gpiochip*): not a Raspberry Pi?", name)
	}
	for _, c := range chips {
		err := open("/" + c)
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("gpio: no pin %q: permission denied on /%s (add the user to the gpio group: sudo usermod -aG gpio $USER)", name, c)
		}
	}
	return fmt.Errorf("gpio: no pin %q on %s (try a GPIO number such as GPIO17 or 17)", name, strings.Join(prefixed(chips), ", "))
}

func prefixed(chips []string) []string {
	out := make([]string, len(chips))
	for i, c := range chips {
		out[i] = "/" + path.Clean(c)
	}
	return out
}
