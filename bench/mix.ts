import type { LoginAttempt } from '../src/types.js';

/**
 * A realistic request mix for the load: users with a home network and a device or two, a
 * share of logins from a phone on a mobile network, travel, new devices, and a tail of
 * unknown users. Deterministic (seeded), so every run loads the same requests.
 */
export function requestMix(users: number, count: number, seed = 42): LoginAttempt[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const homes = ['81.167.144', '84.208.20', '88.88.3', '193.90.12', '77.16.40', '177.10.8', '110.0.5', '5.9.4', '62.210.3', '31.13.64'];
  const mobiles = ['81.167.200', '84.208.90', '177.10.77', '110.0.99'];
  const uas = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  ];
  const profile = Array.from({ length: users }, (_, i) => ({
    userId: `u${String(i).padStart(6, '0')}`,
    home: `${pick(homes)}.${1 + Math.floor(rnd() * 250)}`,
    mobile: pick(mobiles),
    ua: pick(uas),
    phoneUa: uas[2 + Math.floor(rnd() * 2)]!,
  }));
  const out: LoginAttempt[] = [];
  for (let i = 0; i < count; i++) {
    const p = pick(profile);
    const r = rnd();
    if (r < 0.75) out.push({ userId: p.userId, ip: p.home, userAgent: p.ua, deviceId: `${p.userId}-pc` });
    else if (r < 0.9) out.push({ userId: p.userId, ip: `${p.mobile}.${1 + Math.floor(rnd() * 250)}`, userAgent: p.phoneUa, deviceId: `${p.userId}-phone` });
    else if (r < 0.95) out.push({ userId: p.userId, ip: `${pick(homes)}.${1 + Math.floor(rnd() * 250)}`, userAgent: pick(uas), deviceId: `new-${i}` });
    else out.push({ userId: `new-${i}`, ip: `${pick(homes)}.${1 + Math.floor(rnd() * 250)}`, userAgent: pick(uas), deviceId: `d-new-${i}` });
  }
  return out;
}
