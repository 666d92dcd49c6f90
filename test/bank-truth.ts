// What MX holds for a member against what the product stored for it, row by row: the check behind "nothing
// lost, nothing twice". Reads MX with the stack's own client and the table through the store ports.
import type { MxApi } from "../shared/mx/api";
import type { Stores } from "../shared/storage/dynamo";
import type { SyncRequest } from "../shared/sync/contract";

/** JSON with keys sorted, so two copies of one record compare equal whatever their key order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );

async function allPages<T>(
  read: (page: number) => Promise<{ items: T[]; pagination: { total_pages: number } }>,
) {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const result = await read(page);
    items.push(...result.items);
    if (page >= result.pagination.total_pages) return items;
  }
}

export interface TruthCheck {
  /** Rows compared: MX's accounts and transactions of the member. */
  rows: number;
  /** One line per difference: missing, extra, a stored row twice, or a field that differs. */
  mismatches: string[];
}

/** Compares the member's stored accounts and transactions with MX's, guid by guid and field by field. */
export async function checkAgainstMx(
  deps: { mx: MxApi; stores: Stores },
  request: SyncRequest,
): Promise<TruthCheck> {
  const { mxUserGuid, memberGuid, userId } = request;
  const mxAccounts = await allPages((page) =>
    deps.mx.listAccounts(mxUserGuid, memberGuid, { page, recordsPerPage: 1000 }),
  );
  const mxTransactions = await allPages((page) =>
    deps.mx.listTransactions(mxUserGuid, memberGuid, { fromDate: "2000-01-01", page, recordsPerPage: 1000 }),
  );
  const storedAccounts = (await deps.stores.bankData.listAccounts(userId)).filter(
    (account) => account.member_guid === memberGuid,
  );
  const storedTransactions = [];
  for (const account of storedAccounts) {
    let cursor: string | undefined;
    do {
      const page = await deps.stores.bankData.listTransactions(userId, account.guid, { limit: 500, cursor });
      storedTransactions.push(...(page?.items ?? []));
      cursor = page?.cursor;
    } while (cursor);
  }
  const mismatches: string[] = [];
  const compare = (kind: string, truth: { guid?: unknown }[], stored: { guid?: unknown }[]) => {
    const byGuid = new Map<unknown, string>();
    for (const row of stored) {
      if (byGuid.has(row.guid)) mismatches.push(`${kind} ${String(row.guid)} stored twice`);
      byGuid.set(row.guid, canonical(row));
    }
    for (const row of truth) {
      const copy = byGuid.get(row.guid);
      if (copy === undefined) mismatches.push(`${kind} ${String(row.guid)} missing`);
      else if (copy !== canonical(row)) mismatches.push(`${kind} ${String(row.guid)} differs`);
      byGuid.delete(row.guid);
    }
    for (const guid of byGuid.keys()) mismatches.push(`${kind} ${String(guid)} stored but not at MX`);
  };
  compare("account", mxAccounts, storedAccounts);
  compare("transaction", mxTransactions, storedTransactions);
  return { rows: mxAccounts.length + mxTransactions.length, mismatches };
}
