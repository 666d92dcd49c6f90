// Poll: read the member's status at MX, record it on the member, classify it into the workflow's next
// phase, and say how long to wait before the next poll.
import {
  aggregatedSince,
  connectionPhase,
  DEFAULT_JOB_START_GRACE_SECONDS,
  nextPollDelaySeconds,
} from "../domain/connection";
import { MEMBER_NOT_FOUND, MX_UNAUTHORIZED } from "../domain/sync";
import type { MxApi } from "../mx/api";
import { MxNotFoundError, MxUnauthorizedError } from "../mx/errors";
import type { MemberStore } from "../storage/ports";
import type { PollInput, PollOutput } from "./contract";
import { type Clock, systemClock } from "./time";

export interface PollMemberOptions {
  /** A phase still aggregating after this long ends TIMED_OUT. */
  phaseLimitSeconds: number;
  /** The longest wait between polls. */
  maxWaitSeconds: number;
  /** How long an accepted job may show no sign of running before it counts as declined (default 30 s). */
  startGraceSeconds?: number;
}

// Synthetic connection statuses for ends MX reports as HTTP errors rather than a status. They are not
// MX's words, so they are not written to the member's connectionStatus; Finish turns them into a reason.
export { MEMBER_NOT_FOUND, MX_UNAUTHORIZED } from "../domain/sync";

export async function pollMember(
  deps: { mx: MxApi; members: MemberStore; clock?: Clock; random?: () => number },
  { request, syncRun, phaseStartedAt, baseline }: PollInput,
  options: PollMemberOptions,
): Promise<PollOutput> {
  const now = (deps.clock ?? systemClock)().getTime();
  const elapsedSeconds = Math.max(0, Math.round((now - phaseStartedAt) / 1000));
  const waitSeconds = nextPollDelaySeconds(elapsedSeconds, options.maxWaitSeconds, deps.random);

  let status: Awaited<ReturnType<MxApi["readMemberStatus"]>>;
  try {
    status = await deps.mx.readMemberStatus(request.mxUserGuid, request.memberGuid);
  } catch (error) {
    // Expected ends, not crashes: the member was deleted at MX, or MX rejects our API key.
    if (error instanceof MxNotFoundError)
      return {
        phase: "FAILED",
        connectionStatus: MEMBER_NOT_FOUND,
        waitSeconds,
        elapsedSeconds,
        dataAsOf: null,
      };
    if (error instanceof MxUnauthorizedError)
      return {
        phase: "FAILED",
        connectionStatus: MX_UNAUTHORIZED,
        waitSeconds,
        elapsedSeconds,
        dataAsOf: null,
      };
    throw error;
  }

  const connectionStatus = status.connection_status ?? "UNKNOWN";
  const dataAsOf = status.successfully_aggregated_at ?? null;
  let phase: PollOutput["phase"] = connectionPhase(status);
  // CONNECTED and idle is only the job's end once MX's data moved past the baseline. Until then the job
  // may not have started yet; past the grace MX took the request (202) and ran nothing: it declined.
  if (phase === "CONNECTED" && !aggregatedSince(dataAsOf, baseline)) {
    const grace = options.startGraceSeconds ?? DEFAULT_JOB_START_GRACE_SECONDS;
    phase = elapsedSeconds < grace ? "AGGREGATING" : "DECLINED";
  }
  if (phase === "AGGREGATING" && elapsedSeconds > options.phaseLimitSeconds) phase = "TIMED_OUT";

  // The app's view of the run: connecting while MX works, syncing once data is ready to fetch, in the same
  // write as MX's status. A challenge is shown by the MFA task (with the prompts), and ends by Finish.
  if (phase === "AGGREGATING" || phase === "CONNECTED" || phase === "DECLINED") {
    const status = phase === "AGGREGATING" ? "CONNECTING" : "SYNCING";
    await deps.members.updateSync(
      request.userId,
      request.memberGuid,
      syncRun,
      { status },
      { connectionStatus },
    );
  } else {
    await deps.members.recordConnectionStatus(request.userId, request.memberGuid, connectionStatus);
  }
  return { phase, connectionStatus, waitSeconds, elapsedSeconds, dataAsOf };
}
