// The Connect API as a browser app calls it: a bearer token on every call, JSON in and out, and errors read
// from `{"error":{"code","message"}}` (API Gateway's own refusals answer `{"message"}` instead).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function readReply(response) {
  if (response.status === 204) return undefined;
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  if (!response.ok) {
    const code = body.error?.code ?? (response.status === 401 ? "unauthorized" : `http_${response.status}`);
    const message = body.error?.message ?? body.message ?? response.statusText;
    throw new ApiError(response.status, code, message);
  }
  return body;
}

/** Development sign-in (`npm start` only): a token for `user` from the local development issuer. */
export async function devSignIn(baseUrl, user) {
  const response = await fetch(`${baseUrl}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user }),
  });
  return (await readReply(response)).token;
}

export function createApi(baseUrl, token) {
  async function call(method, path, body) {
    const headers = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return readReply(response);
  }
  const member = (guid) => `/v1/members/${encodeURIComponent(guid)}`;

  return {
    searchInstitutions: (name) => call("GET", `/v1/institutions?name=${encodeURIComponent(name)}`),
    credentialFields: (code) => call("GET", `/v1/institutions/${encodeURIComponent(code)}/credentials`),
    /** `{institution_code, credentials}` or `{institution_code, is_oauth: true, redirect_url}`. */
    createMember: (body) => call("POST", "/v1/members", body),
    listMembers: () => call("GET", "/v1/members"),
    getMember: (guid) => call("GET", member(guid)),
    challenges: (guid) => call("GET", `${member(guid)}/challenges`),
    answerChallenges: (guid, challenges) => call("POST", `${member(guid)}/challenges`, { challenges }),
    syncMember: (guid) => call("POST", `${member(guid)}/sync`),
    reconnectMember: (guid, body) => call("POST", `${member(guid)}/reconnect`, body),
    syncHistory: (guid) => call("GET", `${member(guid)}/syncs`),
    deleteMember: (guid) => call("DELETE", member(guid)),
    accounts: () => call("GET", "/v1/accounts"),
    transactions: (accountGuid, cursor) =>
      call(
        "GET",
        `/v1/accounts/${encodeURIComponent(accountGuid)}/transactions?limit=25${
          cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""
        }`,
      ),
  };
}
