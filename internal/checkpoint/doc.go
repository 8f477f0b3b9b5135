// Package checkpoint reads PyTorch checkpoints into float32 tensors without
// Python and without executing anything from the file.
//
// # Formats
//
//   - torch.save's zip archive (the default since torch 1.6): <name>/data.pkl,
//     a pickle whose persistent ids ('storage', type, key, location, numel)
//     name the entries <name>/data/<key>.
//   - torch.save's legacy format (_use_new_zipfile_serialization=False): the
//     pickles of the magic number, protocol version, system info, the object
//     and the storage keys, then each storage as an 8-byte little-endian
//     element count and its elements.
//   - torch.save's tar format (torch 0.1), read as torch 1.13's torch.load
//     reads it: entries storages, tensors and pickle. It is tested on files
//     laid out as torch 0.1's serialization._save wrote them (no torch of
//     that age runs here) and checked with torch 1.13's torch.load.
//   - safetensors (https://github.com/huggingface/safetensors): an 8-byte
//     header length, a JSON header, the data.
//
// The format is recognized by content, not by file name. Tensors are views
// (storage, offset, size, stride) of storages; any view torch writes is read:
// transposes, slices with storage offsets, shared storages, zero strides,
// 0-d and empty tensors. Element types float32, float16, bfloat16, float64,
// int64, int32, int16, int8, uint8 and bool are converted to float32:
// float16 and bfloat16 exactly, the others rounded to nearest even as
// torch's .float() does. [Tensor.DType] keeps the type stored in the file.
//
// # Containers
//
// The state dict is found in a plain state dict (an OrderedDict of tensors),
// a fastai Learner.save file ({'model': state_dict, 'opt': …}), a PyTorch
// Lightning checkpoint ('state_dict' next to epoch, global_step,
// optimizer_states, lr_schedulers, loops, callbacks, hyper_parameters), and a
// dict holding it under 'state_dict', 'model_state_dict' or 'model' (training
// scripts). A prefix that every key has — DataParallel's "module.",
// Lightning's "model.", torch.compile's "_orig_mod." — is stripped, repeatedly.
// Entries that are not tensors are ignored. Only the storages of the chosen
// tensors are read: an optimizer state next to the model costs nothing, and
// [Options].Progress counts exactly the bytes that are read. (Neither fastai
// nor Lightning is installed here: their files are tested as torch.save
// writes the dicts they build, with Lightning's AttributeDict under its own
// module name.)
//
// # Safety
//
// The files come from strangers. The pickle machine (pickle.go) implements
// the binary opcodes of pickle protocols 2 to 5 and resolves globals only
// from an allow-list (globals.go): torch's tensor rebuilders
// (torch._utils._rebuild_tensor_v2, _rebuild_tensor, _rebuild_parameter,
// _rebuild_parameter_with_state, torch._tensor._rebuild_from_type_v2),
// storage types and dtypes, collections.OrderedDict, set and frozenset,
// _codecs.encode, and inert values seen in training checkpoints
// (argparse.Namespace, numpy scalars and dtypes, torch.device, Lightning's
// AttributeDict). Each is a Go function building a plain value; nothing from
// the file is called. Any other global — os.system, builtins.eval, getattr, a
// model class from torch.save(model) — stops the load with an error naming it:
//
//	checkpoint: evil.pth: pickle global "posix.system" is not allowed (checkpoints may only rebuild tensors)
//
// Every size read from a file is checked against [Limits] before anything is
// allocated for it: elements per tensor, total bytes, pickle size, memo
// entries, stack size, container nesting, object count, safetensors header
// size, and the compression ratio of zip entries (zip bombs). A tensor must
// lie inside its storage (offset + Σ (size-1)·stride < numel) and a storage
// inside its zip entry or file; torch 1.13 itself does not check the latter
// and reads past the record. Errors are one line naming the file and the
// problem, of type [*Error], with kinds [ErrFormat], [ErrNotAllowed],
// [ErrLimit] and [ErrUnsupported] for errors.Is.
//
// # Why not gopickle or nlpodyssey/safetensors
//
// github.com/nlpodyssey/gopickle v0.2.0 was evaluated first. It resolves
// unknown globals to generic objects instead of refusing them (an allow-list
// can only be added after its built-in classes), sizes buffers from
// unchecked lengths in the file (make([]byte, n) for strings and frames,
// make([]float32, numel) for storages), has no memo, depth or object limits,
// panics on tar-format files ("legacy load from tar not implemented") and
// reads every storage, optimizer state included. Wrapping it would need
// checks in front of each of these, so this package has its own restricted
// machine of ~1100 lines (pickle.go, globals.go) that only knows what
// checkpoints use.
// github.com/nlpodyssey/safetensors needs the whole file in one []byte, loses
// the header order and does not convert dtypes; the format is simple enough
// to read here with limits, progress and conversion.
//
// # Not supported
//
// TorchScript archives (torch.jit.save), pickled whole models
// (torch.save(model)), storage views (written by torch before 1.0 in the
// legacy and tar formats), big-endian files, complex, quantized, float8 and
// unsigned 16/32/64-bit tensors (refused when the state dict holds one), and
// pickle opcodes of protocols 0 and 1 that torch.save never writes (text
// INT, STRING, PUT, GET, INST, OBJ…), out-of-band buffers and the extension
// registry.
package checkpoint
