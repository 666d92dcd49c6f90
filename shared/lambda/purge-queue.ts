// The member purge queue of a Lambda: the SQS client built once per container, by the handlers that
// enqueue a purge (the DELETE route, the purge continuing itself). Locally AWS_ENDPOINT_URL_SQS points at
// the embedded stack.
import { SQSClient } from "@aws-sdk/client-sqs";
import { type PurgeQueue, sqsPurgeQueue } from "../members/purge-queue";

let client: SQSClient | undefined;

export function purgeQueue(queueUrl: string): PurgeQueue {
  client ??= new SQSClient({});
  return sqsPurgeQueue(client, queueUrl);
}
