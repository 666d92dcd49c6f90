// POST /v1/mx/webhooks (public; MX's basic auth): check the credentials → receiveWebhook (enqueue the member for a background refresh) → 204.
import { UnauthorizedError } from "../shared/api/errors";
import { apiHandler } from "../shared/api/http";
import { receiveWebhook } from "../shared/api/webhooks";
import { config, webhookConfigSchema } from "../shared/config";
import { logger } from "../shared/lambda/logger";
import { refreshQueue } from "../shared/lambda/refresh-queue";
import { webhookCredentials } from "../shared/lambda/webhook-secret";

const cfg = config(webhookConfigSchema);
const deps = {
  credentials: webhookCredentials(cfg.WEBHOOK_SECRET_ID),
  queue: refreshQueue(cfg.REFRESH_QUEUE_URL),
};

export const handler = apiHandler("MxWebhook", {}, async ({ event }) => {
  const body =
    event.isBase64Encoded && event.body ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  try {
    const outcome = await receiveWebhook(deps, { authorization: event.headers?.authorization, body });
    logger.info("MX webhook", { ...outcome });
  } catch (error) {
    // A metric filter counts these (webhookUnauthorized = 1); never the header or the body.
    if (error instanceof UnauthorizedError) logger.warn("MX webhook refused", { webhookUnauthorized: 1 });
    throw error;
  }
  return { statusCode: 204 };
});
