// The end user answers the MFA prompts (the API): check that a challenge waits and the answers fit it,
// send them to MX (`resume`), then resume the paused sync run with its task token, taken single-use from
// the member so that two concurrent answers cannot both go through. Answers are passed to MX only: never
// stored, logged or returned.
import { MemberNotFoundError, NoChallengeError, UnprocessableRequestError } from "../domain/errors";
import type { MxApi } from "../mx/api";
import {
  MxBadRequestError,
  MxConflictError,
  MxNotAllowedError,
  MxRateLimitedError,
  MxUnauthorizedError,
} from "../mx/errors";
import { SyncLeaseLostError } from "../storage/errors";
import type { MemberStore } from "../storage/ports";
import type { SfnPort } from "./sfn";
import { type Clock, systemClock } from "./time";

export interface AnswerChallengeInput {
  userId: string;
  memberGuid: string;
  /** One answer per waiting challenge: the challenge's guid and the user's value. */
  answers: { guid: string; value: string }[];
}

export interface AnswerChallengeResult {
  /**
   * True when the waiting run was resumed. False when MX took the answers but the run had already stopped
   * waiting (its challenge timed out): a new sync picks the member up.
   */
  resumed: boolean;
}

export interface AnswerChallengeOptions {
  /** Life given back to the token if MX refuses the answers and the user may try again. */
  challengeTimeoutSeconds: number;
}

/** MX answered without acting on the request. */
const NOT_TAKEN = [MxBadRequestError, MxConflictError, MxRateLimitedError, MxUnauthorizedError];

export async function answerChallenge(
  deps: { mx: MxApi; members: MemberStore; sfn: SfnPort; clock?: Clock },
  { userId, memberGuid, answers }: AnswerChallengeInput,
  options: AnswerChallengeOptions,
): Promise<AnswerChallengeResult> {
  const member = await deps.members.getMember(userId, memberGuid);
  if (!member) throw new MemberNotFoundError();
  const challenges = member.challenges ?? [];
  // The token is the authority: stored with the prompts by the waiting run, cleared once used or ended.
  if (challenges.length === 0 || !member.challengeTaskToken) {
    throw new NoChallengeError();
  }

  const waiting = new Set(challenges.map((challenge) => challenge.guid));
  const answered = new Set(answers.map((answer) => answer.guid));
  if (answered.size !== answers.length)
    throw new UnprocessableRequestError("Answer each security question once.");
  const unknown = [...answered].filter((guid) => !waiting.has(guid));
  if (unknown.length > 0)
    throw new UnprocessableRequestError(`Not a waiting security question: ${unknown.join(", ")}.`);
  const missing = [...waiting].filter((guid) => !answered.has(guid));
  if (missing.length > 0)
    throw new UnprocessableRequestError(`Answer every security question; missing: ${missing.join(", ")}.`);

  const taskToken = await deps.members.takeChallengeTaskToken(userId, memberGuid);
  if (!taskToken) throw new NoChallengeError(); // answered concurrently, or the wait expired
  // The run may have ended with the token still stored (its wait timed out, it was stopped): then MX must
  // not get the answer (the bank would count an attempt nobody follows up). The token stays taken.
  // Puts the prompts and the token back: nothing reached the bank, so the user may simply answer again.
  const putBack = () =>
    deps.members.saveChallenges(userId, memberGuid, challenges, taskToken, options.challengeTimeoutSeconds);
  let runWaits: boolean;
  try {
    runWaits = await deps.sfn.taskWaiting(taskToken);
  } catch (error) {
    // Step Functions did not answer: nothing was sent anywhere.
    await putBack();
    throw error;
  }
  if (!runWaits) {
    throw new NoChallengeError(
      "The sync stopped waiting for this answer (it timed out or ended); the member's sync status says what happened.",
    );
  }

  try {
    await deps.mx.resumeMember(member.mxUserGuid, memberGuid, answers);
  } catch (error) {
    if (NOT_TAKEN.some((type) => error instanceof type)) {
      // MX refused the answers without acting.
      await putBack();
    } else if (error instanceof MxNotAllowedError) {
      // 405: MX no longer waits for an answer (the challenge expired, ~5 min at MX, or the status moved
      // on). The run resumes at once and its next poll ends it as MX says (EXPIRED → NEEDS_USER).
      await deps.sfn.sendTaskSuccess(taskToken, { phaseStartedAt: (deps.clock ?? systemClock)().getTime() });
      throw new NoChallengeError(
        "The bank no longer waits for this answer (the security question expired or was answered); the member's sync status says what happened.",
      );
    } else {
      // MX may have taken them (timeout, 5xx) or the member is gone: re-sending could count as a second
      // attempt at the bank, so the run resumes and its next poll reads what MX made of it.
      await deps.sfn.sendTaskSuccess(taskToken, { phaseStartedAt: (deps.clock ?? systemClock)().getTime() });
    }
    throw error;
  }

  // Shown before the run resumes, so the app never sees CHALLENGED after the answer was taken. A run that
  // already ended (its wait timed out) no longer holds the member: nothing to write then.
  const syncRun = member.sync.syncRun;
  if (syncRun) {
    try {
      await deps.members.updateSync(userId, memberGuid, syncRun, { status: "CONNECTING" });
    } catch (error) {
      if (!(error instanceof SyncLeaseLostError)) throw error;
    }
  }
  const phaseStartedAt = (deps.clock ?? systemClock)().getTime();
  const resumed = await deps.sfn.sendTaskSuccess(taskToken, { phaseStartedAt });
  return { resumed };
}
