import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { BridgeConfig } from '../config/Config.js';
import { DEFAULT_BACKEND, resolveBackends, routeModel, type BackendConfig } from '../llm/backends.js';
import { contextBudget } from '../llm/contextBudget.js';
import { loadPersonaFiles } from '../personas/personaFiles.js';
import { CutPrompts, personaPromptFit, promptFitMessage, type BudgetSource, type PromptFit } from '../personas/promptFit.js';
import { loadMigrations } from '../store/Database.js';
import { fail, pass, warn, type CheckResult } from '../probes/CheckResult.js';
import { describeError } from '../util/describeError.js';

/**
 * The database as the bridge will find it, read only (the check must change nothing): an
 * existing file's schema version against this release's, or a folder where it can be made.
 */
export function checkDatabase(config: BridgeConfig, latest: number = loadMigrations().length): CheckResult {
  const name = 'database';
  const path = resolve(config.database.path);
  if (!existsSync(path)) {
    const parent = nearestExisting(dirname(path));
    try {
      accessSync(parent, constants.W_OK);
      return pass(name, `${path} does not exist yet; it will be created on start`);
    } catch {
      return fail(name, `${path} does not exist and ${parent} is not writable`, 'create the folder and give the bridge user write access');
    }
  }
  let version: number;
  try {
    const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    try {
      const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
      version = table ? ((db.prepare('SELECT version FROM schema_version').get() as { version?: number } | undefined)?.version ?? 0) : 0;
    } finally {
      db.close();
    }
  } catch (err) {
    return fail(name, `cannot read ${path}: ${describeError(err)}`, 'is it an SQLite file the bridge user can read?');
  }
  try {
    accessSync(path, constants.W_OK);
  } catch {
    return fail(name, `${path} is not writable`, 'give the bridge user write access to the file and its folder (SQLite writes a -wal file beside it)');
  }
  if (version > latest) {
    return fail(
      name,
      `${path} has schema version ${version}, newer than this release supports (${latest})`,
      'run the release that wrote it (or newer), or restore a backup made for this version',
    );
  }
  if (version < latest) return pass(name, `${path} at schema version ${version}; migrations to ${latest} run on start`);
  return pass(name, `${path} at schema version ${version} (current)`);
}

/** The seed persona files, parsed and validated as the bridge will at start. */
export function checkPersonaFiles(config: BridgeConfig): CheckResult {
  const name = 'seed personas';
  const dir = resolve(config.personas.directory);
  if (!existsSync(dir)) return pass(name, `${dir} does not exist: no seed personas (spawn them in chat)`);
  const { files, problems } = loadPersonaFiles(dir);
  // Prompts against the budget the bridge will have at most: the configured window, else
  // memory.context_tokens (a window discovered at start can only make it smaller).
  const skipped = [...problems];
  // Cut prompts are said as the start-up log says them: one line per model, naming the files.
  const cuts = new CutPrompts();
  for (const file of files) {
    const checked = offlinePromptFit(config, file.definition.prompt, file.definition.model ?? null);
    if (!checked || checked.fit.kind === 'fits') continue;
    if (checked.fit.kind === 'too_long') skipped.push({ file: file.file, errors: [`prompt: ${promptFitMessage(checked.fit, checked.source)}`] });
    else cuts.add(file.file, file.definition.name, checked.fit, checked.source);
  }
  const cut = cuts.lines();
  const valid = files.filter((f) => !skipped.some((p) => p.file === f.file));
  const names = valid.map((f) => f.definition.name).join(', ');
  if (skipped.length > 0 || cut.length > 0) {
    const parts = [`${valid.length} valid${names ? ` (${names})` : ''}`];
    if (skipped.length > 0) parts.push(`skipped at start: ${skipped.map((p) => `${p.file}: ${p.errors.join('; ')}`).join(' | ')}`);
    if (cut.length > 0) parts.push(`cut at start: ${cut.map((c) => `${c.files}: ${c.message}`).join(' | ')}`);
    return warn(name, parts.join('; '), `fix the files in ${dir}`);
  }
  return pass(name, files.length > 0 ? `${files.length} in ${dir}: ${names}` : `${dir} has no persona files`);
}

/** A seed prompt's fit without asking the model server; null when the LLM config is broken (its own check says so). */
function offlinePromptFit(config: BridgeConfig, prompt: string, model: string | null): { fit: PromptFit; source: BudgetSource } | null {
  let backends: BackendConfig[];
  try {
    backends = resolveBackends(config.llm);
  } catch {
    return null;
  }
  const route = routeModel(model, backends);
  const backend = backends.find((b) => b.name === route.backend)!;
  const budget = contextBudget({ contextTokens: backend.context, maxTokens: backend.max_tokens, promptCap: config.memory.context_tokens, shrink: 1 });
  const fit = personaPromptFit(prompt, budget);
  const label = route.backend === DEFAULT_BACKEND ? route.model : `${route.backend}/${route.model}`;
  return { fit, source: { model: label, contextTokens: budget.contextTokens, promptCap: config.memory.context_tokens } };
}

function nearestExisting(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}
