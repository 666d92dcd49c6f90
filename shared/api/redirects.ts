// The OAuth redirect allow-list: an app URL is accepted only when it starts with an allow-listed prefix at a
// path boundary, so "https://app.example.com" admits "https://app.example.com/done" but never
// "https://app.example.com.evil.test/". Entries are normalised by the URL parser (config.ts).

/** Schemes that would run code or read local files in the browser: never a redirect target. */
const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "file:", "vbscript:", "blob:", "about:"]);

export function isAllowedRedirect(url: string, allowList: readonly string[]): boolean {
  if (!URL.canParse(url)) return false;
  const target = new URL(url);
  if (FORBIDDEN_SCHEMES.has(target.protocol) || target.username || target.password) return false;
  const href = target.href;
  return allowList.some((prefix) => {
    if (href === prefix) return true;
    if (!href.startsWith(prefix)) return false;
    if (prefix.endsWith("/")) return true;
    const next = href.charAt(prefix.length);
    return next === "/" || next === "?" || next === "#";
  });
}

/** The app URL with MX's outcome appended (existing query kept). */
export function withOutcome(url: string, outcome: Record<string, string>): string {
  const target = new URL(url);
  for (const [key, value] of Object.entries(outcome)) target.searchParams.set(key, value);
  return target.href;
}
