// The data table: one DynamoDB table (single-table design, see shared/storage/table.ts for its shape).
import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { type IndexDefinition, TABLE } from "../../shared/storage/table";

export interface DataProps {
  /**
   * Encrypt with a customer managed KMS key (created here, rotated yearly) instead of the AWS managed
   * key `aws/dynamodb`. Default false: the AWS managed key is still a KMS key whose every use is in
   * CloudTrail, costs nothing per key and needs no key policy care; choose the customer key when your
   * compliance asks to control, audit-restrict or disable the key yourself.
   */
  readonly customerManagedKey?: boolean;
}

const attribute = (key: { name: string }): dynamodb.Attribute => ({
  name: key.name,
  type: dynamodb.AttributeType.STRING,
});

export class Data extends Construct {
  readonly table: dynamodb.TableV2;
  readonly key?: kms.Key;

  constructor(scope: Construct, id: string, props: DataProps = {}) {
    super(scope, id);
    if (props.customerManagedKey) {
      this.key = new kms.Key(this, "TableKey", {
        description: "Encrypts the mx-connect table",
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    this.table = new dynamodb.TableV2(this, "Table", {
      partitionKey: attribute(TABLE.partitionKey),
      sortKey: attribute(TABLE.sortKey),
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: TABLE.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: this.key
        ? dynamodb.TableEncryptionV2.customerManagedKey(this.key)
        : dynamodb.TableEncryptionV2.awsManagedKey(),
      // Bank data: neither a stack delete nor a console click may drop it.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      localSecondaryIndexes: TABLE.localSecondaryIndexes.map((index: IndexDefinition) => ({
        indexName: index.indexName,
        sortKey: attribute(index.sortKey ?? index.partitionKey),
        projectionType: dynamodb.ProjectionType.ALL,
      })),
      globalSecondaryIndexes: TABLE.globalSecondaryIndexes.map((index: IndexDefinition) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        projectionType: dynamodb.ProjectionType.ALL,
      })),
    });
  }
}
