/** What both speech clients share: the endpoint's settings, its errors and the call metrics. */
import { MediaError } from '../MediaError.js';
import { describeError } from '../../util/describeError.js';

export interface SpeechEndpointConfig {
  /** The API root, e.g. http://127.0.0.1:8080/v1 */
  base_url: string;
  api_key: string;
  model: string;
  timeout_seconds: number;
}

/** One call, for metrics: which endpoint, whether it worked, how long it took. */
export type SpeechCallHook = (call: { kind: 'transcription' | 'synthesis'; ok: boolean; latencyMs: number }) => void;

export function endpointUrl(config: SpeechEndpointConfig, path: string): string {
  return `${config.base_url.replace(/\/+$/, '')}/${path}`;
}

export function authHeaders(config: SpeechEndpointConfig): Record<string, string> {
  return config.api_key ? { authorization: `Bearer ${config.api_key}` } : {};
}

/** A refusal or failure of the endpoint, as a MediaError with what it said (its error message, not its whole body). */
export async function endpointError(res: Response, what: string): Promise<MediaError> {
  const text = await res.text().catch(() => '');
  let detail = '';
  try {
    const error = (JSON.parse(text) as { error?: { message?: unknown } | string }).error;
    detail = typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : '';
  } catch {
    detail = '';
  }
  return new MediaError('speech_failed', `the ${what} endpoint answered ${res.status}${detail ? `: ${detail.slice(0, 200)}` : ''}`);
}

/** Runs one call with the endpoint's deadline, turning network failures into MediaErrors and reporting it. */
export async function timedCall<T>(
  kind: 'transcription' | 'synthesis',
  config: SpeechEndpointConfig,
  onCall: SpeechCallHook | undefined,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const startedAt = Date.now();
  const signal = AbortSignal.timeout(config.timeout_seconds * 1000);
  try {
    const result = await call(signal);
    onCall?.({ kind, ok: true, latencyMs: Date.now() - startedAt });
    return result;
  } catch (err) {
    onCall?.({ kind, ok: false, latencyMs: Date.now() - startedAt });
    if (err instanceof MediaError) throw err;
    const message = signal.aborted ? `the ${kind} endpoint did not answer within ${config.timeout_seconds} s` : `the ${kind} endpoint cannot be reached: ${describeError(err)}`;
    throw new MediaError('speech_failed', message, { cause: err });
  }
}
