/** `netflow-k8s run`. */
export async function runCommand(_argv: string[]): Promise<number> {
  throw new Error('run: not built yet');
}
