import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostic, DiagnosticCode } from './diagnostics.js';

export type Path = readonly (string | number)[];

/**
 * A YAML file kept with its source positions, so that every problem found later in its data
 * (a schema violation, a CEL error inside a condition) can be reported at file:line:col.
 */
export class YamlSource {
  readonly data: unknown;
  readonly diagnostics: Diagnostic[] = [];
  private readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const at = this.lines.linePos(e.pos[0]);
      this.diagnostics.push({ file, line: at.line, col: at.col, code: 'RG100', message: e.message.split('\n')[0]! });
    }
    this.data = this.doc.errors.length ? undefined : this.doc.toJS({ maxAliasCount: 1000 });
  }

  /** Position of the node at `path`, or of its nearest existing ancestor. */
  position(path: Path): { line: number; col: number } {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && node.range) return this.at(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  /** Position of the key `key` inside the mapping at `path` (for unknown fields). */
  keyPosition(path: Path, key: string): { line: number; col: number } {
    const node = this.doc.getIn(path, true);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && pair.key.value === key && pair.key.range) return this.at(pair.key.range[0]);
      }
    }
    return this.position(path);
  }

  /**
   * Position of character `offset` of the string value at `path`: where a CEL error inside a
   * condition really is in the file, for plain, quoted and block (|, >) scalars alike.
   */
  valuePosition(path: Path, offset: number): { line: number; col: number } {
    const node = this.doc.getIn(path, true);
    if (!isScalar(node) || !node.range || typeof node.value !== 'string') return this.position(path);
    const start = node.range[0];
    if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') return this.at(start + 1 + offset);
    if (node.type === 'PLAIN') return this.at(start + offset);
    // Block scalar: find the value's line, then that line in the source below the header.
    const value = node.value;
    const before = value.slice(0, offset);
    const lineIndex = node.type === 'BLOCK_LITERAL' ? before.split('\n').length - 1 : 0;
    const colInLine = offset - (before.lastIndexOf('\n') + 1);
    const header = this.at(start);
    const sourceLines = this.text.split('\n');
    let seen = -1;
    for (let i = header.line; i < sourceLines.length; i++) {
      const line = sourceLines[i]!;
      if (line.trim() === '') continue;
      seen++;
      if (seen === lineIndex) {
        const indent = line.length - line.trimStart().length;
        return { line: i + 1, col: indent + colInLine + 1 };
      }
    }
    return header;
  }

  diag(path: Path, code: DiagnosticCode, message: string): Diagnostic {
    return { file: this.file, ...this.position(path), code, message };
  }

  isSequenceAt(path: Path): boolean {
    return isSeq(this.doc.getIn(path, true));
  }

  private at(offset: number): { line: number; col: number } {
    return this.lines.linePos(offset);
  }
}
