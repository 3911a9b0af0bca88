/** A config problem: the file, the field path inside it, and what is wrong (one line). */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly fieldPath: string,
    readonly problem: string,
  ) {
    super(fieldPath ? `${file}: ${fieldPath}: ${problem}` : `${file}: ${problem}`);
    this.name = 'ConfigError';
  }
}
