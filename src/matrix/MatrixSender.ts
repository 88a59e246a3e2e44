import { randomBytes } from 'node:crypto';
import type { Bridge } from 'matrix-appservice-bridge';

/**
 * Sends events as any of our users with transaction ids unique across all of them.
 * Synapse de-duplicates appservice sends by (appservice, txnId) without the user_id, and
 * matrix-bot-sdk numbers txnIds per client, so two personas replying in the same
 * millisecond could otherwise have the second reply silently swallowed.
 */
export class MatrixSender {
  private counter = 0;
  private readonly instance = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;

  constructor(private readonly bridge: Pick<Bridge, 'getIntent'>) {}

  nextTxnId(): string {
    return `personas.${this.instance}.${(++this.counter).toString(36)}`;
  }

  async sendEvent(userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const client = this.bridge.getIntent(userId).matrixClient;
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(this.nextTxnId())}`;
    const res = (await client.doRequest('PUT', path, null, content)) as { event_id: string };
    return res.event_id;
  }

  sendNotice(userId: string, roomId: string, body: string, html?: string): Promise<string> {
    const content: Record<string, unknown> = { msgtype: 'm.notice', body };
    if (html) Object.assign(content, { format: 'org.matrix.custom.html', formatted_body: html });
    return this.sendEvent(userId, roomId, 'm.room.message', content);
  }

  sendText(userId: string, roomId: string, body: string): Promise<string> {
    return this.sendEvent(userId, roomId, 'm.room.message', { msgtype: 'm.text', body });
  }

  /** Typing notification on (expiring after `timeoutMs` unless refreshed) or off. */
  async setTyping(userId: string, roomId: string, typing: boolean, timeoutMs = 30_000): Promise<void> {
    const client = this.bridge.getIntent(userId).matrixClient;
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(userId)}`;
    await client.doRequest('PUT', path, null, typing ? { typing, timeout: timeoutMs } : { typing });
  }

  /** An (unthreaded) read receipt: everything up to the event counts as read. */
  async sendReadReceipt(userId: string, roomId: string, eventId: string): Promise<void> {
    const client = this.bridge.getIntent(userId).matrixClient;
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`;
    await client.doRequest('POST', path, null, {});
  }
}
