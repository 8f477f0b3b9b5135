package camera

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The recording through a named pipe, as `rpicam-vid -o /tmp/cam.fifo`
// writes it; the writer stops and a new one starts (a restarted
// rpicam-vid): the source reopens the pipe and goes on.
func TestRunNamedPipeWriterRestarts(t *testing.T) {
	rec := record(t, 150, 8, 96, 64)
	fifo := filepath.Join(t.TempDir(), "cam.fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	writer := func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		rec.play(w, time.Millisecond)
	}
	// The second writer comes once the reader has seen the first one
	// go (else the pipe would never report an end).
	broken := make(chan struct{})
	go func() {
		writer()
		<-broken
		writer()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events []Event
	rs := &Reconnect{
		Name: fifo, Initial: time.Millisecond,
		Open: func(ctx context.Context) (Source, error) {
			f, err := os.Open(fifo) // blocks until a writer comes
			if err != nil {
				return nil, err
			}
			return NewReaderSource(fifo, f, 0), nil
		},
	}
	rs.OnEvent = func(e Event) {
		events = append(events, e)
		if e.Kind == EventBroken {
			if len(events) == 1 {
				close(broken)
			} else {
				cancel() // the second writer is done
			}
		}
	}
	t.Cleanup(func() {
		// Release an Open still waiting for a writer.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	var c collector
	st, err := Run(ctx, rs, &brightness{}, c.options(Options{Reconnects: rs.Reconnects}))
	if err != nil {
		t.Fatal(err)
	}
	if st.FramesIn != 300 || st.Reconnects != 1 || st.Bad != 0 {
		t.Errorf("%+v", st)
	}
	if int64(len(c.results)) != st.Classified || st.Classified+st.Dropped != 300 {
		t.Errorf("%d results, %+v", len(c.results), st)
	}
	if len(events) != 3 || events[0].Kind != EventBroken || events[1].Kind != EventReconnected {
		t.Errorf("events %v", events)
	}
}
