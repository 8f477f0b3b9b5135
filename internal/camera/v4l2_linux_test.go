package camera

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// The request numbers as the C headers compute them (strace and
// linux/videodev2.h users print the same values).
func TestIoctlNumbers(t *testing.T) {
	want := map[string][2]uintptr{ // 64-bit, 32-bit (time32 layout)
		"VIDIOC_QUERYCAP": {0x80685600, 0x80685600},
		"VIDIOC_ENUM_FMT": {0xc0405602, 0xc0405602},
		"VIDIOC_S_FMT":    {0xc0d05605, 0xc0cc5605},
		"VIDIOC_REQBUFS":  {0xc0145608, 0xc0145608},
		"VIDIOC_QUERYBUF": {0xc0585609, 0xc0445609},
		"VIDIOC_QBUF":     {0xc058560f, 0xc044560f},
		"VIDIOC_DQBUF":    {0xc0585611, 0xc0445611},
		"VIDIOC_STREAMON": {0x40045612, 0x40045612},
	}
	got := map[string]uintptr{
		"VIDIOC_QUERYCAP": vidiocCap, "VIDIOC_ENUM_FMT": vidiocEnumFmt, "VIDIOC_S_FMT": vidiocSFmt,
		"VIDIOC_REQBUFS": vidiocReqbufs, "VIDIOC_QUERYBUF": vidiocQuery, "VIDIOC_QBUF": vidiocQBuf,
		"VIDIOC_DQBUF": vidiocDQBuf, "VIDIOC_STREAMON": vidiocStreamOn,
	}
	col := 0
	if ptrSize == 4 {
		col = 1
	}
	for name, w := range want {
		if got[name] != w[col] {
			t.Errorf("%s = %#x, want %#x (pointer size %d)", name, got[name], w[col], ptrSize)
		}
	}
}

// Opening what is not a camera gives one clear error.
func TestOpenDeviceErrors(t *testing.T) {
	if _, err := OpenDevice("/nonexistent/video9"); err == nil || !strings.Contains(err.Error(), "no such device") {
		t.Errorf("missing node: %v", err)
	}
	f, err := os.CreateTemp(t.TempDir(), "notvideo")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	d, err := OpenDevice(f.Name())
	if err != nil {
		t.Fatalf("open regular file: %v", err)
	}
	defer d.Close()
	// ENOTTY from a kernel; ENOSYS under qemu-user, which has no V4L2.
	if _, err := d.QueryCap(); err == nil || !strings.Contains(err.Error(), "not a V4L2 device") && !strings.Contains(err.Error(), "not implemented here") {
		t.Errorf("QUERYCAP on a regular file: %v", err)
	}
	_, err = OpenV4L2(V4L2Config{Path: f.Name()}, OpenDevice)
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("OpenV4L2 on a regular file: %v", err)
	}
}
