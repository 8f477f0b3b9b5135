package checkpoint

import "math/big"

// The allow-list: the only globals a checkpoint pickle may name. Each maps to
// a Go constructor of inert values; none runs anything from the file.

type globalKind int

const (
	gRebuildTensorV2           globalKind = iota + 1 // torch._utils._rebuild_tensor_v2
	gRebuildTensor                                   // torch._utils._rebuild_tensor (torch < 1.0)
	gRebuildParameter                                // torch._utils._rebuild_parameter
	gRebuildParameterWithState                       // torch._utils._rebuild_parameter_with_state (torch 2)
	gRebuildFromTypeV2                               // torch._tensor._rebuild_from_type_v2
	gTensorType                                      // torch.Tensor, torch.nn.Parameter, torch.FloatTensor …: values
	gStorage                                         // torch.FloatStorage …: persistent-id storage types
	gDtype                                           // torch.float32 …: a value
	gSize                                            // torch.Size(tuple)
	gOrderedDict                                     // collections.OrderedDict
	gDictClass                                       // dict subclasses that only hold items (Lightning's AttributeDict)
	gSet                                             // builtins.set, builtins.frozenset
	gCodecsEncode                                    // _codecs.encode(str, "latin1"): protocol 2 bytes
	gBytes                                           // builtins.bytes(): protocol 2 empty bytes
	gInert                                           // argparse.Namespace, numpy scalars and dtypes, torch.device, fastcore L
)

// pyGlobal is an allow-listed global.
type pyGlobal struct {
	module, name string
	kind         globalKind
	dtype        *dtype // for gStorage
}

func (g *pyGlobal) String() string { return g.module + "." + g.name }

var allowed = map[string]globalKind{
	"torch._utils _rebuild_tensor_v2":                   gRebuildTensorV2,
	"torch._utils _rebuild_tensor":                      gRebuildTensor,
	"torch._utils _rebuild_parameter":                   gRebuildParameter,
	"torch._utils _rebuild_parameter_with_state":        gRebuildParameterWithState,
	"torch._tensor _rebuild_from_type_v2":               gRebuildFromTypeV2,
	"torch Tensor":                                      gTensorType,
	"torch._tensor Tensor":                              gTensorType,
	"torch.nn.parameter Parameter":                      gTensorType,
	"torch Size":                                        gSize,
	"torch device":                                      gInert,
	"collections OrderedDict":                           gOrderedDict,
	"builtins set":                                      gSet,
	"builtins frozenset":                                gSet,
	"__builtin__ set":                                   gSet,
	"__builtin__ frozenset":                             gSet,
	"_codecs encode":                                    gCodecsEncode,
	"__builtin__ bytes":                                 gBytes,
	"builtins bytes":                                    gBytes,
	"argparse Namespace":                                gInert,
	"numpy.core.multiarray scalar":                      gInert,
	"numpy._core.multiarray scalar":                     gInert,
	"numpy dtype":                                       gInert,
	"fastcore.foundation L":                             gInert, // fastai's list class, in every Learner.save optimizer state
	"pytorch_lightning.utilities.parsing AttributeDict": gDictClass,
	"lightning.pytorch.utilities.parsing AttributeDict": gDictClass,
	"lightning_fabric.utilities.data AttributeDict":     gDictClass,
	"lightning.fabric.utilities.data AttributeDict":     gDictClass,
}

var torchDtypes = map[string]bool{
	"float32": true, "float": true, "float64": true, "double": true, "float16": true, "half": true,
	"bfloat16": true, "int64": true, "long": true, "int32": true, "int": true, "int16": true,
	"short": true, "int8": true, "uint8": true, "bool": true, "complex64": true, "complex128": true,
}

// legacyTensorTypes are the tensor classes the tar format names.
var legacyTensorTypes = map[string]bool{
	"FloatTensor": true, "DoubleTensor": true, "HalfTensor": true, "BFloat16Tensor": true,
	"LongTensor": true, "IntTensor": true, "ShortTensor": true, "CharTensor": true,
	"ByteTensor": true, "BoolTensor": true,
}

// storageTypes maps torch's storage class names to element types; those
// without a decode function are real torch types this package does not convert.
var storageTypes = map[string]*dtype{
	"FloatStorage":         &dtFloat32,
	"DoubleStorage":        &dtFloat64,
	"HalfStorage":          &dtFloat16,
	"BFloat16Storage":      &dtBFloat16,
	"LongStorage":          &dtInt64,
	"IntStorage":           &dtInt32,
	"ShortStorage":         &dtInt16,
	"CharStorage":          &dtInt8,
	"ByteStorage":          &dtUint8,
	"BoolStorage":          &dtBool,
	"UntypedStorage":       &dtUint8,
	"ComplexFloatStorage":  {name: "complex64", size: 8},
	"ComplexDoubleStorage": {name: "complex128", size: 16},
	"QInt8Storage":         {name: "qint8", size: 1},
	"QUInt8Storage":        {name: "quint8", size: 1},
	"QInt32Storage":        {name: "qint32", size: 4},
	"QUInt4x2Storage":      {name: "quint4x2", size: 1},
	"QUInt2x4Storage":      {name: "quint2x4", size: 1},
}

// lookupGlobal resolves module.name against the allow-list.
func lookupGlobal(module, name string) (*pyGlobal, error) {
	g := &pyGlobal{module: module, name: name}
	if k, ok := allowed[module+" "+name]; ok {
		g.kind = k
		return g, nil
	}
	if module == "torch" || module == "torch.cuda" {
		if dt, ok := storageTypes[name]; ok {
			g.kind, g.dtype = gStorage, dt
			return g, nil
		}
		if legacyTensorTypes[name] {
			g.kind = gTensorType
			return g, nil
		}
		if module == "torch" && torchDtypes[name] {
			g.kind = gDtype
			return g, nil
		}
	}
	return nil, errf(ErrNotAllowed, "pickle global %q is not allowed (checkpoints may only rebuild tensors)", module+"."+name)
}

func argsErr(g *pyGlobal, args *pyTuple) error {
	kinds := ""
	for i, a := range args.items {
		if i > 0 {
			kinds += ", "
		}
		kinds += typeName(a)
	}
	return errf(ErrFormat, "pickle calls %s with unexpected arguments (%s)", g, kinds)
}

// call is REDUCE: g(*args).
func (g *pyGlobal) call(u *unpickler, args *pyTuple) (any, error) {
	a := args.items
	switch g.kind {
	case gRebuildTensorV2, gRebuildTensor:
		// (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
		if g.kind == gRebuildTensorV2 && len(a) != 6 && len(a) != 7 || g.kind == gRebuildTensor && len(a) != 4 {
			return nil, argsErr(g, args)
		}
		return newTensorRef(g, args)
	case gRebuildParameter, gRebuildParameterWithState:
		// (data, requires_grad, backward_hooks[, state])
		if g.kind == gRebuildParameter && len(a) != 3 || g.kind == gRebuildParameterWithState && len(a) != 4 {
			return nil, argsErr(g, args)
		}
		t, ok := a[0].(*tensorRef)
		if !ok {
			return nil, argsErr(g, args)
		}
		return t, nil
	case gRebuildFromTypeV2:
		// (func, new_type, args, state)
		if len(a) != 4 {
			return nil, argsErr(g, args)
		}
		f, ok1 := a[0].(*pyGlobal)
		typ, ok2 := a[1].(*pyGlobal)
		fargs, ok3 := a[2].(*pyTuple)
		if !ok1 || !ok2 || !ok3 || typ.kind != gTensorType ||
			(f.kind != gRebuildTensorV2 && f.kind != gRebuildTensor && f.kind != gRebuildParameter && f.kind != gRebuildParameterWithState) {
			return nil, argsErr(g, args)
		}
		return f.call(u, fargs)
	case gOrderedDict, gDictClass:
		d := newDict()
		if len(a) == 0 {
			return d, nil
		}
		if len(a) != 1 {
			return nil, argsErr(g, args)
		}
		var pairs []any
		switch it := a[0].(type) {
		case *pyList:
			pairs = it.items
		case *pyTuple:
			pairs = it.items
		default:
			return nil, argsErr(g, args)
		}
		for _, p := range pairs {
			kv, ok := p.(*pyTuple)
			if !ok {
				if l, isList := p.(*pyList); isList {
					kv, ok = &pyTuple{items: l.items}, true
				}
			}
			if !ok || len(kv.items) != 2 {
				return nil, argsErr(g, args)
			}
			if err := u.setItem(d, kv.items[0], kv.items[1]); err != nil {
				return nil, err
			}
		}
		return d, nil
	case gSet:
		s := &pySet{}
		if len(a) == 0 {
			return s, nil
		}
		if len(a) != 1 {
			return nil, argsErr(g, args)
		}
		var items []any
		switch it := a[0].(type) {
		case *pyList:
			items = it.items
		case *pyTuple:
			items = it.items
		case *pySet:
			items = it.items
		default:
			return nil, argsErr(g, args)
		}
		if err := u.appendTo(s, items); err != nil {
			return nil, err
		}
		return s, nil
	case gCodecsEncode:
		if len(a) != 2 {
			return nil, argsErr(g, args)
		}
		s, ok1 := a[0].(string)
		enc, ok2 := a[1].(string)
		if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
			return nil, argsErr(g, args)
		}
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, errf(ErrFormat, "pickle _codecs.encode: %U is not latin-1", r)
			}
			b = append(b, byte(r))
		}
		return b, nil
	case gBytes:
		if len(a) != 0 {
			return nil, argsErr(g, args)
		}
		return []byte{}, nil
	case gSize:
		if len(a) != 1 {
			return nil, argsErr(g, args)
		}
		t, ok := a[0].(*pyTuple)
		if !ok {
			return nil, argsErr(g, args)
		}
		return t, nil
	case gInert:
		return &pyObject{class: g, args: args, depth: args.depth + 1}, nil
	}
	return nil, errf(ErrNotAllowed, "pickle calls %s, which checkpoints may not call", g)
}

// instantiate is NEWOBJ: cls.__new__(cls, *args).
func (g *pyGlobal) instantiate(u *unpickler, args *pyTuple) (any, error) {
	switch g.kind {
	case gOrderedDict, gDictClass:
		if len(args.items) != 0 {
			return nil, argsErr(g, args)
		}
		return newDict(), nil
	case gSet:
		return &pySet{}, nil
	case gInert:
		return &pyObject{class: g, args: args, depth: args.depth + 1}, nil
	}
	return nil, errf(ErrNotAllowed, "pickle instantiates %s, which checkpoints may not create", g)
}

// asInt converts a pickled integer to int64.
func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case *big.Int:
		return 0, false
	}
	return 0, false
}
