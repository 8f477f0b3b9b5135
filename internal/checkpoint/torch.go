package checkpoint

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// storages collects the storages a pickle names by persistent id, by key.
type storages struct {
	byKey map[string]*storageRef
	order []*storageRef
}

// ref returns the storage for a persistent id's (type, key, numel), the
// same one for every mention of a key, as torch.load does.
func (st *storages) ref(g any, key any, numel any) (*storageRef, error) {
	typ, ok1 := g.(*pyGlobal)
	k, ok2 := key.(string)
	n, ok3 := asInt(numel)
	if !ok1 || typ.kind != gStorage || !ok2 || !ok3 {
		return nil, errf(ErrFormat, "malformed storage persistent id (%s, %s, %s)", typeName(g), typeName(key), typeName(numel))
	}
	if n < 0 {
		return nil, errf(ErrFormat, "storage %q has a negative size %d", k, n)
	}
	if s, ok := st.byKey[k]; ok {
		if s.dt != typ.dtype || s.numel != n {
			return nil, errf(ErrFormat, "storage %q is named as both %s of %d elements and %s of %d", k, s.typ, s.numel, typ, n)
		}
		return s, nil
	}
	s := &storageRef{dt: typ.dtype, typ: typ.String(), key: k, numel: n}
	st.byKey[k] = s
	st.order = append(st.order, s)
	return s, nil
}

func pidItems(pid any, want int, format string) ([]any, error) {
	t, ok := pid.(*pyTuple)
	if !ok || len(t.items) == 0 {
		return nil, errf(ErrFormat, "persistent id is a %s, not a tuple", typeName(pid))
	}
	if s, _ := t.items[0].(string); s != "storage" {
		if s == "module" {
			return nil, errf(ErrUnsupported, "the file holds a pickled nn.Module (torch.save(model)); save model.state_dict() instead")
		}
		return nil, errf(ErrFormat, "persistent id of unknown kind %.40q", fmt.Sprint(t.items[0]))
	}
	if len(t.items) != want {
		return nil, errf(ErrFormat, "%s storage persistent id has %d items, want %d", format, len(t.items), want)
	}
	return t.items, nil
}

// ---------------------------------------------------------------- zip

// zipSource reads storages from archive/data/<key> entries.
type zipSource struct {
	entries map[string]*zip.File
	prefix  string
	lim     *Limits
}

func (z *zipSource) entry(name string) *zip.File { return z.entries[z.prefix+name] }

func checkEntry(f *zip.File, lim *Limits) error {
	if f.Method == zip.Store {
		if f.CompressedSize64 != f.UncompressedSize64 {
			return errf(ErrFormat, "zip entry %q is stored with sizes %d and %d", f.Name, f.CompressedSize64, f.UncompressedSize64)
		}
		return nil
	}
	if f.Method != zip.Deflate {
		return errf(ErrUnsupported, "zip entry %q uses compression method %d", f.Name, f.Method)
	}
	if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64/max(f.CompressedSize64, 1) > uint64(lim.MaxCompressionRatio) {
		return errf(ErrLimit, "zip entry %q inflates %d bytes to %d, more than %d times (Limits.MaxCompressionRatio; a zip bomb?)",
			f.Name, f.CompressedSize64, f.UncompressedSize64, lim.MaxCompressionRatio)
	}
	return nil
}

func (z *zipSource) check(s *storageRef) error {
	f := z.entry("data/" + s.key)
	if f == nil {
		return errf(ErrFormat, "storage %q has no entry %q in the archive", s.key, z.prefix+"data/"+s.key)
	}
	if need := uint64(s.numel) * uint64(s.dt.size); f.UncompressedSize64 < need {
		return errf(ErrFormat, "storage %q claims %d elements of %s (%d bytes), its archive entry holds %d bytes",
			s.key, s.numel, s.dt.name, need, f.UncompressedSize64)
	}
	return checkEntry(f, z.lim)
}

func (z *zipSource) open(s *storageRef) (io.Reader, error) {
	rc, err := z.entry("data/" + s.key).Open()
	if err != nil {
		return nil, errf(ErrFormat, "storage %q: %v", s.key, err)
	}
	return rc, nil
}

// parseTorchZip reads the archive's data.pkl.
func parseTorchZip(r io.ReaderAt, size int64, lim *Limits) (*parsed, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, errf(ErrFormat, "zip archive: %v (truncated file?)", err)
	}
	z := &zipSource{entries: map[string]*zip.File{}, lim: lim}
	var pkl *zip.File
	torchScript := false
	for _, f := range zr.File {
		if _, dup := z.entries[f.Name]; !dup {
			z.entries[f.Name] = f
		}
		dir, base, ok := strings.Cut(f.Name, "/")
		if !ok {
			continue
		}
		switch base {
		case "data.pkl":
			if pkl != nil && pkl.Name != f.Name {
				return nil, errf(ErrFormat, "zip archive has two pickles, %q and %q", pkl.Name, f.Name)
			}
			pkl, z.prefix = f, dir+"/"
		case "constants.pkl":
			torchScript = true
		}
	}
	if torchScript {
		return nil, errf(ErrUnsupported, "a TorchScript archive (torch.jit.save) is not supported; save model.state_dict() with torch.save")
	}
	if pkl == nil {
		return nil, errf(ErrFormat, "zip archive has no <name>/data.pkl: not a torch.save file")
	}
	if bo := z.entry("byteorder"); bo != nil {
		b, err := readEntry(bo, 16, lim)
		if err != nil {
			return nil, err
		}
		if string(b) != "little" {
			return nil, errf(ErrUnsupported, "byte order %.16q is not supported (only little)", b)
		}
	}
	data, err := readEntry(pkl, lim.MaxPickleBytes, lim)
	if err != nil {
		return nil, err
	}
	root, err := unpickleZip(data, lim)
	if err != nil {
		return nil, err
	}
	return &parsed{format: "torch-zip", root: root, src: z}, nil
}

// unpickleZip unpickles a torch zip checkpoint's data.pkl, whose persistent
// ids are ('storage', storage_type, key, location, numel) tuples naming
// storages by key.
func unpickleZip(data []byte, lim *Limits) (any, error) {
	st := &storages{byKey: map[string]*storageRef{}}
	u := newUnpickler(data, lim)
	u.persistentLoad = func(pid any) (any, error) {
		it, err := pidItems(pid, 5, "zip")
		if err != nil {
			return nil, err
		}
		return st.ref(it[1], it[2], it[4])
	}
	return u.load()
}

// readEntry reads a whole zip entry of at most limit bytes.
func readEntry(f *zip.File, limit int64, lim *Limits) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, errf(ErrLimit, "zip entry %q has %d bytes, more than %d", f.Name, f.UncompressedSize64, limit)
	}
	if err := checkEntry(f, lim); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, errf(ErrFormat, "zip entry %q: %v", f.Name, err)
	}
	defer rc.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, errf(ErrFormat, "zip entry %q: %v (truncated file?)", f.Name, err)
	}
	// Reading to EOF makes archive/zip verify the CRC and the size.
	if _, err := rc.Read(make([]byte, 1)); err != io.EOF {
		return nil, errf(ErrFormat, "zip entry %q: corrupt (%v)", f.Name, err)
	}
	return b, nil
}

// ---------------------------------------------------------------- legacy

// legacyMagic is torch's MAGIC_NUMBER, 0x1950a86a20f9469cfc6c.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// legacySource reads storages laid out after the pickles: for each key, an
// 8-byte little-endian element count, then the elements.
type legacySource struct {
	r io.ReaderAt
}

func (l *legacySource) check(s *storageRef) error {
	if s.pos < 0 {
		return errf(ErrFormat, "storage %q is not in the file's list of storages", s.key)
	}
	return nil
}

func (l *legacySource) open(s *storageRef) (io.Reader, error) {
	return io.NewSectionReader(l.r, s.pos, s.numel*int64(s.dt.size)), nil
}

// parseTorchLegacy reads torch.save's format before 1.6: the pickles of the
// magic number, the protocol version, the system info, the object and the
// storage keys, then the storages.
func parseTorchLegacy(r io.ReaderAt, size int64, lim *Limits) (*parsed, error) {
	// The pickles are read from a prefix of the file that grows until they fit.
	n := min(size, 1<<20, lim.MaxPickleBytes)
	for {
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
			return nil, err
		}
		p, short, err := parseLegacyPickles(buf, r, size, lim)
		if err == nil || !short || n == size {
			return p, err
		}
		if n >= lim.MaxPickleBytes {
			return nil, errf(ErrLimit, "torch legacy format: pickles larger than %d bytes (Limits.MaxPickleBytes)", lim.MaxPickleBytes)
		}
		n = min(size, 4*n, lim.MaxPickleBytes)
	}
}

func parseLegacyPickles(buf []byte, r io.ReaderAt, size int64, lim *Limits) (p *parsed, short bool, err error) {
	u := newUnpickler(buf, lim)
	next := func(what string) (any, error) {
		v, err := u.load()
		if err != nil {
			if pr, ok := err.(*problem); ok && pr.kind == ErrFormat {
				return nil, errf(pr.kind, "torch legacy format: %s pickle: %s", what, pr.msg)
			}
			return nil, err
		}
		return v, nil
	}
	magic, err := next("magic number")
	if err != nil {
		return nil, u.short, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, false, errf(ErrFormat, "not a torch.save file: a pickle of %s where torch's magic number should be", typeName(magic))
	}
	proto, err := next("protocol version")
	if err != nil {
		return nil, u.short, err
	}
	if v, ok := proto.(int64); !ok || v != 1001 {
		return nil, false, errf(ErrUnsupported, "torch legacy protocol version %.40q is not supported (only 1001)", fmt.Sprint(proto))
	}
	info, err := next("system info")
	if err != nil {
		return nil, u.short, err
	}
	if d, ok := info.(*pyDict); ok {
		if le, ok := d.get("little_endian"); ok && le != true {
			return nil, false, errf(ErrUnsupported, "a big-endian torch legacy file is not supported")
		}
	}
	st := &storages{byKey: map[string]*storageRef{}}
	u.persistentLoad = func(pid any) (any, error) {
		// ('storage', storage_type, root_key, location, numel, view_metadata)
		it, err := pidItems(pid, 6, "legacy")
		if err != nil {
			return nil, err
		}
		if it[5] != nil {
			return nil, errf(ErrUnsupported, "storage views (written by torch before 1.0) are not supported")
		}
		s, err := st.ref(it[1], it[2], it[4])
		if err == nil && s.pos == 0 {
			s.pos = -1 // not yet found in the list of storages
		}
		return s, err
	}
	root, err := next("object")
	if err != nil {
		return nil, u.short, err
	}
	u.persistentLoad = nil
	keysV, err := next("storage keys")
	if err != nil {
		return nil, u.short, err
	}
	keys, ok := keysV.(*pyList)
	if !ok {
		return nil, false, errf(ErrFormat, "torch legacy format: the storage keys are a %s, not a list", typeName(keysV))
	}
	// Walk the storages: check each count against the pickle and the file.
	pos := int64(u.pos)
	for _, k := range keys.items {
		key, ok := k.(string)
		if !ok {
			return nil, false, errf(ErrFormat, "torch legacy format: a storage key is a %s", typeName(k))
		}
		s := st.byKey[key]
		if s == nil {
			return nil, false, errf(ErrFormat, "torch legacy format: storage %q is listed but never used", key)
		}
		if s.pos >= 0 {
			return nil, false, errf(ErrFormat, "torch legacy format: storage %q is listed twice", key)
		}
		var cnt [8]byte
		if size-pos < 8 {
			return nil, false, errf(ErrFormat, "storage %q ends early (truncated file?)", key)
		}
		if _, err := r.ReadAt(cnt[:], pos); err != nil {
			return nil, false, err
		}
		count := int64(leUint64(cnt[:]))
		if count != s.numel {
			return nil, false, errf(ErrFormat, "storage %q has %d elements in the file, %d in the pickle", key, count, s.numel)
		}
		pos += 8
		nb, ok := mulCheck(s.numel, int64(s.dt.size), size-pos)
		if !ok {
			return nil, false, errf(ErrFormat, "storage %q of %d elements of %s runs past the end of the file (truncated file?)", key, s.numel, s.dt.name)
		}
		s.pos = pos
		pos += nb
	}
	return &parsed{format: "torch-legacy", root: root, src: &legacySource{r: r}}, false, nil
}

func leUint64(b []byte) uint64 {
	var x uint64
	for i := 7; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}
