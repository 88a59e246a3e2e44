import type { Application, NextFunction, Request, Response } from 'express';
import { moveLastLayerBefore } from '../http/expressOrder.js';
import { getLogger } from '../logging.js';
import type { BridgeCrypto, CryptoTransaction } from './BridgeCrypto.js';

const log = getLogger('TransactionCrypto');
const TRANSACTION_ROUTE = '/_matrix/app/v1/transactions/:txnId';

/**
 * Hands each transaction's crypto parts (to-device messages, device list changes, one-time key
 * counts) to the crypto engine before matrix-appservice-bridge sees its room events, and only
 * then lets the transaction through. Synapse sends one transaction at a time, so the room keys
 * of a transaction are in place before its messages (or any later one's) are decrypted.
 * Only the homeserver gets this far: hardenAppservice (src/http/hardening.ts) refuses requests
 * without its token before any route.
 */
export function installTransactionCrypto(app: Application, crypto: BridgeCrypto): void {
  app.put(TRANSACTION_ROUTE, (req: Request, _res: Response, next: NextFunction) => {
    const body = req.body as CryptoTransaction | undefined;
    if (typeof body !== 'object' || body === null) {
      next();
      return;
    }
    crypto.handleTransaction(body).then(
      () => next(),
      (err: unknown) => {
        // Still deliver the room events: they are undecryptable at worst, and said so.
        log.error(`crypto processing of transaction ${String(req.params.txnId)} failed: ${(err as Error)?.stack ?? String(err)}`);
        next();
      },
    );
  });
  moveLastLayerBefore(app, TRANSACTION_ROUTE);
}
