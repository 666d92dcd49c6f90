// StoreTransactionsPage: one page (the largest MX allows) of the member's transactions in one window of the
// run, written to the table. The workflow reads each window's page 1, then its pages 2..totalPages in parallel.
import type { MxApi } from "../mx/api";
import { MAX_RECORDS_PER_PAGE } from "../mx/client";
import type { BankDataStore, MemberStore } from "../storage/ports";
import type { PageTaskInput, PageTaskOutput } from "./contract";

export async function storeTransactionsPage(
  deps: { mx: MxApi; bankData: BankDataStore; members: MemberStore },
  { request, syncRun, page, window }: PageTaskInput,
): Promise<PageTaskOutput> {
  const { userId, mxUserGuid, memberGuid } = request;
  const result = await deps.mx.listTransactions(mxUserGuid, memberGuid, {
    fromDate: window.from,
    toDate: window.to,
    page,
    recordsPerPage: MAX_RECORDS_PER_PAGE,
  });
  // Stamped with the run so Finish can tell which stored pending transactions this run no longer saw.
  const stored = await deps.bankData.putTransactions(userId, memberGuid, result.items, syncRun);
  // How far back the member's stored history goes: the oldest date stored, not the window asked for
  // (MX holds about 90 days unless extended history brought more, whatever window we ask).
  const oldest = result.items.reduce<string | undefined>((min, { date }) => {
    const day = date?.slice(0, 10);
    return day && (min === undefined || day < min) ? day : min;
  }, undefined);
  if (oldest !== undefined) await deps.members.recordHistoryFrom(userId, memberGuid, oldest);
  return {
    stored,
    totalPages: result.pagination.total_pages,
    totalEntries: result.pagination.total_entries,
  };
}
