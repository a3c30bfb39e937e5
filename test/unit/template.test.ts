import { lookup, renderPrompt, renderValue, TemplateError } from '../../src/agents/template';
import type { BlobRef } from '../../src/shared/types';

const blob: BlobRef = { $blob: 'a'.repeat(64), bytes: 70_000, preview: 'Meeting notes…' };

const scope = {
  input: {
    file: 'notes/meeting.md',
    out: 'notes/digest.md',
    count: 3,
    flag: false,
    nothing: null,
    tags: ['a', 'b'],
  },
  steps: {
    read: {
      output: { path: 'notes/meeting.md', text: 'alpha beta', big: blob, meta: { lines: 2, words: 2 } },
    },
    draft: { text: 'A short digest.' },
    'with-dash': { output: { n: 1 } },
  },
};

describe('renderValue', () => {
  test('a whole placeholder keeps the value’s type: object', () => {
    expect(renderValue('{{steps.read.output.meta}}', scope)).toEqual({ lines: 2, words: 2 });
  });

  test('a whole placeholder keeps the value’s type: number, boolean, null, array', () => {
    expect(renderValue('{{input.count}}', scope)).toBe(3);
    expect(renderValue('{{input.flag}}', scope)).toBe(false);
    expect(renderValue('{{input.nothing}}', scope)).toBeNull();
    expect(renderValue('{{input.tags}}', scope)).toEqual(['a', 'b']);
  });

  test('a whole placeholder keeps a BlobRef as the reference itself', () => {
    const out = renderValue({ text: '{{steps.read.output.big}}' }, scope) as { text: unknown };
    expect(out.text).toEqual(blob);
  });

  test('whitespace inside the braces is allowed, for whole placeholders and interpolation', () => {
    expect(renderValue('{{ input.count }}', scope)).toBe(3);
    expect(renderValue('file: {{  input.file  }}', scope)).toBe('file: notes/meeting.md');
  });

  test('placeholders inside a longer string are interpolated as text', () => {
    expect(renderValue('Wrote {{input.out}} from {{input.file}}.', scope)).toBe(
      'Wrote notes/digest.md from notes/meeting.md.',
    );
    expect(renderValue('{{steps.draft.text}}!', scope)).toBe('A short digest.!');
  });

  test('non-string values interpolated into text become JSON', () => {
    expect(renderValue('n={{input.count}} meta={{steps.read.output.meta}} tags={{input.tags}}', scope)).toBe(
      'n=3 meta={"lines":2,"words":2} tags=["a","b"]',
    );
  });

  test('objects and arrays are rendered member by member; other values pass through', () => {
    const template = {
      path: '{{input.out}}',
      content: '{{steps.draft.text}}',
      list: ['{{input.count}}', 'x {{input.count}}'],
      n: 7,
      ok: true,
      none: null,
    };
    expect(renderValue(template, scope)).toEqual({
      path: 'notes/digest.md',
      content: 'A short digest.',
      list: [3, 'x 3'],
      n: 7,
      ok: true,
      none: null,
    });
  });

  test('a string without placeholders is unchanged', () => {
    expect(renderValue('plain {text} and { {no} }', scope)).toBe('plain {text} and { {no} }');
  });

  test('keys with dashes are looked up', () => {
    expect(renderValue('{{steps.with-dash.output.n}}', scope)).toBe(1);
  });

  test('a missing path throws a TemplateError naming the path', () => {
    expect(() => renderValue('{{steps.missing.output}}', scope)).toThrow(TemplateError);
    expect(() => renderValue('{{steps.missing.output}}', scope)).toThrow(/steps\.missing\.output/);
    expect(() => renderValue('see {{input.nope}} here', scope)).toThrow(/input\.nope/);
    expect(() => renderValue({ deep: ['{{steps.read.output.meta.chars}}'] }, scope)).toThrow(
      /steps\.read\.output\.meta\.chars/,
    );
  });

  test('a path through a non-object (string, null) is missing', () => {
    expect(() => renderValue('{{input.file.length}}', scope)).toThrow(TemplateError);
    expect(() => renderValue('{{input.nothing.x}}', scope)).toThrow(/input\.nothing\.x/);
  });

  test('a BlobRef inside a mixed string throws a TemplateError', () => {
    expect(() => renderValue('Notes: {{steps.read.output.big}}', scope)).toThrow(TemplateError);
    expect(() => renderValue('Notes: {{steps.read.output.big}}', scope)).toThrow(
      /steps\.read\.output\.big.*blob store/,
    );
  });

  test('rendering does not change the template or the scope', () => {
    const template = { a: '{{input.count}}', b: ['{{input.file}}'] };
    const before = JSON.stringify(template);
    const scopeBefore = JSON.stringify(scope);
    renderValue(template, scope);
    expect(JSON.stringify(template)).toBe(before);
    expect(JSON.stringify(scope)).toBe(scopeBefore);
  });
});

describe('lookup', () => {
  test('walks a dotted path', () => {
    expect(lookup(scope, 'steps.read.output.text')).toBe('alpha beta');
  });

  test('a key that is present with the value undefined is found, one that is absent is not', () => {
    expect(lookup({ a: { b: undefined } }, 'a.b')).toBeUndefined();
    expect(() => lookup({ a: {} }, 'a.b')).toThrow(/no "b"/);
  });
});

describe('renderPrompt', () => {
  test('text and placeholders become parts in order, keeping BlobRef parts as references', () => {
    const parts = renderPrompt(
      'Summarise:\n{{steps.read.output.big}}\n\nFile: {{input.file}} ({{input.count}} parts)',
      scope,
    );
    expect(parts).toEqual(['Summarise:\n', blob, '\n\nFile: ', 'notes/meeting.md', ' (', '3', ' parts)']);
  });

  test('a prompt that is one placeholder is one part', () => {
    expect(renderPrompt('{{steps.read.output.big}}', scope)).toEqual([blob]);
    expect(renderPrompt('{{steps.read.output.meta}}', scope)).toEqual(['{"lines":2,"words":2}']);
  });

  test('a prompt without placeholders is one text part, an empty prompt none', () => {
    expect(renderPrompt('just text', scope)).toEqual(['just text']);
    expect(renderPrompt('', scope)).toEqual([]);
  });

  test('adjacent placeholders give adjacent parts', () => {
    expect(renderPrompt('{{input.count}}{{steps.read.output.big}}{{input.flag}}', scope)).toEqual([
      '3',
      blob,
      'false',
    ]);
  });

  test('a missing path in a prompt throws a TemplateError naming the path', () => {
    expect(() => renderPrompt('Hello {{steps.nothing.text}}', scope)).toThrow(TemplateError);
    expect(() => renderPrompt('Hello {{steps.nothing.text}}', scope)).toThrow(/steps\.nothing\.text/);
  });

  test('rendering the same prompt twice gives the same parts (no regex state leaks between calls)', () => {
    const template = 'a {{input.file}} b {{input.out}}';
    expect(renderPrompt(template, scope)).toEqual(renderPrompt(template, scope));
    expect(renderValue(template, scope)).toBe(renderValue(template, scope));
  });
});
