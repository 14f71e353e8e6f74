// failover_on_backend_shutdown (docs/behaviour.md#failover): a MessageTap on a one-node
// relay's backend messages, set only while the parameter is on, that reads the body of
// ErrorResponses alone and tells when PostgreSQL says it is shutting down (57P01
// admin_shutdown, 57P02 crash_shutdown). Nothing else is read.
import { BackendCode } from '../../protocol/codes.js';
import { errorFields } from '../../protocol/message-reader.js';
import type { MessageTap } from '../../protocol/header-scanner.js';

/** The SQLSTATEs pgpool's failover_on_backend_shutdown acts on. */
export const isShutdownCode = (code: string | undefined): boolean => code === '57P01' || code === '57P02';

export class ShutdownWatch implements MessageTap {
  private parts: Buffer[] | undefined;

  constructor(private readonly shutdown: () => void) {}

  start(type: number): void {
    this.parts = type === BackendCode.ErrorResponse ? [] : undefined;
  }

  body(chunk: Buffer, from: number, to: number): void {
    this.parts?.push(Buffer.from(chunk.subarray(from, to)));
  }

  end(): void {
    if (!this.parts) return;
    const body = Buffer.concat(this.parts);
    this.parts = undefined;
    if (isShutdownCode(errorFields(body).get('C'))) this.shutdown();
  }
}
