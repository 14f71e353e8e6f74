// Which startup packets share transaction-mode connections, and the settings they carry.
import { describe, expect, it } from 'vitest';
import { optionSettings, startupSettings } from '../../../src/policy/startup-settings.js';

describe('startup packets that share connections', () => {
  it.each<[string, Array<[string, string]>, Array<[string, string]> | undefined]>([
    [
      'user and database only',
      [
        ['user', 'u'],
        ['database', 'd'],
      ],
      [],
    ],
    [
      'psql',
      [
        ['user', 'u'],
        ['database', 'd'],
        ['application_name', 'psql'],
        ['client_encoding', 'UTF8'],
      ],
      [
        ['application_name', 'psql'],
        ['client_encoding', 'UTF8'],
      ],
    ],
    [
      'pgJDBC',
      [
        ['user', 'u'],
        ['DateStyle', 'ISO'],
        ['TimeZone', 'UTC'],
        ['extra_float_digits', '3'],
      ],
      [
        ['datestyle', 'ISO'],
        ['timezone', 'UTC'],
        ['extra_float_digits', '3'],
      ],
    ],
    [
      'options -c',
      [['options', '-c search_path=app -c statement_timeout=5s']],
      [
        ['search_path', 'app'],
        ['statement_timeout', '5s'],
      ],
    ],
    ['options with a custom setting', [['options', '--myapp.tenant=acme']], [['myapp.tenant', 'acme']]],
    ['a parameter only a new backend takes', [['session_preload_libraries', 'auto_explain']], undefined],
    ['options that are not settings', [['options', '-d 5']], undefined],
    ['a replication connection', [['replication', 'database']], undefined],
  ])('%s', (_name, params, want) => {
    const got = startupSettings(params);
    expect(got && [...got]).toEqual(want);
  });

  it.each<[string, Array<[string, string]> | undefined]>([
    ['-c a=1', [['a', '1']]],
    [
      '-ca=1 --b-c=2',
      [
        ['a', '1'],
        ['b_c', '2'],
      ],
    ],
    ['-c search_path=a\\ b', [['search_path', 'a b']]],
    ['-c', undefined],
    ['-c noequals', undefined],
    ['', []],
  ])('options %j', (options, want) => expect(optionSettings(options)).toEqual(want));
});
