// Local DynamoDB: dynalite in memory on a loopback ephemeral port, with the project's table created.
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
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
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    await waitUntilTableExists(
      { client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 },
      { TableName: tableName },
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, tableName, client, close };
}
