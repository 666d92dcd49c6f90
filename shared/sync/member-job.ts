// Starting an MX job on a connected member (identify, extend_history): read MX's freshness first (the
// baseline the job's end is judged by), ask, and record whether the product works for this member.
import type { MxApi } from "../mx/api";
import { MxBadRequestError, MxConflictError, MxUnauthorizedError } from "../mx/errors";
import type { Member } from "../mx/schemas";
import type { MemberStore, MxProduct } from "../storage/ports";
import { type JobOutput, MX_JOB_BUSY_ERROR, type TaskBase } from "./contract";
import { type Clock, systemClock } from "./time";

/** MX runs one job per member: another kind is running (409). The workflow retries it, bounded. */
export class MxJobBusyError extends Error {
  override name = MX_JOB_BUSY_ERROR;
}

export async function startMemberJob(
  deps: { mx: MxApi; members: MemberStore; clock?: Clock },
  { request, syncRun }: TaskBase,
  job: {
    kind: JobOutput["kind"];
    product: MxProduct;
    ask: (userGuid: string, memberGuid: string) => Promise<Member>;
  },
): Promise<JobOutput> {
  const { userId, mxUserGuid, memberGuid } = request;
  const before = await deps.mx.readMemberStatus(mxUserGuid, memberGuid);
  let baseline = before.successfully_aggregated_at ?? null;
  const answer = (requested: boolean): JobOutput => ({
    kind: job.kind,
    requested,
    baseline,
    phaseStartedAt: (deps.clock ?? systemClock)().getTime(),
  });
  try {
    // 202 also when a job of the same kind already runs: polling follows that one.
    const accepted = await job.ask(mxUserGuid, memberGuid);
    // Under way already: its end is the next idle CONNECTED (MX's timestamps have whole seconds, so a
    // job ending in the same second as the last one would not move past the baseline).
    if (accepted.is_being_aggregated) baseline = null;
  } catch (error) {
    if (error instanceof MxConflictError) {
      throw new MxJobBusyError(`Another MX job runs on the member; ${job.kind} is asked again later.`);
    }
    // Not in the client's MX contract (403), or the institution does not offer it (400/422): the sync
    // goes on without it, and the member says so.
    if (error instanceof MxUnauthorizedError && error.status === 403) {
      await deps.members.recordProduct(userId, memberGuid, job.product, "NOT_ENABLED");
      return answer(false);
    }
    if (error instanceof MxBadRequestError) {
      await deps.members.recordProduct(userId, memberGuid, job.product, "NOT_SUPPORTED");
      return answer(false);
    }
    throw error;
  }
  await deps.members.recordProduct(userId, memberGuid, job.product, "AVAILABLE");
  await deps.members.updateSync(userId, memberGuid, syncRun, { status: "CONNECTING" });
  return answer(true);
}
