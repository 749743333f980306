/**
 * How datagrams are dealt to the receiving threads (--udp-spread). SO_REUSEPORT's own choice
 * hashes each exporter's address and port to one socket: an exporter's stream stays on one thread,
 * but with few exporters the threads are loaded unevenly (8 exporters on 2 threads split anywhere
 * from 50/50 to 88/13 in the bench, and the busier thread overflows first). `datagram` has the
 * kernel deal every datagram to a socket at random instead (a classic BPF program on the reuseport
 * group, so the native backend only), and the threads share what their decoders learn
 * (templates, sampling, see Decoder.onShare), so any thread can decode any datagram.
 *
 * `auto` is `exporter`: dealing one exporter's datagrams over threads costs more CPU than one
 * thread taking them all. Each thread then counts every pair of that exporter, so each holds its
 * own copy of the pairs, the address memo and the end dictionary (twice the cache traffic), the
 * main thread merges the same pairs once per thread, and the first-time work of every address
 * and pair is done once per thread. Measured with one nfgen exporter, 4,000 pods, 2 threads, per
 * datagram decoded: datagram 11.4 and 12.3 µs of CPU, exporter 9.8 and 10.8, one thread 9.6 and
 * 10.5 (the main thread's share 0.9 s against 0.6 s per 600,000 datagrams). A DaemonSet's collector
 * has one exporter, its node; a Deployment fed by many nodes sets `datagram` to keep its threads
 * even. Under the per-exporter hash a thread beyond the exporters would never read a datagram, so
 * the pool starts threads as exporters arrive (WorkerPool), and `datagram` starts them all at once.
 */
import type { UdpBackend, UdpSpread } from '../config/udp-choices.ts';

/** What a thread does for this setting, given the backend it runs and the number of threads. */
export function spreadFor(choice: UdpSpread, backend: UdpBackend, threads: number): { mode: 'exporter' | 'datagram'; reason: string } {
  if (threads < 2) return { mode: 'exporter', reason: 'one receiving thread' };
  if (choice === 'exporter') return { mode: 'exporter', reason: 'asked for with --udp-spread exporter' };
  if (choice === 'auto')
    return {
      mode: 'exporter',
      reason: 'auto: the kernel keeps each exporter on one thread (the cheapest; --udp-spread datagram evens out a few busy exporters)',
    };
  if (backend !== 'native') return { mode: 'exporter', reason: 'the dgram backend cannot steer datagrams' };
  return { mode: 'datagram', reason: 'asked for with --udp-spread datagram' };
}
