package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

type listSource struct {
	frames int
	end    error
	n      int
}

func (s *listSource) Next(ctx context.Context) (Frame, error) {
	if s.n >= s.frames {
		return Frame{}, s.end
	}
	s.n++
	return Frame{Seq: uint64(s.n), Data: []byte{1}}, nil
}
func (s *listSource) Close() error   { return nil }
func (s *listSource) String() string { return "list" }

func TestReconnectBackoffCapped(t *testing.T) {
	var delays []time.Duration
	fails := 0
	r := &Reconnect{
		Name: "x", Initial: 100 * time.Millisecond, Max: time.Second,
		Open: func(ctx context.Context) (Source, error) {
			if fails == 0 || fails > 8 {
				fails++
				return &listSource{frames: 1, end: errors.New("gone")}, nil
			}
			fails++
			return nil, errors.New("refused")
		},
		sleep: func(ctx context.Context, d time.Duration) error { delays = append(delays, d); return nil },
	}
	for i := 0; i < 2; i++ {
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := "[100ms 200ms 400ms 800ms 1s 1s 1s 1s 1s]"
	if fmt.Sprint(delays) != want {
		t.Errorf("delays %v, want %s", delays, want)
	}
	// The backoff starts over after a frame.
	delays = nil
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(delays) != "[100ms]" {
		t.Errorf("after recovery: %v", delays)
	}
}

func TestReconnectEOF(t *testing.T) {
	// A file or stdin: EOF ends the stream.
	r := &Reconnect{Name: "file", EOFEnds: true, Open: func(ctx context.Context) (Source, error) {
		return &listSource{frames: 2, end: io.EOF}, nil
	}}
	for i := 0; i < 2; i++ {
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Next(context.Background()); err != io.EOF {
		t.Errorf("after the file: %v", err)
	}
	// A named pipe: EOF means the writer went away; reopen.
	opens := 0
	r = &Reconnect{Name: "fifo", Open: func(ctx context.Context) (Source, error) {
		opens++
		return &listSource{frames: 1, end: io.EOF}, nil
	}, sleep: func(context.Context, time.Duration) error { return nil }}
	for i := 0; i < 3; i++ {
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if opens != 3 {
		t.Errorf("opens %d", opens)
	}
}

// The first open is not retried: a wrong path is the caller's error.
func TestReconnectFirstOpenFails(t *testing.T) {
	r := &Reconnect{Name: "x", Open: func(ctx context.Context) (Source, error) { return nil, errors.New("no such device") }}
	if _, err := r.Next(context.Background()); err == nil || err.Error() != "no such device" {
		t.Errorf("err %v", err)
	}
}

// Close from another goroutine ends a Next that waits in a backoff.
func TestReconnectCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Reconnect{Name: "x", Initial: time.Hour, Open: func(ctx context.Context) (Source, error) {
		return NewReaderSource("r", io.NopCloser(bytes.NewReader(nil)), 0), nil
	}}
	done := make(chan error)
	go func() { _, err := r.Next(ctx); done <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return on cancel")
	}
}

// Stdin cannot be reopened: a read error ends the stream with it.
func TestReconnectOnce(t *testing.T) {
	opens := 0
	r := &Reconnect{Name: "stdin", Once: true, EOFEnds: true, Open: func(ctx context.Context) (Source, error) {
		opens++
		return &listSource{frames: 1, end: errors.New("read /dev/stdin: input/output error")}, nil
	}}
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(context.Background()); err == nil || opens != 1 {
		t.Errorf("err %v after %d opens", err, opens)
	}
}
