// The DynamoDB client and the table's stores of a Lambda: built once per container, at module load of the
// handlers that use the table, and shared by every invocation (connection reuse). Region, credentials and
// endpoint come from the standard environment: in AWS the Lambda's role; locally `AWS_ENDPOINT_URL_DYNAMODB`
// points at the embedded stack.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { changeLogConfigSchema, config } from "../config";
import { createStores, type Stores } from "../storage/dynamo";

let built: { tableName: string; stores: Stores } | undefined;

/** The table's stores over one document client (one set per container). */
export function tableStores(tableName: string): Stores {
  if (built?.tableName !== tableName) {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
    const { CHANGE_RETENTION_DAYS } = config(changeLogConfigSchema);
    built = {
      tableName,
      stores: createStores({ doc, tableName, changeRetentionDays: CHANGE_RETENTION_DAYS }),
    };
  }
  return built.stores;
}
