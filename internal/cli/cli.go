// Package cli holds what the two binaries share: exit statuses, errors that
// carry one, subcommand dispatch with spf13/pflag, and progress reporting on
// standard error.
//
// Exit statuses (documented in the README):
//
//	0  success
//	1  some inputs failed (the others were processed)
//	2  usage error (unknown flag or subcommand, missing argument)
//	3  bad model or checkpoint (unreadable, malformed, unsupported)
//	4  other runtime failure (I/O, device)
//	130, 143  stopped by SIGINT or SIGTERM (128 + the signal's number); files
//	   being written are removed, earlier files at their paths are unchanged
//
// A panic (a bug) is reported as one line with exit status 4;
// PIRESNET_TRACEBACK=1 adds the stack.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/piresnet/piresnet/internal/fileutil"
	"github.com/spf13/pflag"
)

// Exit statuses.
const (
	ExitOK           = 0
	ExitInputsFailed = 1
	ExitUsage        = 2
	ExitBadModel     = 3
	ExitFailure      = 4
	ExitSIGINT       = 128 + 2
	ExitSIGTERM      = 128 + 15
)

// CatchInterrupts makes SIGINT and SIGTERM end the process cleanly: the
// temporary files of writes in progress are removed (their destinations keep
// their earlier contents), one line goes to stderr and the process exits
// with ExitSIGINT or ExitSIGTERM. Call the returned function to stop
// catching (a command that handles the signals itself, like a camera loop
// that stops gracefully, never calls CatchInterrupts).
func CatchInterrupts(name string, stderr io.Writer) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			removed := fileutil.RemovePending()
			code, what := ExitSIGINT, "SIGINT"
			if sig == syscall.SIGTERM {
				code, what = ExitSIGTERM, "SIGTERM"
			}
			msg := ""
			if removed > 0 {
				msg = fmt.Sprintf("; %d unfinished output file(s) removed, earlier files unchanged", removed)
			}
			fmt.Fprintf(stderr, "%s: interrupted by %s%s\n", name, what, msg)
			os.Exit(code)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// RecoverPanic turns a panic in the calling goroutine into one line on
// stderr and ExitFailure in *code. Use it as
//
//	defer cli.RecoverPanic("edge classify", stderr, &code)
func RecoverPanic(name string, stderr io.Writer, code *int) {
	r := recover()
	if r == nil {
		return
	}
	msg := strings.ReplaceAll(fmt.Sprint(r), "\n", "; ")
	fmt.Fprintf(stderr, "%s: internal error: %s (a bug: please report it with the command line; PIRESNET_TRACEBACK=1 prints where)\n", name, msg)
	if os.Getenv("PIRESNET_TRACEBACK") == "1" {
		stderr.Write(debug.Stack())
	}
	*code = ExitFailure
}

// Error is an error with the exit status it should end the process with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Usage wraps an error as a usage error (exit 2).
func Usage(format string, args ...any) error {
	return &Error{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// BadModel wraps an error as a bad-model error (exit 3).
func BadModel(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: ExitBadModel, Err: err}
}

// InputsFailed reports that n inputs failed (exit 1).
func InputsFailed(n int) error {
	return &Error{Code: ExitInputsFailed, Err: fmt.Errorf("%d input(s) failed", n)}
}

// Code returns the exit status for err: 0 for nil, the Error's code, 2 for
// pflag parse errors, else 4.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitFailure
}

// Command is one subcommand of a binary.
type Command struct {
	Name    string
	Summary string // one line for the command list
	Usage   string // argument synopsis, e.g. "[flags] MODEL.onnx"
	// Flags declares the command's flags on fs; Run runs it with the
	// remaining arguments.
	Flags func(fs *pflag.FlagSet)
	Run   func(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error
	// OwnSignals is set by commands that handle SIGINT and SIGTERM
	// themselves; the others are ended by CatchInterrupts.
	OwnSignals bool
}

// App is a binary made of subcommands.
type App struct {
	Name     string
	Summary  string
	commands map[string]*Command
}

// Register adds a subcommand. Subcommand files call it from init.
func (a *App) Register(c *Command) {
	if a.commands == nil {
		a.commands = map[string]*Command{}
	}
	if _, dup := a.commands[c.Name]; dup {
		panic("cli: command registered twice: " + c.Name)
	}
	a.commands[c.Name] = c
}

// Main runs the app with os.Args and exits with its status.
func (a *App) Main() {
	args := os.Args[1:]
	if len(args) == 0 || a.commands[args[0]] == nil || !a.commands[args[0]].OwnSignals {
		defer CatchInterrupts(a.Name, os.Stderr)()
	}
	os.Exit(a.Run(args, os.Stdout, os.Stderr))
}

// Run dispatches args to a subcommand and returns the exit status. Errors
// are printed on stderr as one line prefixed with the binary's name.
func (a *App) Run(args []string, stdout, stderr io.Writer) (code int) {
	defer RecoverPanic(a.Name, stderr, &code)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			if c, ok := a.commands[args[1]]; ok {
				fs := a.flagSet(c, stderr)
				a.printUsage(c, fs, stdout)
				return ExitOK
			}
		}
		a.printCommands(stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := a.commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q (run '%s help' for the list)\n", a.Name, args[0], a.Name)
		return ExitUsage
	}
	fs := a.flagSet(c, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			a.printUsage(c, fs, stdout)
			return ExitOK
		}
		fmt.Fprintf(stderr, "%s %s: %v (run '%s %s --help')\n", a.Name, c.Name, err, a.Name, c.Name)
		return ExitUsage
	}
	err := c.Run(fs, fs.Args(), stdout, stderr)
	if err != nil {
		msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
		fmt.Fprintf(stderr, "%s %s: %s\n", a.Name, c.Name, msg)
	}
	return Code(err)
}

func (a *App) flagSet(c *Command, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(a.Name+" "+c.Name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if c.Flags != nil {
		c.Flags(fs)
	}
	return fs
}

func (a *App) printUsage(c *Command, fs *pflag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage: %s %s %s\n\n%s\n", a.Name, c.Name, c.Usage, c.Summary)
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
}

func (a *App) printCommands(w io.Writer) {
	fmt.Fprintf(w, "%s: %s\n\nUsage: %s COMMAND [flags] [args]\n\nCommands:\n", a.Name, a.Summary, a.Name)
	names := make([]string, 0, len(a.commands))
	for n := range a.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, a.commands[n].Summary)
	}
	fmt.Fprintf(w, "\nRun '%s help COMMAND' or '%s COMMAND --help' for a command's flags.\n", a.Name, a.Name)
}
