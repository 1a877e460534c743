/**
 * A caller's mistake in the data it handed us (not a bug of ours). The HTTP layer answers it
 * with 400 and `{error:{code,message}}`; the CLI prints it with the file and line at fault.
 * Codes are stable and listed in docs/api.md.
 */
export class InputError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * A request that cannot be served now, for a reason with a stable code: a limit reached, a
 * challenge no longer open, a provider down. Not a fault of riskgate; the HTTP layer answers
 * with the status of its code.
 */
export class RefusedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RefusedError';
  }
}
