// The read routes: owners, accounts and transactions, served from DynamoDB only (never MX on a read).
import type { SyncHistory } from "../history/ports";
import type { Account, AccountOwner, Transaction } from "../mx/schemas";
import { InvalidCursorError, InvalidQueryError } from "../storage/errors";
import type { BankDataStore, MemberStore } from "../storage/ports";
import { BadRequestError, NotFoundError } from "./errors";
import { findOwnedMember } from "./members";
import { syncRunView } from "./views";

export async function listOwners(
  deps: { members: MemberStore; bankData: BankDataStore },
  userId: string,
  memberGuid: string,
): Promise<AccountOwner[]> {
  await findOwnedMember(deps.members, userId, memberGuid);
  return deps.bankData.listAccountOwners(userId, memberGuid);
}

export async function listAccounts(deps: { bankData: BankDataStore }, userId: string): Promise<Account[]> {
  return deps.bankData.listAccounts(userId);
}

export interface TransactionsPage {
  transactions: Transaction[];
  next_cursor?: string;
}

export async function listTransactions(
  deps: { bankData: BankDataStore },
  userId: string,
  accountGuid: string,
  query: { from?: string; to?: string; limit: number; cursor?: string },
): Promise<TransactionsPage> {
  try {
    // The store checks the account is this user's first: undefined (404, like a missing one) when not.
    const page = await deps.bankData.listTransactions(userId, accountGuid, query);
    if (!page) throw new NotFoundError("Account not found.");
    return page.cursor
      ? { transactions: page.items, next_cursor: page.cursor }
      : { transactions: page.items };
  } catch (error) {
    if (error instanceof InvalidCursorError) {
      throw new BadRequestError("query.cursor: is not a cursor this API issued for this query");
    }
    if (error instanceof InvalidQueryError) throw new BadRequestError(`query: ${error.message}`);
    throw error;
  }
}

export interface SyncsPage {
  syncs: ReturnType<typeof syncRunView>[];
  next_cursor?: string;
}

/** The member's sync runs, newest first, a page at a time (opaque cursor, like the transactions route). */
export async function listSyncs(
  deps: { members: MemberStore; history: SyncHistory },
  userId: string,
  memberGuid: string,
  query: { limit: number; cursor?: string },
): Promise<SyncsPage> {
  await findOwnedMember(deps.members, userId, memberGuid);
  try {
    const page = await deps.history.listRuns(userId, memberGuid, query);
    const syncs = page.runs.map(syncRunView);
    return page.cursor ? { syncs, next_cursor: page.cursor } : { syncs };
  } catch (error) {
    if (error instanceof InvalidCursorError) {
      throw new BadRequestError("query.cursor: is not a cursor this API issued for this member");
    }
    throw error;
  }
}
