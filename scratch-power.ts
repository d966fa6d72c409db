import poisson from '@stdlib/random-base-poisson';
import mt from '@stdlib/random-base-mt19937';
import { emptyStream, observe, evidence, type StreamSettings } from './src/analysis/judge/stream.ts';
const rng = mt.factory({ seed: 7 });
const poi = poisson.factory({ prng: rng.normalized });
function trial(k: number, pc: number, pp: number, rate = 100, share = 0.1, horizon = 600, every = 5) {
  const settings: StreamSettings = { key: 'x', alpha: 0.01, concentration: k, definitions: [{ canaryIndex: 0, primaryIndex: 0, above: false, side: 'greater', ratio0: 1 }] };
  let s = emptyStream('x');
  let c = [0, 0], p = [0, 0];
  for (let t = every; t <= horizon; t += every) {
    const nc = poi(rate * share * every), np = poi(rate * (1 - share) * every);
    c = [c[0]! + poi(nc * pc), c[1]! + nc];
    p = [p[0]! + poi(np * pp), p[1]! + np];
    s = observe(s, c, p, settings);
    if (evidence(s, settings).rejected) return t;
  }
  return Infinity;
}
for (const k of [3, 10, 30, 100]) {
  const n = 400;
  const det = Array.from({ length: n }, () => trial(k, 0.015, 0.005)).sort((a, b) => a - b);
  const fa = Array.from({ length: n }, () => trial(k, 0.005, 0.005)).filter(Number.isFinite).length;
  const w5 = det.filter((t) => t <= 300).length / n;
  console.log(`k=${k} caught5m=${w5} median=${det[n / 2]} p90=${det[Math.floor(n * 0.9)]} falseAlarm=${fa / n}`);
}
