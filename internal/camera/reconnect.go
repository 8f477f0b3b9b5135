package camera

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// Event reports a change in a stream's connection, for one status line.
type Event struct {
	Kind    EventKind
	Source  string
	Err     error         // why the stream broke, or why opening failed
	Attempt int           // reconnection attempts so far (EventRetry)
	Delay   time.Duration // wait before the next attempt
}

// EventKind says what happened.
type EventKind int

const (
	// EventBroken: the stream broke; reconnecting.
	EventBroken EventKind = iota
	// EventRetry: an attempt to reopen failed; waiting Delay.
	EventRetry
	// EventReconnected: frames flow again.
	EventReconnected
)

// Reconnect is a Source that reopens its underlying source, with
// exponential backoff, whenever the stream breaks. Corrupt frames pass
// through (the caller counts them); io.EOF ends the stream when EOFEnds
// is set (files, stdin) and otherwise counts as a break (a named pipe
// whose writer restarts, a server that closed the stream).
type Reconnect struct {
	Name    string
	Open    func(ctx context.Context) (Source, error)
	EOFEnds bool
	// Once marks a source that cannot be reopened (stdin): a break ends
	// the stream with its error instead of reconnecting.
	Once bool
	// Initial and Max bound the backoff: Initial, 2·Initial, … up to Max
	// (defaults 250 ms and 8 s). It resets when a frame arrives.
	Initial, Max time.Duration
	// OnEvent, when set, is called (from the capturing goroutine) on
	// each break, failed attempt and reconnection.
	OnEvent func(Event)

	mu         sync.Mutex
	src        Source
	closed     bool
	opened     bool // the first open succeeded at least once
	broken     bool // a break is being recovered from
	attempt    int
	reconnects int64
	sleep      func(ctx context.Context, d time.Duration) error
}

// Reconnects is the number of successful reconnections so far.
func (r *Reconnect) Reconnects() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconnects
}

func (r *Reconnect) String() string { return r.Name }

func (r *Reconnect) backoff() time.Duration {
	initial, max := r.Initial, r.Max
	if initial <= 0 {
		initial = 250 * time.Millisecond
	}
	if max <= 0 {
		max = 8 * time.Second
	}
	d := initial
	for i := 1; i < r.attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func (r *Reconnect) event(e Event) {
	e.Source = r.Name
	if r.OnEvent != nil {
		r.OnEvent(e)
	}
}

// Next implements Source. The first open is not retried: a source that
// cannot be opened at start (a wrong path, a refused URL) is an error for
// the caller to report.
func (r *Reconnect) Next(ctx context.Context) (Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		r.mu.Lock()
		src, closed := r.src, r.closed
		r.mu.Unlock()
		if closed {
			return Frame{}, io.EOF
		}
		if src == nil {
			s, err := r.Open(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return Frame{}, ctx.Err()
				}
				if !r.opened {
					return Frame{}, err
				}
				r.attempt++
				d := r.backoff()
				r.event(Event{Kind: EventRetry, Err: err, Attempt: r.attempt, Delay: d})
				if err := r.wait(ctx, d); err != nil {
					return Frame{}, err
				}
				continue
			}
			r.mu.Lock()
			if r.closed {
				r.mu.Unlock()
				s.Close()
				return Frame{}, io.EOF
			}
			r.src, src = s, s
			r.opened = true
			r.mu.Unlock()
		}
		f, err := src.Next(ctx)
		switch {
		case err == nil:
			if r.broken {
				r.broken = false
				r.mu.Lock()
				r.reconnects++
				r.mu.Unlock()
				r.event(Event{Kind: EventReconnected, Attempt: r.attempt})
			}
			r.attempt = 0
			return f, nil
		case errors.Is(err, ErrCorrupt):
			return Frame{}, err
		case ctx.Err() != nil:
			return Frame{}, ctx.Err()
		case err == io.EOF && r.EOFEnds:
			return Frame{}, io.EOF
		}
		r.mu.Lock()
		r.src = nil
		closed = r.closed
		r.mu.Unlock()
		src.Close()
		if closed {
			return Frame{}, io.EOF
		}
		if err == io.EOF {
			err = errors.New("end of stream")
		}
		if r.Once {
			return Frame{}, err
		}
		r.broken = true
		r.attempt++
		d := r.backoff()
		r.event(Event{Kind: EventBroken, Err: err, Delay: d})
		if err := r.wait(ctx, d); err != nil {
			return Frame{}, err
		}
	}
}

func (r *Reconnect) wait(ctx context.Context, d time.Duration) error {
	if r.sleep != nil {
		return r.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Close closes the current source; a pending or later Next returns io.EOF.
func (r *Reconnect) Close() error {
	r.mu.Lock()
	r.closed = true
	src := r.src
	r.src = nil
	r.mu.Unlock()
	if src != nil {
		return src.Close()
	}
	return nil
}
