// MX-like error responses: `{"error":{"message":"…"}}` with the status MX would use.
// Messages never echo request values (they may be bank credentials or MFA answers).

export class MxHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "MxHttpError";
  }
}

export const badRequest = (message: string) => new MxHttpError(400, message);
export const unauthorized = () =>
  new MxHttpError(401, "Unauthorized: check the client_id and api_key (HTTP basic auth).", {
    "WWW-Authenticate": 'Basic realm="MX Platform API"',
  });
export const notAcceptable = () =>
  new MxHttpError(406, "Not Acceptable: send the header Accept: application/vnd.mx.api.v1+json.");
export const notFound = (what = "resource") => new MxHttpError(404, `The requested ${what} was not found.`);
export const conflict = (message: string) => new MxHttpError(409, message);
export const payloadTooLarge = (limit: number) =>
  new MxHttpError(413, `Request body is larger than ${limit} bytes.`);
export const unsupportedMediaType = () =>
  new MxHttpError(415, "Unsupported Media Type: send the body as Content-Type: application/json.");
export const unprocessable = (message: string) => new MxHttpError(422, message);

export function errorBody(message: string): { error: { message: string } } {
  return { error: { message } };
}
export const forbidden = (message: string) => new MxHttpError(403, message);
