import type { Random } from './random.js';

/** Browsers and the user agents they send, with versions that move on as time passes. */

export type DeviceKind = 'computer' | 'phone' | 'tablet';

export interface Platform {
  name: string;
  kind: DeviceKind;
  /** Major version on 2026-03-01, and days between two majors. */
  base: number;
  cycleDays: number;
  ua(major: number): string;
}

const EPOCH = Date.parse('2026-03-01T00:00:00Z');
const DAY_MS = 86_400_000;

const chromeDesktop = (os: string) => (v: number) => `Mozilla/5.0 (${os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`;

export const PLATFORMS = {
  chromeWindows: { name: 'chrome-windows', kind: 'computer', base: 145, cycleDays: 28, ua: chromeDesktop('Windows NT 10.0; Win64; x64') },
  edgeWindows: { name: 'edge-windows', kind: 'computer', base: 145, cycleDays: 28, ua: (v) => `${chromeDesktop('Windows NT 10.0; Win64; x64')(v)} Edg/${v}.0.0.0` },
  firefoxWindows: { name: 'firefox-windows', kind: 'computer', base: 148, cycleDays: 28, ua: (v) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0` },
  chromeMac: { name: 'chrome-mac', kind: 'computer', base: 145, cycleDays: 28, ua: chromeDesktop('Macintosh; Intel Mac OS X 10_15_7') },
  safariMac: { name: 'safari-mac', kind: 'computer', base: 26, cycleDays: 365, ua: (v) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v}.0 Safari/605.1.15` },
  firefoxLinux: { name: 'firefox-linux', kind: 'computer', base: 148, cycleDays: 28, ua: (v) => `Mozilla/5.0 (X11; Linux x86_64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0` },
  iphone: { name: 'iphone', kind: 'phone', base: 26, cycleDays: 365, ua: (v) => `Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v}.0 Mobile/15E148 Safari/604.1` },
  androidChrome: { name: 'android-chrome', kind: 'phone', base: 145, cycleDays: 28, ua: (v) => `Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Mobile Safari/537.36` },
  samsung: { name: 'samsung-internet', kind: 'phone', base: 29, cycleDays: 60, ua: (v) => `Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/${v}.0 Chrome/136.0.0.0 Mobile Safari/537.36` },
  // iPadOS Safari asks for the desktop site: it sends a Mac's user agent.
  ipad: { name: 'ipad', kind: 'tablet', base: 26, cycleDays: 365, ua: (v) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v}.0 Safari/605.1.15` },
  androidTablet: { name: 'android-tablet', kind: 'tablet', base: 145, cycleDays: 28, ua: (v) => `Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36` },
} as const satisfies Record<string, Platform>;

export const COMPUTERS: readonly (readonly [Platform, number])[] = [
  [PLATFORMS.chromeWindows, 0.42],
  [PLATFORMS.edgeWindows, 0.13],
  [PLATFORMS.firefoxWindows, 0.06],
  [PLATFORMS.chromeMac, 0.13],
  [PLATFORMS.safariMac, 0.2],
  [PLATFORMS.firefoxLinux, 0.06],
];

/** The major a device runs at `time`: releases roll out, and a device lags `lag` majors behind. */
export function majorAt(p: Platform, time: number, lag: number): number {
  return p.base + Math.floor((time - EPOCH) / (p.cycleDays * DAY_MS)) - lag;
}

export function userAgentAt(p: Platform, time: number, lag: number): string {
  return p.ua(majorAt(p, time, lag));
}

/** HTTP libraries that credential-stuffing tools run on. Not all say so in a way a list would catch. */
export const SCRIPTED_AGENTS: readonly string[] = ['python-requests/2.32.3', 'Go-http-client/1.1', 'okhttp/4.12.0', 'curl/8.7.1', 'axios/1.7.2'];

/** A plausible browser's user agent, a few versions old, as attack tools rotate them. */
export function browserAgent(rng: Random, time: number): string {
  const p = rng.weighted<Platform>([...COMPUTERS, [PLATFORMS.iphone, 0.25], [PLATFORMS.androidChrome, 0.25]]);
  return userAgentAt(p, time, rng.int(0, 12));
}
