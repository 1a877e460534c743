import Type from 'typebox';

/**
 * riskgate.yaml's `passkeys:` block (docs/configuration.md): the relying party the browser
 * binds passkeys to. Without it the passkey routes answer PASSKEYS_NOT_CONFIGURED and no
 * challenge uses a passkey.
 */
export const PasskeyConfigSchema = Type.Object(
  {
    /** The domain passkeys are bound to: the site's host or a parent domain of it ("localhost" in development). */
    rpId: Type.String({ minLength: 1, maxLength: 253 }),
    /** The name browsers show when a passkey is made. */
    rpName: Type.String({ minLength: 1, maxLength: 64 }),
    /** Every origin the login pages are served from; each within rpId. */
    origins: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { minItems: 1, maxItems: 20, uniqueItems: true }),
    /** "required" (the default): the authenticator checked a PIN or biometric; "preferred" also takes a touch alone. */
    userVerification: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('preferred')])),
    /** "none" (the default): no statement of the authenticator's make; "direct" asks for one (its format is checked, its maker is not judged). */
    attestation: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('direct')])),
    /** How long a registration may take, from its options to the browser's response. */
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 600 })),
  },
  { additionalProperties: false },
);

export interface PasskeySettings {
  rpId: string;
  rpName: string;
  origins: string[];
  userVerification: 'required' | 'preferred';
  attestation: 'none' | 'direct';
  timeoutSeconds: number;
}

export const PASSKEY_DEFAULTS = { userVerification: 'required', attestation: 'none', timeoutSeconds: 300 } as const;

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const IPV4 = /^\d+(?:\.\d+){3}$/;

/** Why `rpId` cannot be a relying party id (WebAuthn: a valid domain, not an address), or null. */
export function rpIdProblem(rpId: string): string | null {
  if (rpId !== rpId.toLowerCase()) return `rpId "${rpId}" must be lower case`;
  if (rpId.includes('/')) return `rpId "${rpId}" is not a domain name: write the host alone (e.g. "example.com"), without scheme or path`;
  if (IPV4.test(rpId) || rpId.includes(':')) return `rpId "${rpId}" is an address or has a port; WebAuthn needs a domain name (the site's host, e.g. "example.com", or "localhost")`;
  if (!DOMAIN.test(rpId) || rpId.length > 253) return `rpId "${rpId}" is not a domain name (e.g. "example.com", without scheme, port or path)`;
  return null;
}

/**
 * Why `origin` cannot send passkey responses for `rpId`, or null: it must be an origin
 * exactly as browsers write it (scheme, host, port if not the default; no path), https
 * (http only on localhost, which browsers treat as secure), on rpId or a subdomain of it.
 */
export function originProblem(origin: string, rpId: string): string | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `origin "${origin}" is not a URL (e.g. "https://example.com")`;
  }
  if (url.origin !== origin) return `origin "${origin}" is not written as browsers send it: "${url.origin}" (no path, no trailing slash, lower case, no default port)`;
  const host = url.hostname;
  const local = host === 'localhost' || host.endsWith('.localhost');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return `origin "${origin}" must use https (http only for localhost)`;
  if (host !== rpId && !host.endsWith(`.${rpId}`)) return `origin "${origin}" is not on rpId "${rpId}" or a subdomain of it; the browser would refuse the passkey`;
  return null;
}
