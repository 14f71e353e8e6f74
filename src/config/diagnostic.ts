// A problem found while reading a configuration file. Every one names the file and
// line, and the parameter when there is one, so that `--check-config` can list them
// all and start-up can refuse on the first error with a precise pointer.

export type DiagnosticSeverity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  readonly severity: DiagnosticSeverity;
  readonly file: string;
  /** 1-based; 0 when the problem concerns the file as a whole or several lines. */
  readonly line: number;
  readonly param?: string;
  readonly message: string;
  readonly hint?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}` : d.file;
  const hint = d.hint ? ` (${d.hint})` : '';
  return `${where}: ${d.severity}: ${d.message}${hint}`;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/** Thrown when a configuration cannot be used; carries every diagnostic found. */
export class ConfigError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(
      diagnostics
        .filter((d) => d.severity === 'error')
        .map(formatDiagnostic)
        .join('\n'),
    );
    this.name = 'ConfigError';
  }
}
