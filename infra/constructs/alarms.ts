// Operational alarms, all notifying one SNS topic (its ARN is a stack output; subscribe on-call to it):
//  - the failed-sync rate, from metric filters on Finish's "Finished" log line (free, no new dependency and
//    no code, where Powertools metrics would add a package to the Finish bundle and EMF lines to pay for);
//  - Errors and Throttles of every Lambda in the stack;
//  - every other alarm of the stack (the webhook authentication failures, the refresh dead-letter queue)
//    gets the topic as its action too, so no alarm is silent.
// Wherever it is created in the stack, it sees every function and alarm (an aspect, at synthesis).
import { Aspects, Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct, type IConstruct } from "constructs";
import { MxFunction } from "./function";

export const METRIC_NAMESPACE = "MxConnect";

export interface AlarmsProps {
  /** The sync workflow's Finish function: its "Finished" log line carries each run's outcome. */
  readonly finish: MxFunction;
  /** Alarm when more than this share of ended runs FAILED or TIMED_OUT in an hour (default 0.2). */
  readonly failedSyncRate?: number;
  /** …and only when at least this many runs ended in that hour (default 10). */
  readonly minimumSyncs?: number;
}

export class Alarms extends Construct {
  readonly topic: sns.Topic;
  private readonly action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    // SNS encryption with a key CloudWatch may use (the AWS managed aws/sns key does not allow it).
    const key = new kms.Key(this, "TopicKey", {
      enableKeyRotation: true,
      description: "Encrypts the mx-connect alarm topic",
    });
    key.grant(new iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
    this.topic = new sns.Topic(this, "Topic", { masterKey: key, enforceSSL: true });
    this.action = new actions.SnsAction(this.topic);

    this.failedSyncs(props);
    // At synthesis, when the whole stack exists (so the order constructs are added in cannot leave a
    // function unwatched): every function gets its alarms, and every alarm another construct made (the
    // webhook authentication failures, the dead-letter queue) notifies the topic too.
    const watched = new Set<MxFunction>();
    Aspects.of(Stack.of(this)).add({
      visit: (node: IConstruct) => {
        if (node instanceof MxFunction && !watched.has(node)) {
          watched.add(node);
          this.functionAlarms(node);
        } else if (node instanceof cloudwatch.Alarm && !node.node.path.startsWith(`${this.node.path}/`)) {
          node.addAlarmAction(this.action);
        }
      },
    });
  }

  /** Messages waiting in a dead-letter queue: work that failed every retry. */
  alarmOnDeadLetters(queue: sqs.IQueue, id = "DeadLetters"): cloudwatch.Alarm {
    return this.notify(
      new cloudwatch.Alarm(this, id, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Messages in ${queue.node.path}: work that failed every retry.`,
      }),
    );
  }

  private notify(alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    alarm.addAlarmAction(this.action);
    return alarm;
  }

  private failedSyncs(props: AlarmsProps): void {
    const finished = logs.FilterPattern.stringValue("$.message", "=", "Finished");
    const ended = logs.FilterPattern.any(
      ...["SYNCED", "NEEDS_USER", "FAILED", "TIMED_OUT"].map((o) =>
        logs.FilterPattern.stringValue("$.outcome", "=", o),
      ),
    );
    const failed = logs.FilterPattern.any(
      logs.FilterPattern.stringValue("$.outcome", "=", "FAILED"),
      logs.FilterPattern.stringValue("$.outcome", "=", "TIMED_OUT"),
    );
    const count = (id: string, metricName: string, pattern: logs.IFilterPattern) =>
      new logs.MetricFilter(this, id, {
        logGroup: props.finish.logGroupResource,
        filterPattern: pattern,
        metricNamespace: METRIC_NAMESPACE,
        metricName,
        metricValue: "1",
        defaultValue: 0,
      }).metric({ statistic: "Sum", period: Duration.hours(1) });
    const endedRuns = count("SyncsEnded", "SyncsEnded", logs.FilterPattern.all(finished, ended));
    const failedRuns = count("SyncsFailed", "SyncsFailed", logs.FilterPattern.all(finished, failed));
    const minimum = props.minimumSyncs ?? 10;
    this.notify(
      new cloudwatch.Alarm(this, "FailedSyncRate", {
        metric: new cloudwatch.MathExpression({
          // A few runs are no rate: below the minimum the share reads 0.
          expression: `IF(ended >= ${minimum}, failed / ended, 0)`,
          usingMetrics: { ended: endedRuns, failed: failedRuns },
          period: Duration.hours(1),
          label: "Share of sync runs that FAILED or TIMED_OUT",
        }),
        threshold: props.failedSyncRate ?? 0.2,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: "Many sync runs FAILED or TIMED_OUT in the last hour: MX trouble, or a bug.",
      }),
    );
  }

  private functionAlarms(fn: MxFunction): void {
    const id = fn.node.path.replace(/[^A-Za-z0-9]/g, "");
    const fiveMinutes = { period: Duration.minutes(5), statistic: "Sum" };
    // A few errors are normal for the workflow's tasks (MX's 429s and 5xx, retried by the state machine);
    // a throttle never is.
    for (const [kind, metric, threshold] of [
      ["Errors", fn.metricErrors(fiveMinutes), 5],
      ["Throttles", fn.metricThrottles(fiveMinutes), 1],
    ] as const) {
      this.notify(
        new cloudwatch.Alarm(this, `${id}${kind}`, {
          metric,
          threshold,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: `${kind} in ${fn.node.path}`,
        }),
      );
    }
  }
}
