package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
)

// safetensors (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data
// that follows the header) plus an optional "__metadata__" map of strings,
// then the data. As in the reference implementation, the tensors must cover
// the data exactly, without holes or overlaps.

var safetensorsDtypes = map[string]*dtype{
	"F32": &dtFloat32, "F16": &dtFloat16, "BF16": &dtBFloat16, "F64": &dtFloat64,
	"I64": &dtInt64, "I32": &dtInt32, "I16": &dtInt16, "I8": &dtInt8,
	"U8": &dtUint8, "BOOL": &dtBool,
	"U16": {name: "uint16", size: 2}, "U32": {name: "uint32", size: 4}, "U64": {name: "uint64", size: 8},
	"F8_E4M3": {name: "float8_e4m3fn", size: 1}, "F8_E5M2": {name: "float8_e5m2", size: 1},
}

type safetensorsSource struct{ r io.ReaderAt }

func (s *safetensorsSource) check(*storageRef) error { return nil } // checked while parsing

func (s *safetensorsSource) open(st *storageRef) (io.Reader, error) {
	return io.NewSectionReader(s.r, st.pos, st.numel*int64(st.dt.size)), nil
}

type safetensorsInfo struct {
	Dtype       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

func parseSafetensors(r io.ReaderAt, size int64, lim *Limits) (*parsed, error) {
	var hl [8]byte
	if size < 8 {
		return nil, errf(ErrFormat, "safetensors: file of %d bytes has no header", size)
	}
	if _, err := r.ReadAt(hl[:], 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(hl[:])
	if n > uint64(lim.MaxHeaderBytes) {
		return nil, errf(ErrLimit, "safetensors: header of %d bytes, more than %d (Limits.MaxHeaderBytes)", n, lim.MaxHeaderBytes)
	}
	if n > uint64(size-8) {
		return nil, errf(ErrFormat, "safetensors: header of %d bytes runs past the end of the %d-byte file (truncated file?)", n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, err
	}
	dataStart := 8 + int64(n)
	dataLen := size - dataStart

	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	jsonErr := func(err error) error {
		return errf(ErrFormat, "safetensors: header is not valid JSON: %v", err)
	}
	if tok, err := dec.Token(); err != nil {
		return nil, jsonErr(err)
	} else if tok != json.Delim('{') {
		return nil, errf(ErrFormat, "safetensors: header is not a JSON object")
	}
	root := newDict()
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	seenMetadata := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		name := tok.(string) // object keys are strings
		if _, dup := root.index[hashString(name)]; dup || (name == "__metadata__" && seenMetadata) {
			return nil, errf(ErrFormat, "safetensors: header names %q twice", name)
		}
		if name == "__metadata__" {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return nil, errf(ErrFormat, "safetensors: __metadata__ is not a map of strings: %v", err)
			}
			seenMetadata = true
			continue
		}
		var info safetensorsInfo
		if err := dec.Decode(&info); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) || err == io.ErrUnexpectedEOF || err == io.EOF {
				return nil, jsonErr(err)
			}
			return nil, errf(ErrFormat, "safetensors: tensor %q: %v", name, err)
		}
		if info.Dtype == nil || info.Shape == nil || info.DataOffsets == nil {
			return nil, errf(ErrFormat, "safetensors: tensor %q lacks dtype, shape or data_offsets", name)
		}
		dt, ok := safetensorsDtypes[*info.Dtype]
		if !ok {
			return nil, errf(ErrFormat, "safetensors: tensor %q has unknown dtype %.20q", name, *info.Dtype)
		}
		if dt.decode == nil {
			return nil, errf(ErrUnsupported, "safetensors: tensor %q: dtype %s is not supported", name, *info.Dtype)
		}
		shape, offs := *info.Shape, *info.DataOffsets
		if len(shape) > maxDims {
			return nil, errf(ErrFormat, "safetensors: tensor %q has %d dimensions", name, len(shape))
		}
		numel := int64(1)
		for _, d := range shape {
			if d < 0 {
				return nil, errf(ErrFormat, "safetensors: tensor %q has a negative dimension in shape %v", name, shape)
			}
			if d > math.MaxInt32 {
				return nil, errf(ErrLimit, "safetensors: tensor %q has a dimension of %d, more than 2^31-1 (shape %v)", name, d, shape)
			}
			if numel, ok = mulCheck(numel, d, math.MaxInt64); !ok {
				numel = math.MaxInt64
			}
		}
		if numel > lim.MaxTensorElements {
			return nil, errf(ErrLimit, "safetensors: tensor %q has shape %v: %s elements, more than %d (Limits.MaxTensorElements)",
				name, shape, bigCount(shape), lim.MaxTensorElements)
		}
		if len(offs) != 2 || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLen {
			return nil, errf(ErrFormat, "safetensors: tensor %q has data_offsets %v outside the %d bytes of data", name, offs, dataLen)
		}
		if want := numel * int64(dt.size); offs[1]-offs[0] != want {
			return nil, errf(ErrFormat, "safetensors: tensor %q of shape %v and dtype %s needs %d bytes, its data_offsets %v span %d",
				name, shape, *info.Dtype, want, offs, offs[1]-offs[0])
		}
		s := &storageRef{dt: dt, typ: *info.Dtype, key: name, numel: numel, pos: dataStart + offs[0]}
		stride := make([]int64, len(shape))
		acc := int64(1)
		for i := len(shape) - 1; i >= 0; i-- {
			stride[i] = acc
			acc *= max(shape[i], 1)
		}
		if err := (&unpickler{lim: lim}).setItem(root, name, &tensorRef{storage: s, shape: shape, stride: stride}); err != nil {
			return nil, err
		}
		spans = append(spans, span{name, offs[0], offs[1]})
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errf(ErrFormat, "safetensors: data after the header's JSON object")
	}

	// The tensors must tile the data exactly.
	slices.SortStableFunc(spans, func(a, b span) int {
		if a.begin != b.begin {
			return cmpInt(a.begin, b.begin)
		}
		return cmpInt(a.end, b.end)
	})
	var at int64
	for _, sp := range spans {
		if sp.begin != at {
			return nil, errf(ErrFormat, "safetensors: tensor %q starts at data byte %d, the previous tensor ends at %d (overlap or hole)", sp.name, sp.begin, at)
		}
		at = sp.end
	}
	if at != dataLen {
		return nil, errf(ErrFormat, "safetensors: tensors cover %d bytes of data, the file has %d after the header", at, dataLen)
	}
	return &parsed{format: "safetensors", root: root, src: &safetensorsSource{r: r}}, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
