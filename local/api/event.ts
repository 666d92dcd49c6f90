// HTTP request → API Gateway HTTP API payload format 2.0 event, filled the way API Gateway fills it:
// lower-cased headers with duplicates comma-joined, cookies in their own field, comma-joined query values,
// decoded path parameters, the JWT authorizer's claims, and non-text bodies base64-encoded.
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { LOCAL_ACCOUNT_ID } from "../lambda-context";
import type { JwtAuthorizerContext } from "./jwt";
import type { RouteMatch } from "./routing";

/** The v2 event with the JWT authorizer context the way API Gateway fills it (absent on public routes). */
export type LocalApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2["requestContext"] & { authorizer?: JwtAuthorizerContext };
};

/** What routing and the authorizer need before the body is read. */
export interface RequestHead {
  method: string;
  rawPath: string;
  rawQueryString: string;
  headers: Record<string, string>;
  cookies: string[];
  sourceIp: string;
}

export function readRequestHead(req: IncomingMessage, started: Date): RequestHead {
  const method = (req.method ?? "GET").toUpperCase();
  const rawUrl = req.url ?? "/";
  const queryAt = rawUrl.indexOf("?");
  const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? "" : rawUrl.slice(queryAt + 1);

  // Headers: lower-cased, duplicates comma-joined; cookies move to their own field.
  const named = new Map<string, string>();
  const cookies: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? "").toLowerCase();
    const value = req.rawHeaders[i + 1] ?? "";
    if (name === "cookie") {
      cookies.push(
        ...value
          .split(";")
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    const earlier = named.get(name);
    named.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  // Own keys whatever the names (`__proto__` too), as API Gateway's JSON event has them.
  const headers: Record<string, string> = Object.fromEntries(named);
  const sourceIp = req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "127.0.0.1";
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${sourceIp}`
    : sourceIp;
  headers["x-forwarded-port"] = String(req.socket.localPort ?? "");
  headers["x-forwarded-proto"] = "http";
  headers["x-amzn-trace-id"] ??=
    `Root=1-${Math.floor(started.getTime() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;
  return { method, rawPath, rawQueryString, headers, cookies, sourceIp };
}

export class BodyTooLargeError extends Error {}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Past the limit the rest is still read (and dropped) before the 413 goes out: answering mid-upload and
  // closing would reset the connection under a client still sending, and it would never see the 413.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = Number(req.headers["content-length"] ?? 0) > limit ? limit + 1 : 0;
    req.on("data", (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size > limit) chunks.length = 0;
      else chunks.push(chunk);
    });
    req.on("end", () => (size > limit ? reject(new BodyTooLargeError()) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

/** Text bodies reach Lambda as strings; anything else base64-encoded, as API Gateway does. */
function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return (
    type.startsWith("text/") ||
    type === "application/json" ||
    type.endsWith("+json") ||
    type === "application/xml" ||
    type.endsWith("+xml") ||
    type === "application/javascript"
  );
}

function apiGatewayTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export interface EventInput {
  head: RequestHead;
  match: RouteMatch;
  /** `HTTP/1.1`'s version part. */
  httpVersion: string;
  authorizer: JwtAuthorizerContext | undefined;
  body: Buffer;
  requestId: string;
  started: Date;
}

export function buildEvent({
  head,
  match,
  httpVersion,
  authorizer,
  body,
  requestId,
  started,
}: EventInput): LocalApiEvent {
  const { method, rawPath, rawQueryString, headers, cookies, sourceIp } = head;
  const { routeKey, params } = match;
  // Gathered in a Map: a parameter named `__proto__` stays a parameter (an own key, as in API Gateway's
  // JSON event), instead of vanishing into a plain object's prototype.
  const query = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    const earlier = query.get(key);
    query.set(key, earlier === undefined ? value : `${earlier},${value}`);
  }
  const queryStringParameters: Record<string, string> = Object.fromEntries(query);
  const isText = isTextContentType(headers["content-type"]);
  const domainName = headers.host ?? "localhost";

  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    ...(Object.keys(params).length > 0 ? { pathParameters: params } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: "local",
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${httpVersion}`,
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey,
      stage: "$default",
      time: apiGatewayTime(started),
      timeEpoch: started.getTime(),
      ...(authorizer ? { authorizer } : {}),
    },
    ...(body.length > 0 ? { body: isText ? body.toString("utf8") : body.toString("base64") } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
}
