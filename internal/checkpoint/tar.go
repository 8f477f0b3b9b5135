package checkpoint

import (
	"archive/tar"
	"encoding/binary"
	"io"
	"strconv"
)

// The tar format of torch.save before 0.1.10, read as torch 1.13's
// _legacy_load reads it: a tar archive whose entry "storages" holds a pickled
// count, then for each storage a pickled (key, location, storage_type), an
// 8-byte element count and the elements, then a pickled list of storage
// views; "tensors" holds a pickled count, then for each tensor a pickled
// (key, storage_key, tensor_type), a 4-byte ndim, 4 unused bytes, the sizes,
// the strides and the storage offset as 8-byte integers; "pickle" is the
// object, whose persistent ids are the decimal keys of tensors and storages.

// pickleAt unpickles the pickle at [off, end) of r through a window that
// grows until the pickle fits, and returns its value and the offset after it.
func pickleAt(r io.ReaderAt, off, end int64, lim *Limits, pl func(any) (any, error)) (any, int64, error) {
	n := min(end-off, 4<<10, lim.MaxPickleBytes)
	for {
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, off); err != nil && err != io.EOF {
			return nil, 0, err
		}
		u := newUnpickler(buf, lim)
		u.persistentLoad = pl
		v, err := u.load()
		if err == nil {
			return v, off + int64(u.pos), nil
		}
		if !u.short || n == end-off {
			return nil, 0, err
		}
		if n >= lim.MaxPickleBytes {
			return nil, 0, errf(ErrLimit, "pickle larger than %d bytes (Limits.MaxPickleBytes)", lim.MaxPickleBytes)
		}
		n = min(end-off, 4*n, lim.MaxPickleBytes)
	}
}

type tarEntry struct{ off, end int64 }

func parseTorchTar(r io.ReaderAt, size int64, lim *Limits) (*parsed, error) {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	ents := map[string]tarEntry{}
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errf(ErrFormat, "tar archive: %v (truncated file?)", err)
		}
		if i == 16 {
			return nil, errf(ErrFormat, "tar archive with more than 16 entries: not a torch.save file")
		}
		pos, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		if h.Size > size-pos {
			return nil, errf(ErrFormat, "tar entry %q of %d bytes runs past the end of the file (truncated file?)", h.Name, h.Size)
		}
		if h.Typeflag == tar.TypeReg {
			ents[h.Name] = tarEntry{pos, pos + h.Size}
		}
	}
	for _, name := range []string{"storages", "tensors", "pickle"} {
		if _, ok := ents[name]; !ok {
			return nil, errf(ErrFormat, "tar archive has no %q entry: not a torch.save file", name)
		}
	}
	objects := map[int64]any{}
	count := func(e tarEntry, at int64, what string) (int64, int64, error) {
		v, at, err := pickleAt(r, at, e.end, lim, nil)
		if err != nil {
			return 0, 0, err
		}
		n, ok := asInt(v)
		if !ok || n < 0 || n > int64(lim.MaxObjects) {
			return 0, 0, errf(ErrFormat, "torch tar format: %s count is %.40q", what, typeName(v))
		}
		return n, at, nil
	}
	word := func(at, end int64) (int64, error) {
		var b [8]byte
		if end-at < 8 {
			return 0, errf(ErrFormat, "torch tar format: entry ends early (truncated file?)")
		}
		if _, err := r.ReadAt(b[:], at); err != nil {
			return 0, err
		}
		return int64(binary.LittleEndian.Uint64(b[:])), nil
	}

	// storages: (key, location, storage_type), count, elements
	e := ents["storages"]
	n, at, err := count(e, e.off, "storage")
	if err != nil {
		return nil, err
	}
	for range n {
		v, next, err := pickleAt(r, at, e.end, lim, nil)
		if err != nil {
			return nil, err
		}
		t, ok := v.(*pyTuple)
		if !ok || len(t.items) != 3 {
			return nil, errf(ErrFormat, "torch tar format: storage header is a %s, not a 3-tuple", typeName(v))
		}
		key, ok1 := asInt(t.items[0])
		typ, ok2 := t.items[2].(*pyGlobal)
		if !ok1 || !ok2 || typ.kind != gStorage {
			return nil, errf(ErrFormat, "torch tar format: malformed storage header (%s, %s)", typeName(t.items[0]), typeName(t.items[2]))
		}
		numel, err := word(next, e.end)
		if err != nil {
			return nil, err
		}
		next += 8
		nb, ok := mulCheck(numel, int64(typ.dtype.size), e.end-next)
		if !ok || numel < 0 {
			return nil, errf(ErrFormat, "storage %d of %d elements of %s runs past its tar entry (truncated file?)", key, numel, typ.dtype.name)
		}
		if _, dup := objects[key]; dup {
			return nil, errf(ErrFormat, "torch tar format: key %d is used twice", key)
		}
		objects[key] = &storageRef{dt: typ.dtype, typ: typ.String(), key: strconv.FormatInt(key, 10), numel: numel, pos: next}
		at = next + nb
	}
	views, _, err := pickleAt(r, at, e.end, lim, nil)
	if err != nil {
		return nil, err
	}
	if l, ok := views.(*pyList); !ok || len(l.items) != 0 {
		return nil, errf(ErrUnsupported, "storage views (torch tar format) are not supported")
	}

	// tensors: (key, storage_key, tensor_type), ndim, sizes, strides, offset
	e = ents["tensors"]
	if n, at, err = count(e, e.off, "tensor"); err != nil {
		return nil, err
	}
	for range n {
		v, next, err := pickleAt(r, at, e.end, lim, nil)
		if err != nil {
			return nil, err
		}
		t, ok := v.(*pyTuple)
		if !ok || len(t.items) != 3 {
			return nil, errf(ErrFormat, "torch tar format: tensor header is a %s, not a 3-tuple", typeName(v))
		}
		key, ok1 := asInt(t.items[0])
		sk, ok2 := asInt(t.items[1])
		if !ok1 || !ok2 {
			return nil, errf(ErrFormat, "torch tar format: malformed tensor header (%s, %s)", typeName(t.items[0]), typeName(t.items[1]))
		}
		s, ok := objects[sk].(*storageRef)
		if !ok {
			return nil, errf(ErrFormat, "torch tar format: tensor %d names storage %d, which the file does not hold", key, sk)
		}
		nd, err := word(next, e.end)
		if err != nil {
			return nil, err
		}
		ndim := int64(int32(uint32(nd))) // 4 bytes, then 4 unused
		if ndim < 0 || ndim > maxDims {
			return nil, errf(ErrFormat, "torch tar format: tensor %d has %d dimensions", key, ndim)
		}
		next += 8
		vals := make([]int64, 2*ndim+1)
		for i := range vals {
			if vals[i], err = word(next, e.end); err != nil {
				return nil, err
			}
			next += 8
		}
		if _, dup := objects[key]; dup {
			return nil, errf(ErrFormat, "torch tar format: key %d is used twice", key)
		}
		objects[key] = &tensorRef{storage: s, shape: vals[:ndim], stride: vals[ndim : 2*ndim], offset: vals[2*ndim]}
		at = next
	}

	// pickle: the object
	e = ents["pickle"]
	root, _, err := pickleAt(r, e.off, e.end, lim, func(pid any) (any, error) {
		s, ok := pid.(string)
		if !ok {
			if _, isTuple := pid.(*pyTuple); isTuple {
				return nil, errf(ErrUnsupported, "the file holds a pickled nn.Module (torch.save(model)); save model.state_dict() instead")
			}
			return nil, errf(ErrFormat, "torch tar format: persistent id is a %s", typeName(pid))
		}
		k, err := strconv.ParseInt(s, 10, 64)
		obj, ok := objects[k]
		if err != nil || !ok {
			return nil, errf(ErrFormat, "torch tar format: persistent id %.40q names no tensor or storage", s)
		}
		return obj, nil
	})
	if err != nil {
		return nil, err
	}
	return &parsed{format: "torch-tar", root: root, src: &legacySource{r: r}}, nil
}
