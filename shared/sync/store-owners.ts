// StoreOwners: every page of the member's account owners, written to the table as each page arrives.
import type { MxApi } from "../mx/api";
import { MAX_RECORDS_PER_PAGE } from "../mx/client";
import { iteratePages } from "../mx/pages";
import type { BankDataStore } from "../storage/ports";
import type { CountOutput, TaskBase } from "./contract";

export async function storeOwners(
  deps: { mx: MxApi; bankData: BankDataStore },
  { request }: TaskBase,
): Promise<CountOutput> {
  const { userId, mxUserGuid, memberGuid } = request;
  let stored = 0;
  const pages = iteratePages((page) =>
    deps.mx.listAccountOwners(mxUserGuid, memberGuid, { page, recordsPerPage: MAX_RECORDS_PER_PAGE }),
  );
  for await (const page of pages)
    stored += await deps.bankData.putAccountOwners(userId, memberGuid, page.items);
  return { stored };
}
