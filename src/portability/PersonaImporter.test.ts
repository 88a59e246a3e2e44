import { applyImport, describeOutcome, type ImportTarget } from './PersonaImporter.js';
import type { ImportPlan, PersonaDraft } from './PersonaDraft.js';

const draft = (name: string): PersonaDraft => ({ name, prompt: `You are ${name}.`, firstMessage: null, avatar: null, traits: {}, card: {}, source: 'pluralkit' });

function fakeTarget(existing: Record<string, string> = {}, failing: string[] = []) {
  const created: Array<{ name: string; id?: string; creator: string }> = [];
  const target: ImportTarget = {
    existingByName: (name) => existing[name.toLowerCase()],
    async create(d, { id, creator }) {
      if (failing.includes(d.name)) throw new Error('M_UNKNOWN: homeserver said no');
      created.push({ name: d.name, creator, ...(id ? { id } : {}) });
      return { userId: `@persona_${id ?? d.name.toLowerCase()}:hs` };
    },
  };
  return { target, created };
}

const plan: ImportPlan = { format: 'PluralKit export (version 2)', personas: [draft('Zoë'), draft('Mags'), draft('Fern')], skipped: [{ name: '(unnamed)', reason: 'it has no name' }] };

describe('applying an import', () => {
  test('creates each persona; taken names are skipped, failures reported, the rest go ahead', async () => {
    const { target, created } = fakeTarget({ mags: '@persona_mags:hs' }, ['Fern']);
    const outcome = await applyImport(plan, target, { creator: '@admin:hs' });
    expect(created).toEqual([{ name: 'Zoë', creator: '@admin:hs' }]);
    expect(describeOutcome(outcome)).toBe(
      'PluralKit export (version 2): created 1 persona: Zoë (@persona_zoë:hs)\n' +
        'skipped 2: (unnamed) (it has no name); Mags (a persona with this name exists (@persona_mags:hs))\n' +
        'failed 1: Fern (M_UNKNOWN: homeserver said no)',
    );
  });

  test('a dry run creates nothing and says what it would do', async () => {
    const { target, created } = fakeTarget({ mags: '@persona_mags:hs' });
    const outcome = await applyImport(plan, target, { creator: '@admin:hs', dryRun: true });
    expect(created).toEqual([]);
    expect(describeOutcome(outcome, true)).toBe(
      'PluralKit export (version 2): would create 2 personas: Zoë, Fern\n' +
        'would skip 2: (unnamed) (it has no name); Mags (a persona with this name exists (@persona_mags:hs))',
    );
  });

  test('--id is for one card only', async () => {
    const { target, created } = fakeTarget();
    await expect(applyImport(plan, target, { creator: 'c', id: 'x' })).rejects.toThrow('--id names one persona, but this PluralKit export (version 2) has 3.');
    expect(created).toEqual([]);
    const one = await applyImport({ format: 'character card', personas: [draft('小月')], skipped: [] }, target, { creator: 'c', id: 'moon' });
    expect(one.created).toEqual([{ name: '小月', userId: '@persona_moon:hs' }]);
  });
});
