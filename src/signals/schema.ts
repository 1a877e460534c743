/**
 * The signal schema: every value a rule condition can read. Rule conditions are type-checked
 * against it when they load, so a misspelt signal fails at load and not at 3 a.m.
 * docs/signals.md documents each field; a test keeps the two in step.
 *
 * Numbers are all CEL `double` so that rule authors can compare them with any literal
 * (`attempts.user_30m >= 5`); a value that does not apply (no previous login, say) is -1.
 */

type CelType = 'bool' | 'double' | 'string';
interface Field {
  readonly type: CelType;
  readonly doc: string;
}

export const SIGNAL_SCHEMA = {
  request: {
    action: { type: 'string', doc: 'What the login service asks about: "login" unless it says otherwise (e.g. "change_password").' },
    ip: { type: 'string', doc: 'Client address, canonical form.' },
    user_id: { type: 'string', doc: 'The user the attempt is for.' },
    device_id: { type: 'string', doc: 'Device identifier sent by the client, "" when none.' },
    failed: { type: 'bool', doc: 'The attempt is a wrong password (a login failure), not a login the password let through: rules can block attempts without blocking logins.' },
  },
  user: {
    known: { type: 'bool', doc: 'The user has at least one learned login. False is the cold-start case: nothing to compare with.' },
    logins: { type: 'double', doc: 'Learned logins.' },
    age_days: { type: 'double', doc: 'Days since the first learned login; -1 for a new user.' },
    days_since_last: { type: 'double', doc: 'Days since the last learned login; -1 for a new user.' },
    failed_challenges_24h: { type: 'double', doc: 'Wrong codes given to this user\'s step-up challenges in the last 24 hours, on any challenge: someone holding the password is guessing the second factor.' },
    passkey_cloned: {
      type: 'bool',
      doc: 'A passkey of this user signed with a signature counter that did not move forward: its key is in two places (a cloned authenticator). Stays true until that passkey is deleted; false where passkeys are not configured.',
    },
  },
  device: {
    id_present: { type: 'bool', doc: 'The request carried a device id.' },
    id_missing: { type: 'bool', doc: 'The request carried no device id, though the user\'s learned logins did: a client that never loaded the login page, or that refuses the cookie.' },
    known: { type: 'bool', doc: 'The device id was seen in a learned login of this user.' },
    new: { type: 'bool', doc: 'Not recognized: the device id is new for the user, or, without a device id, so is the browser/OS/type. True for a new user.' },
    trusted: { type: 'bool', doc: 'The request carried a valid trust token for this user and device.' },
    family_known: { type: 'bool', doc: 'This browser, OS and device type combination was seen for this user.' },
    ua_present: { type: 'bool', doc: 'The request carried a user agent.' },
    automation: { type: 'bool', doc: 'The user agent is a headless browser, HTTP library or crawler.' },
    browser: { type: 'string', doc: 'Browser name, e.g. "Chrome".' },
    browser_major: { type: 'string', doc: 'Browser major version, e.g. "131".' },
    os: { type: 'string', doc: 'Operating system, e.g. "Windows".' },
    type: { type: 'string', doc: 'desktop, mobile, tablet, smarttv, wearable, console or embedded.' },
    logins: { type: 'double', doc: 'Learned logins from this device id; 0 when unknown.' },
    days_since_first_seen: { type: 'double', doc: 'Days since the device id was first seen; -1 when unknown.' },
    days_since_last_seen: { type: 'double', doc: 'Days since the device id was last seen; -1 when unknown.' },
    new_subnet: { type: 'bool', doc: 'A known device on a /24 (IPv4) or /64 (IPv6) it was never seen on (false while the device has no network history).' },
    new_range: { type: 'bool', doc: 'A known device on a /16 (IPv4) or /32 (IPv6) it was never seen on: another provider, or another of its blocks.' },
    new_region: { type: 'bool', doc: 'A known device in a region (country and region) it was never seen in.' },
    new_hour: { type: 'bool', doc: 'A known device at an hour of day (within one hour) it was never seen at.' },
    ua_changed: { type: 'bool', doc: 'A known device sends another exact user-agent string than the last one it sent (browser updates do this too).' },
    ua_downgrade: { type: 'bool', doc: 'A known device sends an older browser major version than it last sent: a copied user agent rather than an update.' },
    family_changed: { type: 'bool', doc: 'A known device\'s browser, OS or device type differs from the one it was first seen with.' },
    proof: { type: 'string', doc: 'What the device-bound key proved: "valid", "missing" (the device has a key, the request no proof), "invalid" (a bad signature, a time outside the window, or a proof used before) or "none" (no key for this device).' },
  },
  fingerprint: {
    present: { type: 'bool', doc: 'The request carried a fingerprint.' },
    known: { type: 'bool', doc: 'This device id sent a fingerprint in a learned login before.' },
    missing: { type: 'bool', doc: 'No fingerprint, from a device id that sent one before.' },
    matches: { type: 'bool', doc: 'The stable attributes (platform, languages, hardware, colour depth, touch, WebGL, client hints: all but time zone and screen) equal what this device showed before. WebGL is left out on a device whose WebGL hash varies.' },
    changed: { type: 'bool', doc: 'A fingerprint on a device known by its fingerprints that matches none of them.' },
    hardware_matches: { type: 'bool', doc: 'The same as matches, leaving out the WebGL hash.' },
    user_matches: { type: 'bool', doc: 'The stable attributes and the screen equal what this device, or another of the user\'s devices, showed before: for a new device id, the same browser with its cookies cleared or in a private window. Weak on its own where devices are alike (phones of one model).' },
    users: {
      type: 'double',
      doc: 'On how many users\' devices this fingerprint (its stable attributes and screen) was learned, across all users (the familiarity population, an estimate); 0 without a fingerprint or for one never learned. One phone model shows one fingerprint for many users: fingerprint.user_matches means little when this is high.',
    },
    screen_known: { type: 'bool', doc: 'This device showed this screen size before.' },
    zone: { type: 'string', doc: 'The browser\'s time zone, "" when none was sent.' },
    zone_known: { type: 'bool', doc: 'This device showed this time zone before.' },
    zone_mismatch: { type: 'bool', doc: 'The browser\'s time zone has another UTC offset now than the address\'s time zone: the browser is not where its address is (a proxy, a VPN, or a traveller on the home carrier).' },
  },
  network: {
    private: { type: 'bool', doc: 'Private, loopback, link-local, CGNAT or reserved address.' },
    version: { type: 'double', doc: '4 or 6.' },
    subnet: { type: 'string', doc: 'The /24 (IPv4) or /48 (IPv6) of the address.' },
    subnet_known: { type: 'bool', doc: 'The user logged in from this /24 or /48 before: home, office.' },
    range_known: { type: 'bool', doc: 'The user logged in from this /16 or /32 before: roughly the same provider.' },
    address_known: { type: 'bool', doc: 'The user logged in from this exact IPv4 address, or this IPv6 /64 (a home\'s, whatever the interface id), before.' },
  },
  geo: {
    located: { type: 'bool', doc: 'The address was found in the geolocation database.' },
    country: { type: 'string', doc: 'ISO 3166-1 alpha-2 country code, "" when not located.' },
    region: { type: 'string', doc: 'Region code, "" when unknown.' },
    city: { type: 'string', doc: 'City name, "" when unknown.' },
    country_known: { type: 'bool', doc: 'The user logged in from this country before.' },
    region_known: { type: 'bool', doc: 'The user logged in from this region before.' },
    city_known: { type: 'bool', doc: 'The user logged in from this city before.' },
    distance_km: { type: 'double', doc: 'Distance from the last learned login, beyond both locations\' accuracy radius; -1 when either is not located.' },
    minutes_since_last: { type: 'double', doc: 'Minutes since the last learned login with a location; -1 when none.' },
    speed_kmh: { type: 'double', doc: 'distance_km over the time since that login (at least one minute); -1 when unknown.' },
  },
  time: {
    hour: { type: 'double', doc: 'Hour of day (0-23) in the user\'s home time zone (where most of their logins come from).' },
    hour_share: { type: 'double', doc: 'Share of the user\'s learned logins within one hour of this hour, 0..1; -1 for a new user.' },
    history: { type: 'double', doc: 'Logins in the user\'s hour histogram (recent logins weigh more).' },
  },
  familiarity: {
    score: {
      type: 'double',
      doc: 'How much more likely this login is for this user than for anyone (after Freeman et al., NDSS 2016): log10 of the user\'s smoothed likelihood over the population\'s, summed over three groups (network: address, /24, /16, city, region, country; agent: browser, OS, device type; hour). Above 0 familiar, below 0 unfamiliar; 0 for a new user.',
    },
    address: { type: 'double', doc: 'log10(p_user / p_population) of the exact IPv4 address or IPv6 /64; 0 when it does not apply (private address, new user).' },
    subnet: { type: 'double', doc: 'The same for the /24 (IPv4) or /48 (IPv6).' },
    range: { type: 'double', doc: 'The same for the /16 (IPv4) or /32 (IPv6): the provider, standing in for the ASN.' },
    country: { type: 'double', doc: 'The same for the country; 0 when not located.' },
    region: { type: 'double', doc: 'The same for the region (country and region).' },
    city: { type: 'double', doc: 'The same for the city (country, region and city).' },
    browser: { type: 'double', doc: 'The same for the browser name; 0 without a user agent.' },
    os: { type: 'double', doc: 'The same for the operating system.' },
    device_type: { type: 'double', doc: 'The same for the device type (desktop, mobile...).' },
    hour: { type: 'double', doc: 'The same for the hour of day in the user\'s home time zone.' },
  },
  attempts: {
    user_30m: { type: 'double', doc: 'Failed passwords for this user in the last 30 minutes (sliding window).' },
    user_24h: { type: 'double', doc: 'Failed passwords for this user in the last 24 hours.' },
    ip_1h: { type: 'double', doc: 'Failed passwords from this address in the last hour.' },
    ip_24h: { type: 'double', doc: 'Failed passwords from this address in the last 24 hours.' },
    network_1h: { type: 'double', doc: 'Failed passwords from this address\'s network (IPv4 /24, IPv6 /64) in the last hour.' },
    network_24h: { type: 'double', doc: 'Failed passwords from this address\'s network (IPv4 /24, IPv6 /64) in the last 24 hours.' },
    device_1h: { type: 'double', doc: 'Failed passwords from this device id in the last hour; 0 without a device id.' },
    ip_users_1h: { type: 'double', doc: 'Distinct users with a failed password from this address in the last hour (credential stuffing).' },
    ip_users_24h: { type: 'double', doc: 'Distinct users with a failed password from this address in the last 24 hours.' },
    network_users_1h: { type: 'double', doc: 'Distinct users with a failed password from this address\'s network (IPv4 /24, IPv6 /64) in the last hour: stuffing that rotates addresses within one network.' },
    network_users_24h: { type: 'double', doc: 'Distinct users with a failed password from this address\'s network (IPv4 /24, IPv6 /64) in the last 24 hours.' },
  },
} as const satisfies Record<string, Record<string, Field>>;

/** `lists.<name>` is a bool per list the rule files declare: does the attempt match it. */
export const LISTS_FAMILY = 'lists';

type TsOf<T extends CelType> = T extends 'bool' ? boolean : T extends 'double' ? number : string;
type Schema = typeof SIGNAL_SCHEMA;
export type FamilyName = keyof Schema;
export type FamilySignals<F extends FamilyName> = { [K in keyof Schema[F]]: Schema[F][K] extends Field ? TsOf<Schema[F][K]['type']> : never };
export type Signals = { [F in FamilyName]: FamilySignals<F> } & { lists: Record<string, boolean> };

export const FAMILY_NAMES = Object.keys(SIGNAL_SCHEMA) as FamilyName[];

/** Every signal path with its type, e.g. `geo.speed_kmh` → double. */
export function signalPaths(listNames: readonly string[] = []): Map<string, CelType> {
  const out = new Map<string, CelType>();
  for (const family of FAMILY_NAMES) {
    for (const [field, def] of Object.entries(SIGNAL_SCHEMA[family])) out.set(`${family}.${field}`, (def as Field).type);
  }
  for (const name of listNames) out.set(`${LISTS_FAMILY}.${name}`, 'bool');
  return out;
}
