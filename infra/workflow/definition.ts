// The sync workflow, defined once. AWS runs what CDK synthesizes from this file, and so does the local
// runner (local/workflow reads the synthesized template), so there is no second copy to drift.
// JSONPath only (no JSONata, no variables): aws-local-stepfunctions does not run those.
//
// State document (kept tiny: guids, flags, counts, timings):
//   request, syncRun, challenge{round,…}, aggregation ("AGGREGATED" | "DECLINED"),
//   begin{acquired,startedAt,window,windows,baseline,extendHistory}, job{kind,baseline,requested?,…},
//   phase.startedAt, poll{phase,connectionStatus,waitSeconds,elapsedSeconds,dataAsOf}, counts?, error?
// `job` is the MX job being polled (the aggregation, identify, extend_history) with its baseline: MX's
// `successfully_aggregated_at` before it was asked for, which its end must move past.
import { Duration } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";
import { DEFAULT_CHALLENGE_TIMEOUT_SECONDS, DEFAULT_MAX_CHALLENGE_ROUNDS } from "../../shared/domain/sync";
import { RETRYABLE_STORAGE_ERRORS } from "../../shared/storage/errors";
import { MX_JOB_BUSY_ERROR, TRANSIENT_MX_ERRORS } from "../../shared/sync/contract";

/** The Lambda behind each task (see /functions). */
export interface SyncTaskFunctions {
  readonly begin: lambda.IFunction;
  readonly poll: lambda.IFunction;
  readonly challenge: lambda.IFunction;
  readonly identify: lambda.IFunction;
  readonly extendHistory: lambda.IFunction;
  readonly owners: lambda.IFunction;
  readonly accounts: lambda.IFunction;
  readonly transactionsPage: lambda.IFunction;
  readonly finish: lambda.IFunction;
}

export interface SyncWorkflowSettings {
  /** How long a run waits for the end user's MFA answer (default DEFAULT_CHALLENGE_TIMEOUT_SECONDS). */
  readonly challengeTimeout?: Duration;
  /** MFA rounds answered before the run gives up with NEEDS_USER (default DEFAULT_MAX_CHALLENGE_ROUNDS). */
  readonly maxChallengeRounds?: number;
  /** Transaction pages read at once after the first (default 4). */
  readonly transactionPageConcurrency?: number;
}

/** Errors Lambda itself raises when it could not run the function: always worth a retry. */
export const LAMBDA_SERVICE_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.ClientExecutionTimeoutException",
  "Lambda.TooManyRequestsException",
];

/**
 * A function that crashed (process exit, out of memory) or ran past its timeout: Step Functions reports
 * Lambda's unhandled errors as `Lambda.Unknown` (docs: "Handle Lambda service exceptions"); the runtime's
 * own names are listed too, as some runs surface them. Worth one more try: every task is safe to repeat.
 */
export const LAMBDA_CRASH_ERRORS = ["Lambda.Unknown", "Runtime.ExitError", "Sandbox.Timedout"];

/**
 * States.ArrayRange returns at most 1,000 items (Step Functions quota): a window's pages are listed in
 * chunks of this many, so any page count is valid.
 */
export const PAGE_CHUNK_SIZE = 1000;

/** MX asks integrators to wait at least 3 s between status polls. */
const FIRST_POLL_DELAY = Duration.seconds(3);

const J = sfn.JsonPath;
/** What every task receives besides its own fields. */
const base = () => ({ request: J.objectAt("$.request"), syncRun: J.stringAt("$.syncRun") });

/**
 * The sync state machine, read from the start down: Begin, polling, MFA, the fan-out, and Finish, the end
 * every path reaches (its states are built first, by `finishStates` at the bottom of this file, because
 * every section leads into them). Each section wires the transitions that lead into it.
 */
export function buildSyncDefinition(
  scope: Construct,
  fns: SyncTaskFunctions,
  settings: SyncWorkflowSettings = {},
): sfn.IChainable {
  const challengeTimeout = settings.challengeTimeout ?? Duration.seconds(DEFAULT_CHALLENGE_TIMEOUT_SECONDS);
  const maxChallengeRounds = settings.maxChallengeRounds ?? DEFAULT_MAX_CHALLENGE_ROUNDS;
  const { retried, invoke } = taskBuilders(scope);
  const end = finishStates(scope, invoke("Finish", fns.finish, {}));

  // ---- 1. Begin: take the member's lease (another run may own it), then poll ----
  const begin = end.catchAll(
    invoke("Begin", fns.begin, { payload: sfn.TaskInput.fromObject(base()), resultPath: "$.begin" }),
  );
  const startPolling = sfn.Pass.jsonPath(scope, "AggregationJob", {
    parameters: { kind: "aggregation", baseline: J.stringAt("$.begin.baseline") },
    resultPath: "$.job",
  }).next(
    sfn.Pass.jsonPath(scope, "StartPolling", {
      parameters: { startedAt: J.numberAt("$.begin.startedAt") },
      resultPath: "$.phase",
    }),
  );
  const definition = sfn.Pass.jsonPath(scope, "Prepare", {
    parameters: {
      request: J.entirePayload,
      syncRun: J.stringAt("$$.Execution.Name"),
      challenge: { round: 0 },
      // Until a poll finds that MX ran nothing for this run (DECLINED).
      aggregation: "AGGREGATED",
    },
  })
    .next(begin)
    .next(
      sfn.Choice.jsonPath(scope, "LeaseAcquired")
        .when(sfn.Condition.booleanEquals("$.begin.acquired", true), startPolling)
        // Another run owns the member: end without touching its record.
        .otherwise(
          sfn.Pass.jsonPath(scope, "AlreadyRunning", { parameters: { outcome: "ALREADY_RUNNING" } }),
        ),
    );

  // ---- 2. Polling: Wait ⇄ Poll until MX's status says what comes next ----
  const poll = end.catchAll(
    invoke("Poll", fns.poll, {
      payload: sfn.TaskInput.fromObject({
        ...base(),
        phaseStartedAt: J.numberAt("$.phase.startedAt"),
        baseline: J.stringAt("$.job.baseline"),
      }),
      resultPath: "$.poll",
    }),
  );
  const pollSoon = sfn.Wait.jsonPath(scope, "PollSoon", {
    time: sfn.WaitTime.duration(FIRST_POLL_DELAY),
  }).next(poll);
  startPolling.next(pollSoon);
  const waitForAggregation = sfn.Wait.jsonPath(scope, "WaitForAggregation", {
    time: sfn.WaitTime.secondsPath("$.poll.waitSeconds"),
  }).next(poll);
  /** CONNECTED: the next job (identify, extended history) when wanted, else the fan-out (section 4). */
  const connected = sfn.Choice.jsonPath(scope, "NextJob");
  // MX took the request and ran nothing (e.g. the 3-hour rule): go on with what MX has, and say so.
  const declined = sfn.Choice.jsonPath(scope, "WhichJobDeclined")
    .when(
      sfn.Condition.stringEquals("$.job.kind", "aggregation"),
      sfn.Pass.jsonPath(scope, "AggregationDeclined", {
        result: sfn.Result.fromString("DECLINED"),
        resultPath: "$.aggregation",
      }).next(connected),
    )
    .otherwise(connected);
  /** CHALLENGED: another MFA round while rounds are left (section 3). */
  const challenged = sfn.Choice.jsonPath(scope, "ChallengeRoundsLeft");
  poll.next(
    sfn.Choice.jsonPath(scope, "RouteByPhase")
      .when(sfn.Condition.stringEquals("$.poll.phase", "AGGREGATING"), waitForAggregation)
      .when(sfn.Condition.stringEquals("$.poll.phase", "CONNECTED"), connected)
      .when(sfn.Condition.stringEquals("$.poll.phase", "DECLINED"), declined)
      .when(sfn.Condition.stringEquals("$.poll.phase", "CHALLENGED"), challenged)
      .when(
        sfn.Condition.or(
          sfn.Condition.stringEquals("$.poll.phase", "NEEDS_USER"),
          sfn.Condition.stringEquals("$.poll.phase", "FAILED"),
          sfn.Condition.stringEquals("$.poll.phase", "TIMED_OUT"),
        ),
        end.pollEnded,
      )
      .otherwise(end.unexpectedPhase),
  );

  // ---- 3. MFA challenge: store it for the app, wait for the answer's task token, poll again ----
  const awaitChallenge = retried(
    tasks.LambdaInvoke.jsonPath(scope, "AwaitChallenge", {
      lambdaFunction: fns.challenge,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        ...base(),
        taskToken: J.taskToken,
        round: J.numberAt("$.challenge.round"),
      }),
      taskTimeout: sfn.Timeout.duration(challengeTimeout),
      retryOnServiceExceptions: false,
      // SendTaskSuccess output: {"phaseStartedAt": <epoch ms>}.
      resultSelector: { startedAt: J.numberAt("$.phaseStartedAt") },
      resultPath: "$.phase",
    }),
  );
  // An unanswered wait does not end the run on its own: MX may have expired the challenge (EXPIRED ends
  // NEEDS_USER with its reason), so one more poll reads MX's verdict; still CHALLENGED → TIMED_OUT.
  // The timeout's Catch comes before the catch-all: the first matching Catch wins.
  awaitChallenge.addCatch(
    sfn.Pass.jsonPath(scope, "ChallengeWaitEnded", {
      parameters: { round: J.numberAt("$.challenge.round"), waitEnded: true },
      resultPath: "$.challenge",
    }).next(pollSoon),
    { errors: [sfn.Errors.TIMEOUT], resultPath: "$.error" },
  );
  end.catchAll(awaitChallenge).next(pollSoon);
  challenged
    .when(sfn.Condition.isPresent("$.challenge.waitEnded"), end.challengeTimedOut)
    .when(
      sfn.Condition.numberGreaterThanEquals("$.challenge.round", maxChallengeRounds),
      end.tooManyChallenges,
    )
    .otherwise(
      sfn.Pass.jsonPath(scope, "CountChallengeRound", {
        parameters: { round: J.mathAdd(J.numberAt("$.challenge.round"), 1) },
        resultPath: "$.challenge",
      }).next(awaitChallenge),
    );

  // ---- 4. Connected: identity (when asked), then extended history (first sync, when enabled), each a
  // job MX works on like an aggregation (polled again, maybe CHALLENGED), then the fan-out ----
  // Where every job path leads once done: the fan-out (wired below).
  const fanOutEntry = sfn.Pass.jsonPath(scope, "ReadBankData");
  const startJob = (id: string, fn: lambda.IFunction, next: sfn.IChainable) => {
    const task = invoke(id, fn, { payload: sfn.TaskInput.fromObject(base()), resultPath: "$.job" });
    // 409: another kind of job runs at MX; ask again a little later, bounded (about 5 minutes).
    task.addRetry({
      errors: [MX_JOB_BUSY_ERROR],
      interval: Duration.seconds(10),
      backoffRate: 1.5,
      maxAttempts: 8,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });
    // Still busy after that: go on without this job rather than fail the sync.
    task.addCatch(next, { errors: [MX_JOB_BUSY_ERROR], resultPath: J.DISCARD });
    return end.catchAll(task).next(
      sfn.Choice.jsonPath(scope, `${id}Requested`)
        .when(
          sfn.Condition.booleanEquals("$.job.requested", true),
          sfn.Pass.jsonPath(scope, `Start${id}Phase`, {
            parameters: { startedAt: J.numberAt("$.job.phaseStartedAt") },
            resultPath: "$.phase",
          }).next(pollSoon),
        )
        // Not available to this member (recorded on it): the sync goes on without it.
        .otherwise(next),
    );
  };
  const historyWanted = sfn.Choice.jsonPath(scope, "ExtendedHistoryWanted")
    .when(sfn.Condition.isNotPresent("$.begin.extendHistory"), fanOutEntry)
    .when(
      sfn.Condition.booleanEquals("$.begin.extendHistory", true),
      startJob("ExtendHistory", fns.extendHistory, fanOutEntry),
    )
    .otherwise(fanOutEntry);
  const identify = startJob("Identify", fns.identify, historyWanted);

  // Owners, accounts and transactions at once; the Lambdas write, the state keeps counts.
  const pageInput = {
    ...base(),
    window: J.objectAt("$.window"),
  };
  const storeOwners = invoke("StoreOwners", fns.owners, { payload: sfn.TaskInput.fromObject(base()) });
  const storeAccounts = invoke("StoreAccounts", fns.accounts, { payload: sfn.TaskInput.fromObject(base()) });
  const storeFirstPage = invoke("StoreFirstTransactionsPage", fns.transactionsPage, {
    payload: sfn.TaskInput.fromObject({ ...pageInput, page: 1 }),
    resultPath: "$.first",
  });
  // A Map walks pages first..last (page 1 already read: its count is passed through) so that the branch's
  // result is one flat list of per-page counts without an array-concat intrinsic (there is none). Two
  // copies, as a state has one place: for a window of up to PAGE_CHUNK_SIZE pages (the usual case, no
  // transition spent on chunks) and inside the chunked walk of a bigger one. `name` tells them apart.
  const pageMap = (name: (base: string) => string) =>
    sfn.Map.jsonPath(scope, name("StoreTransactionPages"), {
      itemsPath: "$.pageList.pages",
      itemSelector: {
        ...pageInput,
        page: J.numberAt("$$.Map.Item.Value"),
        firstStored: J.numberAt("$.first.stored"),
      },
      maxConcurrency: settings.transactionPageConcurrency ?? 4,
    }).itemProcessor(
      sfn.Choice.jsonPath(scope, name("IsFirstPage"))
        .when(
          sfn.Condition.numberEquals("$.page", 1),
          sfn.Pass.jsonPath(scope, name("FirstPageStored"), { outputPath: "$.firstStored" }),
        )
        .otherwise(
          invoke(name("StoreTransactionsPage"), fns.transactionsPage, {
            payload: sfn.TaskInput.fromObject({ ...pageInput, page: J.numberAt("$.page") }),
            outputPath: "$.stored",
          }),
        ),
    );
  // More than PAGE_CHUNK_SIZE pages: the pages in chunks of at most that many (States.ArrayRange's limit),
  // one chunk at a time so MX still sees at most transactionPageConcurrency reads at once.
  const chunkPageMap = pageMap((base) => `${base}InChunk`);
  const chunkPages = (id: string, lastPage: string) =>
    sfn.Pass.jsonPath(scope, id, {
      parameters: { pages: J.arrayRange(J.numberAt("$.chunkStart"), J.numberAt(lastPage), 1) },
      resultPath: "$.pageList",
    }).next(chunkPageMap);
  const storeChunks = sfn.Map.jsonPath(scope, "StoreTransactionPageChunks", {
    itemsPath: "$.pageChunks.starts",
    itemSelector: {
      ...pageInput,
      first: J.objectAt("$.first"),
      chunkStart: J.numberAt("$$.Map.Item.Value"),
    },
    maxConcurrency: 1,
    // One flat list of per-page counts for the window, as without chunks (every chunk's list has counts
    // and there are at least two, so the path always matches a list).
    resultSelector: { pages: J.listAt("$[*][*]") },
    outputPath: "$.pages",
  }).itemProcessor(
    sfn.Pass.jsonPath(scope, "ChunkEnd", {
      parameters: { end: J.mathAdd(J.numberAt("$.chunkStart"), PAGE_CHUNK_SIZE - 1) },
      resultPath: "$.chunk",
    }).next(
      sfn.Choice.jsonPath(scope, "IsLastChunk")
        .when(
          sfn.Condition.numberGreaterThanEqualsJsonPath("$.chunk.end", "$.first.totalPages"),
          chunkPages("ListLastChunkPages", "$.first.totalPages"),
        )
        .otherwise(chunkPages("ListChunkPages", "$.chunk.end")),
    ),
  );
  const windowPages = storeFirstPage.next(
    sfn.Choice.jsonPath(scope, "MoreTransactionPages")
      .when(
        sfn.Condition.numberGreaterThan("$.first.totalPages", PAGE_CHUNK_SIZE),
        sfn.Pass.jsonPath(scope, "ListTransactionPageChunks", {
          parameters: {
            starts: J.arrayRange(1, J.numberAt("$.first.totalPages"), PAGE_CHUNK_SIZE),
          },
          resultPath: "$.pageChunks",
        }).next(storeChunks),
      )
      .when(
        sfn.Condition.numberGreaterThan("$.first.totalPages", 1),
        sfn.Pass.jsonPath(scope, "ListTransactionPages", {
          parameters: { pages: J.arrayRange(1, J.numberAt("$.first.totalPages"), 1) },
          resultPath: "$.pageList",
        }).next(pageMap((base) => base)),
      )
      .otherwise(
        sfn.Pass.jsonPath(scope, "SinglePage", {
          // stringAt only to satisfy the typing: it renders the same path, States.Array keeps the number.
          parameters: { pages: J.array(J.stringAt("$.first.stored")) },
          outputPath: "$.pages",
        }),
      ),
  );
  // Window by window (each at most MAX_TRANSACTION_WINDOW_DAYS: MX refuses longer ranges), one at a time
  // so MX sees at most transactionPageConcurrency page reads at once. Result: a list per window.
  const transactions = sfn.Map.jsonPath(scope, "StoreTransactionWindows", {
    itemsPath: "$.begin.windows",
    itemSelector: { ...base(), window: J.objectAt("$$.Map.Item.Value") },
    maxConcurrency: 1,
  }).itemProcessor(windowPages);
  // Owners are identity data: read only when the request asks for identity.
  const owners = sfn.Choice.jsonPath(scope, "ReadOwners")
    .when(
      sfn.Condition.isNotPresent("$.request.identify"),
      sfn.Pass.jsonPath(scope, "NoOwners", { parameters: { stored: 0 } }),
    )
    .when(sfn.Condition.booleanEquals("$.request.identify", true), storeOwners)
    .otherwise(sfn.Pass.jsonPath(scope, "OwnersNotAsked", { parameters: { stored: 0 } }));
  const fanOut = end
    .catchAll(
      sfn.Parallel.jsonPath(scope, "FanOut", {
        resultSelector: {
          owners: J.numberAt("$[0].stored"),
          accounts: J.numberAt("$[1].stored"),
          transactionPages: J.listAt("$[2]"),
        },
        resultPath: "$.counts",
      })
        .branch(owners)
        .branch(storeAccounts)
        .branch(transactions),
    )
    .next(end.synced);

  fanOutEntry.next(fanOut);
  connected
    .when(sfn.Condition.stringEquals("$.job.kind", "history"), fanOutEntry)
    .when(sfn.Condition.stringEquals("$.job.kind", "identify"), historyWanted)
    .when(sfn.Condition.isNotPresent("$.request.identify"), historyWanted)
    .when(sfn.Condition.booleanEquals("$.request.identify", true), identify)
    .otherwise(historyWanted);

  return definition;
}

/**
 * The task builders: every Lambda task retries Lambda service errors, a crashed function, transient MX errors
 * and throttled storage, each bounded (a few attempts, capped full-jitter backoff).
 */
function taskBuilders(scope: Construct) {
  const retried = <T extends sfn.TaskStateBase>(task: T): T => {
    task.addRetry({
      errors: LAMBDA_SERVICE_ERRORS,
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 4,
      maxDelay: Duration.seconds(20),
      jitterStrategy: sfn.JitterType.FULL,
    });
    task.addRetry({
      errors: [...TRANSIENT_MX_ERRORS],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 5,
      maxDelay: Duration.seconds(30),
      jitterStrategy: sfn.JitterType.FULL,
    });
    task.addRetry({
      errors: LAMBDA_CRASH_ERRORS,
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 3,
      maxDelay: Duration.seconds(10),
      jitterStrategy: sfn.JitterType.FULL,
    });
    // DynamoDB throttling outlasted the SDK's and the batch writer's own retries: back off longer.
    task.addRetry({
      errors: [...RETRYABLE_STORAGE_ERRORS],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 5,
      maxDelay: Duration.seconds(30),
      jitterStrategy: sfn.JitterType.FULL,
    });
    return task;
  };
  /** A Lambda task whose state result is the function's return value (no invoke envelope). */
  const invoke = (id: string, fn: lambda.IFunction, props: Partial<tasks.LambdaInvokeJsonPathProps>) =>
    retried(
      tasks.LambdaInvoke.jsonPath(scope, id, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false, // our own Retry above, with jitter
        ...props,
      }),
    );
  return { retried, invoke };
}

/**
 * ---- 5. Finish: the end of every path. Each ending names the outcome, Finish records it and releases the
 * member's lease; any task error (the catch-all) is recorded as FAILED with its `{Error, Cause}`. ----
 */
function finishStates(scope: Construct, finish: tasks.LambdaInvoke) {
  // No `payload` on Finish: the Lambda gets the state input as is (`TaskInput.fromJsonPathAt("$")`
  // synthesizes `"Parameters": "$"`, a string, which Lambda receives as the literal "$").
  finish.addCatch(
    sfn.Fail.jsonPath(scope, "FinishFailed", {
      error: "SyncFinishFailed",
      cause: "The run could not record its outcome; the member's lease expires on its own.",
    }),
    { resultPath: "$.error" },
  );
  const ending = (id: string, fields: Record<string, unknown>) =>
    sfn.Pass.jsonPath(scope, id, { parameters: { ...base(), ...fields } }).next(finish);
  const runFields = () => ({
    startedAt: J.numberAt("$.begin.startedAt"),
    window: J.objectAt("$.begin.window"),
  });
  const recordFailure = ending("RecordFailure", { outcome: "FAILED", error: J.objectAt("$.error") });
  return {
    /** Any error of `state` ends the run FAILED (on every top-level Task and on the Parallel). */
    catchAll: <T extends sfn.TaskStateBase | sfn.Parallel>(state: T): T =>
      state.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: "$.error" }) as T,
    pollEnded: ending("PollEnded", {
      outcome: J.stringAt("$.poll.phase"),
      connectionStatus: J.stringAt("$.poll.connectionStatus"),
      ...runFields(),
    }),
    unexpectedPhase: ending("UnexpectedPhase", {
      outcome: "FAILED",
      connectionStatus: J.stringAt("$.poll.connectionStatus"),
      error: { Error: "UnexpectedPollPhase", Cause: J.stringAt("$.poll.phase") },
      ...runFields(),
    }),
    challengeTimedOut: ending("ChallengeTimedOut", {
      outcome: "TIMED_OUT",
      connectionStatus: "CHALLENGED",
      ...runFields(),
    }),
    tooManyChallenges: ending("TooManyChallenges", {
      outcome: "NEEDS_USER",
      connectionStatus: "CHALLENGED",
      ...runFields(),
    }),
    synced: ending("Synced", {
      outcome: "SYNCED",
      connectionStatus: J.stringAt("$.poll.connectionStatus"),
      counts: J.objectAt("$.counts"),
      aggregation: J.stringAt("$.aggregation"),
      dataAsOf: J.stringAt("$.poll.dataAsOf"),
      ...runFields(),
    }),
  };
}
