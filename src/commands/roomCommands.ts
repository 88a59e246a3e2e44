/**
 * Commands about the room they are sent in: its persona settings (kept in room state, see
 * rooms/roomSettings.ts) and muting. Anyone may look; only the room's moderators (the power
 * level the room needs to set the settings event) and bridge admins may change them.
 */
import { describeMatrixError } from '../matrix/errors.js';
import type { PersonaDirectory } from '../personas/Persona.js';
import {
  describeRoomSettings,
  isMuted,
  levelOf,
  ORDER_MODES,
  requiredLevel,
  withMuted,
  type OrderMode,
  type RoomSettings,
} from '../rooms/roomSettings.js';
import type { RoomSettingsStore } from '../rooms/RoomSettingsStore.js';
import { UsageError, type Command, type CommandContext } from './CommandTable.js';
import { findByName, foldName } from '../util/nameFolding.js';

export interface RoomCommandDeps {
  settings: Pick<RoomSettingsStore, 'ensureLoaded' | 'get' | 'powerLevels' | 'save'>;
  personas: PersonaDirectory;
  /** The turn budget a room without an override has. */
  defaultTurnBudget: number;
  /** The command prefix, for the order description (`!next`); default `!`. */
  prefix?: string;
}

/** The room the command is about; the console has none. */
function roomOf(ctx: CommandContext): string {
  if (!ctx.roomId) throw new UsageError('This command works in a room only.');
  return ctx.roomId;
}

/** Null when the sender may change the room's settings, else the refusal to send. */
export function changeRefusal(ctx: CommandContext, powerLevels: Record<string, unknown> | null): string | null {
  if (ctx.isAdmin) return null;
  const needed = requiredLevel(powerLevels);
  const has = levelOf(powerLevels, ctx.sender);
  if (has >= needed) return null;
  return `Only this room's moderators (power level ${needed} or more; yours is ${has}) and bridge admins can change its persona settings.`;
}

export function roomCommands(deps: RoomCommandDeps): Command[] {
  /** Loads, checks the sender may change the room, applies `change` and writes it back. */
  const change = async (ctx: CommandContext, update: (current: RoomSettings) => RoomSettings, done: string): Promise<void> => {
    const roomId = roomOf(ctx);
    await deps.settings.ensureLoaded(roomId);
    const refusal = changeRefusal(ctx, deps.settings.powerLevels(roomId));
    if (refusal) return ctx.fail(refusal);
    try {
      await deps.settings.save(roomId, update(deps.settings.get(roomId)));
    } catch (err) {
      return ctx.fail(
        `Could not store the settings in the room's state (${describeMatrixError(err)}). ` +
          `The bridge stores them as the bot or a persona, which needs the power level to set state events.`,
      );
    }
    await ctx.reply(done);
  };

  const personaNamed = (name: string | undefined): string => {
    if (!name) throw new UsageError('Missing the persona name.');
    const persona = findByName(name, deps.personas.list(), (p) => p.name);
    if (!persona) throw new UsageError(`No persona is called '${name}'.`);
    return persona.name;
  };

  return [
    {
      name: 'room settings',
      where: 'group',
      usage: '',
      help: "show this room's persona settings (order, turn budget, muted, talkativeness)",
      permission: 'anyone',
      run: async (ctx) => {
        const roomId = roomOf(ctx);
        await deps.settings.ensureLoaded(roomId);
        await ctx.reply(describeRoomSettings(deps.settings.get(roomId), deps.defaultTurnBudget, deps.prefix));
      },
    },
    {
      name: 'room set',
      where: 'group',
      usage: `order <${ORDER_MODES.join('|')}> | turn_budget <N|default> | talkativeness <Name> <0..1|default>`,
      help: "change this room's persona settings (moderators and admins)",
      permission: 'anyone',
      run: async (ctx) => {
        const [key, value, extra] = ctx.args;
        switch (key) {
          case 'order': {
            if (!ORDER_MODES.includes(value as OrderMode)) throw new UsageError(`The order is one of ${ORDER_MODES.join(', ')}.`);
            return change(ctx, (s) => ({ ...s, order: value as OrderMode }), `Order set to ${value}.`);
          }
          case 'turn_budget': {
            if (value === 'default') {
              return change(ctx, ({ turn_budget: _dropped, ...s }) => s, `Turn budget back to the default (${deps.defaultTurnBudget}).`);
            }
            const n = Number(value);
            if (!Number.isInteger(n) || n < 0 || n > 1000) throw new UsageError('The turn budget is a whole number from 0 to 1000, or default.');
            return change(ctx, (s) => ({ ...s, turn_budget: n }), `Turn budget set to ${n}.`);
          }
          case 'talkativeness': {
            const name = personaNamed(value);
            if (extra === 'default') {
              return change(
                ctx,
                (s) => {
                  const talk = Object.fromEntries(Object.entries(s.talkativeness ?? {}).filter(([n]) => foldName(n) !== foldName(name)));
                  const { talkativeness: _dropped, ...rest } = s;
                  return Object.keys(talk).length ? { ...rest, talkativeness: talk } : rest;
                },
                `${name}'s talkativeness back to the default.`,
              );
            }
            const t = Number(extra);
            if (extra === undefined || !Number.isFinite(t) || t < 0 || t > 1) throw new UsageError('Talkativeness is a number from 0 to 1, or default.');
            return change(ctx, (s) => ({ ...s, talkativeness: { ...s.talkativeness, [name]: t } }), `${name}'s talkativeness set to ${t}.`);
          }
          default:
            throw new UsageError(key ? `Unknown setting '${key}'.` : 'Missing the setting.');
        }
      },
    },
    {
      name: 'persona mute',
      where: 'group',
      usage: '<Name>',
      help: 'the persona stays silent in this room (moderators and admins)',
      permission: 'anyone',
      run: async (ctx) => {
        const name = personaNamed(ctx.args[0]);
        await change(ctx, (s) => withMuted(s, name, true), `${name} is muted in this room.`);
      },
    },
    {
      name: 'persona unmute',
      where: 'group',
      usage: '<Name>',
      help: 'the persona answers in this room again (moderators and admins)',
      permission: 'anyone',
      run: async (ctx) => {
        const name = personaNamed(ctx.args[0]);
        const roomId = roomOf(ctx);
        await deps.settings.ensureLoaded(roomId);
        if (!isMuted(deps.settings.get(roomId), name)) return ctx.reply(`${name} is not muted in this room.`);
        await change(ctx, (s) => withMuted(s, name, false), `${name} is no longer muted in this room.`);
      },
    },
  ];
}
