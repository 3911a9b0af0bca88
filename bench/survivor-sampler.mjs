// Preloaded (--import) into a benchmark target by bench/gc.ts. On the first SIGUSR2 it starts V8's
// sampling heap profiler, keeping samples of objects that outlive a young-generation GC (or of every
// allocation, with SAMPLE_ALL=1); on the second it writes the samples to $SURVIVOR_SAMPLES and says
// so on stderr. Objects that survive a young GC are the ones promoted to old space, where only the
// slow full GC frees them.
import inspector from 'node:inspector';
import { writeFile } from 'node:fs/promises';

const session = new inspector.Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );

let sampling = false;
process.on('SIGUSR2', async () => {
  if (!sampling) {
    sampling = true;
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: process.env.SAMPLE_ALL === '1',
    });
    process.stderr.write('survivor-sampler: on\n');
    return;
  }
  const { profile } = await post('HeapProfiler.stopSampling');
  await writeFile(process.env.SURVIVOR_SAMPLES, JSON.stringify(profile));
  process.stderr.write('survivor-sampler: written\n');
});
