// StoreTransactionsPage: one page (the largest MX allows) of the member's transactions in the run's window,
// written to the table. The workflow reads page 1, then pages 2..totalPages in parallel with this task.
import type { MxApi } from "../mx/api";
import { MAX_RECORDS_PER_PAGE } from "../mx/client";
import type { BankDataStore } from "../storage/ports";
import type { PageTaskInput, PageTaskOutput } from "./contract";

export async function storeTransactionsPage(
  deps: { mx: MxApi; bankData: BankDataStore },
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
  return {
    stored,
    totalPages: result.pagination.total_pages,
    totalEntries: result.pagination.total_entries,
  };
}
