package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Source delivers frames. Next blocks until a frame is ready and returns:
// a frame; a *CorruptError for a bad frame (counted, skipped; call Next
// again); io.EOF when the stream has ended for good (a file, stdin); or
// another error when the stream broke (a device unplugged, a server gone),
// which Reconnect turns into a reconnection. Close unblocks a pending
// Next where the underlying reader allows it.
type Source interface {
	Next(ctx context.Context) (Frame, error)
	Close() error
	String() string
}

// ReaderSource splits an MJPEG byte stream (stdin, a named pipe, a file,
// a subprocess's output) into frames.
type ReaderSource struct {
	name  string
	rc    io.ReadCloser
	sp    *Splitter
	seq   uint64
	close sync.Once
}

// NewReaderSource reads MJPEG from rc; name is used in messages.
func NewReaderSource(name string, rc io.ReadCloser, maxFrame int) *ReaderSource {
	return &ReaderSource{name: name, rc: rc, sp: NewSplitter(rc, maxFrame)}
}

// Next implements Source.
func (s *ReaderSource) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	b, err := s.sp.Next()
	if err != nil {
		return Frame{}, err
	}
	s.seq++
	return Frame{Seq: s.seq, Time: time.Now(), Format: FormatJPEG, Data: b}, nil
}

// Close implements Source.
func (s *ReaderSource) Close() error {
	var err error
	s.close.Do(func() { err = s.rc.Close() })
	return err
}

func (s *ReaderSource) String() string { return s.name }

// Skipped is the number of bytes discarded outside frames so far.
func (s *ReaderSource) Skipped() int64 { return s.sp.Skipped }

// HTTPSource reads an HTTP MJPEG stream: a multipart/x-mixed-replace
// response (one JPEG per part), or a bare MJPEG byte stream when the
// server sends no boundary.
type HTTPSource struct {
	url  string
	resp *http.Response
	mp   *MultipartReader
	sp   *Splitter
	seq  uint64
}

// OpenHTTP sends the request and checks the response. The context bounds
// the whole stream: cancelling it ends the transfer.
func OpenHTTP(ctx context.Context, client *http.Client, url string, maxFrame int) (*HTTPSource, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("camera: %s: %v", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("camera: %s: %v", url, unwrapURLError(err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("camera: %s: HTTP %s", url, resp.Status)
	}
	s := &HTTPSource{url: url, resp: resp}
	ct := resp.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case err == nil && strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		s.mp = NewMultipartReader(resp.Body, params["boundary"], maxFrame)
	case err == nil && strings.HasPrefix(mt, "multipart/"):
		resp.Body.Close()
		return nil, fmt.Errorf("camera: %s: %s without a boundary parameter", url, mt)
	case err == nil && mt != "image/jpeg" && mt != "video/x-motion-jpeg" && mt != "application/octet-stream" && mt != "video/mjpeg":
		resp.Body.Close()
		return nil, fmt.Errorf("camera: %s: content type %q is not an MJPEG stream", url, ct)
	default: // a bare MJPEG stream, or a single JPEG snapshot
		s.sp = NewSplitter(resp.Body, maxFrame)
	}
	return s, nil
}

// unwrapURLError drops url.Error's `Get "http://…":` prefix: messages
// name the URL already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Next implements Source.
func (s *HTTPSource) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	var b []byte
	if s.sp != nil {
		var err error
		if b, err = s.sp.Next(); err != nil {
			return Frame{}, s.streamErr(err)
		}
	} else {
		p, err := s.mp.NextPart()
		if err != nil {
			return Frame{}, s.streamErr(err)
		}
		if ct := p.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "image/jpeg") {
			return Frame{}, corrupt("part of type %q", ct)
		}
		b = p.Body
	}
	s.seq++
	return Frame{Seq: s.seq, Time: time.Now(), Format: FormatJPEG, Data: b}, nil
}

// streamErr maps the end of an HTTP body to "the stream broke": a live
// camera stream does not end, so its end calls for a reconnection.
func (s *HTTPSource) streamErr(err error) error {
	if err == io.EOF {
		return errors.New("server closed the stream")
	}
	return err
}

// Close implements Source.
func (s *HTTPSource) Close() error { return s.resp.Body.Close() }

func (s *HTTPSource) String() string { return s.url }
