// Runs the fixtures of make_fixtures.py with ONNX Runtime (onnxruntime-node
// 1.30, CPU, 1 intra-op thread, all graph optimizations) and records its
// outputs and its optimized graphs: the expected values of the int8 engine's
// ONNX Runtime comparisons (runtime/ort_test.go), never computed in Go.
//
// Provenance: written for github.com/piresnet/piresnet/runtime; run by
// make_fixtures.sh as `node run_ort.js GEN` with NODE_PATH at an
// `npm install --ignore-scripts onnxruntime-node@1.30.0` tree. Reads
// GEN/requests.json and the raw inputs in GEN/ort_raw/, writes raw outputs
// and GEN/ort_raw/responses.json; make_fixtures.py finish turns them into
// TensorProto files.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const ctor = { float32: Float32Array, uint8: Uint8Array, int8: Int8Array };

function load(dir, inp) {
  const buf = fs.readFileSync(path.join(dir, inp.file));
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  const C = ctor[inp.type];
  return new ort.Tensor(inp.type, new C(copy.buffer, 0, buf.length / C.BYTES_PER_ELEMENT), inp.dims);
}

async function runAll(gen, entries, resp) {
  const raw = path.join(gen, 'ort_raw');
  for (const e of entries) {
    fs.mkdirSync(path.dirname(e.optimized), { recursive: true });
    const session = await ort.InferenceSession.create(e.model, {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all', optimizedModelFilePath: e.optimized, logSeverityLevel: 3,
    });
    for (const r of e.runs) {
      const feeds = {};
      for (const inp of r.inputs) feeds[inp.name] = load(raw, inp);
      const res = await session.run(feeds);
      const name = session.outputNames[0];
      const t = res[name];
      const file = 'out_' + resp.outputs.length + '.bin';
      fs.writeFileSync(path.join(raw, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      resp.outputs.push({ name, type: t.type, dims: t.dims.map(Number), file, dest: r.dest });
    }
    await session.release();
  }
}

(async () => {
  const gen = process.argv[2];
  const req = JSON.parse(fs.readFileSync(path.join(gen, 'requests.json'), 'utf8'));
  const resp = { ort: ort.env.versions, outputs: [] };
  await runAll(gen, req.models, resp);
  await runAll(gen, req.ops, resp);
  const tmp = path.join(gen, 'ort_raw', 'responses.json.tmp');
  fs.writeFileSync(tmp, JSON.stringify(resp));
  fs.renameSync(tmp, path.join(gen, 'ort_raw', 'responses.json'));
})().catch((e) => { console.error('run_ort.js:', e.message || e); process.exit(1); });
