// The one Powertools logger of a Lambda: JSON lines with the service name and, per invocation, the Lambda
// context and correlation keys (member guid, sync run). Events are never logged: they can carry MFA
// answers or bank credentials (API routes), so `logEvent` is forced off whatever the environment says.
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { MiddlewareObj } from "@middy/core";
import * as z from "zod";
import { baseConfigSchema, config } from "../config";

const { POWERTOOLS_SERVICE_NAME, LOG_LEVEL } = config(baseConfigSchema);

export const logger = new Logger({ serviceName: POWERTOOLS_SERVICE_NAME, logLevel: LOG_LEVEL });

/** Adds the Lambda context to every line and drops the per-invocation keys after each invocation. */
export const loggerContext = (): MiddlewareObj =>
  injectLambdaContext(logger, { logEvent: false, resetKeys: true }) as MiddlewareObj;

/** What a workflow event may carry that identifies it; read leniently, the handler validates the event. */
const correlationSchema = z.object({
  request: z.object({ memberGuid: z.string().max(80).optional() }).optional(),
  syncRun: z.string().max(80).optional(),
});

/** Correlation keys for every log line of a workflow invocation: the member and the run (execution name). */
export const workflowCorrelation = (): MiddlewareObj => ({
  before: (request) => {
    const parsed = correlationSchema.safeParse(request.event);
    if (!parsed.success) return;
    const { request: syncRequest, syncRun } = parsed.data;
    logger.appendKeys({ memberGuid: syncRequest?.memberGuid, syncRun });
  },
});
