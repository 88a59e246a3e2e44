import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ajvKeyPath, describeAjvError } from '../config/ajvErrors.js';
import { displayNameProblem } from '../personas/personaId.js';
import { cardFirstMessage, cardPrompt } from './cardPrompt.js';
import { cardDataSchema, OUR_EXTENSION, wrappedCardSchema, type CardData } from './cardSchema.js';
import { refuseDeepJson } from './boundedJson.js';
import { ImportError } from './ImportError.js';
import type { CardExtras, DraftAvatar, ImportPlan, PersonaDraft } from './PersonaDraft.js';
import { readPngText, rewritePngText } from './pngText.js';
import { describeError } from '../util/describeError.js';

const ajv = new Ajv({ allErrors: true, strict: true });
const validateWrapped: ValidateFunction<{ spec: string; spec_version: string; data: CardData }> = ajv.compile(wrappedCardSchema);
const validateV1: ValidateFunction<CardData> = ajv.compile(cardDataSchema);

/** The card specs we read, by their `spec` value, with the major version each must have. */
const SPECS: Record<string, string> = { chara_card_v2: '2', chara_card_v3: '3' };
/** PNG text chunks that carry a card: V3's first, as the V3 spec says readers should prefer it. */
export const CARD_CHUNKS = ['ccv3', 'chara'] as const;

function ajvProblems(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${ajvKeyPath(e)} ${e.keyword === 'maxLength' ? `is longer than ${String(e.params.limit)} characters` : describeAjvError(e)}`)
    .join('; ');
}

/** True for a JSON value that looks like a card of some version (so the importer picks this parser). */
export function looksLikeCard(value: Record<string, unknown>): boolean {
  if ('spec' in value) return true;
  // V1 (TavernAI): the fields at the top level, no wrapper.
  return typeof value.name === 'string' && ['description', 'personality', 'first_mes', 'scenario'].some((k) => typeof value[k] === 'string');
}

/**
 * A parsed card (JSON value) -> one persona draft. `image` is the PNG the card came in, which
 * is then its avatar.
 */
export function cardToPlan(value: Record<string, unknown>, image?: DraftAvatar): ImportPlan {
  let data: CardData;
  let format: string;
  if ('spec' in value) {
    const spec = value.spec;
    if (typeof spec !== 'string' || !(spec in SPECS)) {
      throw new ImportError('unknown_format', `Unknown card spec ${JSON.stringify(spec)}: supported are ${Object.keys(SPECS).join(', ')}.`);
    }
    const version = value.spec_version;
    if (typeof version !== 'string' || version.split('.')[0] !== SPECS[spec]) {
      throw new ImportError(
        'unknown_format',
        `Unknown spec_version ${JSON.stringify(version)} for ${spec}: expected ${SPECS[spec]}.x.`,
      );
    }
    if (!validateWrapped(value)) throw new ImportError('invalid', `Invalid character card: ${ajvProblems(validateWrapped.errors)}.`);
    data = value.data;
    format = `character card (${spec} ${version})`;
  } else {
    if (!validateV1(value)) throw new ImportError('invalid', `Invalid character card (V1): ${ajvProblems(validateV1.errors)}.`);
    data = value;
    format = 'character card (V1)';
  }
  return { format, personas: [cardToDraft(data, spec(value), image)], skipped: [] };
}

const spec = (value: Record<string, unknown>): string => (typeof value.spec === 'string' ? value.spec : 'chara_card_v1');

function cardToDraft(data: CardData, source: string, image?: DraftAvatar): PersonaDraft {
  const name = data.name.trim();
  const problem = displayNameProblem(name);
  if (problem) throw new ImportError('bad_name', `The card's name ${JSON.stringify(data.name)} cannot be used: ${problem}.`);
  const prompt = cardPrompt(data);
  if (!prompt) throw new ImportError('invalid', `The card for ${name} has no description, personality, scenario or system prompt: there is nothing to build a prompt from.`);
  const ours = data.extensions?.[OUR_EXTENSION];
  return {
    name,
    prompt,
    firstMessage: cardFirstMessage(data),
    avatar: image ?? avatarReference(data),
    traits: withCardTalkativeness(ours?.traits ?? {}, data.extensions?.talkativeness),
    ...(ours?.model !== undefined ? { model: ours.model } : {}),
    ...(ours?.temperature !== undefined ? { temperature: ours.temperature } : {}),
    card: extrasOf(data),
    source,
  };
}

/**
 * SillyTavern keeps how likely a character speaks up in a group (0..1, a string such as "0.5")
 * in `extensions.talkativeness`: it becomes the persona's `talkativeness` trait, the default
 * the `natural` order uses, unless our own traits already say.
 */
function withCardTalkativeness(traits: Record<string, unknown>, talkativeness: unknown): Record<string, unknown> {
  if (traits.talkativeness !== undefined) return traits;
  const value = typeof talkativeness === 'number' ? talkativeness : typeof talkativeness === 'string' && talkativeness.trim() !== '' ? Number(talkativeness) : NaN;
  return value >= 0 && value <= 1 ? { ...traits, talkativeness: value } : traits;
}

/** A card without an image of its own may point at one: V3's main icon asset, or our extension. */
function avatarReference(data: CardData): DraftAvatar | null {
  const icon = data.assets?.find((a) => a.type === 'icon' && (a.name === 'main' || a.name === undefined)) ?? data.assets?.find((a) => a.type === 'icon');
  const candidates = [icon?.uri, data.extensions?.[OUR_EXTENSION]?.avatar];
  const url = candidates.find((u): u is string => typeof u === 'string' && /^(https?|mxc):\/\//i.test(u));
  return url ? { kind: 'url', url } : null;
}

function extrasOf(data: CardData): CardExtras {
  const extras: CardExtras = {};
  if (data.creator_notes) extras.creator_notes = data.creator_notes;
  if (data.creator) extras.creator = data.creator;
  if (data.character_version) extras.character_version = data.character_version;
  if (data.tags?.length) extras.tags = data.tags;
  if (data.alternate_greetings?.length) extras.alternate_greetings = data.alternate_greetings;
  if (data.character_book) extras.character_book = data.character_book;
  // Our own extension is rewritten on export from the persona as it is then.
  const { [OUR_EXTENSION]: _ours, ...others } = data.extensions ?? {};
  if (Object.keys(others).length > 0) extras.extensions = others;
  return extras;
}

/** A PNG card: the JSON from its `ccv3` or `chara` text chunk; the image (without them) is the avatar. */
export function pngCardToPlan(png: Buffer, filename: string): ImportPlan {
  let texts: Map<string, string>;
  try {
    texts = readPngText(png);
  } catch (err) {
    throw new ImportError('bad_png', `The PNG cannot be read: ${describeError(err)}.`);
  }
  const keyword = CARD_CHUNKS.find((k) => texts.has(k));
  if (!keyword) {
    throw new ImportError('no_card', "The PNG has no character card in it (no 'chara' or 'ccv3' text chunk): it is just an image.");
  }
  const json = Buffer.from(texts.get(keyword)!, 'base64').toString('utf8');
  refuseDeepJson(json, `The PNG's '${keyword}' chunk`);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new ImportError('bad_json', `The PNG's '${keyword}' chunk is not base64-encoded JSON: ${describeError(err)}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImportError('invalid', `The PNG's '${keyword}' chunk holds ${Array.isArray(value) ? 'an array' : typeof value}, not a card object.`);
  }
  const image: DraftAvatar = { kind: 'image', data: rewritePngText(png, CARD_CHUNKS), contentType: 'image/png', filename: avatarFilename(filename) };
  return cardToPlan(value as Record<string, unknown>, image);
}

const avatarFilename = (filename: string): string => (/\.png$/i.test(filename) ? filename : `${filename || 'avatar'}.png`);
