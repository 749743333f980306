/**
 * The error every bad setting becomes, naming its field. Apart from the option parser (options.ts,
 * which loads the YAML parser) so the receiving threads, which check a few settings of their own
 * and parse none, can throw it without loading that.
 */
export class ConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`config: ${field}: ${message}`);
    this.field = field;
  }
}
