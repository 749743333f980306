/** `netflow-k8s replay`. */
export async function replayCommand(_argv: string[]): Promise<number> {
  throw new Error('replay: not built yet');
}
