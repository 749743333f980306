/** `netflow-k8s nodegraph`. */
export async function nodegraphCommand(_argv: string[]): Promise<number> {
  throw new Error('nodegraph: not built yet');
}
