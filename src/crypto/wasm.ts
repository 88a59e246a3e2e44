// Loads the crypto engine: matrix-sdk-crypto-wasm, the Rust matrix-sdk-crypto compiled to
// WebAssembly that matrix-js-sdk (Element Web) uses. It ships its .wasm inside the npm package,
// so it installs where the native Node binding (which downloads a binary at install) cannot.
// Loaded only when encryption is on: importing it alone costs ~20 MB of memory.
import type * as Wasm from '@matrix-org/matrix-sdk-crypto-wasm';
import type { IdbFactory } from './IdbSnapshot.js';

export type { Wasm };

let loading: Promise<typeof Wasm> | null = null;
let loaded: typeof Wasm | null = null;

/**
 * Instantiates the WebAssembly module once per process, after installing fake-indexeddb as
 * the global IndexedDB (the bindings look up `indexedDB` and the IDB* classes on globalThis).
 */
export function loadCryptoWasm(): Promise<typeof Wasm> {
  loading ??= (async () => {
    await import('fake-indexeddb/auto');
    const module = await import('@matrix-org/matrix-sdk-crypto-wasm');
    await module.initAsync();
    loaded = module;
    return module;
  })();
  return loading;
}

/** The loaded engine; loadCryptoWasm() must have finished. */
export function wasm(): typeof Wasm {
  if (!loaded) throw new Error('the crypto engine is not loaded (loadCryptoWasm)');
  return loaded;
}

/** The IndexedDB the OlmMachine stores use (fake-indexeddb's, once loadCryptoWasm() ran). */
export function cryptoIndexedDb(): IdbFactory {
  return (globalThis as unknown as { indexedDB: IdbFactory }).indexedDB;
}
