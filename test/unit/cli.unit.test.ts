// pgpool's command line.
import { describe, expect, it } from 'vitest';
import { parseArgs, resolvePaths } from '../../src/cli.js';

describe('parseArgs', () => {
  it('reads pgpool options, short, long and glued', () => {
    expect(parseArgs(['-f', 'a.conf', '-F', 'p.conf', '--hba-file=h.conf', '-kkey', '-n', '-d', '-D'])).toEqual({
      configFile: 'a.conf',
      pcpFile: 'p.conf',
      hbaFile: 'h.conf',
      keyFile: 'key',
      foreground: true,
      debug: true,
      discardStatus: true,
      mode: 'smart',
      command: 'start',
    });
  });

  it('reads stop with a mode (any word starting with s, f or i) and reload', () => {
    expect(parseArgs(['-m', 'f', 'stop'])).toMatchObject({ command: 'stop', mode: 'fast' });
    expect(parseArgs(['--mode=immediate', 'stop'])).toMatchObject({ command: 'stop', mode: 'immediate' });
    expect(parseArgs(['reload'])).toMatchObject({ command: 'reload' });
    expect(parseArgs(['--check-config', '-f', 'x'])).toMatchObject({ command: 'check-config', configFile: 'x' });
    expect(parseArgs(['-C', '-x'])).toMatchObject({ command: 'start' });
  });

  it.each([
    [['-m', 'quick', 'stop'], 'invalid shutdown mode "quick"'],
    [['restart'], 'unknown command "restart"'],
    [['stop', 'reload'], 'too many arguments: stop reload'],
    [['-q'], "invalid option -- '-q'"],
    [['-f'], 'option -f requires a value'],
  ])('%j → %s', (argv, error) => {
    expect(parseArgs(argv)).toEqual({ error });
  });
});

describe('resolvePaths', () => {
  it('makes -f absolute from the cwd and looks for pcp.conf and pool_hba.conf beside it', () => {
    expect(
      resolvePaths(
        {
          configFile: 'etc/pgpool.conf',
          foreground: true,
          debug: false,
          discardStatus: false,
          mode: 'smart',
          command: 'start',
        },
        '/srv',
      ),
    ).toEqual({
      config: '/srv/etc/pgpool.conf',
      pcp: '/srv/etc/pcp.conf',
      hba: '/srv/etc/pool_hba.conf',
    });
  });

  it('defaults to /etc/pgpool-ts, then /etc/pgpool2', () => {
    const o = {
      foreground: true,
      debug: false,
      discardStatus: false,
      mode: 'smart' as const,
      command: 'start' as const,
    };
    expect(resolvePaths(o, '/', (f) => f === '/etc/pgpool2/pgpool.conf').config).toBe('/etc/pgpool2/pgpool.conf');
    expect(resolvePaths(o, '/', () => false).config).toBe('/etc/pgpool-ts/pgpool.conf');
  });
});
