import type { LoreStore } from '../lore/LoreStore.js';
import { mergeBooks } from '../lore/mergeBooks.js';
import { PersonaError, type PersonaLifecycle } from '../personas/PersonaLifecycle.js';
import type { PersonaStore } from '../personas/PersonaStore.js';
import { DownloadError } from '../portability/boundedDownload.js';
import { cardFilename, cardJson, cardPng, personaToCard } from '../portability/cardExport.js';
import { formatBytes, ImportError, MAX_IMPORT_BYTES } from '../portability/ImportError.js';
import { DOWNLOAD_TIMEOUT_MS, readImportSource, type ImportMedia } from './importSource.js';
import { planImport } from '../portability/importFile.js';
import type { PersonaCardStore } from '../portability/PersonaCardStore.js';
import type { PersonaDraft } from '../portability/PersonaDraft.js';
import { applyImport, describeOutcome, type ImportTarget } from '../portability/PersonaImporter.js';
import { UsageError, type Command } from './CommandTable.js';
import { describeError } from '../util/describeError.js';

export interface PortabilityDeps {
  lifecycle: PersonaLifecycle;
  store: PersonaStore;
  cards: PersonaCardStore;
  /** Media and events as the bot: the uploaded file to import, a persona's avatar to export. */
  media: ImportMedia;
  /** Standalone lorebooks attached to a persona go into its exported card's book. */
  lore?: Pick<LoreStore, 'personaBooks'>;
}

/** `--id ID`, `--dry-run` and at most one source word. */
function parseImportArgs(args: string[]): { source: string | null; id?: string; dryRun: boolean } {
  let source: string | null = null;
  let id: string | undefined;
  let dryRun = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--dry-run') dryRun = true;
    else if (arg === '--id' || arg.startsWith('--id=')) {
      id = arg.includes('=') ? arg.slice(5) : args[++i];
      if (!id) throw new UsageError('Option --id needs a value.');
    } else if (arg.startsWith('--')) throw new UsageError(`Unknown option '${arg}'.`);
    else if (source === null) source = arg;
    else throw new UsageError('Give one file, URL or path.');
  }
  return { source, dryRun, ...(id !== undefined ? { id } : {}) };
}

/** Where drafts become personas: the lifecycle, then the card's own parts. */
function importTarget(deps: PortabilityDeps): ImportTarget {
  return {
    existingByName: (name) => deps.store.recordByName(name)?.userId,
    async create(draft: PersonaDraft, { id, creator }) {
      const base = {
        name: draft.name,
        prompt: draft.prompt,
        creator,
        traits: draft.traits,
        model: draft.model ?? null,
        temperature: draft.temperature ?? null,
        ...(id !== undefined ? { id } : {}),
      };
      const avatar =
        draft.avatar?.kind === 'image' ? { avatarImage: draft.avatar } : draft.avatar?.kind === 'url' ? { avatar: draft.avatar.url } : {};
      let result;
      let note: string | undefined;
      try {
        result = await deps.lifecycle.spawn({ ...base, ...avatar });
      } catch (err) {
        // An avatar that cannot be fetched is checked before anything is created: the persona
        // is still worth having without it.
        if (!(err instanceof PersonaError) || !draft.avatar || !/avatar/i.test(err.message) || deps.store.recordByName(draft.name)) throw err;
        result = await deps.lifecycle.spawn(base);
        note = `without its avatar: ${err.message}`;
      }
      if (draft.firstMessage || Object.keys(draft.card).length > 0) {
        try {
          deps.cards.set(result.persona.userId, { firstMessage: draft.firstMessage, card: draft.card });
        } catch (err) {
          // A persona without the rest of its card is not what was imported: none is left.
          await deps.lifecycle.despawn(draft.name, creator).catch(() => undefined);
          throw new Error(`its card could not be stored (${describeError(err)}), so it was removed again`);
        }
      }
      return { userId: result.persona.userId, ...(note ? { note } : {}) };
    },
  };
}

/** `!persona import` and `!persona export`: character cards and PluralKit/Tupperbox exports. */
export function portabilityCommands(deps: PortabilityDeps): Command[] {
  return [
    {
      name: 'persona import',
      usage: '[FILE | mxc://… | https://…] [--id ID] [--dry-run]',
      help: `create personas from a character card (V1/V2/V3, JSON or PNG) or a PluralKit/Tupperbox export; attach it with this as caption or reply to it (up to ${formatBytes(MAX_IMPORT_BYTES)})`,
      permission: 'admin',
      async run(ctx) {
        const args = parseImportArgs(ctx.args);
        let plan;
        try {
          const source = await readImportSource(ctx, args.source, deps.media, 'the card or export');
          plan = planImport(source.data, source.filename);
        } catch (err) {
          if (err instanceof ImportError || err instanceof DownloadError) return ctx.fail(`Nothing was imported: ${err.message}`);
          throw err;
        }
        const outcome = await applyImport(plan, importTarget(deps), {
          creator: ctx.sender,
          dryRun: args.dryRun,
          ...(args.id !== undefined ? { id: args.id } : {}),
        });
        const text = describeOutcome(outcome, args.dryRun);
        ctx.data({ dryRun: args.dryRun, ...outcome });
        if (outcome.failed.length > 0 || (!args.dryRun && outcome.created.length === 0)) return ctx.fail(text);
        await ctx.reply(text);
      },
    },
    {
      name: 'persona export',
      usage: '<Name>',
      help: 'a persona as a Character Card V2: a JSON file, and a PNG card when its avatar is a PNG',
      permission: 'admin',
      async run(ctx) {
        if (ctx.args.length !== 1) throw new UsageError('Give exactly one persona name.');
        const record = deps.store.recordByName(ctx.args[0]!);
        if (!record) return ctx.fail(`No persona named '${ctx.args[0]}'. Send !persona list to see them.`);
        const extra = deps.cards.get(record.userId);
        // The persona's book as it answers: its card's own and the lorebooks attached to it.
        const book = mergeBooks(extra.card.character_book, deps.lore?.personaBooks(record.userId) ?? []);
        const card = personaToCard({ ...record, firstMessage: extra.firstMessage, card: { ...extra.card, ...(book ? { character_book: book } : {}) } });
        const files = [cardFilename(record.userId, 'json')];
        await ctx.sendFile({ name: files[0]!, mimetype: 'application/json', data: cardJson(card) });
        let pngNote = ' (no avatar, so no PNG card)';
        if (record.avatarUrl) {
          const avatar = await deps.media.download(record.avatarUrl, MAX_IMPORT_BYTES, DOWNLOAD_TIMEOUT_MS).catch(() => null);
          const png = avatar ? cardPng(card, avatar.data) : null;
          if (png) {
            files.push(cardFilename(record.userId, 'png'));
            await ctx.sendFile({ name: files[1]!, mimetype: 'image/png', data: png });
            pngNote = '';
          } else {
            pngNote = avatar ? ' (the avatar is not a PNG, so no PNG card)' : ' (the avatar could not be downloaded, so no PNG card)';
          }
        }
        ctx.data({ persona: record.name, files });
        await ctx.reply(`Exported ${record.name} as a V2 character card: ${files.join(', ')}${pngNote}.`);
      },
    },
  ];
}
