import { randomInt } from 'node:crypto';

/** A one-time code of `digits` decimal digits from the CSPRNG; leading zeros kept. */
export function makeCode(digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += String(randomInt(10));
  return s;
}

/**
 * A provider's error text with the code taken out. Error bodies are kept in the audit trail,
 * and a provider that echoes the request would otherwise put the code there.
 */
export function withoutCode(text: string, code: string | null): string {
  return code ? text.replaceAll(code, '[code]') : text;
}

/** Digits only: users paste codes with spaces or dashes ("123 456"). */
export function normalizeCode(input: string): string {
  return input.replace(/[\s-]/g, '');
}

// Crockford base32 without I, L, O, U: nothing to misread when typed from paper.
const RECOVERY_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** One recovery code: 10 symbols (50 bits) shown as XXXXX-XXXXX. */
export function makeRecoveryCode(): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** The canonical form hashed and compared: upper case, no separators, misreadable letters mapped. */
export function normalizeRecoveryCode(input: string): string {
  return input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}
