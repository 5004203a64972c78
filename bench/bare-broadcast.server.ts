import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type { ClientToServerEvents, LogChunkEvent, ServerToClientEvents } from '../contract/live.contract';

// The fan-out baseline's server, in its own process as the API is: a bare Socket.IO server whose
// writer socket's `lines` event is broadcast to room job:1. No auth, no storage, no adapter.
// Prints its port on stdout, then runs until killed.

export type BareWriterEvents = { lines: (event: { jobId: number; chunks: LogChunkEvent[] }) => void };

const http = createServer();
const server = new Server<ClientToServerEvents & BareWriterEvents, ServerToClientEvents>(http, { path: '/socket.io' });
server.on('connection', (socket) => {
  socket.on('subscribe', (request, reply) => {
    void socket.join(request.room);
    reply({ ok: true });
  });
  socket.on('lines', (event) => void server.to('job:1').emit('log.chunks', event));
});
http.listen(0, '127.0.0.1', () => process.stdout.write(`${(http.address() as AddressInfo).port}\n`));
