// StoreAccounts: every page of the member's accounts, written to the table as each page arrives.
import type { MxApi } from "../mx/api";
import { MAX_RECORDS_PER_PAGE } from "../mx/client";
import { sumOverPages } from "../mx/pages";
import type { BankDataStore } from "../storage/ports";
import type { CountOutput, TaskBase } from "./contract";

export async function storeAccounts(
  deps: { mx: MxApi; bankData: BankDataStore },
  { request: { userId, mxUserGuid, memberGuid } }: TaskBase,
): Promise<CountOutput> {
  const stored = await sumOverPages(
    (page) => deps.mx.listAccounts(mxUserGuid, memberGuid, { page, recordsPerPage: MAX_RECORDS_PER_PAGE }),
    (accounts) => deps.bankData.putAccounts(userId, memberGuid, accounts),
  );
  return { stored };
}
