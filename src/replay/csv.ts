/**
 * The CSV the RBA dataset is written in (RFC 4180): fields separated by commas, a field in
 * double quotes may hold commas, newlines and doubled quotes. Hand-written because it sits on
 * the hot path of a 31-million-row file, and needs no more than this.
 */

/** Whether a record's text closes every quote it opens (else it continues on the next line). */
export function quotesBalanced(text: string): boolean {
  let n = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) n++;
  return n % 2 === 0;
}

/** Splits one complete record into its fields; null when a quoted field is not closed. */
export function splitCsvRecord(text: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q === -1) return null;
        value += text.slice(from, q);
        if (text.charCodeAt(q + 1) === 34) {
          value += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      // Anything between the closing quote and the next comma is kept, as lenient readers do.
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? n : comma;
      out.push(value + text.slice(i, end));
      if (comma === -1) return out;
      i = comma + 1;
    } else {
      const comma = text.indexOf(',', i);
      if (comma === -1) {
        out.push(text.slice(i));
        return out;
      }
      out.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}
