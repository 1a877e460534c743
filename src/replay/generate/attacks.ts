import { browserAgent, SCRIPTED_AGENTS } from './agents.js';
import { addressIn, COUNTRIES, HOME_AREAS, kmBetween } from './networks.js';
import type { Random } from './random.js';
import { localToUtc, type GenEvent } from './stream.js';
import type { UserInfo } from './legit.js';

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
  /** Successful legitimate logins of a user, in time order. */
  successesOf(userId: string): readonly number[];
}

const between = (rng: Random, [lo, hi]: readonly [number, number]) => rng.uniform(lo, hi);
const per1000 = (rate: number, users: number) => Math.max(1, Math.round((rate * users) / 1000));

function botAddress(rng: Random): string {
  return addressIn(rng, rng.pick(COUNTRIES[rng.weighted(BOTNET)]!.blocks));
}

export function credentialStuffing(rng: Random, ctx: AttackContext, out: GenEvent[]): void {
  const R = ATTACK_RATES.stuffing;
  const campaigns = Math.max(1, Math.round((R.campaignsPerWeek * (ctx.end - ctx.start)) / (7 * DAY_MS)));
  for (let c = 0; c < campaigns; c++) {
    const r = rng.fork(`campaign-${c}`);
    const start = r.uniform(ctx.start + DAY_MS, ctx.end - DAY_MS);
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
}

export function bruteForce(rng: Random, ctx: AttackContext, out: GenEvent[]): void {
  const R = ATTACK_RATES.bruteForce;
  const targets = per1000(R.targetsPer1000Users, ctx.users.length);
  for (let i = 0; i < targets; i++) {
    const r = rng.fork(`target-${i}`);
    const victim = r.pick(ctx.users);
    const ips = Array.from({ length: r.chance(0.6) ? 1 : r.int(2, 4) }, () => botAddress(r));
    const agent = r.chance(0.4) ? r.pick(SCRIPTED_AGENTS) : browserAgent(r, ctx.start);
    const deviceId = r.chance(0.6) ? undefined : `d-${r.hex(12)}`;
    const attempts = r.int(...R.attempts);
    const gap = between(r, R.secondsBetween) * 1000;
    const cracked = r.chance(R.weakShare) ? r.int(20, attempts) : -1;
    let t = r.uniform(ctx.start + 7 * DAY_MS, ctx.end - DAY_MS);
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
  }
}

export function accountTakeover(rng: Random, ctx: AttackContext, out: GenEvent[]): void {
  const R = ATTACK_RATES.takeover;
  const victims = per1000(R.victimsPer1000Users, ctx.users.length);
  for (let i = 0; i < victims; i++) {
    const r = rng.fork(`victim-${i}`);
    const v = r.pick(ctx.users);
    const area = v.area;
    const sameCountry = HOME_AREAS.filter((a) => a.country === area.country);
    const logins = r.weighted([[1, 6], [2, 3], [3, 1]] as const);
    let day = Math.floor(r.uniform(ctx.start + 7 * DAY_MS, ctx.end - DAY_MS) / DAY_MS) * DAY_MS;
    for (let k = 0; k < logins && day < ctx.end; k++) {
      const hour = r.chance(R.habitHourShare) ? r.weighted([[8, 3], [12, 2], [19, 2], [21, 3]] as const) + r.normal(0, 1) : r.uniform(0, 24);
      const time = localToUtc(day, ((hour % 24) + 24) % 24, area.tz);
      const x = r.next();
      const ip =
        x < R.sameIspShare
          ? addressIn(r, r.pick(v.isp.blocks))
          : x < R.sameIspShare + R.mobileShare
            ? addressIn(r, r.pick(r.pick(r.pick(sameCountry).carriers).blocks))
            : addressIn(r, r.pick(r.pick(r.pick(sameCountry).isps).blocks));
      const base = { userId: v.id, ip, userAgent: v.agentAt(time), deviceId: `d-${r.hex(12)}`, label: 'account_takeover' };
      if (r.chance(R.typoShare)) out.push({ ...base, time: time - r.int(5, 40) * 1000, outcome: 'failure' });
      out.push({ ...base, time, outcome: 'success' });
      day += r.int(1, 5) * DAY_MS;
    }
  }
}

export function impossibleTravel(rng: Random, ctx: AttackContext, out: GenEvent[]): void {
  const R = ATTACK_RATES.travel;
  const victims = per1000(R.victimsPer1000Users, ctx.users.length);
  for (let i = 0; i < victims; i++) {
    const r = rng.fork(`victim-${i}`);
    const v = r.pick(ctx.users);
    const after = ctx.successesOf(v.id).filter((t) => t >= ctx.start + 7 * DAY_MS);
    if (after.length === 0) continue;
    const seen = r.pick(after);
    const origin = COUNTRIES[r.pick(FAR_ORIGINS.filter((c) => c !== v.area.country))]!;
    const km = kmBetween(v.area, origin);
    // Sooner than any airliner could have made the journey (at ~1,000 km/h, door to door).
    const minutes = r.uniform(3, Math.min(180, (km / 1000) * 60));
    const time = Math.round(seen + minutes * MINUTE_MS);
    const agent = r.chance(R.copiesAgentShare) ? v.agentAt(time) : browserAgent(r, time);
    const base = { userId: v.id, ip: addressIn(r, r.pick(origin.blocks)), userAgent: agent, deviceId: `d-${r.hex(12)}`, label: 'impossible_travel' };
    if (r.chance(0.15)) out.push({ ...base, time: time - r.int(10, 60) * 1000, outcome: 'failure' });
    out.push({ ...base, time, outcome: 'success' });
  }
}
