import type { ToolImage, ToolOutput } from './Tool.js';

/** Pictures kept from one result (the rest are named only). */
const MAX_IMAGES = 4;
/** A picture larger than this (base64 characters) is named, not kept. */
const MAX_IMAGE_CHARS = 8 * 1024 * 1024;

interface ContentItem {
  type?: unknown;
  text?: unknown;
  data?: unknown;
  mimeType?: unknown;
  resource?: { uri?: unknown; text?: unknown; mimeType?: unknown };
  uri?: unknown;
  name?: unknown;
}

/**
 * An MCP `tools/call` result as the tool loop uses it: the text parts (embedded text
 * resources too) joined, pictures apart, other media named; `structuredContent` as JSON when
 * there is no text; `isError` kept. Anything unexpected in the shape is skipped, not trusted.
 */
export function mcpOutput(result: unknown): ToolOutput {
  const r = (result ?? {}) as { content?: unknown; structuredContent?: unknown; isError?: unknown; toolResult?: unknown };
  const texts: string[] = [];
  const images: ToolImage[] = [];
  const content = Array.isArray(r.content) ? (r.content as ContentItem[]) : [];
  for (const item of content) {
    if (typeof item !== 'object' || item === null) continue;
    if (item.type === 'text' && typeof item.text === 'string') texts.push(item.text);
    else if (item.type === 'image' && typeof item.data === 'string' && typeof item.mimeType === 'string') {
      if (images.length < MAX_IMAGES && item.data.length <= MAX_IMAGE_CHARS) images.push({ mimeType: item.mimeType, data: item.data });
      texts.push(`[image ${item.mimeType}]`);
    } else if (item.type === 'resource' && typeof item.resource?.text === 'string') texts.push(item.resource.text);
    else if (item.type === 'resource' && typeof item.resource?.uri === 'string') texts.push(`[resource ${item.resource.uri}]`);
    else if (item.type === 'resource_link' && typeof item.uri === 'string') texts.push(`[link ${item.uri}]`);
    else if (item.type === 'audio') texts.push('[audio]');
  }
  if (texts.length === 0 && r.structuredContent !== undefined) texts.push(JSON.stringify(r.structuredContent));
  // Servers on the 2024-10-07 protocol answer `{ toolResult }`.
  if (texts.length === 0 && r.toolResult !== undefined) texts.push(typeof r.toolResult === 'string' ? r.toolResult : JSON.stringify(r.toolResult));
  return { text: texts.join('\n'), isError: r.isError === true, images };
}
