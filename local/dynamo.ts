// Local DynamoDB: dynalite in memory on a loopback ephemeral port, with the project's table created.
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { createTableInput } from "../shared/storage/table";

export interface LocalDynamo {
  /** http://127.0.0.1:<port>: set it as AWS_ENDPOINT_URL_DYNAMODB for code that builds its own client. */
  endpoint: string;
  tableName: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/** Fake credentials and region: dynalite checks neither, the SDK wants both. */
export const LOCAL_AWS = { region: "us-east-1", accessKeyId: "local", secretAccessKey: "local" } as const;

export async function startDynamo(options: { tableName?: string } = {}): Promise<LocalDynamo> {
  const tableName = options.tableName ?? "mx-connect-local";
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_AWS.region,
    credentials: { accessKeyId: LOCAL_AWS.accessKeyId, secretAccessKey: LOCAL_AWS.secretAccessKey },
  });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    client.destroy();
    // The SDK keeps sockets alive: drop them so close() does not wait for their idle timeout.
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  };

  try {
    await createTable(client, tableName);
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, tableName, client, close };
}

/**
 * Creates the project's table (createTableInput) and waits until it is ACTIVE. Polls every 10 ms: the SDK
 * waiter's 1 s floor would cost a second per table here, and tests make a table each.
 */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
