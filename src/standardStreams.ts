/**
 * Standard output and error that went away must not kill the bridge. When whatever reads them
 * is gone (the `tee` of a terminal pipeline killed by the same Ctrl-C, a closed `| head`, a
 * hung-up terminal), the next write fails with EPIPE (or EIO/EBADF), which Node emits as an
 * 'error' event on process.stdout/stderr; unhandled, that is an uncaught exception, and the
 * bridge would die in the middle of its clean shutdown. Here such a stream is marked closed:
 * its lines are dropped from then on, and everything else (the log file, the shutdown) goes on.
 */
import type { Writable } from 'node:stream';

export interface ClosedOutput {
  stream: 'stdout' | 'stderr';
  /** The error code that closed it (EPIPE, EIO, EBADF...). */
  code: string;
}

const installed = new WeakSet<Writable>();

/**
 * Watches process.stdout and process.stderr (once per stream, however often called).
 * `onClosed` hears of each stream that closed, once: the caller stops writing to it.
 */
export function dropLinesToClosedOutput(onClosed: (closed: ClosedOutput) => void, streams: { stdout: Writable; stderr: Writable } = process): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = streams[name];
    if (installed.has(stream)) continue;
    installed.add(stream);
    let closed = false;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (closed) return;
      closed = true;
      onClosed({ stream: name, code: err.code ?? err.message });
    });
  }
}
