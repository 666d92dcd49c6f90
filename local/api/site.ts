// What `npm start` serves beside the API, for developers on this machine only (never deployed): the example
// app (examples/connect-web) at `/`, the OpenAPI document at `/openapi.json`, a readable reference at
// `/docs` (swagger-ui-dist, from node_modules, offline) and `POST /dev/token {"user"}`, a development
// issuer token so the example app can sign in. Answers only paths the API does not use (`/v1/…`).
import { readFile, realpath } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, sep } from "node:path";
import * as z from "zod";
import { readBody } from "./event";

export interface DevSiteOptions {
  /** The example app's folder, served at `/`. */
  appDir: string;
  /** The OpenAPI document, built per request (it names this server). */
  openApi: () => unknown;
  /** Signs a development token for the user (the dev issuer the API trusts). */
  issueToken: (userId: string) => Promise<string>;
  tokenTtlSeconds?: number;
}

/** Handles the request and returns true, or returns false and leaves it to the API. */
export type DevSite = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".map": "application/json; charset=utf-8",
};

const devTokenBodySchema = z.strictObject({
  user: z
    .string()
    .regex(/^[A-Za-z0-9._@-]{1,128}$/, "must be 1-128 letters, digits or . _ @ -")
    .meta({ example: "alice" }),
});

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>mx-connect Connect API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
});
`;

const DOCS_ASSETS = new Set(["swagger-ui.css", "swagger-ui-bundle.js"]);

function sendText(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, {
    "content-type": type,
    "content-length": String(bytes.length),
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  res.end(bytes);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendText(res, status, "application/json", JSON.stringify({ error: { code, message } }));
}

/** A file strictly inside `dir` (symlinks resolved), or undefined. */
async function fileIn(dir: string, relative: string): Promise<string | undefined> {
  if (relative.includes("\0")) return undefined;
  try {
    const root = await realpath(dir);
    const file = await realpath(join(root, relative));
    return file.startsWith(root + sep) ? file : undefined;
  } catch {
    return undefined;
  }
}

export function createDevSite(options: DevSiteOptions): DevSite {
  const swaggerDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const ttlSeconds = options.tokenTtlSeconds ?? 3600;

  async function serveFile(res: ServerResponse, dir: string, relative: string): Promise<boolean> {
    const file = await fileIn(dir, relative);
    const type = file ? CONTENT_TYPES[extname(file)] : undefined;
    if (!file || !type) return false;
    try {
      sendText(res, 200, type, await readFile(file));
      return true;
    } catch {
      return false;
    }
  }

  return async (req, res) => {
    const path = new URL(req.url ?? "/", "http://local").pathname;
    if (path.startsWith("/v1/")) return false;
    const method = req.method ?? "GET";

    if (path === "/dev/token" && method === "POST") {
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req, 4096)).toString("utf8"));
      } catch {
        sendError(res, 400, "invalid_json", 'The body must be JSON like {"user":"alice"}.');
        return true;
      }
      const parsed = devTokenBodySchema.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        sendError(res, 400, "invalid_request", `body.${issue?.path.join(".") || "user"}: ${issue?.message}`);
        return true;
      }
      const token = await options.issueToken(parsed.data.user);
      sendText(res, 200, "application/json", JSON.stringify({ token, expires_in: ttlSeconds }));
      return true;
    }
    if (method !== "GET") return false;

    if (path === "/openapi.json") {
      sendText(res, 200, "application/json", `${JSON.stringify(options.openApi(), null, 2)}\n`);
      return true;
    }
    if (path === "/docs" || path === "/docs/") {
      sendText(res, 200, CONTENT_TYPES[".html"] as string, DOCS_HTML);
      return true;
    }
    if (path === "/docs/init.js") {
      sendText(res, 200, CONTENT_TYPES[".js"] as string, DOCS_INIT);
      return true;
    }
    if (path.startsWith("/docs/")) {
      const name = path.slice("/docs/".length);
      return DOCS_ASSETS.has(name) ? serveFile(res, swaggerDir, name) : false;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(path === "/" ? "/index.html" : path).slice(1);
    } catch {
      return false;
    }
    return serveFile(res, options.appDir, relative);
  };
}
