import { prng, type BenchRoom } from './world.js';

/**
 * The needle benchmark's facts (issue 16): 100 distinct facts planted in the history of a few
 * deep DMs at depths from 100 to 100,000 messages before the question, each with a question
 * phrased differently. What a question shares with its fact is the topic noun (sometimes in
 * another form: "story"/"stories", "grandmother"/"grandma" does not count) and at times one
 * more word; the rest of the wording differs. Each topic noun also occurs in a few other
 * messages of the room that do not hold the fact (distractors), so a fact is not found merely
 * because its topic is unique.
 */

export interface Needle {
  roomId: string;
  /** Messages in its room after the fact, before the question. */
  depth: number;
  fact: string;
  question: string;
  /** A made-up word only the fact contains: the prompt holds the fact iff it holds this. */
  answer: string;
}

/** Planted texts by room and position (0 = the room's first message). */
export type Plantings = Map<string, Map<number, string>>;

export const TOPICS = (
  'tortoise parrot ferret hamster iguana gecko alpaca llama goldfish rabbit violin cello trombone harp banjo ukulele ' +
  'clarinet accordion saxophone harmonica bicycle scooter canoe kayak tractor motorbike caravan sailboat glider skateboard ' +
  'lasagna risotto dumpling pancake croissant burrito omelette casserole curry goulash dentist plumber lawyer accountant ' +
  'surgeon landlord mechanic tailor barber florist passport diploma wallet umbrella backpack suitcase telescope microscope ' +
  'typewriter camera orchid cactus bonsai tulip sunflower fern lavender ivy magnolia bamboo marathon tournament audition ' +
  'interview wedding funeral graduation reunion concert festival novel poem sculpture painting podcast documentary opera ' +
  'ballet sonnet mural kettle lantern hammock teapot scarf guitar piano trumpet drum flute'
).split(' ');

/** Fact and question templates: {x} the topic, {xs} its plural, {a} the answer. */
const TEMPLATES: Array<[fact: string, question: string]> = [
  ['Remember that my {x} is called {a}, it matters to me.', 'What is the name of my {x} again?'],
  ['The {x} I told you about belongs to {a} now.', 'Who owns that {x} these days?'],
  ['My favourite {x} story is the one about {a} from the old town.', 'Which {x} stories do I love most?'],
  ['I keep my {x} things at {a}, over the winter.', 'Where do I store the {x} stuff during winter?'],
  ['Yesterday I learnt that {a} is the person for anything about {xs} in town.', 'Who should I ask about a {x} around here?'],
  ['Note for later: the {x} password is {a}.', 'I forgot the password for the {x}; what was it?'],
  ['My brother swears the best {x} in the world is {a}.', 'Which {x} does my brother rate highest?'],
  ['When I was small my grandmother gave me a {x} she had named {a}.', 'What did grandma call the {x} she gave me?'],
  ['Our {x} club meets at {a} every Thursday evening.', 'Where does the {x} club get together on Thursdays?'],
  ['I finally decided: the new {x} will be called {a}.', 'Did I pick a name for the new {x}?'],
];

const DISTRACTORS = ['Talking of {xs}, did you see that thing on television?', 'No idea why, but I dreamt about a {x} last night.', 'A {x} again? You and your {xs}!'];
/** Messages per topic that mention it without the fact. */
export const DISTRACTORS_PER_FACT = DISTRACTORS.length;

const SYLLABLES = ['zor', 'vath', 'quil', 'mex', 'tran', 'bol', 'kiv', 'dra', 'spen', 'yul', 'oth', 'rax', 'fen', 'gli', 'mur', 'tes'];

function plural(noun: string): string {
  if (/(s|x|ch|sh)$/.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

function fill(template: string, topic: string, answer = ''): string {
  return template.replaceAll('{xs}', plural(topic)).replaceAll('{x}', topic).replaceAll('{a}', answer);
}

/** `count` depths spread evenly on a log scale from `shallowest` to `deepest`. */
export function needleDepths(count: number, shallowest: number, deepest: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(shallowest * (deepest / shallowest) ** (count <= 1 ? 0 : i / (count - 1))));
}

/**
 * The needles for these rooms (round robin) and what to write where: each room's facts at
 * their depths, and the distractors at random positions elsewhere in the room.
 */
export function planNeedles(rooms: BenchRoom[], count: number, deepest: number, seed = 7): { needles: Needle[]; plantings: Plantings } {
  if (TOPICS.length < count) throw new Error(`only ${TOPICS.length} needle topics`);
  const random = prng(seed);
  const used = new Set<string>();
  const answerWord = (): string => {
    for (;;) {
      const word = Array.from({ length: 3 }, () => SYLLABLES[Math.floor(random() * SYLLABLES.length)]).join('');
      const answer = word[0]!.toUpperCase() + word.slice(1);
      if (!used.has(answer)) {
        used.add(answer);
        return answer;
      }
    }
  };
  const plantings: Plantings = new Map(rooms.map((r) => [r.roomId, new Map<number, string>()]));
  const needles: Needle[] = [];
  const depths = needleDepths(count, 100, deepest);
  for (let i = 0; i < count; i++) {
    const room = rooms[i % rooms.length]!;
    const depth = depths[i]!;
    if (depth >= room.seededMessages) throw new Error(`room ${room.roomId} has ${room.seededMessages} messages, fewer than depth ${depth}`);
    const topic = TOPICS[i]!;
    const [factTemplate, questionTemplate] = TEMPLATES[i % TEMPLATES.length]!;
    const answer = answerWord();
    const fact = fill(factTemplate, topic, answer);
    const at = plantings.get(room.roomId)!;
    at.set(room.seededMessages - 1 - depth, fact);
    needles.push({ roomId: room.roomId, depth, fact, question: fill(questionTemplate, topic), answer });
  }
  for (let i = 0; i < count; i++) {
    const room = rooms[i % rooms.length]!;
    const at = plantings.get(room.roomId)!;
    for (const template of DISTRACTORS) {
      let position: number;
      do position = Math.floor(random() * room.seededMessages);
      while (at.has(position));
      at.set(position, fill(template, TOPICS[i]!));
    }
  }
  return { needles, plantings };
}
