// StoreOwners: every page of the member's account owners, written to the table as each page arrives.
// Owners are identity data: outside the client's MX contract (403) the member records identity as
// NOT_ENABLED and the sync goes on with accounts and transactions.
import type { MxApi } from "../mx/api";
import { MAX_RECORDS_PER_PAGE } from "../mx/client";
import { MxUnauthorizedError } from "../mx/errors";
import { sumOverPages } from "../mx/pages";
import type { BankDataStore, MemberStore } from "../storage/ports";
import type { CountOutput, TaskBase } from "./contract";

export async function storeOwners(
  deps: { mx: MxApi; bankData: BankDataStore; members: MemberStore },
  { request: { userId, mxUserGuid, memberGuid } }: TaskBase,
): Promise<CountOutput> {
  try {
    const stored = await sumOverPages(
      (page) =>
        deps.mx.listAccountOwners(mxUserGuid, memberGuid, { page, recordsPerPage: MAX_RECORDS_PER_PAGE }),
      (owners) => deps.bankData.putAccountOwners(userId, memberGuid, owners),
    );
    return { stored };
  } catch (error) {
    if (!(error instanceof MxUnauthorizedError && error.status === 403)) throw error;
    await deps.members.recordProduct(userId, memberGuid, "identity", "NOT_ENABLED");
    return { stored: 0 };
  }
}
