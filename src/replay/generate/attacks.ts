import type { Fingerprint } from '../event.js';
import { browserAgent, PLATFORMS, SCRIPTED_AGENTS, userAgentAt, type Platform } from './agents.js';
import { drawFingerprint, languagesOf, toolDefaults } from './fingerprint.js';
import { addressIn, COUNTRIES, hostIn, kmBetween, pickCity, pickNet, prefixes } from './networks.js';
import type { Random } from './random.js';
import { localToUtc, type GenEvent } from './stream.js';
import type { UserInfo } from './legit.js';
import type { Sightings } from './sightings.js';

/**
 * Labelled attacks. The parameters are this generator's assumptions about attackers, set
 * before the rules were tuned and not moved to suit them; README reports how the catch rate
 * depends on the one that matters most (how many attempts a stuffing bot makes).
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export const ATTACK_RATES = {
  stuffing: {
    /** Campaigns a week, whatever the size of the site: a bigger site is on bigger lists, not on more of them. */
    campaignsPerWeek: 0.5,
    /** Accounts on the combo list, per user of the site (most lists are for many sites). */
    listPerUser: [1.5, 4] as const,
    /** Share of listed accounts that exist here. */
    existingShare: [0.3, 0.6] as const,
    /** Share of existing accounts whose leaked password still works (password reuse). */
    validShare: 0.02,
    /** Mean attempts per bot address over a campaign; a bot's share is log-normal around it. */
    attemptsPerBot: [15, 40] as const,
    hours: [2, 10] as const,
    /** Share of campaigns by tools that send no device id and a fixed client; the rest fetch the page (a fresh device id each try) and rotate browser agents. */
    naiveShare: 0.5,
    /** Share of accounts tried a second time with a variant of the password. */
    retryShare: 0.15,
  },
  bruteForce: {
    targetsPer1000Users: 12,
    attempts: [30, 300] as const,
    /** Mean seconds between guesses. */
    secondsBetween: [5, 60] as const,
    /** Share of targets whose password falls to guessing. */
    weakShare: 0.35,
  },
  takeover: {
    /** Targeted takeovers: the attacker has the password and the victim's user agent (phishing kit), and a residential proxy in the victim's country. */
    victimsPer1000Users: 60,
    /** The proxy is on the victim's own ISP, or on one of the country's mobile carriers; else another ISP. */
    sameIspShare: 0.25,
    mobileShare: 0.3,
    /** Logs in at one of the victim's habitual hours (else any hour). */
    habitHourShare: 0.6,
    typoShare: 0.1,
    /** The attacker's browser fakes a fingerprint that fits the user agent (else it shows its own). */
    fittingFingerprint: 0.7,
  },
  localTakeover: {
    /** Very targeted takeovers: someone in the victim's city (an ex-partner, a colleague, a local crew) with the password, on a device of the victim's browser family. */
    victimsPer1000Users: 20,
    /** On the victim's own ISP (else another of the city's, or a phone on the victim's carrier). */
    sameIspShare: 0.3,
    mobileShare: 0.2,
  },
  cookieTheft: {
    /** Infostealer victims: the log holds the password, the cookies (the device id) and the user agent of the victim's most used browser. */
    victimsPer1000Users: 60,
    /** Days from infection to the first use of the log (sold, bought, tried): log-normal median, at most two weeks. */
    delayDaysMedian: 2,
    /** Where the buyer's residential proxy is: the victim's country (a network the victim never used), the victim's city, or abroad. */
    inCountry: 0.6,
    inCity: 0.25,
    /** In the country: a mobile proxy on another pool (else a home ISP's customer). */
    countryMobile: 0.25,
    /** In the city: another /24 of the victim's own /16, or the victim's own carrier pool (else another ISP's /24 there). */
    cityOwnRange: 0.85,
    cityOwnPool: 0.1,
    /** Hours: the buyer's (any hour to the victim), the victim's daytime, or one of the victim's habitual hours. */
    hours: [['any', 0.5], ['daytime', 0.3], ['habit', 0.2]] as const,
    /** What the buyer's antidetect browser sends of the victim's fingerprint. */
    fingerprint: [['none', 0.15], ['full', 0.35], ['partial', 0.35], ['own', 0.15]] as const,
    /** The browser's time zone is set to the proxy's (the tools' default), else the victim's is copied. */
    zoneFollowsProxy: 0.5,
    /** On a device with a key: a proof captured earlier and replayed (refused as invalid), else none. */
    replayedProof: 0.25,
  },
  travel: {
    /** Logins from far away soon after the victim's own: physically impossible journeys. */
    victimsPer1000Users: 60,
    copiesAgentShare: 0.5,
  },
} as const;

const BOTNET: readonly (readonly [string, number])[] = [
  ['BR', 3], ['IN', 3], ['VN', 3], ['ID', 2], ['CN', 2], ['RU', 2], ['US', 2], ['TR', 1], ['EG', 1], ['PK', 1], ['UA', 1], ['RO', 1],
  ['MX', 1], ['CO', 1], ['AR', 1], ['TH', 1], ['DE', 1], ['FR', 1], ['GB', 1], ['PL', 1], ['IT', 1], ['ES', 1],
];
const FAR_ORIGINS = ['NG', 'VN', 'BR', 'RU', 'CN', 'IN', 'ID', 'UA', 'RO', 'PK', 'TR', 'EG', 'CO', 'AR', 'MX'];

export interface AttackContext {
  start: number;
  end: number;
  users: readonly UserInfo[];
  /** What the user's legitimate logins have shown, up to the end of the day just generated. */
  seenOf(userId: string): Sightings;
  /** The user's successful legitimate logins on the day just generated. */
  todayOf(userId: string): readonly GenEvent[];
}

/**
 * Attacks are generated day by day with the legitimate logins, so that what an attacker
 * copies is what the victim showed by then. A task runs after the legitimate logins of the day
 * that starts at `day` (UTC midnight) and adds events no earlier than 15 hours before that day.
 */
export type Schedule = (day: number, task: (out: GenEvent[]) => void) => void;

const between = (rng: Random, [lo, hi]: readonly [number, number]) => rng.uniform(lo, hi);
const per1000 = (rate: number, users: number) => Math.max(1, Math.round((rate * users) / 1000));

function botAddress(rng: Random): string {
  return addressIn(rng, rng.pick(COUNTRIES[rng.weighted(BOTNET)]!.blocks));
}

/** The day before `time`: when a task for events from `time` on runs. */
const dayBefore = (time: number) => Math.floor(time / DAY_MS) * DAY_MS - DAY_MS;

export function credentialStuffing(rng: Random, ctx: AttackContext, schedule: Schedule): void {
  const R = ATTACK_RATES.stuffing;
  const campaigns = Math.max(1, Math.round((R.campaignsPerWeek * (ctx.end - ctx.start)) / (7 * DAY_MS)));
  for (let c = 0; c < campaigns; c++) {
    const r = rng.fork(`campaign-${c}`);
    const start = r.uniform(ctx.start + DAY_MS, ctx.end - DAY_MS);
    schedule(dayBefore(start), (out) => campaign(r, ctx, start, out));
  }
}

function campaign(r: Random, ctx: AttackContext, start: number, out: GenEvent[]): void {
  const R = ATTACK_RATES.stuffing;
  const duration = between(r, R.hours) * HOUR_MS;
  const listSize = Math.round(ctx.users.length * between(r, R.listPerUser));
  const existing = r.shuffle([...ctx.users]).slice(0, Math.round(listSize * between(r, R.existingShare)));
  const accounts = [...existing.map((u) => ({ id: u.id, valid: r.chance(R.validShare) })), ...Array.from({ length: listSize - existing.length }, () => ({ id: `x${r.hex(8)}`, valid: false }))];
  r.shuffle(accounts);
  const bots = Array.from({ length: Math.max(1, Math.round(listSize / between(r, R.attemptsPerBot))) }, () => [botAddress(r), r.lognormal(1, 0.8)] as const);
  const naive = r.chance(R.naiveShare);
  const tools = naive ? [r.chance(0.5) ? r.pick(SCRIPTED_AGENTS) : browserAgent(r, start)] : [];
  for (const a of accounts) {
    const tries = r.chance(R.retryShare) ? 2 : 1;
    for (let k = 0; k < tries; k++) {
      const time = Math.round(start + r.next() * duration);
      const success = a.valid && k === tries - 1;
      out.push({
        time,
        userId: a.id,
        ip: r.weighted(bots),
        userAgent: naive ? tools[0] : browserAgent(r, time),
        deviceId: naive ? undefined : `d-${r.hex(12)}`,
        outcome: success ? 'success' : 'failure',
        label: 'credential_stuffing',
      });
    }
  }
}

export function bruteForce(rng: Random, ctx: AttackContext, schedule: Schedule): void {
  const R = ATTACK_RATES.bruteForce;
  const targets = per1000(R.targetsPer1000Users, ctx.users.length);
  for (let i = 0; i < targets; i++) {
    const r = rng.fork(`target-${i}`);
    const victim = r.pick(ctx.users);
    const from = r.uniform(ctx.start + 7 * DAY_MS, ctx.end - DAY_MS);
    schedule(dayBefore(from), (out) => {
      const ips = Array.from({ length: r.chance(0.6) ? 1 : r.int(2, 4) }, () => botAddress(r));
      const agent = r.chance(0.4) ? r.pick(SCRIPTED_AGENTS) : browserAgent(r, ctx.start);
      const deviceId = r.chance(0.6) ? undefined : `d-${r.hex(12)}`;
      const attempts = r.int(...R.attempts);
      const gap = between(r, R.secondsBetween) * 1000;
      const cracked = r.chance(R.weakShare) ? r.int(20, attempts) : -1;
      let t = from;
      for (let k = 0; k < attempts; k++) {
        t += r.exponential(gap);
        const ip = r.pick(ips);
        const base = { userId: victim.id, ip, userAgent: agent, deviceId, label: 'brute_force' };
        if (k === cracked) {
          out.push({ ...base, time: Math.round(t), outcome: 'success' });
          // Back the next day to use the account.
          if (r.chance(0.5)) out.push({ ...base, time: Math.round(t + r.uniform(2, 30) * HOUR_MS), outcome: 'success' });
          break;
        }
        out.push({ ...base, time: Math.round(t), outcome: 'failure' });
      }
    });
  }
}

/** The platform a user agent string was made by (the generator's own strings). */
function platformOf(userAgent: string | undefined, time: number): Platform {
  for (const p of Object.values(PLATFORMS) as Platform[]) for (let lag = 0; lag <= 3; lag++) if (userAgentAt(p, time, lag) === userAgent) return p;
  return PLATFORMS.chromeWindows;
}

/** A local hour drawn from the victim's habits. */
const habitHour = (r: Random, v: UserInfo) => r.pick(v.peaks) + r.normal(0, 1);
const wrap = (h: number) => ((h % 24) + 24) % 24;

function dayIn(r: Random, ctx: AttackContext, fromDays: number): number {
  return Math.floor(r.uniform(ctx.start + fromDays * DAY_MS, ctx.end - DAY_MS) / DAY_MS) * DAY_MS;
}

/** A home ISP's customer somewhere in the victim's country: a residential proxy exit. */
function residentialIn(r: Random, v: UserInfo, isp?: string): string {
  const city = pickCity(r, v.nation);
  const net = (isp && city.nets.find((n) => n.isp === isp)) || pickNet(r, city);
  return hostIn(r, r.pick(prefixes(net.v4)));
}

/** Each of `per1000Users` victims per 1,000 users, with a random stream of its own. */
function eachVictim(rng: Random, ctx: AttackContext, per1000Users: number, visit: (r: Random, v: UserInfo) => void): void {
  const victims = per1000(per1000Users, ctx.users.length);
  for (let i = 0; i < victims; i++) {
    const r = rng.fork(`victim-${i}`);
    visit(r, r.pick(ctx.users));
  }
}

type Takeover = (r: Random, ctx: AttackContext, v: UserInfo, logins: number, first: number, out: GenEvent[]) => void;

/** Takeovers of a few logins on days from a first one, made the day before it with what the victim showed by then. */
function scheduleTakeovers(rng: Random, ctx: AttackContext, schedule: Schedule, per1000Users: number, logins: readonly (readonly [number, number])[], make: Takeover): void {
  eachVictim(rng, ctx, per1000Users, (r, v) => {
    const n = r.weighted(logins);
    const first = dayIn(r, ctx, 7);
    schedule(first - DAY_MS, (out) => make(r, ctx, v, n, first, out));
  });
}

export function accountTakeover(rng: Random, ctx: AttackContext, schedule: Schedule): void {
  scheduleTakeovers(rng, ctx, schedule, ATTACK_RATES.takeover.victimsPer1000Users, [[1, 6], [2, 3], [3, 1]], takeover);
}

function takeover(r: Random, ctx: AttackContext, v: UserInfo, logins: number, first: number, out: GenEvent[]): void {
  const R = ATTACK_RATES.takeover;
  let day = first;
  for (let k = 0; k < logins && day < ctx.end; k++) {
    const hour = r.chance(R.habitHourShare) ? habitHour(r, v) : r.uniform(0, 24);
    const time = localToUtc(day, wrap(hour), v.city.tz);
    const x = r.next();
    const ip =
      x < R.sameIspShare
        ? residentialIn(r, v, v.net.isp)
        : x < R.sameIspShare + R.mobileShare
          ? addressIn(r, r.pick(r.pick(v.nation.carriers).pools))
          : residentialIn(r, v);
    // The phishing page saw the browser the victim uses most.
    const userAgent = ctx.seenOf(v.id).top()?.userAgent ?? browserAgent(r, time);
    const fingerprint = r.chance(R.fittingFingerprint)
      ? drawFingerprint(r, platformOf(userAgent, time), languagesOf(r, v.nation.country), v.city.tz)
      : drawFingerprint(r, PLATFORMS.chromeWindows, ['en-US', 'en'], r.pick(Object.values(COUNTRIES)).tz);
    const base = { userId: v.id, ip, userAgent, deviceId: `d-${r.hex(12)}`, fingerprint, label: 'account_takeover' };
    if (r.chance(R.typoShare)) out.push({ ...base, time: time - r.int(5, 40) * 1000, outcome: 'failure' });
    out.push({ ...base, time, outcome: 'success' });
    day += r.int(1, 5) * DAY_MS;
  }
}

/** Very targeted: from the victim's own city, on a device of the victim's browser family, at the victim's hours. */
export function localTakeover(rng: Random, ctx: AttackContext, schedule: Schedule): void {
  scheduleTakeovers(rng, ctx, schedule, ATTACK_RATES.localTakeover.victimsPer1000Users, [[1, 5], [2, 3], [3, 2]], localLogins);
}

function localLogins(r: Random, ctx: AttackContext, v: UserInfo, logins: number, first: number, out: GenEvent[]): void {
  const R = ATTACK_RATES.localTakeover;
  let day = first;
  const x = r.next();
  const net = x < R.sameIspShare ? v.net : pickNet(r, v.city);
  const mobile = x >= R.sameIspShare && x < R.sameIspShare + R.mobileShare;
  const deviceId = `d-${r.hex(12)}`;
  for (let k = 0; k < logins && day < ctx.end; k++) {
    const time = localToUtc(day, wrap(habitHour(r, v)), v.city.tz);
    const platform = platformOf(ctx.seenOf(v.id).top()?.userAgent, time);
    const ip = mobile ? addressIn(r, v.mobilePool) : hostIn(r, r.pick(prefixes(net.v4)));
    const userAgent = userAgentAt(platform, time, r.int(0, 2));
    const fingerprint = drawFingerprint(r, platform, languagesOf(r, v.nation.country), v.city.tz);
    out.push({ userId: v.id, ip, userAgent, deviceId, fingerprint, label: 'account_takeover_local', time, outcome: 'success' });
    day += r.int(1, 4) * DAY_MS;
  }
}

export function impossibleTravel(rng: Random, ctx: AttackContext, schedule: Schedule): void {
  eachVictim(rng, ctx, ATTACK_RATES.travel.victimsPer1000Users, (r, v) => {
    // Right after one of the victim's own logins: on the first day from then that has one.
    const task = (day: number) => (out: GenEvent[]) => {
      const today = ctx.todayOf(v.id);
      if (today.length > 0) journey(r, ctx, v, r.pick(today).time, out);
      else if (day + DAY_MS < ctx.end) schedule(day + DAY_MS, task(day + DAY_MS));
    };
    const day = dayIn(r, ctx, 7);
    schedule(day, task(day));
  });
}

function journey(r: Random, ctx: AttackContext, v: UserInfo, seen: number, out: GenEvent[]): void {
  const R = ATTACK_RATES.travel;
  const origin = COUNTRIES[r.pick(FAR_ORIGINS.filter((c) => c !== v.nation.country))]!;
  const km = kmBetween(v.city, origin);
  // Sooner than any airliner could have made the journey (at ~1,000 km/h, door to door).
  const minutes = r.uniform(3, Math.min(180, (km / 1000) * 60));
  const time = Math.round(seen + minutes * MINUTE_MS);
  const userAgent = r.chance(R.copiesAgentShare) ? (ctx.seenOf(v.id).top()?.userAgent ?? browserAgent(r, time)) : browserAgent(r, time);
  const fingerprint = r.chance(0.5) ? undefined : drawFingerprint(r, platformOf(userAgent, time), ['en-US', 'en'], origin.tz);
  const base = { userId: v.id, ip: addressIn(r, r.pick(origin.blocks)), userAgent, deviceId: `d-${r.hex(12)}`, fingerprint, label: 'impossible_travel' };
  if (r.chance(0.15)) out.push({ ...base, time: time - r.int(10, 60) * 1000, outcome: 'failure' });
  out.push({ ...base, time, outcome: 'success' });
}

type ProxyPlace = 'country' | 'city' | 'abroad';

/** The buyer's residential proxy: where it is, and its address. */
function theftProxy(r: Random, v: UserInfo, where: ProxyPlace): { ip: string; tz: string } {
  const R = ATTACK_RATES.cookieTheft;
  if (where === 'abroad') {
    const c = COUNTRIES[r.pick(Object.keys(COUNTRIES).filter((code) => code !== v.nation.country))]!;
    return { ip: addressIn(r, r.pick(c.blocks)), tz: c.tz };
  }
  if (where === 'city') {
    const x = r.next();
    if (x < R.cityOwnRange) {
      // Another customer of the victim's ISP in the city, in the same /16 when the ISP serves the city from it.
      const range = `${v.home24.split('.').slice(0, 2).join('.')}.`;
      const others = prefixes(v.net.v4).filter((p) => p !== v.home24);
      const near = others.filter((p) => p.startsWith(range));
      return { ip: hostIn(r, r.pick(near.length > 0 ? near : others.length > 0 ? others : [v.home24])), tz: v.city.tz };
    }
    if (x < R.cityOwnRange + R.cityOwnPool) return { ip: addressIn(r, v.mobilePool), tz: v.city.tz };
    return { ip: hostIn(r, r.pick(prefixes(pickNet(r, v.city).v4))), tz: v.city.tz };
  }
  if (r.chance(R.countryMobile)) {
    const pools = v.nation.carriers.flatMap((c) => c.pools).filter((p) => p !== v.mobilePool);
    return { ip: addressIn(r, r.pick(pools)), tz: v.city.tz };
  }
  const city = pickCity(r, v.nation, v.city);
  return { ip: hostIn(r, r.pick(prefixes(pickNet(r, city).v4))), tz: city.tz };
}

/** What the buyer's browser sends: the stolen fingerprint, some of it, or its own. */
function theftFingerprint(r: Random, stolen: Fingerprint | undefined, userAgent: string | undefined, time: number, proxyZone: string): Fingerprint | undefined {
  const R = ATTACK_RATES.cookieTheft;
  const kind = r.weighted(R.fingerprint);
  if (kind === 'none') return undefined;
  const timeZone = r.chance(R.zoneFollowsProxy) ? proxyZone : (stolen?.timeZone ?? proxyZone);
  if (kind === 'own' || !stolen) {
    // The buyer's own machine behind a user-agent switcher: its platform need not match the agent.
    return drawFingerprint(r, r.chance(0.7) ? PLATFORMS.chromeWindows : platformOf(userAgent, time), r.pick([['en-US', 'en'], ['ru-RU', 'ru', 'en-US', 'en'], ['en-GB', 'en']]), r.chance(0.5) ? timeZone : r.pick(FAR_ORIGINS.map((c) => COUNTRIES[c]!.tz)));
  }
  if (kind === 'full') return { ...stolen, timeZone };
  // An antidetect profile: the log's agent-level attributes, the tool's hardware.
  return { ...stolen, ...toolDefaults(r), timeZone };
}

/**
 * Infostealer logs: the buyer replays the victim's password, the device cookie and the exact
 * user agent of the victim's most used browser, through a residential proxy. On a device that
 * holds a device-bound key the cookie is not enough: the buyer has no key to sign with.
 */
export function cookieTheft(rng: Random, ctx: AttackContext, schedule: Schedule): void {
  eachVictim(rng, ctx, ATTACK_RATES.cookieTheft.victimsPer1000Users, (r, v) => {
    const day = dayIn(r, ctx, 9);
    schedule(day, (out) => theft(r, ctx, v, day + DAY_MS, out));
  });
}

/** The malware ran on the victim's computer at `infected`; the log is used from days later. */
function theft(r: Random, ctx: AttackContext, candidate: UserInfo, infected: number, out: GenEvent[]): void {
  const R = ATTACK_RATES.cookieTheft;
  // A victim whose browser already holds a session: someone who has logged in a few times.
  let v = candidate;
  for (let tries = 0; tries < 20 && ctx.seenOf(v.id).logins < 3; tries++) v = r.pick(ctx.users);
  const device = ctx.seenOf(v.id).top();
  if (!device) return;
  const label = device.keyed ? 'cookie_theft_bound' : 'cookie_theft';
  const x = r.next();
  const where: ProxyPlace = x < R.inCountry ? 'country' : x < R.inCountry + R.inCity ? 'city' : 'abroad';
  const proxy = theftProxy(r, v, where);
  const logins = r.weighted([[1, 4], [2, 3], [3, 2], [4, 1]] as const);
  let t = infected + Math.min(14, r.lognormal(R.delayDaysMedian, 0.8)) * DAY_MS;
  for (let k = 0; k < logins && t < ctx.end; k++) {
    const day = Math.floor(t / DAY_MS) * DAY_MS;
    const hours = r.weighted(R.hours);
    let time = hours === 'any' ? Math.round(day + r.uniform(0, 24) * HOUR_MS) : localToUtc(day, wrap(hours === 'habit' ? habitHour(r, v) : r.uniform(9, 22)), v.city.tz);
    if (time < t) time += DAY_MS;
    if (time >= ctx.end) break;
    out.push({
      userId: v.id,
      ip: k === 0 || r.chance(0.3) ? proxy.ip : theftProxy(r, v, where).ip,
      userAgent: device.userAgent,
      deviceId: device.id,
      fingerprint: theftFingerprint(r, device.fingerprint, device.userAgent, time, proxy.tz),
      deviceProof: device.keyed && r.chance(R.replayedProof) ? 'invalid' : undefined,
      label,
      time,
      outcome: 'success',
    });
    t = time + r.uniform(2, 48) * HOUR_MS;
  }
}
