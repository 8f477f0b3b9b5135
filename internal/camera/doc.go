// Package camera turns live video into classified frames for edge camera:
// frame sources, a latest-frame-wins hand-over to inference, and the
// running figures.
//
// # Sources
//
//   - ReaderSource: an MJPEG byte stream (stdin, a named pipe, a file, a
//     subprocess), split into JPEG frames by Splitter, which follows the
//     JPEG marker structure (T.81 Annex B) and resynchronizes after garbage
//     and cut frames. This is how Raspberry Pi camera modules are read on
//     current Raspberry Pi OS: `rpicam-vid -t 0 --codec mjpeg -o - | edge camera -`.
//   - HTTPSource: an HTTP MJPEG stream (multipart/x-mixed-replace, parsed
//     by MultipartReader; Content-Length optional).
//   - V4L2Source: a V4L2 device (USB webcams) through memory-mapped
//     buffers, MJPEG or YUYV, over the Device interface: OpenDevice issues
//     the ioctls with golang.org/x/sys/unix (no cgo); tests use a fake.
//
// Reconnect wraps any of them: when the stream breaks (device unplugged,
// server gone, pipe writer restarted) it reports one Event, reopens with
// capped exponential backoff, and goes on. Bad frames are *CorruptError
// values (errors.Is(err, ErrCorrupt)): counted and skipped, never fatal.
//
// # Inference
//
// Run captures on one goroutine and classifies on the caller's. Between
// them a Mailbox holds one frame: when the model is slower than the
// camera, the waiting frame is replaced and counted as dropped, so
// results are always about the latest frame and memory stays bounded. The
// Classifier interface is implemented in cmd/edge on the runtime.
//
// Limits: frames are bounded (DefaultMaxFrame), decoded images too
// (MaxPixels, checked from the JPEG header before decoding).
package camera
