// The cold-start floor (local/bench/cold-start.ts): the least a Lambda of this app could be, one DynamoDB
// GetItem with the same SDK, bundled exactly as the app's functions are. Never deployed.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

const client = new DynamoDBClient({});

export const handler = async (event: { pk: string; sk: string }) => {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: process.env.TABLE_NAME,
      Key: { pk: { S: event.pk }, sk: { S: event.sk } },
    }),
  );
  return Item;
};
