// What a worker's sessions authenticate clients with, loaded from the configuration on
// start and on every reload: pool_passwd, the pool key for its AES entries, pool_hba.conf
// and the TLS context (docs/behaviour.md#authentication).
import dns from 'node:dns/promises';
import os from 'node:os';
import path from 'node:path';
import type { HbaEnv } from '../auth/hba-match.js';
import { readPoolKey } from '../auth/pool-key.js';
import { loadPoolHba, type HbaRecord } from '../config/pool-hba.js';
import { findPoolPasswd, loadPoolPasswd, poolPasswdFile, type PoolPasswdEntry } from '../config/pool-passwd.js';
import type { PgpoolConfig } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import { clientTls, type ClientTls } from '../protocol/tls.js';

export interface AuthFiles {
  readonly configFile: string;
  readonly hbaFile: string;
  readonly poolKeyFile: string;
}

export class AuthContext {
  private passwd: readonly PoolPasswdEntry[] = [];
  /** The key for pool_passwd's AES entries, when one was read. */
  poolKey: string | undefined;
  /** pool_hba.conf when enable_pool_hba = on: its records, or that it cannot be used. */
  hba: { readonly records: readonly HbaRecord[]; readonly broken: boolean } | undefined;
  hbaEnv: HbaEnv;
  tls: ClientTls | undefined;

  constructor(
    private readonly files: () => AuthFiles,
    private readonly log: () => Logger,
  ) {
    this.hbaEnv = {
      sslEnabled: false,
      interfaces: Object.values(os.networkInterfaces()).flatMap((list) =>
        (list ?? []).map((i) => ({ address: i.address, prefix: Number(i.cidr?.split('/')[1] ?? 0) })),
      ),
      hostnameOf: verifiedHostname,
      note: (r, why) => this.log().debug(`pool_hba.conf line ${r.line}: ${why}`),
    };
  }

  /** The pool_passwd entry of `user`. */
  entry(user: string): PoolPasswdEntry | undefined {
    return findPoolPasswd(this.passwd, user);
  }

  load(cfg: PgpoolConfig): void {
    const log = this.log();
    this.passwd = [];
    if (cfg.pool_passwd !== '') {
      const r = loadPoolPasswd(poolPasswdFile(this.files().configFile, cfg.pool_passwd));
      // A missing pool_passwd is normal (trust set-ups); a broken one is reported.
      if (r.diagnostics.some((d) => d.line > 0))
        for (const d of r.diagnostics) log.warn(`${d.file}:${d.line}: ${d.message}`);
      this.passwd = r.entries;
    }
    // The key is needed only for AES entries; without it they fail with pgpool's error.
    this.poolKey = undefined;
    if (this.passwd.some((e) => e.kind === 'aes')) {
      const k = readPoolKey(this.files().poolKeyFile);
      if (k.problem) log.warn(k.problem);
      this.poolKey = k.key;
    }
    this.hba = undefined;
    if (cfg.enable_pool_hba) {
      const h = loadPoolHba(this.files().hbaFile);
      for (const d of h.diagnostics) log.error(`${d.file}:${d.line}: ${d.message}`);
      this.hba = { records: h.records, broken: h.diagnostics.length > 0 };
    }
    this.hbaEnv = { ...this.hbaEnv, sslEnabled: cfg.ssl };
    if (!cfg.ssl) this.tls = undefined;
    else {
      try {
        this.tls = clientTls(cfg, path.dirname(this.files().configFile));
      } catch (e) {
        // The supervisor checked it at start; a reload that breaks it keeps the last good one.
        log.error(`TLS not (re)configured, keeping the previous setting: ${(e as Error).message}`);
      }
    }
  }
}

/** An address's host name by getnameinfo, as PostgreSQL looks it up (/etc/hosts counts, not only DNS). */
export async function hostNameOf(address: string): Promise<string | undefined> {
  try {
    const { hostname } = await dns.lookupService(address, 0);
    return hostname === address ? undefined : hostname;
  } catch {
    return undefined;
  }
}

/** The client's host name by reverse lookup, kept only when a forward lookup of it gives the address back. */
async function verifiedHostname(address: string): Promise<string | undefined> {
  try {
    const name = await hostNameOf(address);
    if (!name) return undefined;
    const forward = await dns.lookup(name, { all: true });
    return forward.some((a) => a.address === address) ? name : undefined;
  } catch {
    return undefined;
  }
}
