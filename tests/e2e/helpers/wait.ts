// Waiting for state that has no event to listen to (the bridge's own records, a child
// process's output): the condition is polled until it holds, then the test goes on at once.
import { DEFAULT_WAIT_MS } from './user.js';

export async function waitUntil(condition: () => boolean, description: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
