import type { DeviceProof } from '../event.js';
import { COMPUTERS, PLATFORMS, userAgentAt, type DeviceKind, type Platform } from './agents.js';
import { deviceFingerprint, fingerprintAt, type DeviceFingerprint } from './fingerprint.js';
import { addressIn, COUNTRIES, homePrefix64, hostIn, interfaceId, kmBetween, pickCity, pickNation, pickNet, prefixes, v6Address, type Country } from './networks.js';
import type { City, CityNet, Nation } from './places.js';
import { Random } from './random.js';
import { localToUtc, type GenEvent, type Via } from './stream.js';

/**
 * Legitimate users, one day at a time. Each lives in a city, on one ISP (an address that
 * moves within its /24 every few days for most homes, an IPv6 /64 for many) and one mobile
 * carrier (a CGNAT pool); some work in an office behind a NAT or a cloud proxy abroad. Their
 * devices' browsers update; some register a device-bound key. Over the weeks they mistype and
 * forget passwords, clear cookies, open private windows, buy phones and computers, visit
 * friends, travel at home and abroad, and a few use a VPN. The rates are the generator's
 * assumptions, stated where they are set.
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export const LEGIT_RATES = {
  /** Logins a day: log-normal around this median (spread 0.7), between 0.1 and 5. */
  loginsPerDayMedian: 0.8,
  /** Share of users with an office network (shared with about 20 colleagues). */
  officeShare: 0.35,
  /** Offices whose managed computers reach the web through a cloud proxy in another country. */
  officeProxyShare: 0.2,
  /** A login is preceded by mistyped passwords (1, sometimes 2 or 3). Per-user around this. */
  typoPerLogin: 0.06,
  /** A login is preceded by a forgotten password: 4 to 8 failures over minutes. */
  forgottenPerLogin: 0.003,
  /** Homes whose address changes within its /24 (dynamic addressing); the others keep one address. */
  dynamicHomeShare: 0.8,
  /** Mean days between two addresses of a dynamic home. */
  hostChangeDays: [2, 6] as const,
  /** A home moves to another of its ISP's /24s in the city (a new pool, a new router). */
  subnetMovePerDay: 1 / 150,
  /** Of a home with IPv6, the logins that use it (browsers prefer IPv6). */
  ipv6PerLogin: 0.85,
  /** A phone at home is on Wi-Fi; otherwise on mobile data. */
  phoneWifiAtHome: 0.7,
  /** A session on mobile data from another of the carrier's pools (another region's). */
  otherPoolPerSession: 0.1,
  /** Outside trips: a login on someone else's network in another city (friends, family, a café). */
  elsewherePerLogin: 0.012,
  /** The device id is new for good (cookies cleared, app reinstalled). */
  idResetPerLogin: { computer: 0.005, phone: 0.008, tablet: 0.005 },
  /** A private window: a new device id for this login only. */
  privateWindowPerLogin: { computer: 0.004, phone: 0.003, tablet: 0.002 },
  newPhonePerDay: 1 / 900,
  newComputerPerDay: 1 / 1400,
  /** A new phone of another make: its user agent changes too. */
  switchPlatformShare: 0.2,
  /** Share of users who travel at all, and how often they leave. */
  travellerShare: 0.7,
  tripsAbroadPerDay: 1 / 120,
  tripsAtHomePerDay: 1 / 60,
  vpnUserShare: 0.04,
  /** Logins of a VPN user from a computer that go through the VPN. */
  vpnPerLogin: 0.25,
  /** Safari deletes a site's script-made storage, a device key with it, after this many days without a visit. */
  safariStorageDays: 7,
  /** Logins whose page could not read the fingerprint (scripts blocked, a timeout). */
  noFingerprintPerLogin: 0.01,
} as const;

interface Device {
  id: string;
  platform: Platform;
  kind: DeviceKind;
  /** How many versions behind the latest release it runs. */
  lag: number;
  work: boolean;
  fp: DeviceFingerprint;
  /** The browser holds a device-bound key for this site. */
  keyed: boolean;
  lastUsed: number;
}

interface Trip {
  abroad: boolean;
  tz: string;
  lat: number;
  lon: number;
  departs: number;
  arrives: number;
  leaves: number;
  returns: number;
  hotel: string;
  /** A local SIM's address abroad, else null (the phone roams on the home carrier). */
  localMobile: readonly string[] | null;
  laptop: boolean;
}

interface Office {
  nat: string;
  /** The /24 of a cloud proxy's egress abroad, or null. */
  proxy: string | null;
}

/** What attacks need to know of a victim. */
export interface UserInfo {
  id: string;
  nation: Nation;
  city: City;
  net: CityNet;
  /** The home's /24 at the start. */
  home24: string;
  /** The /16 of the carrier's pool the user's phone is in. */
  mobilePool: string;
  /** Hours of the day (local) the user tends to log in at. */
  peaks: readonly number[];
}

const OFFICE_PROXY_EXITS = ['NL', 'DE', 'GB', 'US', 'FR', 'CH'];

/** Offices: one NAT address per office, shared by its staff, in the staff's city. */
export class Offices {
  private readonly byCity = new Map<City, Office[]>();
  constructor(private readonly rng: Random) {}

  join(nation: Nation, city: City, users: number): Office {
    let offices = this.byCity.get(city);
    if (!offices) this.byCity.set(city, (offices = []));
    const cityShare = city.weight / nation.cities.reduce((n, c) => n + c.weight, 0);
    const wanted = Math.max(1, Math.round((users * nation.weight * cityShare * LEGIT_RATES.officeShare) / 20));
    const rng = this.rng;
    while (offices.length < wanted) {
      const exit = rng.chance(LEGIT_RATES.officeProxyShare) ? COUNTRIES[rng.pick(OFFICE_PROXY_EXITS.filter((c) => c !== nation.country))]! : null;
      offices.push({ nat: hostIn(rng, rng.pick(prefixes(pickNet(rng, city).v4))), proxy: exit ? addressIn(rng, rng.pick(exit.blocks)).split('.').slice(0, 3).join('.') : null });
    }
    return rng.pick(offices);
  }
}

const VPN_EXITS = ['NL', 'SE', 'CH', 'DE', 'US', 'GB'];
const ABROAD_FROM_EUROPE: readonly (readonly [string, number])[] = [['ES', 5], ['IT', 4], ['FR', 3], ['GB', 3], ['DE', 3], ['PT', 2], ['GR', 2], ['NL', 2], ['CH', 1], ['PL', 1], ['US', 2], ['TH', 1], ['JP', 0.5], ['MX', 0.3]];
const ABROAD_FROM_US: readonly (readonly [string, number])[] = [['MX', 4], ['GB', 2], ['FR', 2], ['IT', 2], ['ES', 1.5], ['DE', 1], ['JP', 1], ['TH', 0.5], ['CO', 0.5]];
const SAFARI = new Set(['safari-mac', 'iphone', 'ipad']);

export class LegitUser implements UserInfo {
  readonly id: string;
  readonly nation: Nation;
  readonly city: City;
  readonly net: CityNet;
  readonly home24: string;
  readonly mobilePool: string;
  readonly peaks: number[];
  private current24: string;
  private host: string;
  private readonly prefix64: string | null;
  private readonly hostChangePerDay: number;
  private readonly carrierPools: readonly string[];
  private readonly office: Office | null;
  private readonly devices: Device[] = [];
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
    private readonly deviceKeys: number,
  ) {
    this.id = `u${String(index).padStart(5, '0')}`;
    this.nation = pickNation(rng);
    this.city = pickCity(rng, this.nation);
    this.net = pickNet(rng, this.city);
    this.home24 = this.current24 = rng.pick(prefixes(this.net.v4));
    this.host = hostIn(rng, this.current24);
    this.prefix64 = rng.chance(this.nation.ipv6[this.net.isp] ?? 0) ? homePrefix64(rng, this.net) : null;
    this.hostChangePerDay = rng.chance(LEGIT_RATES.dynamicHomeShare) ? 1 / rng.uniform(...LEGIT_RATES.hostChangeDays) : 0;
    const carrier = rng.weighted(this.nation.carriers.map((c) => [c, c.share] as const));
    this.carrierPools = carrier.pools;
    this.mobilePool = rng.pick(carrier.pools);
    this.office = rng.chance(LEGIT_RATES.officeShare) ? offices.join(this.nation, this.city, users) : null;
    if (rng.chance(0.8)) this.devices.push(this.device('computer', false));
    if (rng.chance(0.92) || this.devices.length === 0) this.devices.push(this.device('phone', false));
    if (rng.chance(0.15)) this.devices.push(this.device('tablet', false));
    if (this.office && rng.chance(0.7)) this.devices.push(this.device('computer', true));
    // Habits: one to three hours of the day the user tends to log in at, in local time.
    this.peaks = Array.from({ length: rng.int(1, 3) }, () => rng.weighted([[8, 3], [10, 1], [12, 2], [14, 1], [17, 1], [19, 2], [21, 3], [23, 1]] as const) + rng.normal(0, 0.7));
    this.rate = Math.min(5, Math.max(0.1, rng.lognormal(LEGIT_RATES.loginsPerDayMedian, 0.7)));
    this.typo = Math.min(0.3, rng.lognormal(LEGIT_RATES.typoPerLogin, 0.6));
    this.traveller = rng.chance(LEGIT_RATES.travellerShare);
    this.vpn = rng.chance(LEGIT_RATES.vpnUserShare) ? COUNTRIES[rng.chance(0.4) && COUNTRIES[this.nation.country] ? this.nation.country : rng.pick(VPN_EXITS)]! : null;
  }

  private device(kind: DeviceKind, work: boolean, platform?: Platform): Device {
    const rng = this.rng;
    let p: Platform;
    if (platform) p = platform;
    else if (kind === 'computer') p = work ? rng.weighted<Platform>([[PLATFORMS.chromeWindows, 0.6], [PLATFORMS.edgeWindows, 0.4]]) : rng.weighted(COMPUTERS);
    else if (kind === 'phone') p = rng.chance(IPHONE_SHARE[this.nation.country] ?? 0.5) ? PLATFORMS.iphone : rng.chance(0.75) ? PLATFORMS.androidChrome : PLATFORMS.samsung;
    else p = rng.chance(0.7) ? PLATFORMS.ipad : PLATFORMS.androidTablet;
    return {
      id: `d-${rng.hex(12)}`,
      platform: p,
      kind,
      lag: platform ? 0 : rng.weighted([[0, 6], [1, 3], [2, 1]] as const),
      work,
      fp: deviceFingerprint(rng, p, this.nation.country, this.city.tz),
      keyed: rng.chance(this.deviceKeys),
      lastUsed: 0,
    };
  }

  private replace(kind: DeviceKind): void {
    const i = this.devices.findIndex((d) => d.kind === kind && !d.work);
    if (i === -1) return;
    const old = this.devices[i]!;
    // Most people stay with their platform; some switch.
    this.devices[i] = this.device(kind, false, this.rng.chance(LEGIT_RATES.switchPlatformShare) ? undefined : old.platform);
  }

  private planTrip(day: number): void {
    const rng = this.rng;
    const abroad = rng.chance(LEGIT_RATES.tripsAbroadPerDay / (LEGIT_RATES.tripsAbroadPerDay + LEGIT_RATES.tripsAtHomePerDay));
    let dest: { tz: string; lat: number; lon: number };
    let hotel: string;
    let localMobile: readonly string[] | null = null;
    if (abroad) {
      const c = COUNTRIES[rng.weighted((this.nation.country === 'US' ? ABROAD_FROM_US : ABROAD_FROM_EUROPE).filter(([code]) => code !== this.nation.country))]!;
      dest = c;
      hotel = addressIn(rng, rng.pick(c.blocks));
      if (rng.chance(0.2)) localMobile = c.blocks;
    } else {
      // Another town: a hotel, a relative's house.
      const city = pickCity(rng, this.nation, this.city);
      dest = city;
      hotel = hostIn(rng, rng.pick(prefixes(pickNet(rng, city).v4)));
    }
    const nights = abroad ? rng.int(3, 14) : rng.int(1, 4);
    const km = kmBetween(this.city, dest);
    // Door to door: airports and waiting on top of ~750 km/h in the air; by road under 500 km.
    const travelMs = (km > 500 ? km / 750 + 3 : km / 80 + 0.5) * HOUR_MS;
    const departs = localToUtc(day, rng.uniform(7, 15), this.city.tz);
    const arrives = departs + travelMs;
    const leaves = localToUtc(day + nights * DAY_MS, rng.uniform(8, 16), dest.tz);
    const laptop = this.devices.some((d) => d.kind === 'computer' && !d.work) && rng.chance(0.5);
    this.trip = { abroad, tz: dest.tz, lat: dest.lat, lon: dest.lon, departs, arrives, leaves, returns: leaves + travelMs, hotel, localMobile, laptop };
  }

  /** The user's events for the day starting at `day` (UTC midnight). */
  simulateDay(day: number, out: GenEvent[]): void {
    const rng = this.rng;
    if (rng.chance(LEGIT_RATES.subnetMovePerDay)) this.current24 = rng.pick(prefixes(this.net.v4));
    if (rng.chance(this.hostChangePerDay) || !this.host.startsWith(`${this.current24}.`)) this.host = hostIn(rng, this.current24);
    if (rng.chance(LEGIT_RATES.newPhonePerDay)) this.replace('phone');
    if (rng.chance(LEGIT_RATES.newComputerPerDay)) this.replace('computer');
    if (this.trip && this.trip.returns < day) this.trip = null;
    if (!this.trip && this.traveller && rng.chance(LEGIT_RATES.tripsAbroadPerDay + LEGIT_RATES.tripsAtHomePerDay)) this.planTrip(day);

    const weekday = new Date(day).getUTCDay() % 6 !== 0;
    const away = this.trip && this.trip.arrives < day + DAY_MS && this.trip.leaves > day;
    const n = rng.poisson(this.rate * (weekday ? 1 : 0.75) * (away ? 0.7 : 1));
    const tz = away ? this.trip!.tz : this.city.tz;
    const times = Array.from({ length: n }, () => {
      const hour = rng.chance(0.92) ? rng.pick(this.peaks) + rng.normal(0, 0.9) : rng.uniform(0, 24);
      return localToUtc(day, ((hour % 24) + 24) % 24, tz);
    });
    // In time order, so that what a login changes (a cleared cookie) shows in the later ones.
    for (const t of times.sort((a, b) => a - b)) this.login(t, weekday, out);
  }

  private mobileAddress(): string {
    const rng = this.rng;
    return addressIn(rng, rng.chance(LEGIT_RATES.otherPoolPerSession) ? rng.pick(this.carrierPools) : this.mobilePool);
  }

  /** The home network: IPv6 when the home has it (a new interface id each day), else the IPv4 address. */
  private homeAddress(device: Device, time: number): [string, Via] {
    if (this.prefix64 && this.rng.chance(LEGIT_RATES.ipv6PerLogin)) {
      // Privacy extensions: the interface id is the device's own and changes daily.
      return [v6Address(this.prefix64, interfaceId(new Random(`${device.id}/${Math.floor(time / DAY_MS)}`))), 'home6'];
    }
    return [this.host, 'home'];
  }

  /** Where the login comes from, and with which device. */
  private where(time: number, weekday: boolean): [Device, string, Via, string] {
    const rng = this.rng;
    const trip = this.trip;
    const personal = this.devices.filter((d) => !d.work);
    const phone = personal.find((d) => d.kind === 'phone') ?? personal[0]!;
    if (trip && time >= trip.arrives && time < trip.leaves) {
      const laptop = trip.laptop ? personal.find((d) => d.kind === 'computer') : undefined;
      const device = laptop && rng.chance(0.45) ? laptop : phone;
      const via: Via = trip.abroad ? 'abroad' : 'trip';
      if (device.kind === 'computer') return this.vpn && rng.chance(0.5) ? [device, this.vpnAddress(), 'vpn', trip.tz] : [device, trip.hotel, via, trip.tz];
      // Phones abroad mostly roam: mobile data is routed home, so the address is the home carrier's.
      const r = rng.next();
      if (r < 0.4) return [device, trip.hotel, via, trip.tz];
      if (trip.localMobile) return [device, addressIn(rng, rng.pick(trip.localMobile)), via, trip.tz];
      return [device, this.mobileAddress(), 'mobile', trip.tz];
    }
    const tz = this.city.tz;
    if (this.office !== null && weekday && this.officeHours(time) && rng.chance(0.8)) {
      const work = this.devices.find((d) => d.work);
      const device = work && rng.chance(0.65) ? work : phone;
      if (device.kind === 'phone') return rng.chance(0.5) ? [device, this.mobileAddress(), 'mobile', tz] : [device, this.office.nat, 'office', tz];
      return this.office.proxy ? [device, this.proxyAddress(this.office.proxy), 'office_proxy', tz] : [device, this.office.nat, 'office', tz];
    }
    if (rng.chance(LEGIT_RATES.elsewherePerLogin)) {
      const device = rng.chance(0.8) ? phone : rng.pick(personal);
      const city = pickCity(rng, this.nation, this.city);
      return [device, hostIn(rng, rng.pick(prefixes(pickNet(rng, city).v4))), 'elsewhere', tz];
    }
    const device = rng.weighted(personal.map((d) => [d, d.kind === 'phone' ? 0.55 : d.kind === 'computer' ? 0.35 : 0.1] as const));
    if (device.kind === 'phone' && !rng.chance(LEGIT_RATES.phoneWifiAtHome)) return [device, this.mobileAddress(), 'mobile', tz];
    if (device.kind === 'computer' && this.vpn && rng.chance(LEGIT_RATES.vpnPerLogin)) return [device, this.vpnAddress(), 'vpn', tz];
    const [ip, via] = this.homeAddress(device, time);
    return [device, ip, via, tz];
  }

  private login(time: number, weekday: boolean, out: GenEvent[]): void {
    const rng = this.rng;
    const trip = this.trip;
    if (trip && time >= trip.departs && time < trip.arrives) return; // on the way there
    if (trip && time >= trip.leaves && time < trip.returns) return; // on the way back
    const [device, ip, via, tz] = this.where(time, weekday);
    if (rng.chance(LEGIT_RATES.idResetPerLogin[device.kind])) {
      // Cleared cookies clear the site's storage too: a key, if any, goes; the page may register a new one.
      device.id = `d-${rng.hex(12)}`;
      device.keyed = rng.chance(this.deviceKeys);
    }
    const privateWindow = rng.chance(LEGIT_RATES.privateWindowPerLogin[device.kind]);
    let proof: DeviceProof | undefined;
    if (device.keyed && !privateWindow) {
      // Safari's storage cap: after a week away the key is gone; the login page registers a new one.
      const expired = SAFARI.has(device.platform.name) && device.lastUsed > 0 && time - device.lastUsed > LEGIT_RATES.safariStorageDays * DAY_MS;
      proof = expired ? undefined : 'valid';
    }
    if (!privateWindow) device.lastUsed = time;
    const base = {
      userId: this.id,
      ip,
      userAgent: userAgentAt(device.platform, time, device.lag),
      deviceId: privateWindow ? `d-${rng.hex(12)}` : device.id,
      fingerprint: rng.chance(LEGIT_RATES.noFingerprintPerLogin) ? undefined : fingerprintAt(rng, device.fp, tz),
      deviceProof: proof,
      label: 'legit',
      via,
    };

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
    const h = (time - localToUtc(Math.floor(time / DAY_MS) * DAY_MS, 0, this.city.tz)) / HOUR_MS;
    const local = ((h % 24) + 24) % 24;
    return local >= 8.5 && local < 17.5;
  }

  private vpnAddress(): string {
    return addressIn(this.rng, this.rng.pick(this.vpn!.blocks));
  }

  /** A cloud proxy's egress: a handful of addresses in one /24. */
  private proxyAddress(p24: string): string {
    return `${p24}.${10 + this.rng.int(0, 7)}`;
  }
}

/** Share of phones that are iPhones (the rest Android). */
const IPHONE_SHARE: Readonly<Record<string, number>> = { US: 0.57, DE: 0.38, GB: 0.5, FR: 0.35, NO: 0.6 };
