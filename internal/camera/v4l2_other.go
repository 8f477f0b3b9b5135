//go:build !linux

package camera

import "errors"

// OpenDevice fails: V4L2 exists only on Linux.
func OpenDevice(path string) (Device, error) {
	return nil, errors.New("camera: " + path + ": V4L2 devices need Linux")
}
