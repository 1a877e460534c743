import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
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
 * digit too many or too few is caught here and not by a provider bill.
 */
export function normalizePhone(input: string, country?: string): Phone {
  const parsed = parsePhoneNumberFromString(input, country ? (country.toUpperCase() as CountryCode) : undefined);
  if (!parsed || !parsed.isValid() || !parsed.country) {
    throw new InputError('INVALID_PHONE', country || input.trim().startsWith('+') ? 'phone is not a valid number' : 'phone is not a valid number: give it in E.164 (+4791234567) or add its country');
  }
  return { e164: parsed.number, country: parsed.country, callingCode: parsed.countryCallingCode, national: parsed.nationalNumber };
}

/** For audit and answers: "+47•••••567". */
export function maskDestination(d: string): string {
  const at = d.indexOf('@');
  if (at > 0) return `${d[0]}•••${d.slice(at)}`;
  return d.length > 6 ? `${d.slice(0, 3)}${'•'.repeat(d.length - 6)}${d.slice(-3)}` : '•••';
}
