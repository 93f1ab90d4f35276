/** The local servers: every stand-in, gateway and the router listens on 127.0.0.1, on a free port unless told one. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from '../aws/types.js';
import { PortInUseError } from './ports.js';

/** `endpoint` names the server in the error when its fixed port is taken. */
export async function listen(listener: RequestListener, port = 0, endpoint = 'a local endpoint'): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(listener);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' && port !== 0 ? new PortInUseError(port, endpoint) : error));
    server.listen(port, '127.0.0.1', () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${bound}`, port: bound };
}

export async function close(server: Server): Promise<void> {
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
}
