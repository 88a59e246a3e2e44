import { RUNTIME_DEFAULTS } from '../runtime/runtimePlan.js';
import { DEFAULT_CACHE_MIB } from '../store/pageCache.js';

const logLevels = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;

/**
 * The config schema. Every object is closed (`additionalProperties: false`) so a typo is an
 * error rather than a silently ignored key; defaults live here so the sample config and the
 * code cannot disagree.
 */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['homeserver', 'admins', 'llm'],
  properties: {
    homeserver: {
      type: 'object',
      additionalProperties: false,
      required: ['url', 'domain'],
      properties: {
        url: { type: 'string', pattern: '^https?://' },
        domain: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9.:\\-\\[\\]]+$' },
      },
    },
    appservice: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        bind: { type: 'string', default: '127.0.0.1' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 9000 },
        bot_localpart: { type: 'string', pattern: '^[a-z0-9._=\\-/]+$', default: 'personas' },
        bot_displayname: { type: 'string', minLength: 1, default: 'Personas' },
        persona_prefix: { type: 'string', pattern: '^[a-z0-9._=\\-]+$', default: 'persona_' },
      },
    },
    admins: {
      type: 'array',
      items: { type: 'string', pattern: '^@[^:]+:.+$' },
      default: [],
    },
    database: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        path: { type: 'string', minLength: 1, default: './data/personas.db' },
        cache_mb: { type: 'integer', minimum: 1, maximum: 4096, default: DEFAULT_CACHE_MIB },
      },
    },
    llm: {
      type: 'object',
      additionalProperties: false,
      // base_url and model: required unless llm.backends names the endpoints (checked in
      // validateConfig, which can say which key is missing).
      required: [],
      properties: {
        base_url: { type: 'string', pattern: '^https?://' },
        api_key: { type: 'string', default: '' },
        model: { type: 'string', minLength: 1 },
        temperature: { type: 'number', minimum: 0, maximum: 2, default: 0.8 },
        max_tokens: { type: 'integer', minimum: 1, default: 1024 },
        context: { type: 'integer', minimum: 256 },
        timeout_seconds: { type: 'number', exclusiveMinimum: 0, default: 120 },
        max_retries: { type: 'integer', minimum: 0, maximum: 10, default: 2 },
        max_concurrent: { type: 'integer', minimum: 1, default: 4 },
        stream: { type: 'boolean', default: true },
        // The most characters one answer (or summary) may have: a longer one is cut there and says so.
        max_answer_chars: { type: 'integer', minimum: 100, default: 16000 },
        // Offer tools (function calling) to the models; false for endpoints that cannot take them.
        tools: { type: 'boolean', default: true },
        // Said once per room by a persona answering on this endpoint, after its first answer
        // there (the local stack's demo model says that it writes nonsense, and why).
        notice: { type: 'string', minLength: 1, maxLength: 1000 },
        // The default model can see images (OpenAI image_url content parts); llm.backends
        // entries say it for themselves (`vision`).
        vision: { type: 'boolean', default: false },
        backends: {
          type: 'object',
          default: {},
          propertyNames: { pattern: '^[A-Za-z0-9_.-]+$' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['base_url', 'model'],
            properties: {
              base_url: { type: 'string', pattern: '^https?://' },
              api_key: { type: 'string', default: '' },
              model: { type: 'string', minLength: 1 },
              context: { type: 'integer', minimum: 256 },
              concurrency: { type: 'integer', minimum: 1 },
              timeout: { type: 'number', exclusiveMinimum: 0 },
              tools: { type: 'boolean' },
              notice: { type: 'string', minLength: 1, maxLength: 1000 },
              vision: { type: 'boolean', default: false },
            },
          },
        },
        default_backend: { type: 'string', minLength: 1 },
      },
    },
    tools: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // MCP servers whose tools personas may be allowed (persona `tools:`); a server either
        // runs as a child process (command, args, env, cwd: stdio) or is reached at a url
        // (Streamable HTTP, with headers). Checked further in tools/toolConfig.ts.
        mcp_servers: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,32}$' },
              command: { type: 'string', minLength: 1 },
              args: { type: 'array', items: { type: 'string' }, default: [] },
              env: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
              cwd: { type: 'string', minLength: 1 },
              url: { type: 'string', pattern: '^https?://' },
              headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
              // Every tool of this server waits for a person's ✅ before it runs.
              approval: { type: 'string', enum: ['required', 'never'], default: 'never' },
              // Per call, unless tools.call_timeout_seconds is lower.
              timeout_seconds: { type: 'number', exclusiveMinimum: 0 },
            },
          },
        },
        // Per tool (`server/tool`) or server (`server/*`), over the server's own `approval`.
        approval: {
          type: 'object',
          additionalProperties: false,
          default: {},
          required: [],
          properties: {
            required: { type: 'array', items: { type: 'string' }, uniqueItems: true, default: [] },
            never: { type: 'array', items: { type: 'string' }, uniqueItems: true, default: [] },
          },
        },
        // Model requests with tool calls per answer; the last one is asked to answer without tools.
        max_rounds: { type: 'integer', minimum: 1, maximum: 20, default: 4 },
        // Calls run per round at most; the model is told the rest were not run.
        max_calls_per_round: { type: 'integer', minimum: 1, maximum: 64, default: 8 },
        // One call's time limit.
        call_timeout_seconds: { type: 'number', exclusiveMinimum: 0, default: 60 },
        // The whole loop's time (calls and model requests, approvals not counted).
        time_budget_seconds: { type: 'number', exclusiveMinimum: 0, default: 300 },
        // A tool result is cut to this many (estimated) tokens before the model sees it.
        result_tokens: { type: 'integer', minimum: 64, default: 2000 },
        // An approval not given within this time is a refusal.
        approval_timeout_seconds: { type: 'number', exclusiveMinimum: 0, default: 300 },
      },
    },
    images: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // The built-in images/generate tool: an OpenAI-compatible /v1/images/generations endpoint.
        generation: {
          type: 'object',
          additionalProperties: false,
          required: ['base_url', 'model'],
          properties: {
            base_url: { type: 'string', pattern: '^https?://' },
            api_key: { type: 'string', default: '' },
            model: { type: 'string', minLength: 1 },
            size: { type: 'string', pattern: '^[0-9]+x[0-9]+$', default: '1024x1024' },
            timeout_seconds: { type: 'number', exclusiveMinimum: 0, default: 120 },
          },
        },
      },
    },
    usage: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // Daily token caps (UTC days), 0 for none: per persona over all its rooms, and per user
        // over all personas (admins are not capped).
        persona_daily_tokens: { type: 'integer', minimum: 0, default: 0 },
        user_daily_tokens: { type: 'integer', minimum: 0, default: 0 },
      },
    },
    dispatch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        loop_threshold: { type: 'integer', minimum: 2, default: 5 },
        // No default here: unset means 2 × loop_threshold (see defaultTurnBudget).
        turn_budget: { type: 'integer', minimum: 1 },
        loop_reset_seconds: { type: 'number', exclusiveMinimum: 0, default: 300 },
        max_event_age_seconds: { type: 'number', exclusiveMinimum: 0, default: 300 },
        user_rate_limit: {
          type: 'object',
          additionalProperties: false,
          default: {},
          required: [],
          properties: {
            messages: { type: 'integer', minimum: 1, default: 20 },
            window_seconds: { type: 'number', exclusiveMinimum: 0, default: 60 },
          },
        },
      },
    },
    memory: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        context_tokens: { type: 'integer', minimum: 256, default: 4096 },
        summarize_after_messages: { type: 'integer', minimum: 4, default: 60 },
        recall_messages: { type: 'integer', minimum: 0, maximum: 50, default: 5 },
      },
    },
    media: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // Largest attachment downloaded (images, files, audio), refused before reading when
        // the homeserver says so and cut off while reading when it does not.
        max_mb: { type: 'number', exclusiveMinimum: 0, maximum: 1024, default: 20 },
        // One download (and one speech request's upload) may take this long.
        timeout_seconds: { type: 'number', exclusiveMinimum: 0, default: 60 },
        // Images wider or taller than this many pixels in total are refused (decompression bombs).
        max_pixels: { type: 'integer', minimum: 1, default: 50_000_000 },
        // Images reach the model downscaled to this longest side and re-encoded within this size.
        image_max_side: { type: 'integer', minimum: 64, maximum: 8192, default: 1024 },
        image_max_kb: { type: 'integer', minimum: 16, default: 400 },
        // Only the most recent images carry pixels in a prompt; older ones their description.
        images_in_prompt: { type: 'integer', minimum: 0, maximum: 16, default: 2 },
        // Text of a file (txt, md, csv, json, source, PDF) given to the model, at most.
        file_max_tokens: { type: 'integer', minimum: 64, default: 3000 },
        // Voice messages and audio longer than this are not transcribed.
        audio_max_seconds: { type: 'integer', minimum: 1, default: 600 },
      },
    },
    speech: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // An OpenAI-compatible speech-to-text endpoint (/v1/audio/transcriptions): voice
        // messages are transcribed; without it a persona says it cannot listen.
        transcription: {
          type: 'object',
          additionalProperties: false,
          required: ['base_url', 'model'],
          properties: {
            base_url: { type: 'string', pattern: '^https?://' },
            api_key: { type: 'string', default: '' },
            model: { type: 'string', minLength: 1 },
            timeout_seconds: { type: 'number', exclusiveMinimum: 0, default: 60 },
            language: { type: 'string', minLength: 2 },
          },
        },
        // An OpenAI-compatible text-to-speech endpoint (/v1/audio/speech, response_format
        // opus): personas with a voice answer as voice messages.
        synthesis: {
          type: 'object',
          additionalProperties: false,
          required: ['base_url', 'model'],
          properties: {
            base_url: { type: 'string', pattern: '^https?://' },
            api_key: { type: 'string', default: '' },
            model: { type: 'string', minLength: 1 },
            timeout_seconds: { type: 'number', exclusiveMinimum: 0, default: 60 },
            max_characters: { type: 'integer', minimum: 1, default: 4000 },
          },
        },
      },
    },
    personas: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        directory: { type: 'string', minLength: 1, default: './personas' },
      },
    },
    fetch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // Avatars and cards from loopback, private or link-local addresses (a LAN server).
        allow_private_addresses: { type: 'boolean', default: false },
        // The only folder file:// references may read from; unset: personas.directory.
        file_directory: { type: 'string', minLength: 1 },
      },
    },
    encryption: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        enabled: { type: 'boolean', default: false },
        store_path: { type: 'string', minLength: 1, default: './data/crypto' },
      },
    },
    replies: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // Live answers: the first sentence is shown at once, then edited in place as the
        // model writes (needs llm.stream); a persona can opt out (!persona set Name live off).
        live: { type: 'boolean', default: true },
        // Typing and the read receipt wait this long: a fast answer goes out without them.
        typing_delay_ms: { type: 'integer', minimum: 0, maximum: 30000, default: 1000 },
      },
    },
    feedback: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // Whose ⭐ on a persona's answer makes it a style example in that persona's prompt.
        star_examples: { enum: ['admins', 'anyone'], default: 'admins' },
        // Most starred answers in one prompt (most recently starred first; 0: none).
        examples: { type: 'integer', minimum: 0, maximum: 20, default: 3 },
      },
    },
    // EU AI Act Art. 50: the first answer a person gets from a persona in a direct chat says it
    // is an AI character run by this server (once per person and persona).
    disclosure: { enum: ['first_contact', 'off'], default: 'first_contact' },
    commands: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        // What every command starts with, for the bot's and the personas' commands alike.
        prefix: { type: 'string', minLength: 1, maxLength: 8, pattern: '^\\S+$', default: '!' },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        enabled: { type: 'boolean', default: true },
        bind: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    runtime: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      // Read by the entry point before the bridge loads (src/runtime/runtimePlan.ts holds the
      // defaults, chosen from BENCHMARKS.md); validated here like every other key.
      properties: {
        tune_memory: { type: 'boolean', default: true },
        max_heap_mb: { type: 'integer', minimum: 64, default: RUNTIME_DEFAULTS.maxHeapMb },
        semi_space_mb: { type: 'integer', minimum: 1, maximum: 256, default: RUNTIME_DEFAULTS.semiSpaceMb },
        release_idle_memory: { type: 'boolean', default: true },
      },
    },
    logging: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        level: { type: 'string', enum: logLevels, default: 'info' },
        json: { type: 'boolean', default: false },
        file: {
          description: 'Also log to this file, rotated daily (%DATE% in the name) and by size; SIGHUP or `logs rotate` reopen it.',
          type: 'object',
          additionalProperties: false,
          required: ['path'],
          properties: {
            path: { type: 'string', minLength: 1 },
            max_size: { type: ['string', 'null'], pattern: '^\\d+[kmg]$', default: null },
            max_files: { type: 'string', pattern: '^\\d+d?$', default: '14d' },
          },
        },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        /** '' means admin.sock beside the database. */
        socket: { type: 'string', default: '' },
      },
    },
  },
} as const;
