/**
 * Python literals as `repr()` writes them (dicts, lists, tuples, str, numbers, True/False/None):
 * the form openai-forward writes its chat log in. Throws a SyntaxError naming the offset.
 */
export function parsePythonLiteral(text: string): unknown {
  const parser = new Parser(text);
  const value = parser.value();
  parser.end();
  return value;
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  v: '\v',
  a: '\x07',
  '0': '\0',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '\n': '',
};

class Parser {
  private at = 0;
  constructor(private readonly text: string) {}

  value(): unknown {
    this.space();
    const char = this.text[this.at];
    if (char === '{') return this.dict();
    if (char === '[') return this.sequence('[', ']');
    if (char === '(') return this.sequence('(', ')');
    if (char === "'" || char === '"') return this.string();
    for (const [word, value] of [
      ['None', null],
      ['True', true],
      ['False', false],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    const number = /^-?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)/.exec(this.text.slice(this.at, this.at + 64));
    if (number) {
      this.at += number[0].length;
      return Number(number[0]);
    }
    throw this.error('a value');
  }

  end(): void {
    this.space();
    if (this.at !== this.text.length) throw this.error('the end');
  }

  private dict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.at++;
    for (this.space(); this.text[this.at] !== '}'; this.space()) {
      const key = this.value();
      this.expect(':');
      out[String(key)] = this.value();
      if (!this.comma('}')) break;
    }
    this.expect('}');
    return out;
  }

  private sequence(open: string, close: string): unknown[] {
    const out: unknown[] = [];
    this.at += open.length;
    for (this.space(); this.text[this.at] !== close; this.space()) {
      out.push(this.value());
      if (!this.comma(close)) break;
    }
    this.expect(close);
    return out;
  }

  private string(): string {
    const quote = this.text[this.at]!;
    let out = '';
    for (this.at++; this.at < this.text.length; this.at++) {
      const char = this.text[this.at]!;
      if (char === quote) {
        this.at++;
        return out;
      }
      if (char !== '\\') {
        out += char;
        continue;
      }
      const next = this.text[++this.at]!;
      const hex = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
      if (hex > 0) {
        out += String.fromCodePoint(parseInt(this.text.slice(this.at + 1, this.at + 1 + hex), 16));
        this.at += hex;
      } else out += ESCAPES[next] ?? `\\${next}`;
    }
    throw this.error(`a closing ${quote}`);
  }

  private comma(close: string): boolean {
    this.space();
    if (this.text[this.at] === ',') {
      this.at++;
      return true;
    }
    if (this.text[this.at] !== close) throw this.error(`"," or "${close}"`);
    return false;
  }

  private expect(char: string): void {
    this.space();
    if (this.text[this.at] !== char) throw this.error(`"${char}"`);
    this.at++;
  }

  private space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  private error(wanted: string): SyntaxError {
    return new SyntaxError(`expected ${wanted} at offset ${this.at}`);
  }
}
