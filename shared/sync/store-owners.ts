// StoreOwners: every page of the member's account owners, written to the table as each page arrives.
import type { MxApi } from "../mx/api";
import { MAX_RECORDS_PER_PAGE } from "../mx/client";
import { sumOverPages } from "../mx/pages";
import type { BankDataStore } from "../storage/ports";
import type { CountOutput, TaskBase } from "./contract";

export async function storeOwners(
  deps: { mx: MxApi; bankData: BankDataStore },
  { request: { userId, mxUserGuid, memberGuid } }: TaskBase,
): Promise<CountOutput> {
  const stored = await sumOverPages(
    (page) =>
      deps.mx.listAccountOwners(mxUserGuid, memberGuid, { page, recordsPerPage: MAX_RECORDS_PER_PAGE }),
    (owners) => deps.bankData.putAccountOwners(userId, memberGuid, owners),
  );
  return { stored };
}
