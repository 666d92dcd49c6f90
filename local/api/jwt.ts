// The local development JWT issuer and a verifier that behaves like API Gateway's HTTP API JWT authorizer,
// so the handlers see exactly the claims shape they get in AWS. DEVELOPMENT ONLY: the key it persists is a
// throwaway that any local process can read; it never signs anything a deployed API accepts.
import { randomUUID } from "node:crypto";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CryptoKey, JWK, JWTPayload } from "jose";
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from "jose";
import * as z from "zod";

/** HTTP API JWT authorizers accept RSA signatures only, so the dev issuer signs with RS256. */
const ALG = "RS256";

export const DEV_ISSUER = "https://dev-issuer.mx-connect.local";
export const DEV_AUDIENCE = "mx-connect-local";

/** Repo-root `.local/` (git-ignored): the stable dev key shared by `npm start` and `npm run dev-token`. */
export const DEFAULT_DEV_KEY_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../.local/dev-jwt-key.json",
);

/** What API Gateway puts in `requestContext.authorizer` of a v2 event for a JWT-authorized route. */
export interface JwtAuthorizerContext {
  principalId: string;
  integrationLatency: number;
  jwt: { claims: Record<string, string>; scopes: string[] | null };
}

export type AuthResult =
  | { ok: true; authorizer: JwtAuthorizerContext }
  | { ok: false; statusCode: 401 | 403; wwwAuthenticate: string };

/** Decides a request's `authorization` header the way the HTTP API JWT authorizer does. */
export type JwtAuthorizer = (
  authorizationHeader: string | undefined,
  requiredScopes?: readonly string[],
) => Promise<AuthResult>;

export interface JwtAuthorizerOptions {
  issuer: string;
  /** A token's `aud` (or, only when it has no `aud`, its `client_id`) must match one entry. */
  audience: readonly string[];
  /** Public key(s) by `kid`, as the authorizer fetches them from the issuer's jwks_uri. */
  keys: ReadonlyMap<string, CryptoKey>;
  now?: () => Date;
}

const denied = (description: string, scope = ""): AuthResult => ({
  ok: false,
  statusCode: 401,
  wwwAuthenticate: `Bearer scope="${scope}" error="invalid_token" error_description="${description}"`,
});

/**
 * API Gateway hands claims to Lambda as strings: numbers and booleans as their text, arrays and objects in
 * Go's fmt notation (`[a b]`, `map[k:v]`), because its authorizer is written in Go.
 */
export function claimToString(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `[${value.map(claimToString).join(" ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([k, v]) => `${k}:${claimToString(v)}`).join(" ")}]`;
  }
  return String(value);
}

function scopesOf(payload: JWTPayload): string[] | null {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === "string") return raw.split(" ").filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return null;
}

/** A verifier with the HTTP API JWT authorizer's rules (identity source `$request.header.Authorization`). */
export function createJwtAuthorizer(options: JwtAuthorizerOptions): JwtAuthorizer {
  const now = options.now ?? (() => new Date());
  return async (authorizationHeader, requiredScopes) => {
    // The identity source may hold the bare token or the token prefixed with "Bearer ".
    const raw = authorizationHeader?.trim();
    if (!raw) return denied("the token is missing");
    const token = /^bearer\s+/i.test(raw) ? raw.replace(/^bearer\s+/i, "") : raw;

    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return denied("the token is malformed");
    }
    const key = kid === undefined ? undefined : options.keys.get(kid);
    if (!key) return denied("the token does not have a valid signature");

    let payload: JWTPayload;
    try {
      const currentDate = now();
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [ALG],
        issuer: options.issuer,
        currentDate,
        clockTolerance: 0,
      }));
      // iat must be in the past too (jose checks only its type unless maxTokenAge is set).
      if (typeof payload.iat === "number" && payload.iat > currentDate.getTime() / 1000) {
        return denied("the token is not valid yet");
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_JWT_EXPIRED") return denied("the token has expired");
      if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") {
        const claim = (error as { claim?: string }).claim;
        if (claim === "iss") return denied("the token does not have a valid issuer");
        if (claim === "nbf") return denied("the token is not valid yet");
        return denied(`the token has an invalid ${claim ?? "claim"}`);
      }
      return denied("the token does not have a valid signature");
    }

    // API Gateway evaluates `aud` when present and falls back to `client_id` (Cognito access tokens) only without it.
    const audiences =
      payload.aud === undefined
        ? typeof payload.client_id === "string"
          ? [payload.client_id]
          : []
        : Array.isArray(payload.aud)
          ? payload.aud
          : [payload.aud];
    if (!audiences.some((a) => options.audience.includes(a))) {
      return denied("the token does not have a valid audience");
    }

    const scopes = scopesOf(payload);
    if (requiredScopes && requiredScopes.length > 0 && !requiredScopes.some((s) => scopes?.includes(s))) {
      return {
        ok: false,
        statusCode: 403,
        wwwAuthenticate: `Bearer scope="${requiredScopes.join(" ")}" error="insufficient_scope" error_description="the token does not have the required scope"`,
      };
    }

    const claims = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, claimToString(v)]));
    return { ok: true, authorizer: { principalId: "", integrationLatency: 0, jwt: { claims, scopes } } };
  };
}

const storedKeySchema = z.object({
  warning: z.string().optional(),
  kid: z.string().min(1),
  privateJwk: z.looseObject({ kty: z.literal("RSA"), d: z.string() }),
  publicJwk: z.looseObject({ kty: z.literal("RSA"), n: z.string(), e: z.string() }),
});

interface DevKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

async function generateDevKey(): Promise<{ key: DevKey; stored: z.infer<typeof storedKeySchema> }> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = randomUUID();
  const stored = {
    warning: "Local development key for mx-connect's dev JWT issuer. Never use it anywhere else.",
    kid,
    privateJwk: (await exportJWK(privateKey)) as z.infer<typeof storedKeySchema>["privateJwk"],
    publicJwk: (await exportJWK(publicKey)) as z.infer<typeof storedKeySchema>["publicJwk"],
  };
  return { key: { kid, privateKey, publicKey }, stored };
}

async function importDevKey(stored: z.infer<typeof storedKeySchema>): Promise<DevKey> {
  const privateKey = await importJWK(stored.privateJwk as JWK, ALG);
  const publicKey = await importJWK(stored.publicJwk as JWK, ALG);
  if (privateKey instanceof Uint8Array || publicKey instanceof Uint8Array) {
    throw new Error("The dev JWT key file does not hold an RSA key pair");
  }
  return { kid: stored.kid, privateKey, publicKey };
}

/** Reads the dev key from `file`, creating it on first use; concurrent first uses agree on one key. */
async function loadOrCreateDevKey(file: string): Promise<DevKey> {
  try {
    return await importDevKey(storedKeySchema.parse(JSON.parse(await readFile(file, "utf8"))));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`The dev JWT key file ${file} is unreadable; delete it to make a new one`, {
        cause: error,
      });
    }
  }
  const { key, stored } = await generateDevKey();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // Write aside then hard-link into place: link fails if another process won the race, so no one ever
  // reads a half-written file and everyone ends up with the same key.
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  try {
    await link(temp, file);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return importDevKey(storedKeySchema.parse(JSON.parse(await readFile(file, "utf8"))));
  } finally {
    await rm(temp, { force: true });
  }
}

export interface DevTokenOptions {
  /** Lifetime; default 3600 s. Negative values make an already-expired token (for tests). */
  ttlSeconds?: number;
  /** `null` leaves `aud` out (a Cognito access token names its app in `client_id` instead). */
  audience?: string | null;
  issuer?: string;
  /** Space-separated in the `scope` claim, as Cognito access tokens carry them. */
  scopes?: readonly string[];
  /** Extra claims (e.g. `email`). */
  claims?: Record<string, unknown>;
}

export interface DevIssuer {
  issuer: string;
  audience: string;
  /** Signs a token whose `sub` is `userId`. */
  issueDevToken(userId: string, options?: DevTokenOptions): Promise<string>;
  /** The API Gateway-like authorizer that accepts this issuer's tokens. */
  authorizer: JwtAuthorizer;
  /** The public JWKS, as an identity provider publishes it. */
  jwks: { keys: JWK[] };
}

export interface DevIssuerOptions {
  /** Where the dev key lives; `null` keeps a fresh key in memory only (tests). Default `.local/dev-jwt-key.json`. */
  keyFile?: string | null;
  issuer?: string;
  audience?: string;
  now?: () => Date;
}

export async function createDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  const issuer = options.issuer ?? DEV_ISSUER;
  const audience = options.audience ?? DEV_AUDIENCE;
  const now = options.now ?? (() => new Date());
  const keyFile = options.keyFile === undefined ? DEFAULT_DEV_KEY_FILE : options.keyFile;
  const key = keyFile === null ? (await generateDevKey()).key : await loadOrCreateDevKey(keyFile);
  const publicJwk = { ...(await exportJWK(key.publicKey)), kid: key.kid, alg: ALG, use: "sig" };

  return {
    issuer,
    audience,
    jwks: { keys: [publicJwk] },
    authorizer: createJwtAuthorizer({
      issuer,
      audience: [audience],
      keys: new Map([[key.kid, key.publicKey]]),
      now,
    }),
    async issueDevToken(userId, tokenOptions = {}) {
      const issuedAt = Math.floor(now().getTime() / 1000);
      const ttl = tokenOptions.ttlSeconds ?? 3600;
      const claims: Record<string, unknown> = { ...tokenOptions.claims, token_use: "access" };
      if (tokenOptions.scopes) claims.scope = tokenOptions.scopes.join(" ");
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: "JWT" })
        .setIssuer(tokenOptions.issuer ?? issuer)
        .setSubject(userId)
        .setJti(randomUUID())
        // An expired token is issued in the past so that iat < exp still holds.
        .setIssuedAt(ttl > 0 ? issuedAt : issuedAt + ttl - 60)
        .setExpirationTime(issuedAt + ttl);
      if (tokenOptions.audience !== null) jwt.setAudience(tokenOptions.audience ?? audience);
      return jwt.sign(key.privateKey);
    },
  };
}
