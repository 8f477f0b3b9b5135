// Run the models written by gen_qlinear.py with ONNX Runtime (onnxruntime-node)
// and record its outputs: these are the expected values of quant's ORT test.
//
// Provenance: written for github.com/piresnet/piresnet/quant; run by
// make_fixtures.sh as `node run_ort.js DIR` with NODE_PATH pointing at an
// `npm install --ignore-scripts onnxruntime-node@1.30.0` tree.
// Reads DIR/cases.json and DIR/case_NNN.onnx, writes DIR/ort_outputs.json.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const dir = process.argv[2];
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
  const out = { runner: 'quant/testdata/run_ort.js', ort: ort.env.versions, cases: [] };
  for (const c of spec.cases) {
    const session = await ort.InferenceSession.create(path.join(dir, c.model), {
      intraOpNumThreads: 1,
      executionProviders: ['cpu'],
    });
    const data = c.act === 'uint8' ? Uint8Array.from(c.x) : Int8Array.from(c.x);
    const x = new ort.Tensor(c.act, data, c.x_shape);
    const res = await session.run({ x });
    const y = res.y;
    if (y.type !== c.act) throw new Error(`case ${c.id}: output type ${y.type}, want ${c.act}`);
    out.cases.push({ id: c.id, y_dims: y.dims, y: Array.from(y.data) });
    await session.release();
  }
  const tmp = path.join(dir, 'ort_outputs.json.tmp');
  fs.writeFileSync(tmp, JSON.stringify(out));
  fs.renameSync(tmp, path.join(dir, 'ort_outputs.json'));
}

main().catch((e) => { console.error('run_ort.js:', e.message || e); process.exit(1); });
