package camera

import "sync"

// Mailbox is a single-slot hand-over between capture and inference: the
// latest frame wins. Put replaces a frame nobody has taken yet (and says
// so, for the dropped count), so a slow consumer never builds a queue and
// memory stays bounded to one waiting frame. In lossless mode Put waits
// for the slot to empty instead (recorded files, where every frame counts).
type Mailbox struct {
	mu       sync.Mutex
	frame    Frame
	full     bool
	closed   bool
	lossless bool
	ready    chan struct{} // a frame is waiting (capacity 1)
	space    chan struct{} // the slot emptied (lossless mode)
}

// NewMailbox makes an empty mailbox.
func NewMailbox(lossless bool) *Mailbox {
	return &Mailbox{lossless: lossless, ready: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

// Put leaves f in the slot and reports whether a frame was lost: an
// untaken frame it replaced, or f itself when it could not be stored (the
// mailbox closed, or done closed while a lossless Put waited for space).
func (m *Mailbox) Put(f Frame, done <-chan struct{}) (dropped bool) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return true
		}
		if m.lossless && m.full {
			m.mu.Unlock()
			select {
			case <-m.space:
				continue
			case <-done:
				return true
			}
		}
		dropped = m.full
		m.frame, m.full = f, true
		m.mu.Unlock()
		select {
		case m.ready <- struct{}{}:
		default:
		}
		return dropped
	}
}

// Ready is signalled when a frame may be waiting; call Take.
func (m *Mailbox) Ready() <-chan struct{} { return m.ready }

// Take removes and returns the waiting frame, if any.
func (m *Mailbox) Take() (Frame, bool) {
	m.mu.Lock()
	f, ok := m.frame, m.full
	m.frame, m.full = Frame{}, false
	m.mu.Unlock()
	if ok {
		select {
		case m.space <- struct{}{}:
		default:
		}
	}
	return f, ok
}

// Close makes later Puts no-ops; a waiting frame can still be taken.
func (m *Mailbox) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}
