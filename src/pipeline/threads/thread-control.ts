/**
 * Memory shared between the main thread and one receiving thread, read and written without
 * messages, so it works while the thread's event loop is busy or wedged:
 * - a stop flag the receive loop checks between batches (a stop request must not wait behind a
 *   queue of datagrams, and a thread that never sees it is terminated as a last resort);
 * - the time of the thread's last loop turn, so /healthz can tell a stuck thread;
 * - the last inventory batch the thread applied, so readiness waits until the threads can name
 *   what the inventory says (a datagram can overtake a message on its way to the thread).
 */
export const CONTROL_BYTES = 16;

export class ThreadControl {
  readonly buffer: SharedArrayBuffer;
  readonly #flags: Int32Array;
  readonly #turn: Float64Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(CONTROL_BYTES)) {
    this.buffer = buffer;
    this.#flags = new Int32Array(buffer, 0, 2);
    this.#turn = new Float64Array(buffer, 8, 1);
  }

  /** The stop flag as the native addon reads it (word 0). */
  get flags(): Int32Array {
    return this.#flags;
  }

  requestStop(): void {
    Atomics.store(this.#flags, 0, 1);
  }

  get stopRequested(): boolean {
    return Atomics.load(this.#flags, 0) !== 0;
  }

  /** The receiving thread's loop turned now. */
  turned(nowMs = Date.now()): void {
    this.#turn[0] = nowMs;
  }

  /** The thread applied inventory batches up to `generation` (word 1). */
  inventoryApplied(generation: number): void {
    Atomics.store(this.#flags, 1, generation);
  }

  get inventoryGeneration(): number {
    return Atomics.load(this.#flags, 1);
  }

  /** Epoch ms of the last loop turn (0 before the first). */
  get lastTurnMs(): number {
    return this.#turn[0];
  }
}
