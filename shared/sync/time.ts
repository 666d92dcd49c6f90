// Time helpers for the sync use cases. Dates are UTC calendar days (YYYY-MM-DD), as MX's date filters are.

/** The use cases' clock; injectable so tests control "now". */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

const DAY_MS = 86_400_000;

/** The UTC calendar day `days` after (or before, when negative) `now`, as YYYY-MM-DD. */
export function utcDay(now: Date, days = 0): string {
  return new Date(now.getTime() + days * DAY_MS).toISOString().slice(0, 10);
}
