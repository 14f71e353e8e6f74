#!/usr/bin/env node
// The least a Node relay can do: each client gets its own connection to PostgreSQL and
// bytes are copied both ways with net.Socket, nothing parsed, nothing pooled. Its CPU per
// transaction is the floor under any pooler written in Node (bench/cpu-split.mjs).
//   node bench/node-floor-relay.mjs <listen port> <PostgreSQL port>
import net from 'node:net';

const [listenPort, pgPort] = process.argv.slice(2).map(Number);
net
  .createServer({ noDelay: true }, (client) => {
    const server = net.connect({ port: pgPort, host: '127.0.0.1', noDelay: true });
    client.on('data', (d) => server.write(d));
    server.on('data', (d) => client.write(d));
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    client.on('error', () => {});
    server.on('error', () => {});
  })
  .listen(listenPort, '127.0.0.1', () => process.stdout.write('listening\n'));
