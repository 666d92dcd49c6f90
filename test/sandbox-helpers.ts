// Helpers for talking to the MX sandbox over real HTTP in tests (fetch on 127.0.0.1).
import { MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID, type Sandbox } from "../local/sandbox/index";

export const MX_ACCEPT = "application/vnd.mx.api.v1+json";

export interface CallResult {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test helper returning arbitrary MX JSON for assertions
  body: any;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  auth?: string | null;
}

export function mxCaller(sandbox: Sandbox) {
  const basic = `Basic ${Buffer.from(`${sandbox.clientId}:${sandbox.apiKey}`).toString("base64")}`;
  return async function call(method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { Accept: MX_ACCEPT, ...options.headers };
    if (options.auth !== null) headers.Authorization = options.auth ?? basic;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !("Content-Type" in headers)) headers["Content-Type"] = "application/json";
    const response = await fetch(`${sandbox.url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
}
export type Call = ReturnType<typeof mxCaller>;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function createUser(call: Call, id: string): Promise<string> {
  const res = await call("POST", "/users", { body: { user: { id } } });
  if (res.status !== 200) throw new Error(`create user: ${res.status} ${res.text}`);
  return res.body.user.guid as string;
}

export function mxbankCredentials(password: string, username = "mxuser") {
  return [
    { guid: MXBANK_USERNAME_GUID, value: username },
    { guid: MXBANK_PASSWORD_GUID, value: password },
  ];
}

export async function createMxbankMember(
  call: Call,
  userGuid: string,
  password: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await call("POST", `/users/${userGuid}/members`, {
    body: { member: { institution_code: "mxbank", credentials: mxbankCredentials(password), ...extra } },
  });
  if (res.status !== 202) throw new Error(`create member: ${res.status} ${res.text}`);
  return res.body.member.guid as string;
}

/** Polls …/status until the job ends or waits on MFA; returns the last status. */
export async function pollUntilSettled(call: Call, userGuid: string, memberGuid: string, maxPolls = 400) {
  for (let i = 0; i < maxPolls; i++) {
    const res = await call("GET", `/users/${userGuid}/members/${memberGuid}/status`);
    if (res.status !== 200) throw new Error(`status: ${res.status} ${res.text}`);
    const status = res.body.member;
    // CHALLENGED waits on the user even though MX keeps is_being_aggregated true.
    if (
      status.connection_status === "CHALLENGED" ||
      (!status.is_being_aggregated &&
        !["CREATED", "RESUMED", "RECONNECTED", "UPDATED"].includes(status.connection_status))
    ) {
      return status;
    }
    await sleep(15);
  }
  throw new Error("member never settled");
}
