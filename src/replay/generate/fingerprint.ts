import type { Fingerprint } from '../event.js';
import type { Platform } from './agents.js';
import type { Random } from './random.js';

/**
 * What a login page reads of a browser: stable per real device, except its time zone (it
 * follows the traveller) and, for a computer with a second monitor, its screen. Values are
 * drawn from the common ones for each platform, so many devices share most of them: the
 * WebGL renderer and the screen tell more than the platform does.
 */

const GPUS = {
  windows: ['ANGLE (Intel, Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0, D3D11)', 'ANGLE (Intel, Intel(R) Iris(R) Xe Graphics Direct3D11 vs_5_0 ps_5_0, D3D11)', 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)', 'ANGLE (NVIDIA, NVIDIA GeForce GTX 1650 Direct3D11 vs_5_0 ps_5_0, D3D11)', 'ANGLE (AMD, AMD Radeon(TM) Graphics Direct3D11 vs_5_0 ps_5_0, D3D11)'],
  mac: ['ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)', 'ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)', 'ANGLE (Apple, ANGLE Metal Renderer: Apple M3 Pro, Unspecified Version)', 'ANGLE (Intel Inc., Intel(R) Iris(TM) Plus Graphics 655, OpenGL 4.1)'],
  linux: ['Mesa Intel(R) UHD Graphics 620 (KBL GT2)', 'AMD Radeon RX 580 (polaris10, LLVM 15.0.6, DRM 3.49)', 'NVIDIA GeForce GTX 1060/PCIe/SSE2'],
  apple: ['Apple GPU'],
  android: ['Adreno (TM) 640', 'Adreno (TM) 730', 'Mali-G78 MP14', 'Mali-G57 MC2', 'Xclipse 920'],
} as const;

type Weighted<T> = readonly (readonly [T, number])[];

interface PlatformTraits {
  platform: string;
  screens: Weighted<string>;
  cores: Weighted<number>;
  /** Chromium only reports deviceMemory (GiB, capped at 8). */
  memory: Weighted<number> | null;
  colorDepth: number;
  touch: Weighted<number>;
  gpus: readonly string[];
}

const DESKTOP_SCREENS: Weighted<string> = [['1920x1080', 45], ['1536x864', 15], ['2560x1440', 12], ['1366x768', 10], ['1440x900', 5], ['3840x2160', 8], ['1680x1050', 5]];
const MAC_SCREENS: Weighted<string> = [['1440x900', 25], ['1512x982', 25], ['1728x1117', 15], ['1470x956', 20], ['2560x1440', 15]];
const CORES: Weighted<number> = [[4, 25], [8, 40], [12, 15], [16, 15], [6, 5]];
const CHROME_MEMORY: Weighted<number> = [[8, 75], [4, 20], [2, 5]];

function traits(p: Platform): PlatformTraits {
  const chromium = !/firefox|safari|iphone|ipad/.test(p.name);
  if (p.name.endsWith('windows')) return { platform: 'Win32', screens: DESKTOP_SCREENS, cores: CORES, memory: chromium ? CHROME_MEMORY : null, colorDepth: 24, touch: [[0, 90], [10, 10]], gpus: GPUS.windows };
  if (p.name.endsWith('mac')) return { platform: 'MacIntel', screens: MAC_SCREENS, cores: p.name === 'safari-mac' ? [[8, 1]] : [[8, 50], [10, 30], [12, 20]], memory: chromium ? [[8, 1]] : null, colorDepth: chromium ? 30 : 24, touch: [[0, 1]], gpus: GPUS.mac };
  if (p.name === 'firefox-linux') return { platform: 'Linux x86_64', screens: DESKTOP_SCREENS, cores: CORES, memory: null, colorDepth: 24, touch: [[0, 1]], gpus: GPUS.linux };
  if (p.name === 'iphone') return { platform: 'iPhone', screens: [['390x844', 30], ['393x852', 30], ['430x932', 20], ['375x667', 10], ['414x896', 10]], cores: [[4, 1]], memory: null, colorDepth: 24, touch: [[5, 1]], gpus: GPUS.apple };
  // iPadOS asks for the desktop site: it reports a Mac, with touch points.
  if (p.name === 'ipad') return { platform: 'MacIntel', screens: [['820x1180', 40], ['1024x1366', 30], ['810x1080', 30]], cores: [[4, 1]], memory: null, colorDepth: 24, touch: [[5, 1]], gpus: GPUS.apple };
  const tablet = p.kind === 'tablet';
  return {
    platform: 'Linux armv81',
    screens: tablet ? [['800x1280', 60], ['1200x2000', 40]] : [['412x915', 35], ['360x800', 30], ['384x854', 15], ['412x892', 20]],
    cores: [[8, 1]],
    memory: [[8, 40], [4, 60]],
    colorDepth: 24,
    touch: [[tablet ? 10 : 5, 1]],
    gpus: GPUS.android,
  };
}

const LANGUAGES: Readonly<Record<string, Weighted<readonly string[]>>> = {
  US: [[['en-US', 'en'], 85], [['en-US'], 8], [['es-US', 'es', 'en-US', 'en'], 7]],
  DE: [[['de-DE', 'de', 'en-US', 'en'], 70], [['de'], 15], [['de-DE', 'de'], 10], [['en-US', 'en'], 5]],
  GB: [[['en-GB', 'en'], 75], [['en-GB', 'en-US', 'en'], 15], [['en-US', 'en'], 10]],
  FR: [[['fr-FR', 'fr', 'en-US', 'en'], 70], [['fr'], 20], [['fr-FR', 'fr'], 10]],
  NO: [[['nb-NO', 'nb', 'no', 'nn', 'en-US', 'en'], 55], [['nb', 'en'], 25], [['en-US', 'en'], 20]],
};

/** A short hash of a renderer string, as a page would send it. */
function webglHash(renderer: string): string {
  let h = 2166136261;
  for (let i = 0; i < renderer.length; i++) h = Math.imul(h ^ renderer.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** A real device's attributes: what it shows at home. */
export interface DeviceFingerprint {
  base: Fingerprint;
  /** A second monitor: a computer's screen is sometimes this one. */
  otherScreen: string | null;
  /** Privacy browsers (Brave, Firefox's resistFingerprinting) vary the WebGL hash per session. */
  noisy: boolean;
}

export function deviceFingerprint(rng: Random, p: Platform, country: string, timeZone: string): DeviceFingerprint {
  const base = drawFingerprint(rng, p, languagesOf(rng, country), timeZone);
  return { base, otherScreen: p.kind === 'computer' && rng.chance(0.25) ? rng.weighted(DESKTOP_SCREENS) : null, noisy: rng.chance(0.03) };
}

/** What the device sends at one login, in the zone it is in. */
export function fingerprintAt(rng: Random, d: DeviceFingerprint, timeZone: string): Fingerprint {
  const fp: Fingerprint = { ...d.base, timeZone };
  if (d.otherScreen && rng.chance(0.5)) fp.screen = d.otherScreen;
  if (d.noisy) fp.webglHash = rng.hex(8);
  return fp;
}

/** Attributes of a browser on platform `p`, drawn from the common ones: a new device, or an attacker's browser claiming that platform. */
export function drawFingerprint(rng: Random, p: Platform, languages: readonly string[], timeZone: string): Fingerprint {
  const t = traits(p);
  const fp: Fingerprint = {
    timeZone,
    languages: [...languages],
    screen: rng.weighted(t.screens),
    platform: t.platform,
    hardwareConcurrency: rng.weighted(t.cores),
    colorDepth: t.colorDepth,
    touch: rng.weighted(t.touch),
    webglHash: webglHash(rng.pick(t.gpus)),
  };
  if (t.memory) fp.deviceMemory = rng.weighted(t.memory);
  return fp;
}

/** The attributes an antidetect browser's default profile brings, whatever user agent it sends. */
export function toolDefaults(rng: Random): Pick<Fingerprint, 'hardwareConcurrency' | 'deviceMemory' | 'colorDepth' | 'webglHash'> {
  return { hardwareConcurrency: rng.weighted(CORES), deviceMemory: rng.weighted(CHROME_MEMORY), colorDepth: 24, webglHash: webglHash(rng.pick(GPUS.windows)) };
}

export const languagesOf = (rng: Random, country: string): readonly string[] => rng.weighted(LANGUAGES[country] ?? LANGUAGES.US!);
