// Scenario 7: loading a very large manifest (40,000 keys in one mapping) — positions, duplicate-key check and
// `${VAR}` interpolation included — next to the YAML library's bare parse of the same text. Linear means 4× the
// keys take ~4× the time (the library's own duplicate-key check made it quadratic: 21.6 s for 40,000 keys).
import { parseDocument } from 'yaml';
import { loadYaml } from '../../core/manifest/load.ts';
import { timeMedian, type Result } from '../lib.ts';

function manifestText(keys: number): string {
  return `name: big\nx-keys:\n${Array.from({ length: keys }, (_, i) => `  key${i}: "\${BENCH_VALUE:-value} ${i}"`).join('\n')}\n`;
}

export async function manifestLoad(): Promise<Result> {
  const small = manifestText(10_000);
  const large = manifestText(40_000);
  const ours10k = await timeMedian(async () => void loadYaml('big.yaml', {}, small));
  const ours = await timeMedian(async () => void loadYaml('big.yaml', {}, large));
  const limit = await timeMedian(async () => void parseDocument(large, { uniqueKeys: false }).toJS());
  const growth = ours / ours10k;
  return {
    id: '8',
    title: 'Manifest loading: 40,000 keys in one mapping (positions, duplicate keys, ${VAR})',
    ours: ours * 1000,
    limit: limit * 1000,
    unit: 'ms',
    ratio: limit / ours,
    target: 'linear: 4× keys < 5× time',
    met: growth < 5,
    note: `10,000 keys ${(ours10k * 1000).toFixed(0)} ms, 40,000 keys ${(ours * 1000).toFixed(0)} ms (${growth.toFixed(1)}×); limit: the yaml library's bare parse + toJS`,
  };
}

if (process.argv[1]?.endsWith('8-manifest-load.ts')) console.log(await manifestLoad());
