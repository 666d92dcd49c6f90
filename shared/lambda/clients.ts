// AWS SDK clients, created once per container and shared by every invocation (connection reuse). They
// take region, credentials and endpoint from the standard environment: in AWS the Lambda's role; locally
// `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SFN` point them at the embedded stack.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createStores, type Stores } from "../storage/dynamo";
import { createSfnPort, type SfnPort } from "../sync/sfn";

export const dynamoClient = new DynamoDBClient({});
export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});
export const sfnClient = new SFNClient({});

let stores: { tableName: string; value: Stores } | undefined;

/** The table's stores over the shared document client (one set per container). */
export function tableStores(tableName: string): Stores {
  if (stores?.tableName !== tableName)
    stores = { tableName, value: createStores({ doc: documentClient, tableName }) };
  return stores.value;
}

/** The Step Functions port over the shared client; `stateMachineArn` for callers that start runs. */
export function sfnPort(stateMachineArn?: string): SfnPort {
  return createSfnPort(sfnClient, stateMachineArn);
}
