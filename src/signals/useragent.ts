import { createRequire } from 'node:module';
import { LRUCache } from 'lru-cache';
import { hash53 } from './fingerprint.js';

// ua-parser-js 1.0.x is MIT; 2.x is AGPL-3.0 (see README, "Dependencies").
const UAParser = createRequire(import.meta.url)('ua-parser-js') as typeof import('ua-parser-js');

export interface UserAgentInfo {
  present: boolean;
  browser: string;
  browserMajor: string;
  os: string;
  /** desktop, mobile, tablet, smarttv, wearable, console, embedded */
  deviceType: string;
  /** browser/os/deviceType: what "the same kind of device" means for a user without a device id. */
  family: string;
  /** Headless browsers, HTTP libraries and crawlers: logins by scripts, not people. */
  automation: boolean;
  /** Hash of the exact string (hash53): what a device's history keeps; "" when none. */
  hash: string;
  /** The browser's major version as a number; 0 when unknown. */
  major: number;
}

const AUTOMATION =
  /HeadlessChrome|PhantomJS|Selenium|puppeteer|playwright|python-requests|python-urllib|aiohttp|curl\/|Wget|Go-http-client|libwww-perl|Apache-HttpClient|Java\/|axios|node-fetch|undici|Scrapy|bot\b|crawler|spider/i;

const MISSING: UserAgentInfo = Object.freeze({
  present: false,
  browser: '',
  browserMajor: '',
  os: '',
  deviceType: '',
  family: 'unknown',
  automation: false,
  hash: '',
  major: 0,
});

/** Parses a user agent string; parses are cached because real traffic repeats a few thousand strings. */
export class UserAgentParser {
  private readonly cache: LRUCache<string, UserAgentInfo>;

  constructor(cacheSize = 10_000) {
    this.cache = new LRUCache({ max: cacheSize });
  }

  parse(ua: string | undefined): UserAgentInfo {
    if (!ua) return MISSING;
    const hit = this.cache.get(ua);
    if (hit) return hit;
    const info = parseUncached(ua);
    this.cache.set(ua, info);
    return info;
  }
}

function parseUncached(ua: string): UserAgentInfo {
  const r = new UAParser(ua).getResult();
  const browser = r.browser.name ?? '';
  const os = r.os.name ?? '';
  const deviceType = r.device.type ?? (os === 'Android' || os === 'iOS' ? 'mobile' : 'desktop');
  return Object.freeze({
    present: true,
    browser,
    browserMajor: r.browser.major ?? '',
    os,
    deviceType,
    family: `${browser || '?'}/${os || '?'}/${deviceType}`,
    automation: AUTOMATION.test(ua),
    hash: hash53(ua),
    major: Number.parseInt(r.browser.major ?? '', 10) || 0,
  });
}
