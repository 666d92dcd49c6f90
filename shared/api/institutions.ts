// Institution search and credential fields: straight from MX (the only reads that are not stored data).
import type { MxApi } from "../mx/api";
import { MxNotFoundError } from "../mx/errors";
import type { CredentialField, Institution, Pagination } from "../mx/schemas";
import { NotFoundError } from "./errors";

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
