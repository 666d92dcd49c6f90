// Deterministic randomness for the sandbox: same seed + same names → same guids and data, on every run.
import { createHash } from "node:crypto";

/** mulberry32: a tiny, fast 32-bit PRNG; good enough for fake bank data, never for secrets. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit FNV-1a hash of the parts, used to seed a PRNG per object (per account, per transaction index). */
export function hash32(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.join("\u0001");
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** An MX-shaped guid (`PRE-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) derived from the parts. */
export function guidFrom(prefix: string, ...parts: (string | number)[]): string {
  const hex = createHash("sha256").update(parts.join("\u0001")).digest("hex");
  return `${prefix}-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}
