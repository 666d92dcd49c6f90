// Many connected members at once, for the fleet benchmark (local/bench/fleet.ts): each user and member is
// made by the sandbox's own route handlers (no HTTP), backdated so its first aggregation has just ended.
import { createMember } from "./api-members";
import { createUser } from "./api-users";
import type { ApiRequest } from "./http";
import { MXBANK_PASSWORD_GUID, MXBANK_USERNAME_GUID } from "./institutions";
import { TEST_USERNAME } from "./members";
import type { SandboxState } from "./state";

export interface SeededMember {
  /** The MX user's `id` (the app's user id). */
  userId: string;
  userGuid: string;
  memberGuid: string;
  /** MX's successfully_aggregated_at of the member's first aggregation (ISO). */
  aggregatedAt: string;
}

const guidOf = (body: unknown, wrapper: "user" | "member"): string => {
  const guid = (body as Record<string, { guid?: unknown } | undefined>)[wrapper]?.guid;
  if (typeof guid !== "string") throw new Error(`The sandbox created no ${wrapper}`);
  return guid;
};

/** `count` users `<prefix>-<n>`, each with one connected MX Bank member whose first aggregation is done. */
export function seedConnectedMembers(state: SandboxState, count: number, prefix: string): SeededMember[] {
  // Created as if `aggregationMs` ago and then replayed to now, as the sandbox replays any member.
  const createdAt = state.now() - state.knobs.aggregationMs - 1;
  const request = (params: Record<string, string>, body: unknown): ApiRequest => ({
    state,
    params,
    query: new URLSearchParams(),
    rawBody: Buffer.from(JSON.stringify(body)),
    contentType: "application/json",
    now: createdAt,
    baseUrl: "http://sandbox.invalid",
  });
  const created: { userId: string; userGuid: string; memberGuid: string }[] = [];
  for (let n = 0; n < count; n++) {
    const userId = `${prefix}-${n}`;
    const userGuid = guidOf(createUser(request({}, { user: { id: userId } })).body, "user");
    const member = createMember(
      request(
        { user_guid: userGuid },
        {
          member: {
            institution_code: "mxbank",
            credentials: [
              { guid: MXBANK_USERNAME_GUID, value: TEST_USERNAME },
              { guid: MXBANK_PASSWORD_GUID, value: `password-${n}` },
            ],
          },
        },
      ),
    );
    created.push({ userId, userGuid, memberGuid: guidOf(member.body, "member") });
  }
  state.advanceAll();
  return created.map((m) => {
    const at = state.members.get(m.memberGuid)?.successfullyAggregatedAt;
    if (at == null) throw new Error(`Member ${m.memberGuid} did not connect`);
    return { ...m, aggregatedAt: new Date(at).toISOString() };
  });
}
