// The API's CORS policy, one home for the deployed API (infra/constructs/api.ts, CDK context `corsOrigins`)
// and `npm start` (env CORS_ORIGINS): which origins a browser app may call it from, and what it may send.
// No origin is allowed by default: apps calling from native code or their own back end need none.

/** What a browser app sends: the bearer token and JSON bodies. */
export const CORS_ALLOW_HEADERS = ["authorization", "content-type"] as const;
export const CORS_ALLOW_METHODS = ["GET", "POST", "DELETE", "OPTIONS"] as const;
/** How long a browser may reuse a preflight answer. */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * "https://app.example.com, http://localhost:5173" → exact origins (scheme://host[:port], no path). Throws
 * on anything else, so a typo fails the deploy instead of silently allowing nothing.
 */
export function parseCorsOrigins(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      let url: URL | undefined;
      try {
        url = new URL(entry);
      } catch {
        url = undefined;
      }
      if (!url || !/^https?:$/.test(url.protocol) || url.origin !== entry.replace(/\/$/, "")) {
        throw new Error(`CORS origin "${entry}" must be an origin like https://app.example.com (no path)`);
      }
      return url.origin;
    });
}
