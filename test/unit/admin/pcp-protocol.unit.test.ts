// PCP framing and replies checked against docs/behaviour.md#pcp and the 4.3.5 byte
// capture (pgpool-pcp-capture-4.3.5.txt): lengths, field layouts, the md5 login.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  nodeInfoPacket,
  pcpAuthOk,
  pcpError,
  pcpPacket,
  poolStatusHeader,
  processInfoPacket,
  readPcpRequest,
} from '../../../src/admin/pcp-protocol.js';

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

describe('PCP protocol', () => {
  it('frames requests: type, length counting itself, payload; refuses lengths outside 0 < len < 260', () => {
    const r = Buffer.concat([
      Buffer.from('R'),
      Buffer.from([0, 0, 0, 46]),
      Buffer.from('pcpadmin\x008eee56e800c880a5bc734b7b0ba62fd0\x00'),
      Buffer.from('X\0\0\0\x04'),
    ]);
    const f = readPcpRequest(r);
    expect(f).toMatchObject({ kind: 'request', length: 47, request: { type: 'R' } });
    expect(readPcpRequest(r.subarray(47))).toMatchObject({ kind: 'request', length: 5, request: { type: 'X' } });
    expect(readPcpRequest(r.subarray(0, 20))).toEqual({ kind: 'incomplete' });
    expect(readPcpRequest(Buffer.from([0x4d, 0, 0, 1, 4]))).toEqual({ kind: 'bad', length: 260 });
    expect(readPcpRequest(Buffer.from([0x4d, 0, 0, 0, 3]))).toEqual({ kind: 'bad', length: 3 });
  });

  it('checks the md5 login as pgpool does (the documented vector)', () => {
    expect(
      pcpAuthOk(md5('pcppass'), 'pcpadmin', Buffer.from('774cdc60', 'hex'), '1c29ff9d87df34d53c94c821b851befb'),
    ).toBe(true);
    expect(
      pcpAuthOk(md5('other'), 'pcpadmin', Buffer.from('774cdc60', 'hex'), '1c29ff9d87df34d53c94c821b851befb'),
    ).toBe(false);
  });

  it('builds replies byte for byte as in the capture', () => {
    expect(pcpPacket('l', 'CommandComplete', '1')).toEqual(
      Buffer.from('l\0\0\0\x16CommandComplete\x001\x00', 'latin1'),
    );
    expect(pcpPacket('r', 'AuthenticationOK').readInt32BE(1)).toBe(21);
    const node = {
      hostname: '127.0.0.1',
      port: 31001,
      status: 2,
      pgStatus: 'unknown',
      weight: 1,
      role: 0,
      pgRole: 'main',
      replicationDelay: 0,
      delayByTime: false,
      replicationState: '',
      replicationSyncState: '',
      statusChangedEpoch: 1795325083,
    };
    const n43 = nodeInfoPacket(node, '4.3');
    expect(n43.toString('latin1', 5)).toBe(
      'NodeInfo\x00127.0.0.1\x0031001\x002\x000\x00unknown\x002147483647.000000\x000\x00main\x000\x00\x00\x001795325083\x00',
    );
    expect(n43.readInt32BE(1)).toBe(81);
    // 4.4 and later: standby_delay_by_time between pg_role and standby_delay.
    expect(nodeInfoPacket(node, 'newest').toString('latin1', 5)).toContain('main\x000\x000\x00\x00\x00');
    // A standby: its delay (µs when measured in time, flagged 1) and pg_stat_replication states.
    const standby = {
      ...node,
      role: 3,
      pgRole: 'standby',
      replicationDelay: 1250000,
      delayByTime: true,
      replicationState: 'streaming',
      replicationSyncState: 'async',
    };
    expect(nodeInfoPacket(standby, 'newest').toString('latin1', 5)).toContain(
      '\x003\x00standby\x001\x001250000\x00streaming\x00async\x001795325083\x00',
    );
    expect(nodeInfoPacket(standby, '4.3').toString('latin1', 5)).toContain(
      '\x003\x00standby\x001250000\x00streaming\x00async\x00',
    );
    expect(poolStatusHeader(144)).toEqual(Buffer.from('b\0\0\0\x12ArraySize\0\0\0\0\x90', 'latin1'));
    const row = Array.from({ length: 21 }, (_, i) => String(i));
    expect(processInfoPacket(row, '4.3').toString('latin1', 5).split('\0')).toHaveLength(19);
    expect(processInfoPacket(row, 'newest').toString('latin1', 5).split('\0')).toHaveLength(23);
    expect(pcpError('FATAL', 'invalid PCP packet', 'incorrect packet length (0)').toString('latin1', 5)).toBe(
      'SFATAL\x00CXX000\x00Minvalid PCP packet\x00Dincorrect packet length (0)\x00\x00',
    );
  });
});
