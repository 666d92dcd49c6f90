// An MX user with an mxbank member whose password picks the outcome (see local/sandbox/README.md),
// recorded as our member the way the API records one: what workflow tests and benchmarks start from.
import { randomUUID } from "node:crypto";
import type { MxApi } from "../shared/mx/api";
import type { MemberRecord, MemberStore } from "../shared/storage/ports";
import type { SyncRequest } from "../shared/sync/contract";
import { MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID, TEST_USERNAME } from "./sandbox/index";

export async function connectMxbankMember(
  deps: { mx: MxApi; members: MemberStore },
  password: string,
  options: { identify?: boolean } = {},
): Promise<{ member: MemberRecord; request: SyncRequest }> {
  const identify = options.identify ?? false;
  const userId = `user-${randomUUID()}`;
  const user = await deps.mx.createUser({ id: userId });
  const created = await deps.mx.createMember(user.guid, {
    institutionCode: "mxbank",
    id: `member-${randomUUID()}`,
    credentials: [
      { guid: MXBANK_USERNAME_GUID, value: TEST_USERNAME },
      { guid: MXBANK_PASSWORD_GUID, value: password },
    ],
  });
  const member = await deps.members.putMember({
    userId,
    mxUserGuid: user.guid,
    memberGuid: created.guid,
    institutionCode: "mxbank",
    isOauth: false,
    identify,
  });
  const request: SyncRequest = {
    userId,
    mxUserGuid: user.guid,
    memberGuid: created.guid,
    identify,
    mode: "initial",
    trigger: "create",
  };
  return { member, request };
}
