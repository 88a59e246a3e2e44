import { createServer, type Server } from 'node:http';
import { AppService } from 'matrix-appservice-bridge';
import type { Application } from 'express';
import { MAX_BODY_BYTES } from './httpErrors.js';

/** Hands a transaction's events to the bridge (IngressAppService.deliver). */
export type Deliver = (txnId: string, transaction: Record<string, unknown>) => void;

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * matrix-appservice's AppService, served through the ingress. `Bridge.listen` subscribes the
 * bridge to the events the library's transaction handler emits, then calls `listen()`: here
 * that serves the ingress app (our stages first, the library's routes mounted behind them),
 * built once the library's app exists, instead of the library's app alone. Transactions end
 * in our own last stage (deliver), which emits what the library's handler would.
 */
export class IngressAppService extends AppService {
  private readonly ingress: Application;
  private listener: Server | null = null;

  /** The last transaction delivered (see deliver). */
  private lastTxnId: string | null = null;

  constructor(hsToken: string, build: (library: Application, deliver: Deliver) => Application) {
    super({ homeserverToken: hsToken, httpMaxSizeBytes: MAX_BODY_BYTES });
    this.ingress = build(this.expressApp, (txnId, transaction) => this.deliver(txnId, transaction));
  }

  /**
   * The transaction's last stage: its events emitted to the bridge as the library's own
   * transaction handler emits them (\`event\` and \`type:<type>\` per event, \`ephemeral\` and
   * \`ephemeral_type:<type>\` per ephemeral event; the same transaction id again in a row, as a
   * homeserver retrying one whose answer it missed, emits nothing). Done here rather than by
   * the library's Express app, which ran a second router, its own token check and its access
   * log's formatting for every transaction before the bridge saw the events: on the answer's
   * path (the \`queue\` stage, ~0.5 ms at p50).
   */
  private deliver(txnId: string, transaction: Record<string, unknown>): void {
    if (txnId === this.lastTxnId) return;
    for (const event of listOf(transaction.events)) {
      this.emit('event', event);
      const type = (event as { type?: unknown } | null)?.type;
      if (type) this.emit(`type:${String(type)}`, event);
    }
    for (const event of listOf(transaction['de.sorunome.msc2409.ephemeral'])) {
      this.emit('ephemeral', event);
      const type = (event as { type?: unknown } | null)?.type;
      if (type) this.emit(`ephemeral_type:${String(type)}`, event);
    }
    this.lastTxnId = txnId;
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
