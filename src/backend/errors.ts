// How opening a connection to PostgreSQL fails: PostgreSQL refused it (its own error,
// relayed byte for byte), or the pooler could not complete the start-up itself.

/** PostgreSQL refused the start-up; `raw` is its ErrorResponse, to relay byte for byte. */
export class BackendRefusedError extends Error {
  constructor(
    readonly raw: Buffer,
    readonly fields: Map<string, string>,
  ) {
    super(fields.get('M') ?? 'backend refused the connection');
  }
}

/** The pooler could not complete the start-up itself (unreachable, no password, bad reply). */
export class BackendConnectError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'auth' | 'protocol',
  ) {
    super(message);
  }
}
