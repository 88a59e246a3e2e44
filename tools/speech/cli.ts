// LOCAL STACK ONLY: serves espeak-ng (text to speech) and pocketsphinx (speech to text) as an
// OpenAI-compatible speech endpoint (see SpeechAdapter.ts for what it is and is not).
//
//   sudo node --import ./tools/register-ts.mjs tools/speech/cli.ts [--port 8090] [--path]
//
// By default the tools run in scripts/speech.sh's Debian chroot (built on first use; root);
// --path runs them from PATH instead (a Debian host with espeak-ng, opus-tools, pocketsphinx
// and pocketsphinx-en-us installed). Then, in the bridge config:
//   speech: { transcription: { base_url: http://127.0.0.1:8090/v1, model: pocketsphinx },
//             synthesis: { base_url: http://127.0.0.1:8090/v1, model: espeak-ng } }
// and give a persona a voice: !persona set Ada voice en-us
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chrootRunner, pathRunner, SpeechAdapter } from './SpeechAdapter.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '8090' }, path: { type: 'boolean', default: false } } });
const runner = values.path ? pathRunner : chrootRunner(fileURLToPath(new URL('../../scripts/speech.sh', import.meta.url)));
const adapter = await SpeechAdapter.start(runner, Number(values.port));
console.log(`speech adapter (espeak-ng + pocketsphinx, local stack only) on ${adapter.baseUrl}`);
const stop = () => void adapter.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
