// Local SQS for the embedded stack: the JSON protocol the SDK v3 SQS client speaks (`X-Amz-Target:
// AmazonSQS.SendMessage` / `AmazonSQS.SendMessageBatch`, JSON 1.0, MD5 of each body as SQS answers it),
// and an event-source emulation: a queue with a consumer hands visible messages, `batchSize` at a time, to
// the handler (an SQS event, as Lambda builds it), deletes what succeeded, makes what the handler reported
// in `batchItemFailures` (or everything, when it threw) visible again after the visibility timeout, and
// moves a message received `maxReceiveCount` times to the dead-letter queue. DelaySeconds is honoured,
// scaled by `delayScale` so a 900 s stagger takes under a second in tests.
import { createHash, randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import * as z from "zod";
import { AwsApiError } from "../workflow/executions";

export type SqsHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalQueueOptions {
  /** Where a message goes after `maxReceiveCount` receives (a queue created before). */
  deadLetterQueue?: { name: string; maxReceiveCount: number };
  /** Default 30 s (scaled by `delayScale`). */
  visibilityTimeoutSeconds?: number;
}

export interface LocalQueueMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  /** Local ms when it may be received. */
  visibleAt: number;
}

export interface LocalSqs {
  /** Creates a queue; returns its URL (what the SDK is given as QueueUrl). */
  createQueue(name: string, options?: LocalQueueOptions): string;
  /** Invokes `handler` with SQS events for the queue's messages, as a Lambda event source mapping. */
  attachConsumer(
    name: string,
    consumer: { handler: SqsHandler; batchSize: number; context: () => Context },
  ): void;
  /** The messages still in a queue (copies): waiting, delayed or in flight. */
  messages(name: string): LocalQueueMessage[];
  /** How many messages were ever sent to the queue (SendMessage and each batch entry). */
  sentCount(name: string): number;
  /**
   * What SQS and Lambda would bill for the queue so far: API requests (send, and per delivered batch one
   * receive and one delete), consumer invocations and their handler time in ms.
   */
  usage(name: string): { requests: number; invocations: number; handlerMs: number };
  /** Resolves when every consumed queue is empty and no handler is running (delayed messages included). */
  drain(timeoutMs?: number): Promise<void>;
  operations: Record<string, (body: unknown) => unknown>;
  close(): void;
}

const sendEntry = {
  MessageBody: z.string().min(1).max(262_144),
  DelaySeconds: z.number().int().min(0).max(900).optional(),
};
const requests = {
  SendMessage: z.object({ QueueUrl: z.string(), ...sendEntry }),
  SendMessageBatch: z.object({
    QueueUrl: z.string(),
    Entries: z
      .array(z.object({ Id: z.string().min(1).max(80), ...sendEntry }))
      .min(1)
      .max(10),
  }),
};

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");

interface Queue {
  name: string;
  arn: string;
  url: string;
  options: LocalQueueOptions;
  messages: LocalQueueMessage[];
  sent: number;
  usage: { requests: number; invocations: number; handlerMs: number };
  consumer?: { handler: SqsHandler; batchSize: number; context: () => Context };
  inFlight: number;
}

export function createLocalSqs(options: {
  endpoint: () => string;
  region: string;
  accountId: string;
  /** Multiplies DelaySeconds and visibility timeouts (default 1). */
  delayScale?: number;
}): LocalSqs {
  const scale = options.delayScale ?? 1;
  const queues = new Map<string, Queue>();
  let timer: NodeJS.Timeout | undefined;

  const byUrl = (url: string) => {
    const name = url.split("/").pop() ?? "";
    const queue = queues.get(name);
    if (!queue) throw new AwsApiError("AWS.SimpleQueueService.NonExistentQueue", "The queue does not exist.");
    return queue;
  };
  const enqueue = (queue: Queue, body: string, delaySeconds = 0) => {
    const messageId = randomUUID();
    queue.messages.push({
      messageId,
      body,
      receiveCount: 0,
      visibleAt: Date.now() + delaySeconds * 1000 * scale,
    });
    queue.sent += 1;
    schedule();
    return { MessageId: messageId, MD5OfMessageBody: md5(body) };
  };

  const deliver = async (queue: Queue, consumer: NonNullable<Queue["consumer"]>) => {
    const now = Date.now();
    const batch = queue.messages.filter((message) => message.visibleAt <= now).slice(0, consumer.batchSize);
    if (batch.length === 0) return;
    const visibilityMs = (queue.options.visibilityTimeoutSeconds ?? 30) * 1000 * scale;
    for (const message of batch) {
      message.receiveCount += 1;
      message.visibleAt = now + visibilityMs;
    }
    queue.inFlight += 1;
    queue.usage.invocations += 1;
    queue.usage.requests += 2; // ReceiveMessage, then DeleteMessageBatch for what succeeded
    const startedAt = performance.now();
    let failed: Set<string>;
    try {
      const result = await consumer.handler(
        {
          Records: batch.map((message) => ({
            messageId: message.messageId,
            receiptHandle: message.messageId,
            body: message.body,
            attributes: {
              ApproximateReceiveCount: String(message.receiveCount),
              SentTimestamp: String(now),
              SenderId: options.accountId,
              ApproximateFirstReceiveTimestamp: String(now),
            },
            messageAttributes: {},
            md5OfBody: md5(message.body),
            eventSource: "aws:sqs",
            eventSourceARN: queue.arn,
            awsRegion: options.region,
          })),
        },
        consumer.context(),
      );
      const parsed = z
        .object({ batchItemFailures: z.array(z.object({ itemIdentifier: z.string() })).optional() })
        .safeParse(result ?? {});
      failed = new Set(
        parsed.success ? (parsed.data.batchItemFailures ?? []).map((f) => f.itemIdentifier) : [],
      );
    } catch {
      failed = new Set(batch.map((message) => message.messageId));
    } finally {
      queue.inFlight -= 1;
      queue.usage.handlerMs += performance.now() - startedAt;
    }
    for (const message of batch) {
      if (failed.has(message.messageId)) {
        // Visible again after the visibility timeout; past maxReceiveCount, to the DLQ.
        const dlq = queue.options.deadLetterQueue;
        if (dlq && message.receiveCount >= dlq.maxReceiveCount) {
          remove(queue, message);
          const target = queues.get(dlq.name);
          target?.messages.push({ ...message, receiveCount: 0, visibleAt: Date.now() });
        }
        continue;
      }
      remove(queue, message);
    }
    schedule();
  };
  const remove = (queue: Queue, message: LocalQueueMessage) => {
    const index = queue.messages.indexOf(message);
    if (index >= 0) queue.messages.splice(index, 1);
  };

  // One poller: every consumed queue's due messages, batch by batch, one batch in flight per queue.
  const poll = () => {
    timer = undefined;
    for (const queue of queues.values()) {
      const consumer = queue.consumer;
      if (!consumer || queue.inFlight > 0) continue;
      void deliver(queue, consumer);
    }
    schedule();
  };
  function schedule() {
    if (timer) return;
    const pending = [...queues.values()].some((queue) => queue.consumer && queue.messages.length > 0);
    if (!pending) return;
    timer = setTimeout(poll, 10);
    timer.unref();
  }

  const operations: Record<string, (body: unknown) => unknown> = {
    "AmazonSQS.SendMessage": (body) => {
      const request = parse(requests.SendMessage, body);
      const queue = byUrl(request.QueueUrl);
      queue.usage.requests += 1;
      return enqueue(queue, request.MessageBody, request.DelaySeconds);
    },
    "AmazonSQS.SendMessageBatch": (body) => {
      const request = parse(requests.SendMessageBatch, body);
      const queue = byUrl(request.QueueUrl);
      queue.usage.requests += 1;
      return {
        Successful: request.Entries.map((entry) => ({
          Id: entry.Id,
          ...enqueue(queue, entry.MessageBody, entry.DelaySeconds),
        })),
        Failed: [],
      };
    },
  };

  return {
    createQueue(name, queueOptions = {}) {
      const url = `${options.endpoint()}/${options.accountId}/${name}`;
      const arn = `arn:aws:sqs:${options.region}:${options.accountId}:${name}`;
      queues.set(name, {
        name,
        arn,
        url,
        options: queueOptions,
        messages: [],
        sent: 0,
        usage: { requests: 0, invocations: 0, handlerMs: 0 },
        inFlight: 0,
      });
      return url;
    },
    attachConsumer(name, consumer) {
      const queue = queues.get(name);
      if (!queue) throw new Error(`No local queue ${name}`);
      queue.consumer = consumer;
      schedule();
    },
    messages: (name) => (queues.get(name)?.messages ?? []).map((message) => ({ ...message })),
    sentCount: (name) => queues.get(name)?.sent ?? 0,
    usage: (name) => ({ ...(queues.get(name)?.usage ?? { requests: 0, invocations: 0, handlerMs: 0 }) }),
    async drain(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const busy = [...queues.values()].some(
          (queue) => queue.consumer && (queue.messages.length > 0 || queue.inFlight > 0),
        );
        if (!busy) return;
        if (Date.now() > deadline) throw new Error("Local SQS: the queues did not drain in time");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    operations,
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const queue of queues.values()) delete queue.consumer;
    },
  };
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AwsApiError(
      "InvalidParameterValue",
      `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}
