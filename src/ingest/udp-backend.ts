/**
 * Which receive path a receiving thread uses: the native batched one (native-udp.ts) or Node's
 * dgram (udp-socket.ts). `auto` takes native when its addon loads and says why when it does not;
 * `native` insists; `dgram` never tries. Either way the datagrams go through the same
 * UdpReceiver, so counting, the allowlist and decoding do not depend on the choice.
 */
import { openUdpSocket, type UdpSocketOptions } from './udp-socket.ts';
import { loadNativeUdp, openNativeUdp } from './native-udp.ts';
import type { UdpBackend, UdpBackendChoice } from '../config/udp-choices.ts';
import type { UdpReceiver } from './udp-receiver.ts';

export interface ReceiveSocket {
  readonly backend: UdpBackend;
  /** Why this backend: asked for, or auto's finding (with the reason native could not be used). */
  readonly reason: string;
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** What the kernel granted. */
  readonly recvBufferBytes: number;
  /** The socket's kernel drop counter (SO_RXQ_OVFL) as of its last datagram; native only. */
  kernelDrops(): number | undefined;
  /** Batches read so far (one recvmmsg and one call into JavaScript each); native only. */
  batches(): number | undefined;
  /** Stop receiving; `done` runs once the socket is closed and every datagram read is decoded. */
  close(done: () => void): void;
}

export class UdpBackendError extends Error {}

/** The backend openReceiveSocket will take for this choice (without opening anything). */
export function plannedBackend(choice: UdpBackendChoice, load: () => ReturnType<typeof loadNativeUdp> = loadNativeUdp): UdpBackend {
  return choice !== 'dgram' && 'addon' in load() ? 'native' : 'dgram';
}

export async function openReceiveSocket(
  choice: UdpBackendChoice,
  opts: UdpSocketOptions,
  receiver: UdpReceiver,
  onError: (err: Error) => void,
  load: () => ReturnType<typeof loadNativeUdp> = loadNativeUdp,
): Promise<ReceiveSocket> {
  let reason = 'asked for with --udp-backend dgram';
  if (choice !== 'dgram') {
    const native = load();
    if ('addon' in native) {
      const h = openNativeUdp(
        native.addon,
        opts.host,
        opts.port,
        { recvBuffer: opts.recvBuffer, reusePort: opts.reusePort, spread: opts.spread, stop: opts.stop },
        (batch, count) => receiver.receiveBatch(batch, count),
      );
      return {
        backend: 'native',
        reason: choice === 'native' ? 'asked for with --udp-backend native' : 'auto: the native addon loaded',
        address: h.address,
        port: h.port,
        family: h.family,
        recvBufferBytes: h.recvBufferBytes,
        // Still answers after close(), so the last report carries the final count.
        kernelDrops: () => h.stats().kernelDrops,
        batches: () => h.stats().batches,
        close(done) {
          h.close();
          // Batches are decoded inside the addon's callback, so nothing read is left over.
          setImmediate(done);
        },
      };
    }
    if (choice === 'native') throw new UdpBackendError(`udpBackend: native asked for but the addon is unavailable: ${native.error}`);
    reason = `auto: native addon unavailable (${native.error})`;
  }
  // Exactly the receive path the collector always had.
  const bound = await openUdpSocket(opts);
  receiver.attach(bound.socket, opts.stop);
  bound.socket.on('error', onError);
  return {
    backend: 'dgram',
    reason,
    address: bound.address,
    port: bound.port,
    family: bound.family,
    recvBufferBytes: bound.recvBufferBytes,
    kernelDrops: () => undefined,
    batches: () => undefined,
    close: (done) => bound.socket.close(done),
  };
}
