import { createServer, type Server } from 'node:http';
import { AppService } from 'matrix-appservice-bridge';
import type { Application } from 'express';
import { MAX_BODY_BYTES } from './httpErrors.js';

/**
 * matrix-appservice's AppService, served through the ingress. `Bridge.listen` subscribes the
 * bridge to the events the library's transaction handler emits, then calls `listen()`: here
 * that serves the ingress app (our stages first, the library's routes mounted behind them),
 * built once the library's app exists, instead of the library's app alone.
 */
export class IngressAppService extends AppService {
  private readonly ingress: Application;
  private listener: Server | null = null;

  constructor(hsToken: string, build: (library: Application) => Application) {
    super({ homeserverToken: hsToken, httpMaxSizeBytes: MAX_BODY_BYTES });
    this.ingress = build(this.expressApp);
  }

  /** The port bound (differs from the one asked for when that was 0); null before listen(). */
  get port(): number | null {
    const address = this.listener?.address();
    return typeof address === 'object' && address !== null ? address.port : null;
  }

  override async listen(port: number, hostname: string, backlog: number): Promise<void> {
    const server = createServer({}, this.ingress);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, hostname, backlog, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listener = server;
  }

  override async close(): Promise<void> {
    const server = this.listener;
    if (!server) throw new Error('the appservice listener has not started');
    this.listener = null;
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  }
}
