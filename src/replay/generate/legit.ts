import { COMPUTERS, PLATFORMS, userAgentAt, type DeviceKind, type Platform } from './agents.js';
import { addressIn, COUNTRIES, HOME_AREAS, kmBetween, type Carrier, type Country, type HomeArea, type Isp } from './networks.js';
import type { Random } from './random.js';
import { localToUtc, type GenEvent } from './stream.js';

/**
 * Legitimate users, one day at a time. Each has a home (an address in one ISP's blocks that
 * is renumbered now and then), a mobile carrier, maybe an office shared with colleagues, a
 * few devices whose browsers update, habits of hour and frequency. Over the weeks they mistype
 * passwords, forget them, clear cookies, buy phones and computers, travel at home and abroad,
 * and a few use a VPN. The rates are the generator's assumptions, stated where they are set.
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export const LEGIT_RATES = {
  /** Logins a day: log-normal around this median (spread 0.7), between 0.1 and 5. */
  loginsPerDayMedian: 0.8,
  /** Share of users with an office network (shared with about 20 colleagues). */
  officeShare: 0.35,
  /** A login is preceded by mistyped passwords (1, sometimes 2 or 3). Per-user around this. */
  typoPerLogin: 0.06,
  /** A login is preceded by a forgotten password: 4 to 8 failures over minutes. */
  forgottenPerLogin: 0.003,
  /** The device id is new (cookies cleared, private window, reinstalled app). */
  idResetPerLogin: { computer: 0.005, phone: 0.008, tablet: 0.005 },
  newPhonePerDay: 1 / 900,
  newComputerPerDay: 1 / 1400,
  /** Share of users who travel at all, and how often they leave. */
  travellerShare: 0.7,
  tripsAbroadPerDay: 1 / 120,
  tripsAtHomePerDay: 1 / 60,
  vpnUserShare: 0.04,
  /** Logins of a VPN user from a computer that go through the VPN. */
  vpnPerLogin: 0.25,
} as const;

interface Device {
  id: string;
  platform: Platform;
  kind: DeviceKind;
  /** How many versions behind the latest release it runs. */
  lag: number;
  work: boolean;
  /** Logins made with it: a phishing page sees the browser the victim uses most. */
  uses: number;
}

interface Trip {
  dest: { country: string; tz: string; lat: number; lon: number; blocks: readonly string[] };
  abroad: boolean;
  departs: number;
  arrives: number;
  leaves: number;
  returns: number;
  hotel: string;
  laptop: boolean;
}

export interface UserInfo {
  id: string;
  area: HomeArea;
  isp: Isp;
  carrier: Carrier;
  /** The user agent of the device the user logs in with most, at `time`: what a phishing page captures and a targeted attacker copies. */
  agentAt(time: number): string;
}

/** Offices: one fixed address per office, shared by its staff (a NAT, as offices are). */
export class Offices {
  private readonly byArea = new Map<string, string[]>();
  constructor(private readonly rng: Random) {}

  join(area: HomeArea, users: number): string {
    let offices = this.byArea.get(area.name);
    if (!offices) this.byArea.set(area.name, (offices = []));
    const wanted = Math.max(1, Math.round((users * area.weight * LEGIT_RATES.officeShare) / 20));
    while (offices.length < wanted) offices.push(addressIn(this.rng, this.rng.pick(this.rng.pick(area.isps).blocks)));
    return this.rng.pick(offices);
  }
}

const VPN_EXITS = ['NL', 'SE', 'CH', 'DE', 'US', 'GB'];
const ABROAD_FROM_EUROPE: readonly (readonly [string, number])[] = [['ES', 5], ['IT', 4], ['FR', 3], ['GB', 3], ['DE', 3], ['PT', 2], ['GR', 2], ['NL', 2], ['CH', 1], ['PL', 1], ['US', 2], ['TH', 1], ['JP', 0.5], ['MX', 0.3]];
const ABROAD_FROM_US: readonly (readonly [string, number])[] = [['MX', 4], ['GB', 2], ['FR', 2], ['IT', 2], ['ES', 1.5], ['DE', 1], ['JP', 1], ['TH', 0.5], ['CO', 0.5]];

export class LegitUser implements UserInfo {
  readonly id: string;
  readonly area: HomeArea;
  readonly isp: Isp;
  readonly carrier: Carrier;
  private home: string;
  private readonly office: string | null;
  private readonly devices: Device[] = [];
  private readonly peaks: number[];
  private readonly rate: number;
  private readonly typo: number;
  private readonly traveller: boolean;
  private readonly vpn: Country | null;
  private trip: Trip | null = null;

  constructor(
    private readonly rng: Random,
    index: number,
    users: number,
    offices: Offices,
  ) {
    this.id = `u${String(index).padStart(5, '0')}`;
    this.area = rng.weighted(HOME_AREAS.map((a) => [a, a.weight] as const));
    this.isp = rng.pick(this.area.isps);
    this.home = addressIn(rng, rng.pick(this.isp.blocks));
    this.carrier = rng.pick(this.area.carriers);
    this.office = rng.chance(LEGIT_RATES.officeShare) ? offices.join(this.area, users) : null;
    if (rng.chance(0.8)) this.devices.push(this.device('computer', false));
    if (rng.chance(0.92) || this.devices.length === 0) this.devices.push(this.device('phone', false));
    if (rng.chance(0.15)) this.devices.push(this.device('tablet', false));
    if (this.office && rng.chance(0.7)) this.devices.push(this.device('computer', true));
    // Habits: one to three hours of the day the user tends to log in at, in local time.
    this.peaks = Array.from({ length: rng.int(1, 3) }, () => rng.weighted([[8, 3], [10, 1], [12, 2], [14, 1], [17, 1], [19, 2], [21, 3], [23, 1]] as const) + rng.normal(0, 0.7));
    this.rate = Math.min(5, Math.max(0.1, rng.lognormal(LEGIT_RATES.loginsPerDayMedian, 0.7)));
    this.typo = Math.min(0.3, rng.lognormal(LEGIT_RATES.typoPerLogin, 0.6));
    this.traveller = rng.chance(LEGIT_RATES.travellerShare);
    this.vpn = rng.chance(LEGIT_RATES.vpnUserShare) ? COUNTRIES[rng.chance(0.4) && COUNTRIES[this.area.country] ? this.area.country : rng.pick(VPN_EXITS)]! : null;
  }

  private device(kind: DeviceKind, work: boolean): Device {
    const rng = this.rng;
    let platform: Platform;
    if (kind === 'computer') platform = work ? rng.weighted<Platform>([[PLATFORMS.chromeWindows, 0.6], [PLATFORMS.edgeWindows, 0.4]]) : rng.weighted(COMPUTERS);
    else if (kind === 'phone') platform = rng.chance(this.area.iphoneShare) ? PLATFORMS.iphone : rng.chance(0.75) ? PLATFORMS.androidChrome : PLATFORMS.samsung;
    else platform = rng.chance(0.7) ? PLATFORMS.ipad : PLATFORMS.androidTablet;
    return { id: `d-${rng.hex(12)}`, platform, kind, lag: rng.weighted([[0, 6], [1, 3], [2, 1]] as const), work, uses: 0 };
  }

  agentAt(time: number): string {
    const d = this.devices.reduce((best, x) => (x.uses > best.uses ? x : best));
    return userAgentAt(d.platform, time, d.lag);
  }

  private replace(kind: DeviceKind): void {
    const i = this.devices.findIndex((d) => d.kind === kind && !d.work);
    if (i === -1) return;
    const old = this.devices[i]!;
    const next = this.device(kind, false);
    // Most people stay with their platform; some switch.
    if (this.rng.chance(0.8)) next.platform = old.platform;
    next.lag = 0;
    this.devices[i] = next;
  }

  private planTrip(day: number): void {
    const rng = this.rng;
    const abroad = rng.chance(LEGIT_RATES.tripsAbroadPerDay / (LEGIT_RATES.tripsAbroadPerDay + LEGIT_RATES.tripsAtHomePerDay));
    let dest: Trip['dest'];
    if (abroad) {
      const code = rng.weighted((this.area.country === 'US' ? ABROAD_FROM_US : ABROAD_FROM_EUROPE).filter(([c]) => c !== this.area.country));
      const c = COUNTRIES[code]!;
      dest = { country: c.code, tz: c.tz, lat: c.lat, lon: c.lon, blocks: c.blocks };
    } else {
      // Another ISP's blocks at home: another town, a hotel or a relative's house.
      const isp = rng.pick(this.area.isps);
      dest = { country: this.area.country, tz: this.area.tz, lat: this.area.lat + rng.normal(0, 1.5), lon: this.area.lon + rng.normal(0, 2), blocks: isp.blocks };
    }
    const nights = abroad ? rng.int(3, 14) : rng.int(1, 4);
    const km = kmBetween(this.area, dest);
    // Door to door: airports and waiting on top of ~750 km/h in the air; by road under 500 km.
    const travelMs = (km > 500 ? km / 750 + 3 : km / 80 + 0.5) * HOUR_MS;
    const departs = localToUtc(day, rng.uniform(7, 15), this.area.tz);
    const arrives = departs + travelMs;
    const leaves = localToUtc(day + nights * DAY_MS, rng.uniform(8, 16), dest.tz);
    this.trip = {
      dest,
      abroad,
      departs,
      arrives,
      leaves,
      returns: leaves + travelMs,
      hotel: addressIn(rng, rng.pick(dest.blocks)),
      laptop: this.devices.some((d) => d.kind === 'computer' && !d.work) && rng.chance(0.5),
    };
  }

  /** The user's events for the day starting at `day` (UTC midnight). */
  simulateDay(day: number, out: GenEvent[]): void {
    const rng = this.rng;
    if (rng.chance(1 / this.isp.renumberDays)) this.home = addressIn(rng, rng.pick(this.isp.blocks));
    if (rng.chance(LEGIT_RATES.newPhonePerDay)) this.replace('phone');
    if (rng.chance(LEGIT_RATES.newComputerPerDay)) this.replace('computer');
    if (this.trip && this.trip.returns < day) this.trip = null;
    if (!this.trip && this.traveller && rng.chance(LEGIT_RATES.tripsAbroadPerDay + LEGIT_RATES.tripsAtHomePerDay)) this.planTrip(day);

    const weekday = new Date(day).getUTCDay() % 6 !== 0;
    const away = this.trip && this.trip.arrives < day + DAY_MS && this.trip.leaves > day;
    const n = rng.poisson(this.rate * (weekday ? 1 : 0.75) * (away ? 0.7 : 1));
    const tz = away ? this.trip!.dest.tz : this.area.tz;
    const times = Array.from({ length: n }, () => {
      const hour = rng.chance(0.92) ? rng.pick(this.peaks) + rng.normal(0, 0.9) : rng.uniform(0, 24);
      return localToUtc(day, ((hour % 24) + 24) % 24, tz);
    });
    // In time order, so that what a login changes (a cleared cookie) shows in the later ones.
    for (const t of times.sort((a, b) => a - b)) this.login(t, weekday, out);
  }

  private login(time: number, weekday: boolean, out: GenEvent[]): void {
    const rng = this.rng;
    const trip = this.trip;
    if (trip && time >= trip.departs && time < trip.arrives) return; // on the way there
    if (trip && time >= trip.leaves && time < trip.returns) return; // on the way back
    const onTrip = trip !== null && time >= trip.arrives && time < trip.leaves;
    const personal = this.devices.filter((d) => !d.work);
    let device: Device;
    let ip: string;
    if (onTrip) {
      const laptop = trip.laptop ? personal.find((d) => d.kind === 'computer') : undefined;
      device = laptop && rng.chance(0.45) ? laptop : (personal.find((d) => d.kind === 'phone') ?? personal[0]!);
      if (device.kind === 'computer') ip = this.vpn && rng.chance(0.5) ? this.vpnAddress() : trip.hotel;
      else {
        // Phones abroad mostly roam: mobile data is routed home, so the address is the home carrier's.
        const r = rng.next();
        ip = r < 0.4 ? trip.hotel : r < 0.85 || !trip.abroad ? addressIn(rng, rng.pick(this.carrier.blocks)) : addressIn(rng, rng.pick(trip.dest.blocks));
      }
    } else {
      const atOffice = this.office !== null && weekday && this.officeHours(time) && rng.chance(0.8);
      if (atOffice) {
        const work = this.devices.find((d) => d.work);
        device = work && rng.chance(0.65) ? work : (personal.find((d) => d.kind === 'phone') ?? personal[0]!);
        ip = device.kind === 'phone' && rng.chance(0.7) ? addressIn(rng, rng.pick(this.carrier.blocks)) : this.office!;
      } else {
        device = rng.weighted(personal.map((d) => [d, d.kind === 'phone' ? 0.55 : d.kind === 'computer' ? 0.35 : 0.1] as const));
        if (device.kind === 'phone') ip = rng.chance(0.6) ? this.home : addressIn(rng, rng.pick(this.carrier.blocks));
        else if (device.kind === 'computer' && this.vpn && rng.chance(LEGIT_RATES.vpnPerLogin)) ip = this.vpnAddress();
        else ip = this.home;
      }
    }
    if (rng.chance(LEGIT_RATES.idResetPerLogin[device.kind])) device.id = `d-${rng.hex(12)}`;
    device.uses++;
    const base = { userId: this.id, ip, userAgent: userAgentAt(device.platform, time, device.lag), deviceId: device.id, label: 'legit' };

    if (rng.chance(LEGIT_RATES.forgottenPerLogin)) {
      // Forgot it: several tries over minutes, then a reset (or giving up).
      const tries = rng.int(4, 8);
      let t = time - tries * rng.uniform(0.5, 2.5) * MINUTE_MS;
      for (let k = 0; k < tries; k++) {
        out.push({ ...base, time: Math.round(t), outcome: 'failure' });
        t += rng.uniform(0.3, 2.5) * MINUTE_MS;
      }
      if (rng.chance(0.25)) return;
      out.push({ ...base, time: Math.round(Math.max(t, time) + rng.uniform(2, 10) * MINUTE_MS), outcome: 'success' });
      return;
    }
    if (rng.chance(this.typo)) {
      const typos = rng.weighted([[1, 75], [2, 18], [3, 5], [4, 2]] as const);
      for (let k = typos; k > 0; k--) out.push({ ...base, time: Math.round(time - k * rng.uniform(4, 25) * 1000), outcome: 'failure' });
    }
    out.push({ ...base, time: Math.round(time), outcome: 'success' });
  }

  private officeHours(time: number): boolean {
    const h = (time - localToUtc(Math.floor(time / DAY_MS) * DAY_MS, 0, this.area.tz)) / HOUR_MS;
    const local = ((h % 24) + 24) % 24;
    return local >= 8.5 && local < 17.5;
  }

  private vpnAddress(): string {
    return addressIn(this.rng, this.rng.pick(this.vpn!.blocks));
  }
}
