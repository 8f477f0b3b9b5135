// Runs an ONNX model with ONNX Runtime (onnxruntime-node) for the Go package
// ortrun. Usage: node ort_run.js MODULE_DIR REQUEST.json
// The request names the model, the session options and the inputs (raw
// little-endian files); outputs are written next to the request as raw files
// and described in response.json. With "bench", each run is timed.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(process.argv[2], 'onnxruntime-node'));
const req = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const dir = path.dirname(process.argv[3]);

const ctor = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array,
  int32: Int32Array, int64: BigInt64Array, float64: Float64Array,
};

function load(inp) {
  const buf = fs.readFileSync(path.join(dir, inp.file));
  const C = ctor[inp.type];
  if (!C) throw new Error('unsupported input type ' + inp.type);
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new ort.Tensor(inp.type, new C(copy.buffer, 0, buf.length / C.BYTES_PER_ELEMENT), inp.dims);
}

(async () => {
  const opts = {
    intraOpNumThreads: req.threads || 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: req.optLevel || 'all',
  };
  if (req.optimizedModel) opts.optimizedModelFilePath = req.optimizedModel;
  const session = await ort.InferenceSession.create(req.model, opts);
  const feeds = {};
  for (const inp of req.inputs) feeds[inp.name] = load(inp);
  const resp = { outputs: [], times_ms: [], cpu_ms: [] };
  let results;
  if (req.bench) {
    for (let i = 0; i < req.bench.warmup; i++) await session.run(feeds);
    for (let i = 0; i < req.bench.runs; i++) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      results = await session.run(feeds);
      resp.times_ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      resp.cpu_ms.push((c.user + c.system) / 1e3);
    }
  } else {
    results = await session.run(feeds);
  }
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    const file = 'output_' + i + '.bin';
    fs.writeFileSync(path.join(dir, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    resp.outputs.push({ name, type: t.type, dims: t.dims.map(Number), file });
  });
  fs.writeFileSync(path.join(dir, 'response.json'), JSON.stringify(resp));
})().catch((e) => {
  process.stderr.write(String(e && e.message ? e.message : e) + '\n');
  process.exit(1);
});
