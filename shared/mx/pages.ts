// Walks MX's page-numbered lists (`pagination.total_pages`) one page at a time.
import type { Page } from "./schemas";

export interface IteratePagesOptions {
  /** First page to read (1-based). Default 1. */
  startPage?: number;
  /** Safety stop against a server that never reports an end. Default 100 000. */
  maxPages?: number;
}

/**
 * Yields each page in order, reading each exactly once. Stops after the last page MX reports
 * (re-read on every page, so a list that grows or shrinks while we read is followed) or at the
 * first empty page (a stale total must not make us loop over empty pages).
 */
export async function* iteratePages<T>(
  fetchPage: (page: number) => Promise<Page<T>>,
  options: IteratePagesOptions = {},
): AsyncGenerator<Page<T>, void, undefined> {
  const maxPages = options.maxPages ?? 100_000;
  let page = options.startPage ?? 1;
  for (let read = 0; read < maxPages; read++, page++) {
    const result = await fetchPage(page);
    yield result;
    if (result.items.length === 0 || page >= result.pagination.total_pages) return;
  }
}

/** Every item of every page, in order. */
export async function collectAll<T>(
  fetchPage: (page: number) => Promise<Page<T>>,
  options?: IteratePagesOptions,
): Promise<T[]> {
  const all: T[] = [];
  for await (const page of iteratePages(fetchPage, options)) all.push(...page.items);
  return all;
}

/** Hands each page's items to `consume` as the page arrives (nothing accumulates) and sums what it returns. */
export async function sumOverPages<T>(
  fetchPage: (page: number) => Promise<Page<T>>,
  consume: (items: T[]) => Promise<number>,
): Promise<number> {
  let total = 0;
  for await (const page of iteratePages(fetchPage)) total += await consume(page.items);
  return total;
}
