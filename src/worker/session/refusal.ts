// Why a session could not start, as the client is told (docs/errors.md): PostgreSQL's own
// refusal byte for byte, or an error of the catalogue.
import { describeAddress, type BackendAddress } from '../../backend/address.js';
import { BackendConnectError, BackendRefusedError } from '../../backend/errors.js';
import { errorResponse } from '../../protocol/backend-write.js';
import { poolerError, PoolerError } from '../../protocol/errors.js';

/** The catalogue error for a failure on the way to a backend connection. */
export function refusalError(e: unknown, address: BackendAddress | undefined): PoolerError {
  if (e instanceof PoolerError) return e;
  if (e instanceof BackendConnectError && e.kind === 'unreachable' && address)
    return poolerError('BACKEND_UNREACHABLE', { node: address.node, where: describeAddress(address), why: e.message });
  if (e instanceof BackendConnectError && e.kind === 'auth')
    return poolerError('BACKEND_NO_PASSWORD', { detail: e.message });
  return poolerError('BACKEND_START', { detail: (e as Error).message });
}

/** The bytes the client gets for it. */
export function refusalBytes(e: unknown, address: BackendAddress | undefined): Buffer {
  return e instanceof BackendRefusedError ? e.raw : errorResponse(refusalError(e, address));
}
