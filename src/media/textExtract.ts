/**
 * The text of a text-like attachment (plain text, Markdown, CSV, JSON, source code, and PDF
 * through the maintained `unpdf`), cut to a token budget with a note saying so.
 */
import { truncateToTokens } from '../llm/tokens.js';
import { MediaError } from './MediaError.js';
import type { Sniffed } from './sniff.js';

export interface ExtractedText {
  text: string;
  /** The text was longer than the budget and was cut. */
  cut: boolean;
  /** PDF: how many pages it has. */
  pages?: number;
}

/** More than this many bytes of a text file are never decoded: the budget is far smaller anyway. */
const MAX_DECODED_BYTES = 1024 * 1024;

export async function extractText(data: Buffer, sniffed: Sniffed, maxTokens: number): Promise<ExtractedText> {
  if (sniffed.category === 'text') {
    const text = new TextDecoder('utf-8').decode(data.subarray(0, MAX_DECODED_BYTES));
    return cut(text, maxTokens, data.length > MAX_DECODED_BYTES);
  }
  if (sniffed.category === 'pdf') {
    const { extractText: pdfText, getDocumentProxy } = await import('unpdf');
    let result: { totalPages: number; text: string };
    try {
      result = await pdfText(await getDocumentProxy(new Uint8Array(data)), { mergePages: true });
    } catch (err) {
      throw new MediaError('unreadable', 'the PDF is damaged or encrypted', { cause: err });
    }
    if (!result.text.trim()) throw new MediaError('unsupported', 'the PDF has no text (scanned pages?)');
    return { ...cut(result.text, maxTokens, false), pages: result.totalPages };
  }
  throw new MediaError('unsupported', `${sniffed.label} files cannot be read as text`);
}

function cut(text: string, maxTokens: number, alreadyCut: boolean): ExtractedText {
  const normalised = text.replace(/\r\n?/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  const fitted = truncateToTokens(normalised, maxTokens, '');
  return { text: fitted, cut: alreadyCut || fitted.length < normalised.length };
}
