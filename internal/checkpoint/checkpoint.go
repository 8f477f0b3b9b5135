package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// Tensor is one parameter or buffer of a checkpoint.
type Tensor struct {
	// Shape is the tensor's size; empty for a 0-d tensor.
	Shape []int
	// DType is the element type stored in the file, in torch's names:
	// float32, float16, bfloat16, float64, int64, int32, int16, int8,
	// uint8, bool.
	DType string
	// Data holds the values row-major and contiguous, converted to float32:
	// float16 and bfloat16 exactly, float64 and integers above 2^24 rounded
	// to nearest even (as torch's .float() does), bool as 0 and 1.
	Data []float32
}

// NumElements is the product of Shape (1 for a 0-d tensor).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// StateDict is a model's parameters and buffers by name.
type StateDict struct {
	// Keys are the tensor names in file order, after StrippedPrefix was
	// removed.
	Keys []string
	// Tensors maps every key to its tensor.
	Tensors map[string]*Tensor
	// Format is the file format: "torch-zip" (torch.save since 1.6),
	// "torch-legacy" (torch.save with _use_new_zipfile_serialization=False),
	// "torch-tar" (torch.save before 0.1.10) or "safetensors".
	Format string
	// Container tells where the tensors were found: "state_dict" (the file
	// is the state dict), "fastai" (Learner.save: {'model', 'opt'}),
	// "lightning" (a PyTorch Lightning checkpoint's 'state_dict'),
	// "state_dict-key", "model_state_dict" or "model" (a dict holding the
	// state dict under that key).
	Container string
	// StrippedPrefix is what was removed from the front of every key, such
	// as "module." (DataParallel) or "model." (Lightning); "" if nothing.
	StrippedPrefix string
}

// Options controls Load.
type Options struct {
	// Progress, if not nil, is called as tensor data is read, with the bytes
	// read so far and the total to read.
	Progress func(done, total int64)
	// Limits bounds what a file may make Load allocate; zero fields take
	// the values of DefaultLimits().
	Limits Limits
}

// Limits bounds the resources a checkpoint may claim. Every size read from a
// file is checked against them before anything is allocated for it.
type Limits struct {
	// MaxTensorElements bounds the elements of one tensor.
	MaxTensorElements int64
	// MaxTotalBytes bounds both the storage bytes read from the file and the
	// float32 bytes produced.
	MaxTotalBytes int64
	// MaxPickleBytes bounds a pickle (torch's data.pkl, the legacy format's
	// object pickle).
	MaxPickleBytes int64
	// MaxHeaderBytes bounds a safetensors JSON header.
	MaxHeaderBytes int64
	// MaxDepth bounds how deeply containers nest in a pickle.
	MaxDepth int
	// MaxStack bounds the pickle machine's stack and marks.
	MaxStack int
	// MaxMemo bounds the entries of the pickle memo.
	MaxMemo int
	// MaxObjects bounds the objects a pickle builds.
	MaxObjects int
	// MaxCompressionRatio bounds uncompressed/compressed size of a
	// compressed zip entry (torch stores entries uncompressed).
	MaxCompressionRatio int64
}

// DefaultLimits returns limits generous for image classifiers (a ResNet-152
// is 240 MB) that still fit a Raspberry Pi's memory: 4 GiB of tensor data,
// 1 GiB where int is 32 bits.
func DefaultLimits() Limits {
	return Limits{
		MaxTensorElements:   1 << 30,
		MaxTotalBytes:       min(4<<30, maxAlloc),
		MaxPickleBytes:      64 << 20,
		MaxHeaderBytes:      100_000_000, // the safetensors reference implementation's limit
		MaxDepth:            1000,
		MaxStack:            1 << 20,
		MaxMemo:             1 << 20,
		MaxObjects:          1 << 24,
		MaxCompressionRatio: 100,
	}
}

// maxAlloc bounds MaxTotalBytes whatever the caller sets, so that no slice
// length overflows int on 32-bit platforms (GOARCH=arm).
const maxAlloc = int64(math.MaxInt >> 1)

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxTensorElements > 0 {
		d.MaxTensorElements = l.MaxTensorElements
	}
	if l.MaxTotalBytes > 0 {
		d.MaxTotalBytes = min(l.MaxTotalBytes, maxAlloc)
	}
	if l.MaxPickleBytes > 0 {
		d.MaxPickleBytes = l.MaxPickleBytes
	}
	if l.MaxHeaderBytes > 0 {
		d.MaxHeaderBytes = l.MaxHeaderBytes
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxStack > 0 {
		d.MaxStack = l.MaxStack
	}
	if l.MaxMemo > 0 {
		d.MaxMemo = l.MaxMemo
	}
	if l.MaxObjects > 0 {
		d.MaxObjects = l.MaxObjects
	}
	if l.MaxCompressionRatio > 0 {
		d.MaxCompressionRatio = l.MaxCompressionRatio
	}
	return d
}

// Kinds of failure, for errors.Is on an *Error.
var (
	// ErrFormat: the file is malformed or truncated, or is not a checkpoint.
	ErrFormat = errors.New("malformed checkpoint")
	// ErrNotAllowed: the pickle names a global outside the allow-list.
	ErrNotAllowed = errors.New("pickle global not allowed")
	// ErrLimit: the file claims more than Limits allow.
	ErrLimit = errors.New("checkpoint limit exceeded")
	// ErrUnsupported: a valid file using something this package does not read.
	ErrUnsupported = errors.New("unsupported checkpoint feature")
)

// Error is the error Load returns: one line naming the file and the problem.
type Error struct {
	Path string
	// Kind is ErrFormat, ErrNotAllowed, ErrLimit, ErrUnsupported, or the
	// underlying I/O error.
	Kind error
	// Msg describes the problem.
	Msg string
}

func (e *Error) Error() string { return "checkpoint: " + e.Path + ": " + e.Msg }

func (e *Error) Unwrap() error { return e.Kind }

// problem is an error inside the package; Load adds the file name.
type problem struct {
	kind error
	msg  string
}

func (e *problem) Error() string { return e.msg }

func errf(kind error, format string, args ...any) error {
	return &problem{kind: kind, msg: oneLine(fmt.Sprintf(format, args...))}
}

// Load reads the checkpoint at path: a torch.save file (zip, legacy or tar
// format) or a .safetensors file, recognized by content. It finds the state
// dict inside the known containers, strips a prefix every key shares
// ("module.", "model.", "_orig_mod."), and returns every tensor of the state
// dict converted to float32. Entries that are not tensors are ignored.
// Errors are *Error.
func Load(path string, opt Options) (*StateDict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, pathError(path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{Path: path, Kind: ErrFormat, Msg: "not a regular file"}
	}
	sd, err := load(f, st.Size(), opt)
	if err != nil {
		return nil, pathError(path, err)
	}
	return sd, nil
}

func pathError(path string, err error) error {
	var p *problem
	if errors.As(err, &p) {
		return &Error{Path: path, Kind: p.kind, Msg: oneLine(p.msg)}
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &Error{Path: path, Kind: err, Msg: oneLine(err.Error())}
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// source gives access to the raw bytes of the storages of one file.
type source interface {
	// check verifies, before anything is allocated, that storage s can be
	// read in full.
	check(s *storageRef) error
	// open returns a reader of the storage's bytes (at least
	// s.numel*s.dt.size of them).
	open(s *storageRef) (io.Reader, error)
}

// parsed is a file after its structure was read and before any tensor data.
type parsed struct {
	format string
	root   any
	src    source
}

// load reads a checkpoint of size bytes from r.
func load(r io.ReaderAt, size int64, opt Options) (*StateDict, error) {
	lim := opt.Limits.withDefaults()
	var head [512]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	var p *parsed
	switch h := head[:n]; {
	case n == 0:
		return nil, errf(ErrFormat, "empty file")
	case bytes.HasPrefix(h, []byte("PK\x03\x04")) || bytes.HasPrefix(h, []byte("PK\x05\x06")):
		p, err = parseTorchZip(r, size, &lim)
	case n >= 262 && string(h[257:262]) == "ustar":
		p, err = parseTorchTar(r, size, &lim)
	case h[0] == 0x80:
		p, err = parseTorchLegacy(r, size, &lim)
	case n >= 9 && h[8] == '{':
		p, err = parseSafetensors(r, size, &lim)
	default:
		return nil, errf(ErrFormat, "not a checkpoint: neither a torch.save file (zip or pickle) nor safetensors")
	}
	if err != nil {
		return nil, err
	}
	return build(p, opt.Progress, &lim)
}

// entry is one tensor chosen from the state dict.
type entry struct {
	name string // as in the file
	key  string // after prefix stripping
	t    *tensorRef
}

func build(p *parsed, progress func(done, total int64), lim *Limits) (*StateDict, error) {
	container, dict, err := unwrap(p.root)
	if err != nil {
		return nil, err
	}
	var entries []entry
	for i, k := range dict.keys {
		t, ok := dict.vals[i].(*tensorRef)
		if !ok {
			continue // optimizer steps, extra state, …: not tensors
		}
		name, ok := k.(string)
		if !ok {
			return nil, errf(ErrFormat, "state dict has a tensor under a %s key", typeName(k))
		}
		entries = append(entries, entry{name: name, key: name, t: t})
	}
	if len(entries) == 0 {
		return nil, errf(ErrFormat, "the %s holds no tensors", containerName(container))
	}
	stripped := stripPrefixes(entries)

	// Check every tensor against its storage and the limits, then every
	// storage against the file, before reading or allocating anything.
	var storages []*storageRef
	for _, e := range entries {
		s := e.t.storage
		if err := e.t.check(e.name, lim); err != nil {
			return nil, err
		}
		if s.uses == 0 {
			if err := p.src.check(s); err != nil {
				return nil, err
			}
			storages = append(storages, s)
		}
		s.uses++
	}
	var readBytes, outBytes int64
	for _, s := range storages {
		readBytes += s.numel * int64(s.dt.size) // each ≤ MaxTotalBytes: no overflow
		outBytes += 4 * s.numel
		if readBytes > lim.MaxTotalBytes || outBytes > lim.MaxTotalBytes {
			return nil, errf(ErrLimit, "tensor data of more than %d bytes (Limits.MaxTotalBytes)", lim.MaxTotalBytes)
		}
	}
	for _, e := range entries {
		if !e.t.reusesStorage() {
			outBytes += 4 * e.t.numel
			if outBytes > lim.MaxTotalBytes {
				return nil, errf(ErrLimit, "tensor data of more than %d bytes (Limits.MaxTotalBytes)", lim.MaxTotalBytes)
			}
		}
	}

	var done int64
	if progress != nil {
		progress(0, readBytes)
	}
	var buf []byte
	for _, s := range storages {
		if err := readStorage(p.src, s, &buf, &done, readBytes, progress); err != nil {
			return nil, err
		}
	}

	sd := &StateDict{
		Keys:           make([]string, len(entries)),
		Tensors:        make(map[string]*Tensor, len(entries)),
		Format:         p.format,
		Container:      container,
		StrippedPrefix: stripped,
	}
	for i, e := range entries {
		if _, dup := sd.Tensors[e.key]; dup {
			return nil, errf(ErrFormat, "tensor %q appears twice", e.name)
		}
		sd.Keys[i] = e.key
		sd.Tensors[e.key] = e.t.materialize()
	}
	return sd, nil
}

func containerName(c string) string {
	if c == "state_dict" {
		return "state dict"
	}
	return c + " checkpoint"
}

// unwrap finds the state dict in the file's top-level object.
func unwrap(root any) (string, *pyDict, error) {
	d, ok := root.(*pyDict)
	if !ok {
		return "", nil, errf(ErrFormat, "the file holds a %s, not a state dict (a dict of tensors)", typeName(root))
	}
	for _, key := range []string{"state_dict", "model_state_dict", "model"} {
		v, ok := d.get(key)
		if !ok {
			continue
		}
		inner, ok := v.(*pyDict)
		if !ok || !hasTensor(inner) {
			continue
		}
		switch key {
		case "state_dict":
			if _, ok := d.get("pytorch-lightning_version"); ok {
				return "lightning", inner, nil
			}
			return "state_dict-key", inner, nil
		case "model":
			if _, ok := d.get("opt"); ok {
				return "fastai", inner, nil
			}
		}
		return key, inner, nil
	}
	if hasTensor(d) {
		return "state_dict", d, nil
	}
	var keys []string
	for _, k := range d.keys {
		if len(keys) == 8 {
			keys = append(keys, "…")
			break
		}
		keys = append(keys, fmt.Sprintf("%.40q", fmt.Sprint(k)))
	}
	return "", nil, errf(ErrFormat, "no state dict found: the top-level dict holds no tensors and no state_dict, model_state_dict or model entry that does (keys %s)", strings.Join(keys, ", "))
}

func hasTensor(d *pyDict) bool {
	return slices.ContainsFunc(d.vals, func(v any) bool { _, ok := v.(*tensorRef); return ok })
}

// stripPrefixes removes, repeatedly, a known prefix that every key has.
func stripPrefixes(entries []entry) string {
	stripped := ""
	for {
		found := false
		for _, p := range []string{"module.", "model.", "_orig_mod."} {
			all := true
			for _, e := range entries {
				if len(e.key) <= len(p) || !strings.HasPrefix(e.key, p) {
					all = false
					break
				}
			}
			if all {
				for i := range entries {
					entries[i].key = entries[i].key[len(p):]
				}
				stripped += p
				found = true
			}
		}
		if !found {
			return stripped
		}
	}
}

// readStorage reads and converts a whole storage through *buf, a buffer
// shared by the calls.
func readStorage(src source, s *storageRef, buf *[]byte, done *int64, total int64, progress func(done, total int64)) error {
	rd, err := src.open(s)
	if err != nil {
		return err
	}
	if c, ok := rd.(io.Closer); ok {
		defer c.Close()
	}
	s.data = make([]float32, s.numel)
	const chunk = 1 << 20 // a multiple of every element size
	if s.dt == &dtFloat32 && nativeLittleEndian {
		// The file's bytes are the values: read them in place.
		return readFull(rd, s, float32Bytes(s.data), done, total, progress)
	}
	if need := min(chunk, s.numel*int64(s.dt.size)); int64(len(*buf)) < need {
		*buf = make([]byte, need)
	}
	for off := int64(0); off < s.numel; {
		n := min(int64(len(*buf)/s.dt.size), s.numel-off)
		b := (*buf)[:n*int64(s.dt.size)]
		if err := readFull(rd, s, b, done, total, nil); err != nil {
			return err
		}
		s.dt.decode(s.data[off:off+n], b)
		off += n
		if progress != nil {
			progress(*done, total)
		}
	}
	return nil
}

// readFull fills b from rd in chunks, counting and reporting progress.
func readFull(rd io.Reader, s *storageRef, b []byte, done *int64, total int64, progress func(done, total int64)) error {
	const chunk = 1 << 20
	for len(b) > 0 {
		n := min(len(b), chunk)
		if _, err := io.ReadFull(rd, b[:n]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return errf(ErrFormat, "storage %q ends early (truncated file?)", s.key)
			}
			return errf(ErrFormat, "storage %q: %v", s.key, err)
		}
		b = b[n:]
		*done += int64(n)
		if progress != nil {
			progress(*done, total)
		}
	}
	return nil
}

// mulCheck returns a*b, or false if it exceeds limit (a, b ≥ 0).
func mulCheck(a, b, limit int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	if a > limit/b {
		return 0, false
	}
	return a * b, true
}
