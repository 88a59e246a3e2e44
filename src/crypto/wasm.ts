// Loads the crypto engine: matrix-sdk-crypto-wasm, the Rust matrix-sdk-crypto compiled to
// WebAssembly that matrix-js-sdk (Element Web) uses. It ships its .wasm inside the npm package,
// so it installs where the native Node binding (which downloads a binary at install) cannot.
import 'fake-indexeddb/auto';
import * as wasm from '@matrix-org/matrix-sdk-crypto-wasm';
import type { IdbFactory } from './IdbSnapshot.js';

export { wasm };

let loading: Promise<void> | null = null;

/** Instantiates the WebAssembly module once per process. */
export function loadCryptoWasm(): Promise<void> {
  loading ??= wasm.initAsync();
  return loading;
}

/**
 * The IndexedDB the OlmMachine stores use: fake-indexeddb's, installed as the global one
 * (the wasm bindings look up `indexedDB` and the IDB* classes on globalThis).
 */
export function cryptoIndexedDb(): IdbFactory {
  return (globalThis as unknown as { indexedDB: IdbFactory }).indexedDB;
}
