// Pagination exactly as the spec describes `records_per_page`: default 25, valid 10..max (1000 on most
// lists, 100 on institutions), a value above the max falls back to 25. Below 10 is raised to 10 (the
// spec's floor). A page past the end is an empty list with the real totals.

export interface PaginationView {
  current_page: number;
  per_page: number;
  total_entries: number;
  total_pages: number;
}

export interface PageWindow {
  page: number;
  perPage: number;
  /** Index of the first record of the page (may be ≥ total: then the page is empty). */
  offset: number;
}

export const DEFAULT_PER_PAGE = 25;
const MIN_PER_PAGE = 10;

function positiveInt(raw: string | null): number | undefined {
  if (raw === null || !/^\s*\d+\s*$/.test(raw)) return undefined;
  const n = Number.parseInt(raw, 10);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function pageWindow(query: URLSearchParams, maxPerPage: number): PageWindow {
  const page = Math.max(1, positiveInt(query.get("page")) ?? 1);
  const requested = positiveInt(query.get("records_per_page"));
  let perPage = DEFAULT_PER_PAGE;
  if (requested !== undefined && requested <= maxPerPage) perPage = Math.max(MIN_PER_PAGE, requested);
  return { page, perPage, offset: (page - 1) * perPage };
}

export function paginationView(window: PageWindow, total: number): PaginationView {
  return {
    current_page: window.page,
    per_page: window.perPage,
    total_entries: total,
    total_pages: Math.ceil(total / window.perPage),
  };
}

/** A page of an in-memory list. */
export function pageOfList<T>(
  items: readonly T[],
  window: PageWindow,
): { items: T[]; pagination: PaginationView } {
  return {
    items: items.slice(window.offset, window.offset + window.perPage),
    pagination: paginationView(window, items.length),
  };
}
