// AwaitChallenge: the run is paused on a task token until the end user answers the MFA prompts. This
// stores MX's prompts and the token on the member for the API to show and answer (answer-challenge.ts).
//
// When MX has no challenge any more (204: answered elsewhere, expired, or the status moved on), nobody
// could ever answer, and the run would sit until the task's timeout. So the task resumes its own run at
// once (SendTaskSuccess with a new phase start) and the next poll decides from MX's status. Each such
// bounce still counts as a challenge round, so the loop stays bounded.
import type { MxApi } from "../mx/api";
import type { MemberStore } from "../storage/ports";
import type { ChallengeInput } from "./contract";
import type { SfnPort } from "./sfn";
import { type Clock, systemClock } from "./time";

export interface AwaitChallengeResult {
  /** True when the prompts were stored and the run waits for the user; false when it was resumed at once. */
  waiting: boolean;
  challenges: number;
}

export interface AwaitChallengeOptions {
  /** The task's timeout: the stored token is handed out no longer than that. */
  challengeTimeoutSeconds: number;
}

export async function awaitChallenge(
  deps: { mx: MxApi; members: MemberStore; sfn: SfnPort; clock?: Clock },
  { request, syncRun, taskToken }: ChallengeInput,
  options: AwaitChallengeOptions,
): Promise<AwaitChallengeResult> {
  const challenges = await deps.mx.listChallenges(request.mxUserGuid, request.memberGuid);
  if (challenges.length === 0) {
    const phaseStartedAt = (deps.clock ?? systemClock)().getTime();
    await deps.sfn.sendTaskSuccess(taskToken, { phaseStartedAt });
    return { waiting: false, challenges: 0 };
  }
  // Status first: once the prompts and token are there, the member reads CHALLENGED and can be answered.
  await deps.members.updateSync(request.userId, request.memberGuid, syncRun, { status: "CHALLENGED" });
  await deps.members.saveChallenges(
    request.userId,
    request.memberGuid,
    challenges,
    taskToken,
    options.challengeTimeoutSeconds,
  );
  return { waiting: true, challenges: challenges.length };
}
