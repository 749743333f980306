/**
 * How datagrams are dealt to the receiving threads (--udp-spread). SO_REUSEPORT's own choice
 * hashes each exporter's address and port to one socket: an exporter's stream stays on one thread,
 * but with few exporters the threads are loaded unevenly (8 exporters on 2 threads split anywhere
 * from 50/50 to 88/13 in the bench, and the busier thread overflows first). `datagram` has the
 * kernel deal every datagram to a socket at random instead (a classic BPF program on the reuseport
 * group, so the native backend only), and the threads share what their decoders learn
 * (templates, sampling, see Decoder.onShare), so any thread can decode any datagram.
 */
import type { UdpBackend } from './native-udp.ts';

export const UDP_SPREADS = ['auto', 'exporter', 'datagram'] as const;
export type UdpSpread = (typeof UDP_SPREADS)[number];

/** What a thread does for this setting, given the backend it runs and the number of threads. */
export function spreadFor(choice: UdpSpread, backend: UdpBackend, threads: number): { mode: 'exporter' | 'datagram'; reason: string } {
  if (threads < 2) return { mode: 'exporter', reason: 'one receiving thread' };
  if (choice === 'exporter') return { mode: 'exporter', reason: 'asked for with --udp-spread exporter' };
  if (backend !== 'native') return { mode: 'exporter', reason: 'the dgram backend cannot steer datagrams' };
  return { mode: 'datagram', reason: choice === 'datagram' ? 'asked for with --udp-spread datagram' : 'auto: native backend, several threads' };
}
