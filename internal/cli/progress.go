package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress draws a progress bar on a terminal, and otherwise stays quiet
// but for a final summary line. It is safe for concurrent use.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	label   string
	total   int64
	done    int64
	unit    string
	tty     bool
	start   time.Time
	lastOut time.Time
}

// IsTerminal reports whether w is a character device and CI is unset: only
// then are progress bars drawn.
func IsTerminal(w io.Writer) bool {
	if os.Getenv("CI") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// NewProgress starts a progress report of total units (bytes when unit is
// "B", else counted items) on w.
func NewProgress(w io.Writer, label string, total int64, unit string) *Progress {
	return &Progress{w: w, label: label, total: total, unit: unit, tty: IsTerminal(w), start: time.Now()}
}

// Set records that done units are complete.
func (p *Progress) Set(done int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	if !p.tty {
		return
	}
	now := time.Now()
	if now.Sub(p.lastOut) < 100*time.Millisecond && done < p.total {
		return
	}
	p.lastOut = now
	p.draw()
}

// Add records n more complete units.
func (p *Progress) Add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	d := p.done + n
	p.mu.Unlock()
	p.Set(d)
}

func (p *Progress) draw() {
	const width = 30
	frac := 0.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	if frac > 1 {
		frac = 1
	}
	n := int(frac * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %s", p.label, bar, 100*frac, p.count())
}

func (p *Progress) count() string {
	if p.unit == "B" {
		return fmt.Sprintf("%.1f/%.1f MB", float64(p.done)/1e6, float64(p.total)/1e6)
	}
	return fmt.Sprintf("%d/%d %s", p.done, p.total, p.unit)
}

// Done ends the report with one line: the label, the count and the time.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "%s: %s in %.1fs\n", p.label, p.count(), time.Since(p.start).Seconds())
}
