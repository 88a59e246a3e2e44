// Runs one of the project's shell scripts (scripts/synapse.sh, scripts/llama.sh) for the test
// harness. Node built-ins and erasable TypeScript only (see synapse.ts).
import { spawn } from 'node:child_process';
import { basename } from 'node:path';

export interface ScriptResult {
  stdout: string;
  stderr: string;
}

// Builds can take minutes, so the script's progress lines may be echoed as they come;
// otherwise its output is kept and shown only when it fails.
export function runScript(script: string, args: string[], echoStderr = false): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (echoStderr) process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const how = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
      reject(new Error(`${basename(script)} ${args.join(' ')} failed (${how}):\n${stderr}${stdout}`));
    });
  });
}
