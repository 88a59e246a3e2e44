import { createHash } from 'node:crypto';
import type { BridgeConfig } from '../config/Config.js';
import type { ContextBudget } from '../llm/contextBudget.js';
import { getLogger } from '../logging.js';
import { AvatarError, loadAvatarImage, parseAvatarSource, type AvatarFetchPolicy, type Fetch } from './avatarSource.js';
import type { Persona, VoiceReplies } from './Persona.js';
import { describeMatrixError } from '../matrix/errors.js';
import type { PersonaMatrix } from './PersonaManager.js';
import { loadPersonaFiles, type PersonaFile } from './personaFiles.js';
import { choosePersonaId } from './personaId.js';
import { derivedPersonaUserId, personaNameProblem, personaUserIdFromId } from './personaName.js';
import type { PersonaRecord, PersonaStore } from './PersonaStore.js';
import { CutPrompts, personaPromptFit, promptFitMessage, type BudgetSource, type PromptFit } from './promptFit.js';

const log = getLogger('PersonaLifecycle');

/**
 * What the admin can do about a refusal: the command layer renders it in its own syntax
 * (commands/personaErrors.ts), so the domain never writes chat commands.
 * - `list`: look the personas up;
 * - `finish-spawn`: repeat the spawn, or despawn;
 * - `finish-despawn`: repeat the despawn.
 */
export type PersonaRemedy = 'list' | 'finish-spawn' | 'finish-despawn';

/**
 * A refusal or failure to show the admin (no stack, no usage line): the message says what
 * happened; `remedy` (with the persona's name) what to do next, in the caller's words.
 */
export class PersonaError extends Error {
  override name = 'PersonaError';
  constructor(
    message: string,
    readonly remedy?: { kind: PersonaRemedy; name: string },
  ) {
    super(message);
  }
}

export interface SpawnRequest {
  /** Display name, any Unicode. */
  name: string;
  /** The user ID part after the prefix (`--id`); default: derived from the name, de-duplicated. */
  id?: string | null;
  prompt: string;
  creator: string;
  model?: string | null;
  temperature?: number | null;
  /** mxc://, http(s):// or file reference. */
  avatar?: string | null;
  /** An image to upload as the avatar (a PNG character card is its own avatar); wins over `avatar`. */
  avatarImage?: { data: Buffer; contentType: string; filename: string } | null;
  traits?: Record<string, unknown>;
  /** Room ID or alias to invite the persona to and join. */
  room?: string | null;
}

export interface SpawnResult {
  persona: Persona;
  roomId: string | null;
  /** True when this completed an earlier spawn that had failed part-way. */
  completedEarlierAttempt: boolean;
}

/** What `!persona set` may change; `avatar` is a reference to resolve, null clears. */
export interface PersonaUpdate {
  name?: string;
  prompt?: string;
  model?: string | null;
  temperature?: number | null;
  avatar?: string | null;
  traits?: Record<string, unknown>;
  /** Live answers for this persona; null follows replies.live. */
  live?: boolean | null;
  /** The tools it may call (`server/tool`, `server/*`); empty: none. */
  tools?: string[];
  /** The voice it speaks in; null: it writes only. */
  voice?: string | null;
  voiceReplies?: VoiceReplies | null;
}

export interface FileReportEntry {
  file: string;
  /** True when the file's persona was not provisioned at all. */
  skipped: boolean;
  errors: string[];
}

export interface FileReport {
  provisioned: string[];
  problems: FileReportEntry[];
}

export interface RoomCreation {
  roomId: string;
  joined: string[];
  failed: { name: string; error: string }[];
}

export interface PersonaLifecycleDeps {
  store: PersonaStore;
  matrix: PersonaMatrix;
  config: Pick<BridgeConfig, 'homeserver' | 'appservice'>;
  fetch?: Fetch;
  /** Which addresses and folders avatars may come from (config `fetch.*`). */
  fetchPolicy?: AvatarFetchPolicy;
  now?: () => number;
  /** Called once a persona is deactivated, so other stores (its memory) can let it go too. */
  onDespawned?: (userId: string) => void;
  /**
   * The prompt budget of the model a persona's `model` setting routes to (configured or
   * discovered context window): prompts are checked against it. None: not checked.
   */
  promptBudget?: (model: string | null) => Promise<{ budget: ContextBudget; source: BudgetSource }>;
}

/** No persona (in any state) has that name. */
export function noSuchPersona(name: string): PersonaError {
  return new PersonaError(`No persona named '${name}'.`, { kind: 'list', name });
}

const errorText = (err: unknown): string => (err instanceof PersonaError || err instanceof AvatarError ? err.message : describeMatrixError(err));

/**
 * Spawning, changing and removing personas, keeping the store and the homeserver in step.
 *
 * The rule: a persona is live (in the directory) only once everything it needs on the
 * homeserver is done. The store row is written first as `provisioning`, so a failure
 * part-way leaves a record the same request completes later (every step is idempotent);
 * only a spawn that never reached the homeserver is rolled back by deleting its row.
 * Registration itself cannot be undone without burning the name (deactivation), which is
 * why retrying, not rolling back, is the recovery after it.
 */
export class PersonaLifecycle {
  private readonly store: PersonaStore;
  private readonly matrix: PersonaMatrix;
  private readonly now: () => number;
  /** Outcome of the last provisioning of seed files, shown to admins by `!persona list`. */
  lastFileReport: FileReport = { provisioned: [], problems: [] };

  constructor(private readonly deps: PersonaLifecycleDeps) {
    this.store = deps.store;
    this.matrix = deps.matrix;
    this.now = deps.now ?? Date.now;
  }

  /** The user ID a name derives to (no de-duplication), or null when it gives no usable ID. */
  userIdFor(name: string): string | null {
    return derivedPersonaUserId(name, this.deps.config);
  }

  private userIdOf(id: string): string {
    return personaUserIdFromId(id, this.deps.config);
  }

  /** The reason a name cannot be used for a new persona, or null. */
  private nameRefusal(name: string): string | null {
    const problem = personaNameProblem(name);
    return problem ? `Invalid name '${name}': ${problem}.` : null;
  }

  /** For seed files, whose ID is fixed (derived or `id:`): refused when that ID was deactivated. */
  private deactivatedRefusal(name: string, userId: string): string | null {
    const gone = this.store.deactivated(userId);
    if (!gone) return null;
    return (
      `Cannot spawn '${name}': ${userId} was despawned (deactivated) on ${new Date(gone.deactivatedAt).toISOString().slice(0, 10)}, ` +
      'and Matrix never allows a deactivated user ID to be registered again. Choose another name or id.'
    );
  }

  /** True when a user ID is used by a persona in any state, or was deactivated (never reusable). */
  private idTaken(id: string): boolean {
    const userId = this.userIdOf(id);
    return this.store.recordByUserId(userId) !== undefined || this.store.deactivated(userId) !== undefined;
  }

  /** A despawned persona of that name, for telling the admin why there is none. */
  private despawnedByName(name: string) {
    const userId = this.userIdFor(name);
    return userId ? this.store.deactivated(userId) : undefined;
  }

  /** The live persona of that name, or a PersonaError saying why there is none. */
  activeByName(name: string): PersonaRecord {
    const record = this.store.recordByName(name);
    if (!record) {
      const gone = this.despawnedByName(name);
      throw gone ? new PersonaError(`${name} was despawned; there is no such persona any more.`) : noSuchPersona(name);
    }
    if (record.status === 'provisioning') {
      throw new PersonaError(`${record.name}'s spawn did not finish.`, { kind: 'finish-spawn', name: record.name });
    }
    if (record.status === 'despawning') {
      throw new PersonaError(`${record.name} is being despawned.`, { kind: 'finish-despawn', name: record.name });
    }
    return record;
  }

  async spawn(req: SpawnRequest): Promise<SpawnResult> {
    const refusal = this.nameRefusal(req.name);
    if (refusal) throw new PersonaError(refusal);
    // The same name again completes an earlier attempt (same user ID); a new name gets an ID
    // of its own: the given one, or derived from the name and de-duplicated.
    const existing = this.store.recordByName(req.name);
    let userId: string;
    if (existing) {
      userId = existing.userId;
      if (req.id && this.userIdOf(req.id) !== userId) {
        throw new PersonaError(`The name '${req.name}' is taken by ${existing.name} (${existing.userId}).`);
      }
    } else {
      const choice = choosePersonaId(req.name, (id) => this.idTaken(id), req.id ?? null);
      if (!choice.ok) throw new PersonaError(choice.error);
      userId = this.userIdOf(choice.id);
    }
    if (existing?.status === 'active') throw new PersonaError(`A persona named ${existing.name} already exists (${userId}).`);
    if (existing?.status === 'despawning') {
      throw new PersonaError(`${existing.name} is being despawned.`, { kind: 'finish-despawn', name: existing.name });
    }

    // Everything that can fail without side effects comes first: a bad room or avatar changes nothing.
    let roomId: string | null = null;
    if (req.room) {
      try {
        roomId = await this.matrix.resolveRoom(req.room);
      } catch (err) {
        throw new PersonaError(`Cannot find room ${req.room}: ${describeMatrixError(err)}`);
      }
    }
    const avatarUrl = req.avatarImage ? await this.uploadAvatar(req.avatarImage) : req.avatar ? await this.resolveAvatar(req.avatar) : null;

    this.store.reserve({
      userId,
      name: req.name,
      prompt: req.prompt,
      traits: req.traits ?? existing?.traits ?? {},
      model: req.model ?? null,
      temperature: req.temperature ?? null,
      avatarUrl,
      createdAt: this.now(),
      creator: req.creator,
    });

    let step = 'registering it';
    try {
      await this.matrix.register(userId);
      step = 'setting its profile';
      await this.ensureProfile(userId, req.name, avatarUrl);
      if (roomId) {
        step = `joining ${req.room}`;
        const asked = this.now();
        await this.matrix.joinRoom(userId, roomId);
        this.store.addRoom(userId, roomId, asked);
      }
    } catch (err) {
      if (step === 'registering it' && !existing) {
        // Nothing reached the homeserver: roll back.
        this.store.remove(userId);
        throw new PersonaError(`Could not register ${userId}: ${describeMatrixError(err)}. Nothing was changed.`);
      }
      log.warn(`spawn of ${userId} stopped while ${step}: ${errorText(err)}`);
      throw new PersonaError(`Spawn of ${req.name} (${userId}) stopped while ${step}: ${errorText(err)}. It is not active.`, {
        kind: 'finish-spawn',
        name: req.name,
      });
    }
    const record = this.store.setStatus(userId, 'active');
    log.info(`spawned ${userId} for ${req.creator}${roomId ? ` in ${roomId}` : ''}`);
    return { persona: this.store.byUserId(record.userId)!, roomId, completedEarlierAttempt: existing !== undefined };
  }

  /**
   * Leaves every room, clears the profile, deactivates the account and forgets the persona.
   * The persona stops being live first; a failure part-way leaves it `despawning` for a retry.
   */
  async despawn(name: string, by: string): Promise<{ userId: string; roomsLeft: number }> {
    const record = this.store.recordByName(name);
    if (!record) {
      const gone = this.despawnedByName(name);
      throw gone ? new PersonaError(`${name} was already despawned.`) : noSuchPersona(name);
    }
    const { userId } = record;
    this.store.setStatus(userId, 'despawning');
    let roomsLeft = 0;
    try {
      // A spawn that stopped early may never have registered the user; the homeserver
      // refuses every call for an unregistered user, deactivation included.
      if (record.status !== 'active') await this.matrix.register(userId);
      // The homeserver's list, not ours: it also has rooms joined while we were not listening.
      const rooms = await this.matrix.joinedRooms(userId);
      const failures: string[] = [];
      for (const roomId of rooms) {
        try {
          await this.matrix.leaveRoom(userId, roomId);
          this.store.removeRoom(userId, roomId);
          roomsLeft++;
        } catch (err) {
          failures.push(`${roomId} (${describeMatrixError(err)})`);
        }
      }
      if (failures.length > 0) throw new PersonaError(`could not leave ${failures.join(', ')}`);
      await this.matrix.setDisplayName(userId, null);
      await this.matrix.setAvatarUrl(userId, null);
      await this.matrix.deactivate(userId);
    } catch (err) {
      log.warn(`despawn of ${userId} stopped: ${errorText(err)}`);
      throw new PersonaError(`Despawn of ${record.name} stopped: ${errorText(err)}. It no longer answers.`, {
        kind: 'finish-despawn',
        name: record.name,
      });
    }
    this.store.recordDeactivated(userId, by, this.now());
    this.deps.onDespawned?.(userId);
    log.info(`despawned ${userId} (left ${roomsLeft} rooms) for ${by}`);
    return { userId, roomsLeft };
  }

  /** Applies `!persona set`: the Matrix profile first (for name and avatar), then the store. */
  async update(name: string, update: PersonaUpdate): Promise<PersonaRecord> {
    const record = this.activeByName(name);
    const changes: Parameters<PersonaStore['update']>[1] = {};
    if (update.name !== undefined) {
      const problem = personaNameProblem(update.name);
      if (problem) throw new PersonaError(`Invalid name '${update.name}': ${problem}.`);
      const other = this.store.recordByName(update.name);
      if (other && other.userId !== record.userId) throw new PersonaError(`The name '${update.name}' is taken by ${other.userId}.`);
      changes.name = update.name;
    }
    if (update.avatar !== undefined) changes.avatarUrl = update.avatar === null ? null : await this.resolveAvatar(update.avatar);
    if (update.prompt !== undefined) changes.prompt = update.prompt;
    if (update.model !== undefined) changes.model = update.model;
    if (update.temperature !== undefined) changes.temperature = update.temperature;
    if (update.traits !== undefined) changes.traits = update.traits;
    if (update.live !== undefined) changes.live = update.live;
    if (update.tools !== undefined) changes.tools = update.tools;
    if (update.voice !== undefined) changes.voice = update.voice;
    if (update.voiceReplies !== undefined) changes.voiceReplies = update.voiceReplies;
    if (changes.name !== undefined || changes.avatarUrl !== undefined) {
      await this.ensureProfile(record.userId, changes.name ?? record.name, changes.avatarUrl !== undefined ? changes.avatarUrl : record.avatarUrl);
    }
    return this.store.update(record.userId, changes);
  }

  /**
   * Checks a persona prompt against its model's budget (see promptFit): throws a PersonaError
   * when it cannot fit at all, returns a warning when it would be cut, null when it fits.
   */
  async checkPrompt(prompt: string, model: string | null): Promise<string | null> {
    const checked = await this.promptFit(prompt, model);
    return checked && promptFitMessage(checked.fit, checked.source);
  }

  /** How a prompt fits the model's budget (null: not checked); one that cannot fit at all is refused. */
  private async promptFit(prompt: string, model: string | null): Promise<{ fit: PromptFit; source: BudgetSource } | null> {
    if (!this.deps.promptBudget) return null;
    const { budget, source } = await this.deps.promptBudget(model);
    const fit = personaPromptFit(prompt, budget);
    if (fit.kind === 'too_long') throw new PersonaError(promptFitMessage(fit, source)!);
    return { fit, source };
  }

  /** Gets a live persona into a room (the bot invites, the persona joins); returns the room ID. */
  async invite(name: string, roomIdOrAlias: string): Promise<string> {
    const record = this.activeByName(name);
    let roomId: string;
    try {
      roomId = await this.matrix.resolveRoom(roomIdOrAlias);
    } catch (err) {
      throw new PersonaError(`Cannot find room ${roomIdOrAlias}: ${describeMatrixError(err)}`);
    }
    try {
      await this.matrix.joinRoom(record.userId, roomId);
    } catch (err) {
      throw new PersonaError(`${record.name} could not join ${roomIdOrAlias}: ${errorText(err)}`);
    }
    this.store.addRoom(record.userId, roomId, this.now());
    return roomId;
  }

  /** Creates a private room as the bot, invites the admin (made moderator) and gets the personas in. */
  async createRoom(roomName: string, personaNames: string[], admin: string): Promise<RoomCreation> {
    // Unknown names are refused before anything is created.
    const personas = personaNames.map((n) => this.activeByName(n));
    const roomId = await this.matrix.createRoom({ name: roomName, invite: [admin], moderators: [admin] });
    const result: RoomCreation = { roomId, joined: [], failed: [] };
    for (const persona of personas) {
      try {
        await this.matrix.joinRoom(persona.userId, roomId);
        this.store.addRoom(persona.userId, roomId, this.now());
        result.joined.push(persona.name);
      } catch (err) {
        result.failed.push({ name: persona.name, error: describeMatrixError(err) });
      }
    }
    log.info(`created room ${roomId} '${roomName}' for ${admin} with ${result.joined.join(', ') || 'no personas'}`);
    return result;
  }

  /**
   * Provisions the seed persona files of a directory: each good file's persona registered,
   * profile set when it differs, rooms joined, recorded in the store. A bad file is reported
   * (file name and key path) and skipped; the others go ahead.
   */
  async provisionFiles(dir: string): Promise<FileReport> {
    const { files, problems } = loadPersonaFiles(dir);
    const report: FileReport = { provisioned: [], problems: problems.map((p) => ({ file: p.file, skipped: true, errors: p.errors })) };
    // Prompts cut to fit a model: one line per model, for all of them.
    const cuts = new CutPrompts();
    for (const file of files) {
      try {
        const warnings = await this.provisionFile(file, (fit, source) => cuts.add(file.file, file.definition.name, fit, source));
        report.provisioned.push(file.definition.name);
        if (warnings.length > 0) report.problems.push({ file: file.file, skipped: false, errors: warnings });
      } catch (err) {
        report.problems.push({ file: file.file, skipped: true, errors: [errorText(err)] });
      }
    }
    for (const cut of cuts.lines()) report.problems.push({ file: cut.files, skipped: false, errors: [cut.message] });
    for (const p of report.problems) {
      log.warn(`persona file ${p.file}${p.skipped ? ' skipped' : ''}: ${p.errors.join('; ')}`);
    }
    if (report.provisioned.length > 0) log.info(`seed personas ready: ${report.provisioned.join(', ')}`);
    this.lastFileReport = report;
    return report;
  }

  /** One seed file; returns warnings (a room or avatar that failed) that did not stop it; a prompt that would be cut goes to `cut`. */
  private async provisionFile(file: PersonaFile, cut: (fit: Exclude<PromptFit, { kind: 'fits' }>, source: BudgetSource) => void): Promise<string[]> {
    const def = file.definition;
    const creator = `file:${file.file}`;
    const refusal = this.nameRefusal(def.name);
    if (refusal) throw new PersonaError(`name: ${refusal}`);
    const userId = def.id ? this.userIdOf(def.id) : this.userIdFor(def.name);
    if (!userId) throw new PersonaError(`name: '${def.name}' gives no usable Matrix ID; add an id: (a-z, 0-9, . _ = -)`);
    const gone = this.deactivatedRefusal(def.name, userId);
    if (gone) throw new PersonaError(`name: ${gone}`);
    const existing = this.store.recordByName(def.name) ?? this.store.recordByUserId(userId);
    // A persona from another file is taken over (the file was renamed); one spawned in chat is not.
    if (existing && (existing.userId !== userId || !existing.creator.startsWith('file:'))) {
      throw new PersonaError(`name: '${def.name}' is taken by ${existing.userId}, spawned by ${existing.creator}`);
    }
    if (existing?.status === 'despawning') throw new PersonaError(`name: ${existing.name} is being despawned`);

    // A prompt that cannot fit is refused like any bad field; one that would be cut is warned about.
    const checked = await this.promptFit(def.prompt, def.model ?? null).catch((err: unknown) => {
      if (err instanceof PersonaError) throw new PersonaError(`prompt: ${err.message}`);
      throw err;
    });
    if (checked && checked.fit.kind !== 'fits') cut(checked.fit, checked.source);
    const warnings: string[] = [];
    // The file is applied when new or edited; otherwise what admins changed in chat stays.
    if (!existing || existing.status === 'provisioning' || existing.sourceDigest !== file.digest) {
      let avatarUrl = existing?.avatarUrl ?? null;
      let digest: string | null = file.digest;
      if (def.avatar) {
        try {
          avatarUrl = await this.resolveAvatar(def.avatar, file.dir);
        } catch (err) {
          warnings.push(`avatar: ${errorText(err)}`);
          // Not recorded as applied, so the next start tries the avatar again.
          digest = null;
        }
      } else {
        avatarUrl = null;
      }
      const fields = {
        name: def.name,
        prompt: def.prompt,
        traits: def.traits ?? {},
        model: def.model ?? null,
        temperature: def.temperature ?? null,
        avatarUrl,
        creator,
      };
      if (!existing || existing.status === 'provisioning') {
        this.store.reserve({ userId, createdAt: existing?.createdAt ?? this.now(), ...fields }, digest);
      } else {
        this.store.update(userId, { ...fields, sourceDigest: digest });
      }
      // The file says which tools and which voice; an edited file without them takes them away.
      this.store.update(userId, { tools: def.tools ?? [], voice: def.voice ?? null, voiceReplies: def.voice_replies ?? null });
    }
    const record = this.store.recordByUserId(userId)!;
    await this.matrix.register(userId);
    await this.ensureProfile(userId, record.name, record.avatarUrl);
    if (record.status !== 'active') this.store.setStatus(userId, 'active');

    const joined = new Set(this.store.rooms(userId));
    for (const room of def.rooms ?? []) {
      try {
        const roomId = await this.matrix.resolveRoom(room);
        if (joined.has(roomId)) continue;
        await this.matrix.joinRoom(userId, roomId);
        this.store.addRoom(userId, roomId, this.now());
        joined.add(roomId);
      } catch (err) {
        warnings.push(`rooms: could not join ${room}: ${errorText(err)}`);
      }
    }
    return warnings;
  }

  /** Writes displayname and avatar only where they differ from what we last set. */
  private async ensureProfile(userId: string, displayname: string, avatarUrl: string | null): Promise<void> {
    const last = this.store.lastProfile(userId);
    if (last?.displayname !== displayname) {
      await this.matrix.setDisplayName(userId, displayname);
      this.store.recordProfile(userId, { displayname }, this.now());
    }
    if ((last?.avatarUrl ?? null) !== avatarUrl) {
      await this.matrix.setAvatarUrl(userId, avatarUrl);
      this.store.recordProfile(userId, { avatarUrl }, this.now());
    }
  }

  /** An mxc:// URI for the reference, uploading http(s) and file images once (cached by URL or content). */
  private async resolveAvatar(ref: string, baseDir?: string): Promise<string> {
    let source;
    try {
      source = parseAvatarSource(ref, baseDir);
    } catch (err) {
      throw new PersonaError(errorText(err));
    }
    if (source.kind === 'mxc') return source.uri;
    if (source.kind === 'http') {
      const cached = this.store.uploadedAvatar(source.url);
      if (cached) return cached;
    }
    let image;
    try {
      image = await loadAvatarImage(source, this.deps.fetch, this.deps.fetchPolicy);
    } catch (err) {
      throw new PersonaError(errorText(err));
    }
    return this.uploadAvatar(image);
  }

  /** Uploads an image once (cached by URL or content digest); returns its mxc:// URI. */
  private async uploadAvatar(image: { data: Buffer; contentType: string; filename: string; cacheKey?: string }): Promise<string> {
    const cacheKey = image.cacheKey ?? `sha256:${createHash('sha256').update(image.data).digest('hex')}`;
    const cached = this.store.uploadedAvatar(cacheKey);
    if (cached) return cached;
    let mxc: string;
    try {
      mxc = await this.matrix.uploadImage(image.data, image.contentType, image.filename);
    } catch (err) {
      throw new PersonaError(`Could not upload the avatar to the media repository: ${describeMatrixError(err)}`);
    }
    this.store.recordAvatarUpload(cacheKey, mxc, this.now());
    return mxc;
  }
}
