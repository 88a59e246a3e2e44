import { cleanModelText, markdownToHtml, splitMessage } from './formatReply.js';

describe('markdownToHtml', () => {
  test('plain text needs no HTML', () => {
    expect(markdownToHtml('Just a sentence, with "quotes" & an apostrophe\'s.')).toBeNull();
    expect(markdownToHtml('two\nlines')).toBeNull();
  });

  test('formatting becomes Matrix HTML', () => {
    expect(markdownToHtml('**bold** and `code`')).toBe('<p><strong>bold</strong> and <code>code</code></p>');
    expect(markdownToHtml('```ts\nconst x = 1;\n```')).toBe('<pre><code class="language-ts">const x = 1;\n</code></pre>');
    expect(markdownToHtml('- a\n- b')).toBe('<ul>\n<li>a</li>\n<li>b</li>\n</ul>');
  });

  test('HTML written by the model is shown as text, and unsafe links are dropped', () => {
    expect(markdownToHtml('Hi <b onclick="x()">there</b> **you**')).toBe(
      '<p>Hi &lt;b onclick="x()"&gt;there&lt;/b&gt; <strong>you</strong></p>',
    );
    expect(markdownToHtml('<script>alert(1)</script>\n\n*hi*')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;<p><em>hi</em></p>');
    expect(markdownToHtml('[click](javascript:alert(1))')).toBe('<p><a>click</a></p>');
    expect(markdownToHtml('![cat](https://example.org/cat.png)')).toBe('<p><a href="https://example.org/cat.png">cat</a></p>');
  });
});

describe('cleanModelText', () => {
  test('drops reasoning blocks and a copied name prefix', () => {
    expect(cleanModelText('<think>hmm, Bob wants…</think>\nAda: Hello Bob!', 'Ada')).toBe('Hello Bob!');
    expect(cleanModelText('**Ada:** Hello', 'Ada')).toBe('Hello');
    expect(cleanModelText('<think>never finished', 'Ada')).toBe('');
    expect(cleanModelText('Adaptive answers: yes', 'Ada')).toBe('Adaptive answers: yes');
  });
});

describe('splitMessage', () => {
  test('short text is one message', () => {
    expect(splitMessage('  hello  ', 100)).toEqual(['hello']);
  });

  test('prefers paragraph breaks, and every part fits', () => {
    const paragraphs = Array.from({ length: 10 }, (_, i) => `Paragraph ${i}. ${'word '.repeat(15).trim()}`);
    const parts = splitMessage(paragraphs.join('\n\n'), 250);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(250);
    expect(parts.join('\n\n')).toBe(paragraphs.join('\n\n'));
  });

  test('falls back to sentences, then words, then a hard cut', () => {
    const sentences = 'One sentence here. Another one there! A third? '.repeat(10).trim();
    const parts = splitMessage(sentences, 60);
    for (const part of parts) expect(part).toMatch(/[.!?]$/);
    expect(splitMessage('x'.repeat(100), 40).map((p) => p.length)).toEqual([32, 32, 36]);
  });

  test('a code block cut in two is closed and reopened with its language', () => {
    const code = Array.from({ length: 30 }, (_, i) => `const line${i} = ${i};`).join('\n');
    const parts = splitMessage(`Here:\n\n\`\`\`ts\n${code}\n\`\`\`\nDone.`, 200);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(200);
      expect((part.match(/^```/gm) ?? []).length % 2).toBe(0); // fences balanced in every part
    }
    expect(parts[1]!.startsWith('```ts\n')).toBe(true);
    const lines = parts.join('\n').split('\n').filter((l) => l.startsWith('const'));
    expect(lines).toHaveLength(30);
  });
});
