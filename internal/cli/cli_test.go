package cli

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func testApp() *App {
	a := &App{Name: "tool", Summary: "a test tool"}
	a.Register(&Command{Name: "ok", Run: func(*pflag.FlagSet, []string, io.Writer, io.Writer) error { return nil }})
	a.Register(&Command{Name: "bad", Run: func(*pflag.FlagSet, []string, io.Writer, io.Writer) error {
		return BadModel(errors.New("m.onnx: not a model\nsecond line"))
	}})
	a.Register(&Command{Name: "boom", Run: func(*pflag.FlagSet, []string, io.Writer, io.Writer) error {
		var m map[string]int
		m["x"] = 1 // a bug: assignment to a nil map
		return nil
	}})
	return a
}

// Every outcome is one line on stderr and a documented status; a panic in
// a command never shows a Go trace.
func TestRunStatuses(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ok"}, ExitOK, ""},
		{[]string{"bad"}, ExitBadModel, "tool bad: m.onnx: not a model; second line\n"},
		{[]string{"boom"}, ExitFailure, "tool: internal error: assignment to entry in nil map (a bug"},
		{[]string{"nope"}, ExitUsage, `tool: unknown command "nope"`},
		{[]string{"ok", "--flag"}, ExitUsage, "tool ok: unknown flag: --flag"},
	} {
		var o, e bytes.Buffer
		code := testApp().Run(c.args, &o, &e)
		if code != c.code || !strings.HasPrefix(e.String(), c.want) || strings.Count(e.String(), "\n") > 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, code, e.String(), c.code, c.want)
		}
		if strings.Contains(e.String(), "goroutine") {
			t.Errorf("%v: a trace reached stderr: %s", c.args, e.String())
		}
	}
	t.Setenv("PIRESNET_TRACEBACK", "1")
	var o, e bytes.Buffer
	if code := testApp().Run([]string{"boom"}, &o, &e); code != ExitFailure || !strings.Contains(e.String(), "goroutine") {
		t.Errorf("PIRESNET_TRACEBACK=1: exit %d, stderr %q", code, e.String())
	}
}
