import { getLogger } from '../logging.js';

const log = getLogger('drain');

/** Something with work in flight that a shutdown waits for before the database closes. */
export interface Drainable {
  name: string;
  busy(): boolean;
  idle(): Promise<void>;
}

/**
 * Waits until every queue is idle at once: an answer finishing may schedule a summary, a
 * command may send, so one pass over them is not enough.
 */
export async function drainAll(drainables: readonly Drainable[]): Promise<'drained'> {
  for (let busy = drainables.filter((d) => d.busy()); busy.length > 0; busy = drainables.filter((d) => d.busy())) {
    log.info(`waiting for ${busy.map((d) => d.name).join(', ')} to finish`);
    await Promise.all(busy.map((d) => d.idle()));
  }
  return 'drained';
}
