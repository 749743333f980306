/**
 * Which of a receiving thread's end numbers are DNS names, so records the address memo counts
 * without the identity index are still counted as named by DNS. One byte per end number; it
 * starts over with the memo (a new end numbering).
 */
import type { Endpoint } from '../identify/endpoint.ts';
import { isDnsEndpoint } from './dns-names.ts';

export class DnsEnds {
  #bits = new Uint8Array(1024);

  named(src: Endpoint, dst: Endpoint): boolean {
    return isDnsEndpoint(src) || isDnsEndpoint(dst);
  }

  remember(end: number, ep: Endpoint): void {
    if (end < 0) return;
    if (end >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(end + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    this.#bits[end] = isDnsEndpoint(ep) ? 1 : 0;
  }

  namedEnds(s: number, d: number): boolean {
    const b = this.#bits;
    return (s >= 0 && s < b.length && b[s] === 1) || (d >= 0 && d < b.length && b[d] === 1);
  }

  forget(): void {
    this.#bits.fill(0);
  }
}
