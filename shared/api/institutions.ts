// Institution search and credential fields: straight from MX (the only reads that are not stored data).
import type { MxApi } from "../mx/api";
import { MxNotFoundError } from "../mx/errors";
import type { CredentialField, Institution, Pagination } from "../mx/schemas";
import { NotFoundError, UnprocessableError } from "./errors";

export async function searchInstitutions(
  deps: { mx: MxApi },
  query: { name?: string; page: number; records_per_page: number },
): Promise<{ institutions: Institution[]; pagination: Pagination }> {
  const page = await deps.mx.searchInstitutions({
    ...(query.name ? { name: query.name } : {}),
    page: query.page,
    recordsPerPage: query.records_per_page,
  });
  return { institutions: page.items, pagination: page.pagination };
}

export async function listCredentialFields(
  deps: { mx: MxApi },
  institutionCode: string,
): Promise<CredentialField[]> {
  try {
    const fields = await deps.mx.listCredentialFields(institutionCode);
    return [...fields].sort((a, b) => (a.display_order ?? 0) - (b.display_order ?? 0));
  } catch (error) {
    if (error instanceof MxNotFoundError)
      throw new NotFoundError(`Institution ${institutionCode} not found.`);
    throw error;
  }
}

/**
 * Why MX refused to create this member, found by reading the institution's credential fields (only after a
 * refusal, so a good request costs no extra MX call): an unknown institution, a credential field left out
 * or not the institution's, OAuth asked of a bank without it, or credentials sent to an OAuth-only bank.
 */
export async function explainRefusedMember(
  deps: { mx: MxApi },
  body: {
    institution_code: string;
    credentials?: { guid: string }[] | undefined;
    is_oauth?: boolean | undefined;
  },
): Promise<UnprocessableError> {
  const code = body.institution_code;
  let fields: CredentialField[];
  try {
    fields = await deps.mx.listCredentialFields(code);
  } catch (error) {
    if (error instanceof MxNotFoundError) {
      return new UnprocessableError(
        `body.institution_code: MX has no institution ${code}. Search for it with GET /v1/institutions?name=….`,
        "unknown_institution",
      );
    }
    return genericRefusal(code);
  }
  if (body.is_oauth) {
    if (fields.length === 0) return genericRefusal(code);
    return new UnprocessableError(
      `body.is_oauth: ${code} does not connect through OAuth. Send its credential fields (GET /v1/institutions/${code}/credentials) instead.`,
      "oauth_not_supported",
    );
  }
  if (fields.length === 0) {
    return new UnprocessableError(
      `body.credentials: ${code} connects through OAuth only. Send "is_oauth": true (and a redirect_url) without credentials.`,
      "oauth_required",
    );
  }
  const sent = new Set((body.credentials ?? []).map((credential) => credential.guid));
  const known = new Set(fields.map((field) => field.guid));
  const unknown = [...sent].filter((guid) => !known.has(guid));
  if (unknown.length > 0) {
    return new UnprocessableError(
      `body.credentials: ${unknown.join(", ")} ${unknown.length === 1 ? "is not a credential field" : "are not credential fields"} of ${code} (GET /v1/institutions/${code}/credentials lists them).`,
      "credential_unknown",
    );
  }
  const missing = fields.filter((field) => !sent.has(field.guid));
  if (missing.length > 0) {
    const names = missing.map((field) => `${field.label ?? field.field_name ?? "field"} (${field.guid})`);
    return new UnprocessableError(
      `body.credentials: ${code} also needs ${names.join(", ")}.`,
      "credentials_missing",
    );
  }
  return genericRefusal(code);
}

function genericRefusal(code: string): UnprocessableError {
  return new UnprocessableError(
    `MX did not accept this member: check the credential fields (GET /v1/institutions/${code}/credentials).`,
  );
}
