import type { RuleSet } from './ruleset.js';

/**
 * What a reload changed, one line per rule, list or policy: "+ rule geo.x" (added),
 * "- list denied" (removed), "~ rule device.y" (its definition changed), in that order and
 * sorted within each. Empty when only comments or layout changed.
 */
export function ruleSetChanges(before: RuleSet, after: RuleSet): string[] {
  const was = before.definitions;
  const now = after.definitions;
  const sorted = (keys: string[]) => keys.sort();
  return [
    ...sorted(Object.keys(now).filter((k) => !(k in was))).map((k) => `+ ${k}`),
    ...sorted(Object.keys(was).filter((k) => !(k in now))).map((k) => `- ${k}`),
    ...sorted(Object.keys(now).filter((k) => k in was && was[k] !== now[k])).map((k) => `~ ${k}`),
  ];
}
