/** `netflow-k8s demo`. */
export async function demoCommand(_argv: string[]): Promise<number> {
  throw new Error('demo: not built yet');
}
