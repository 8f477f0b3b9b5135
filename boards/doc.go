// Package boards knows the Raspberry Pi models and the hosts edge runs
// on: a data table of profiles (cores, core type, dot product, the binary
// to install, default threads, suggested input size, the int8 kernel
// family the runtime picks) and a pure detection function over a /proc
// tree.
//
// # Detection
//
// Detect reads an fs.FS rooted at "/" (os.DirFS("/") on the board, a
// captured tree in tests):
//
//   - proc/device-tree/system/linux,revision: the revision code, 4 bytes
//     big-endian, decoded by ParseRevision (type, processor, memory,
//     manufacturer, revision);
//   - proc/cpuinfo: the "Revision" line when the device tree has no code,
//     the CPU (implementer and part, Features or flags, cores);
//   - proc/device-tree/model: the model string, a fallback for boards
//     without a code.
//
// It never fails: a machine that is not a Raspberry Pi gets a generic host
// profile (arm64, arm or amd64, from cpuinfo), and files it could not read
// are listed in Result.Notes. Nothing here touches hardware; cmd/edge adds
// periph.io's rpi.Present and golang.org/x/sys/cpu for the running binary.
//
// Revision codes: https://www.raspberrypi.com/documentation/computers/raspberry-pi.html#raspberry-pi-revision-codes
package boards
