import type { CompiledRule } from "./context";
import type { FactField, Facts } from "./types";

/**
 * Which rules can possibly match a call, without testing them all. A custom guardrail whose `match` pins a
 * fact field to exact values (`"tool.name": "deploy.release"`, `"action.type": ["merge", "execute"]`) is
 * filed under those values; at evaluation only the rules filed under the call's own values are tested, plus
 * the rules with no such pin (templates, glob/regex-only rules). Matching results are identical to testing
 * every rule, in the same order; only the work changes (from O(rules) to O(candidates)).
 */
export interface Discriminator {
  field: FactField;
  values: readonly unknown[];
}

/** Fields tried in order: the first exact pin a rule has decides where it is filed. */
export const DISCRIMINATOR_FIELDS: readonly FactField[] = [
  "tool.name",
  "action.name",
  "action.type",
  "resource.type",
  "tool.provider",
  "resource.environment",
  "agent.key",
  "resource.provider",
];

export class RuleIndex {
  /** Positions (in policy order) of rules that must always be tested. */
  private readonly unpinned: number[] = [];
  private readonly byField: { field: FactField; positions: Map<unknown, number[]> }[] = [];
  private readonly all: number[];

  constructor(
    readonly rules: readonly CompiledRule[],
    discriminators: readonly (Discriminator | undefined)[],
  ) {
    this.all = rules.map((_, i) => i);
    rules.forEach((_, position) => {
      const d = discriminators[position];
      if (d === undefined) {
        this.unpinned.push(position);
        return;
      }
      let slot = this.byField.find((s) => s.field === d.field);
      if (slot === undefined) this.byField.push((slot = { field: d.field, positions: new Map() }));
      for (const value of new Set(d.values)) {
        const list = slot.positions.get(value);
        if (list === undefined) slot.positions.set(value, [position]);
        else list.push(position);
      }
    });
  }

  /** Rule positions worth testing for these facts, ascending (so reports keep policy order). */
  candidates(facts: Facts): readonly number[] {
    if (this.byField.length === 0) return this.all;
    let out: number[] | undefined;
    let sources = this.unpinned.length > 0 ? 1 : 0;
    for (const slot of this.byField) {
      const value = facts[slot.field];
      const hits = value === undefined ? undefined : slot.positions.get(value);
      if (hits === undefined) continue;
      out = out === undefined ? [...this.unpinned, ...hits] : (out.push(...hits), out);
      sources++;
    }
    if (out === undefined) return this.unpinned;
    return sources > 1 ? out.sort((a, b) => a - b) : out;
  }
}
