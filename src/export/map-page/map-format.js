// Numbers, rates and colours as the map shows them.

const PALETTE = ['#3d7dd8', '#2fa37a', '#8e5bd6', '#d9544f', '#1b9aaa', '#c46fb0', '#5c8a2f', '#b5762e', '#4660b8', '#2e8b8b'];
const SPECIAL = { external: '#e8a33d', unknown: '#b8c0cc', node: '#56647a' };

export function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
export const nsColor = (ns) => SPECIAL[ns] || PALETTE[hash(ns) % PALETTE.length];

function rate(x, unit) {
  if (!(x > 0)) return `0 ${unit}`;
  const steps = ['', 'k', 'M', 'G', 'T'];
  let i = 0;
  while (x >= 1000 && i < steps.length - 1) { x /= 1000; i++; }
  const digits = x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return `${x.toFixed(digits)} ${steps[i]}${unit}`;
}
export const bps = (x) => rate(x, 'B/s');
const currencySign = (cur) => (cur === 'USD' ? '$' : cur === 'EUR' ? '€' : cur ? cur + ' ' : '');
export const money = (x, cur, per) =>
  `${currencySign(cur)}${x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2)}${per}`;
export const gib = (x) => `${x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2)} GiB`;
export const perS = (x) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2)) + '/s';
