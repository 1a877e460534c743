import { parsePhoneNumberFromString, type CountryCode, type NumberType } from 'libphonenumber-js/max';
import { InputError } from '../errors.js';

export interface Phone {
  /** +4791234567 */
  e164: string;
  /** ISO 3166-1 alpha-2 of the number ("NO"); the per-country send limit counts by it. */
  country: string;
  /** Country calling code without "+" ("47"). */
  callingCode: string;
  /** The national significant number ("91234567"). */
  national: string;
}

/**
 * A phone number in E.164, or refused before anything is sent. National numbers need their
 * `country`. The "max" metadata also checks that the number is possible for its type, so a
 * digit too many or too few is caught here and not by a provider bill, and knows the type:
 * premium-rate, shared-cost, UAN, personal and unknown-type numbers are refused.
 */
export function normalizePhone(input: string, country?: string): Phone {
  const parsed = parsePhoneNumberFromString(input, country ? (country.toUpperCase() as CountryCode) : undefined);
  if (!parsed || !parsed.isValid() || !parsed.country) {
    throw new InputError('INVALID_PHONE', country || input.trim().startsWith('+') ? 'phone is not a valid number' : 'phone is not a valid number: give it in E.164 (+4791234567) or add its country');
  }
  const type = parsed.getType();
  if (!type || REFUSED_TYPES.has(type)) {
    // Toll fraud: a code sent to such a number pays its owner (issue 14, finding 7).
    throw new InputError('PHONE_NOT_ALLOWED', `phone is ${type ? `a ${TYPE_NAMES[type] ?? type} number` : 'a number of unknown type'}: codes are sent only to mobile, fixed-line, VoIP, toll-free, pager and voicemail numbers`);
  }
  return { e164: parsed.number, country: parsed.country, callingCode: parsed.countryCallingCode, national: parsed.nationalNumber };
}

/** Number types no code is sent to: the caller pays and someone else is paid (premium rate, shared cost), or where the number really rings is unknown (UAN, personal numbers). */
const REFUSED_TYPES = new Set<NumberType>(['PREMIUM_RATE', 'SHARED_COST', 'UAN', 'PERSONAL_NUMBER']);
const TYPE_NAMES: Partial<Record<NonNullable<NumberType>, string>> = { PREMIUM_RATE: 'premium-rate', SHARED_COST: 'shared-cost', UAN: 'UAN (universal access)', PERSONAL_NUMBER: 'personal' };

/** The number without its last four digits: the block an operator hands out, and what a pumping campaign walks through. */
export function phonePrefix(p: Phone): string {
  return p.e164.slice(0, -4);
}

/** For audit and answers: "+47•••••567". */
export function maskDestination(d: string): string {
  const at = d.indexOf('@');
  if (at > 0) return `${d[0]}•••${d.slice(at)}`;
  return d.length > 6 ? `${d.slice(0, 3)}${'•'.repeat(d.length - 6)}${d.slice(-3)}` : '•••';
}
