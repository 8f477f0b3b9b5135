package camera

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The V4L2 structures are handled as little-endian byte arrays with the
// offsets of linux/videodev2.h, so that nothing depends on Go's struct
// layout. Two layouts differ between 64-bit and 32-bit userland:
// struct v4l2_format holds a union aligned to 8 on 64-bit (it contains
// pointers), and struct v4l2_buffer holds a struct timeval; on 32-bit ARM
// this package uses the 32-bit-time layout (68 bytes), which both 32-bit
// kernels (VIDIOC_*_TIME32) and 64-bit kernels (compat ioctls) accept.
const ptrSize = 4 << (^uintptr(0) >> 63) // 8 on arm64 and amd64, 4 on arm

const (
	sizeCapability = 104
	sizeFmtdesc    = 64
	sizeReqbufs    = 20
	sizeFormat     = 204 + (ptrSize - 4) // 208 on 64-bit
	offFormatPix   = ptrSize             // the union follows the u32 type, aligned
	sizeBuffer     = 68 + 5*(ptrSize-4)  // 88 on 64-bit
	offBufIndex    = 0                   //
	offBufType     = 4                   //
	offBufUsed     = 8                   // bytesused
	offBufFlags    = 12                  //
	offBufMemory   = 48 + 3*(ptrSize-4)  // 60 on 64-bit
	offBufOffset   = 52 + 3*(ptrSize-4)  // m.offset: 64 on 64-bit
	offBufLength   = 56 + 4*(ptrSize-4)  // 72 on 64-bit
)

var (
	vidiocCap       = ioc(2, 0, sizeCapability) // VIDIOC_QUERYCAP
	vidiocEnumFmt   = iowr(2, sizeFmtdesc)      // VIDIOC_ENUM_FMT
	vidiocSFmt      = iowr(5, sizeFormat)       // VIDIOC_S_FMT
	vidiocReqbufs   = iowr(8, sizeReqbufs)      // VIDIOC_REQBUFS
	vidiocQuery     = iowr(9, sizeBuffer)       // VIDIOC_QUERYBUF
	vidiocQBuf      = iowr(15, sizeBuffer)      // VIDIOC_QBUF
	vidiocDQBuf     = iowr(17, sizeBuffer)      // VIDIOC_DQBUF
	vidiocStreamOn  = ioc(1, 18, 4)             // VIDIOC_STREAMON
	vidiocStreamOff = ioc(1, 19, 4)             // VIDIOC_STREAMOFF
)

const (
	bufTypeVideoCapture = 1
	memoryMMAP          = 1
	bufFlagError        = 0x40
	fmtFlagCompressed   = 1
	maxBufferBytes      = 64 << 20
)

// ioc builds an ioctl request number: dir (1 write, 2 read, 3 both), type
// 'V', number nr, argument size.
func ioc(dir, nr, size int) uintptr {
	return uintptr(dir)<<30 | uintptr(size)<<16 | uintptr('V')<<8 | uintptr(nr)
}

func iowr(nr, size int) uintptr { return ioc(3, nr, size) }

var le = binary.LittleEndian

type v4l2Device struct {
	path string
	fd   int
	maps [][]byte
}

// OpenDevice opens a V4L2 device node for capture (non-blocking; Dequeue
// polls).
func OpenDevice(path string) (Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("camera: %s: %w", path, deviceErr(err))
	}
	return &v4l2Device{path: path, fd: fd}, nil
}

// deviceErr words the errnos a user meets.
func deviceErr(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return errors.New("no such device (is the camera plugged in?)")
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return errors.New("permission denied (add the user to the video group)")
	case errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return errors.New("device disappeared")
	case errors.Is(err, unix.EBUSY):
		return errors.New("device busy (another program is using it)")
	case errors.Is(err, unix.ENOTTY):
		return errors.New("not a V4L2 device")
	case errors.Is(err, unix.ENOSYS):
		// qemu-user passes no V4L2 ioctls through.
		return errors.New("V4L2 ioctls not implemented here (an emulator?)")
	}
	return err
}

func (d *v4l2Device) ioctl(req uintptr, arg []byte) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), req, uintptr(unsafe.Pointer(&arg[0])))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return deviceErr(e)
		}
		return nil
	}
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func (d *v4l2Device) QueryCap() (Capability, error) {
	b := make([]byte, sizeCapability)
	if err := d.ioctl(vidiocCap, b); err != nil {
		return Capability{}, err
	}
	c := Capability{Driver: cstr(b[0:16]), Card: cstr(b[16:48]), BusInfo: cstr(b[48:80]), Caps: le.Uint32(b[84:])}
	if c.Caps&CapDeviceCaps != 0 {
		c.Caps = le.Uint32(b[88:])
	}
	return c, nil
}

func (d *v4l2Device) EnumFormats() ([]FormatDesc, error) {
	var out []FormatDesc
	for i := 0; i < 64; i++ {
		b := make([]byte, sizeFmtdesc)
		le.PutUint32(b[0:], uint32(i))
		le.PutUint32(b[4:], bufTypeVideoCapture)
		if err := d.ioctl(vidiocEnumFmt, b); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break
			}
			return nil, err
		}
		out = append(out, FormatDesc{
			PixelFormat: le.Uint32(b[44:]),
			Description: cstr(b[12:44]),
			Compressed:  le.Uint32(b[8:])&fmtFlagCompressed != 0,
		})
	}
	return out, nil
}

func (d *v4l2Device) SetFormat(f PixFormat) (PixFormat, error) {
	b := make([]byte, sizeFormat)
	le.PutUint32(b[0:], bufTypeVideoCapture)
	p := b[offFormatPix:]
	le.PutUint32(p[0:], f.Width)
	le.PutUint32(p[4:], f.Height)
	le.PutUint32(p[8:], f.PixelFormat)
	le.PutUint32(p[12:], 1) // V4L2_FIELD_NONE (progressive)
	if err := d.ioctl(vidiocSFmt, b); err != nil {
		return PixFormat{}, err
	}
	return PixFormat{
		Width: le.Uint32(p[0:]), Height: le.Uint32(p[4:]), PixelFormat: le.Uint32(p[8:]),
		BytesPerLine: le.Uint32(p[16:]), SizeImage: le.Uint32(p[20:]), Quantization: le.Uint32(p[40:]),
	}, nil
}

func (d *v4l2Device) RequestBuffers(n int) (int, error) {
	b := make([]byte, sizeReqbufs)
	le.PutUint32(b[0:], uint32(n))
	le.PutUint32(b[4:], bufTypeVideoCapture)
	le.PutUint32(b[8:], memoryMMAP)
	if err := d.ioctl(vidiocReqbufs, b); err != nil {
		return 0, err
	}
	return int(le.Uint32(b[0:])), nil
}

func (d *v4l2Device) buffer(i int) []byte {
	b := make([]byte, sizeBuffer)
	le.PutUint32(b[offBufIndex:], uint32(i))
	le.PutUint32(b[offBufType:], bufTypeVideoCapture)
	le.PutUint32(b[offBufMemory:], memoryMMAP)
	return b
}

func (d *v4l2Device) MapBuffer(i int) ([]byte, error) {
	b := d.buffer(i)
	if err := d.ioctl(vidiocQuery, b); err != nil {
		return nil, fmt.Errorf("VIDIOC_QUERYBUF: %w", err)
	}
	off, n := le.Uint32(b[offBufOffset:]), le.Uint32(b[offBufLength:])
	if n == 0 || n > maxBufferBytes {
		return nil, fmt.Errorf("buffer length %d", n)
	}
	m, err := unix.Mmap(d.fd, int64(off), int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	d.maps = append(d.maps, m)
	return m, nil
}

func (d *v4l2Device) Queue(i int) error { return d.ioctl(vidiocQBuf, d.buffer(i)) }

func (d *v4l2Device) Dequeue(timeout time.Duration) (index, n int, bad bool, err error) {
	fds := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
	k, err := unix.Poll(fds, int(timeout/time.Millisecond))
	if err == unix.EINTR || k == 0 {
		return 0, 0, false, ErrTimeout
	}
	if err != nil {
		return 0, 0, false, err
	}
	b := d.buffer(0)
	if err := d.ioctl(vidiocDQBuf, b); err != nil {
		if errors.Is(err, unix.EAGAIN) {
			if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				return 0, 0, false, errors.New("device disappeared")
			}
			return 0, 0, false, ErrTimeout
		}
		return 0, 0, false, err
	}
	return int(le.Uint32(b[offBufIndex:])), int(le.Uint32(b[offBufUsed:])), le.Uint32(b[offBufFlags:])&bufFlagError != 0, nil
}

func (d *v4l2Device) stream(req uintptr) error {
	b := make([]byte, 4)
	le.PutUint32(b, bufTypeVideoCapture)
	return d.ioctl(req, b)
}

func (d *v4l2Device) StreamOn() error  { return d.stream(vidiocStreamOn) }
func (d *v4l2Device) StreamOff() error { return d.stream(vidiocStreamOff) }

func (d *v4l2Device) Close() error {
	for _, m := range d.maps {
		unix.Munmap(m)
	}
	d.maps = nil
	return unix.Close(d.fd)
}
