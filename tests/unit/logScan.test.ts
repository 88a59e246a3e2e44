import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSecrets } from '../e2e/helpers/logScan.js';

describe('the e2e log scan', () => {
  test('names each file and line holding a secret, by kind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logscan-'));
    writeFileSync(join(dir, 'a.test.ts-2026-01-01.log'), 'fine\n"Authorization":"Bearer tok-123"\nfine\n');
    writeFileSync(join(dir, 'process-1.log'), 'key sk-9 here\n');
    const found = findSecrets(dir, [
      { value: 'tok-123', what: 'as_token' },
      { value: 'sk-9', what: 'the LLM API key' },
    ]);
    expect(found).toEqual([
      { file: 'a.test.ts-2026-01-01.log', line: 2, what: 'as_token' },
      { file: 'process-1.log', line: 1, what: 'the LLM API key' },
    ]);
    expect(findSecrets(join(dir, 'missing'), [{ value: 'x', what: 'x' }])).toEqual([]);
  });
});
