'use strict';
// The Lambda deployment of quiz-result-loader: one construct with everything the function needs
// around it. It replaces the platform's QuizResultLoader construct and the queue it is fed from.
//
//   - the function: provided.al2023 with this project's zip, x86_64 or arm64, in the VPC of Redis
//     and the question-set volume, the EFS access point mounted where the platform mounts it;
//   - an SQS FIFO queue with content-based deduplication and a delivery delay of the settle
//     window, its visibility timeout six function timeouts, and a FIFO dead-letter queue;
//   - the event source: batches of 10, ReportBatchItemFailures, a maximum concurrency;
//   - the table, taken by name or created on demand;
//   - the role: the project's Lambda policy (deploy/iam/lambda-policy.json) on that table and
//     nothing more of DynamoDB, plus what Lambda itself needs (logs, VPC, SQS, EFS);
//   - alarms: dead letters, the oldest message waiting, and the loader's own failure counts.

const fs = require('node:fs');
const path = require('node:path');
const { Annotations, Duration, RemovalPolicy, Stack } = require('aws-cdk-lib');
const cloudwatch = require('aws-cdk-lib/aws-cloudwatch');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const events = require('aws-cdk-lib/aws-events');
const targets = require('aws-cdk-lib/aws-events-targets');
const ec2 = require('aws-cdk-lib/aws-ec2');
const efs = require('aws-cdk-lib/aws-efs');
const iam = require('aws-cdk-lib/aws-iam');
const lambda = require('aws-cdk-lib/aws-lambda');
const sources = require('aws-cdk-lib/aws-lambda-event-sources');
const logs = require('aws-cdk-lib/aws-logs');
const sqs = require('aws-cdk-lib/aws-sqs');
const { Construct } = require('constructs');

// The policy the loader's tests run `lambda` under (tests/credentials/aws_test.cpp), shipped with
// the project: the role holds these actions on this table, no others of DynamoDB.
const POLICY_FILE = path.join(__dirname, '..', '..', 'iam', 'lambda-policy.json');

// Measured (docs/deployment.md: Lambda mode; bench/README.md): a quiz is streamed, RSS stays under 25 MB for 10,000 x 50,
// which loads in 14 s; 256 MB and 30 s leave room for both.
const DEFAULTS = {
  memorySize: 256,
  timeout: Duration.seconds(30),
  settleWindow: Duration.seconds(5),
  maxConcurrency: 2,
  maxReceiveCount: 10,
  tableName: 'quiz',
  questionSetPath: '/mnt/quizzes',
};

// A provisioned table (the platform's has 1 WCU): records wait for its capacity inside the
// function, so the function gets time to wait (a 20 x 10 quiz is 17 write units: 17 s of a 1 WCU
// table, 34 s with two functions sharing it), and a record that still cannot finish comes back
// many times before it is called dead: 100 receives, each a visibility timeout (6 x 300 s)
// apart, is over two days. docs/deployment.md: Lambda mode, a small table.
const SMALL_TABLE = {
  timeout: Duration.seconds(300),
  maxReceiveCount: 100,
};

function lambdaPolicyActions() {
  const document = JSON.parse(fs.readFileSync(POLICY_FILE, 'utf8'));
  return document.Statement.flatMap((statement) => statement.Action);
}

class QuizResultLoader extends Construct {
  /**
   * @param {Construct} scope
   * @param {string} id
   * @param {object} props
   * @param {string} props.zipPath the Lambda zip (cmake --build build --target lambda-zip)
   * @param {'x86_64'|'arm64'} [props.architecture] the zip's architecture (default x86_64)
   * @param {ec2.IVpc} props.vpc the VPC of Redis and the question-set volume
   * @param {ec2.SubnetSelection} [props.vpcSubnets] where the function runs (default: the private or isolated subnets)
   * @param {ec2.ISecurityGroup[]} [props.securityGroups] security groups that reach Redis and EFS (default: one made here)
   * @param {efs.IAccessPoint} props.questionSetAccessPoint the access point of the question-set volume
   * @param {string} props.redisHost
   * @param {string|number} [props.redisPort] default 6379
   * @param {boolean} [props.redisTls] TLS to Redis (ElastiCache Serverless and any cache with in-transit encryption)
   * @param {'auto'|'on'|'off'} [props.redisCluster] cluster mode: default auto, the loader asks the server
   * @param {dynamodb.ITable} [props.table] an existing table; otherwise `tableName` is created on demand
   * @param {number} [props.tableWriteCapacity] the table is provisioned with this many WCU (the platform's: 1): the
   *   small-table settings (300 s timeout, 100 receives) become the defaults, and a table made here is provisioned so
   * @param {number} [props.tableReadCapacity] with `tableWriteCapacity`, for a table made here; default: the same
   * @param {string} [props.tableName] default quiz
   * @param {number} [props.memorySize] MB, default 256
   * @param {Duration} [props.timeout] default 30 s
   * @param {Duration} [props.settleWindow] the queue's delivery delay, default 5 s (LOADER_SETTLE_MS's default)
   * @param {number} [props.maxConcurrency] of the event source, default 2 (a small table: docs/deployment.md)
   * @param {number} [props.maxReceiveCount] receives before the dead-letter queue, default 10
   * @param {Duration|null} [props.sweepEvery] how often EventBridge starts a sweep (docs/design.md: The sweep), default 15 minutes; null: never
   * @param {Record<string,string>} [props.environment] further LOADER_* settings
   */
  constructor(scope, id, props) {
    super(scope, id);
    // A prop given as undefined keeps its default.
    const given = Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined));
    const provisioned = given.tableWriteCapacity !== undefined;
    const settings = { ...DEFAULTS, ...(provisioned ? SMALL_TABLE : {}), ...given };
    for (const required of ['zipPath', 'vpc', 'questionSetAccessPoint', 'redisHost']) {
      if (settings[required] === undefined || settings[required] === '') {
        throw new Error(`QuizResultLoader: '${required}' is required`);
      }
    }
    if (!fs.existsSync(settings.zipPath)) {
      throw new Error(`QuizResultLoader: no zip at '${settings.zipPath}' (cmake --build build --target lambda-zip)`);
    }
    const architecture = settings.architecture ?? 'x86_64';
    if (!['x86_64', 'arm64'].includes(architecture)) {
      throw new Error(`QuizResultLoader: architecture '${architecture}' is neither x86_64 nor arm64`);
    }
    const timeout = settings.timeout;

    // The table: taken as it is, or created on demand, or provisioned with tableWriteCapacity
    // (the loader writes at its pace: docs/design.md, The table's capacity).
    this.table =
      settings.table ??
      new dynamodb.Table(this, 'Table', {
        tableName: settings.tableName,
        partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
        ...(provisioned
          ? {
              billingMode: dynamodb.BillingMode.PROVISIONED,
              writeCapacity: settings.tableWriteCapacity,
              readCapacity: settings.tableReadCapacity ?? settings.tableWriteCapacity,
            }
          : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }),
        removalPolicy: RemovalPolicy.RETAIN,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      });

    // A record that keeps failing is moved here after maxReceiveCount receives, each at least a
    // visibility timeout apart, instead of being redelivered forever.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: true,
      // The producer is still writing when it announces: no record is read before the settle
      // window has passed.
      deliveryDelay: settings.settleWindow,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
      enforceSSL: true,
    });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'quiz-result-loader: deploy/iam/lambda-policy.json on its table',
    });
    role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
    role.attachInlinePolicy(
      new iam.Policy(this, 'LoaderPolicy', {
        statements: [
          new iam.PolicyStatement({
            sid: 'QuizResultLoaderLambda',
            actions: lambdaPolicyActions(),
            resources: [this.table.tableArn],
          }),
        ],
      }),
    );

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const mountPath = settings.questionSetPath;
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(settings.zipPath),
      memorySize: settings.memorySize,
      timeout,
      role,
      logGroup,
      vpc: settings.vpc,
      vpcSubnets: settings.vpcSubnets,
      securityGroups: settings.securityGroups,
      filesystem: lambda.FileSystem.fromEfsAccessPoint(settings.questionSetAccessPoint, mountPath),
      environment: {
        REDIS_HOST: settings.redisHost,
        REDIS_PORT: String(settings.redisPort ?? 6379),
        ...(settings.redisTls ? { REDIS_TLS: 'true' } : {}),
        ...(settings.redisCluster ? { REDIS_CLUSTER: settings.redisCluster } : {}),
        QUESTION_SET_PATH: mountPath,
        DYNAMODB_TABLE: this.table.tableName,
        // Each function starts its pace at its share of the table's capacity (docs/design.md: The
        // table's capacity); the pace then adapts to what the table accepts.
        LOADER_CAPACITY_SHARE_PERCENT: String(Math.max(1, Math.floor(100 / settings.maxConcurrency))),
        ...(settings.environment ?? {}),
      },
      description: 'quiz-result-loader: finished quizzes from Redis and the question sets into DynamoDB',
    });
    // The function's own security group may send anywhere: in isolated subnets its only routes
    // are Redis, the volume and DynamoDB's gateway endpoint. The volume's rule is then implied.
    Annotations.of(this.function).acknowledgeWarning('@aws-cdk/aws-ec2:ipv4IgnoreEgressRule');
    this.function.addEventSource(
      new sources.SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: settings.maxConcurrency,
      }),
    );

    // The sweep: loads quizzes whose event was lost, cleans up after late joins and resends.
    const sweepEvery = settings.sweepEvery === undefined ? Duration.minutes(15) : settings.sweepEvery;
    if (sweepEvery !== null) {
      this.sweepRule = new events.Rule(this, 'SweepSchedule', {
        schedule: events.Schedule.rate(sweepEvery),
        description: 'quiz-result-loader: sweep Redis for quizzes the events did not finish',
        targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
      });
    }

    this.alarms = this.makeAlarms();
    this.dashboard = this.makeDashboard();
  }

  // The loader's EMF metric `name` (docs/operations.md: Metrics and health), for this function.
  loaderMetric(name, statistic = 'Sum', period = Duration.minutes(1)) {
    return new cloudwatch.Metric({
      namespace: 'QuizResultLoader',
      metricName: name,
      dimensionsMap: { function: this.function.functionName },
      statistic,
      period,
    });
  }

  // One dashboard: what is loaded and what fails, how long a quiz takes, the backlog, the table's
  // pace and throttles, dead letters, and the function itself.
  makeDashboard() {
    const m = (name, label, statistic) => this.loaderMetric(name, statistic).with({ label });
    const period = Duration.minutes(1);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `quiz-result-loader-${Stack.of(this).stackName}`.slice(0, 255),
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Quizzes finished, by outcome',
        width: 12,
        left: ['loaded', 'already_loaded', 'requeued', 'dead_lettered', 'paused'].map((o) =>
          m(`qrl_quizzes_total.${o}`, o)),
      }),
      new cloudwatch.GraphWidget({
        title: 'Load time (delivery to decision), mean',
        width: 12,
        left: [new cloudwatch.MathExpression({
          expression: 'sum / FILL(n, 1)',
          usingMetrics: { sum: m('qrl_quiz_duration_seconds.sum', 'seconds'), n: m('qrl_quiz_duration_seconds.count', 'quizzes') },
          label: 'seconds a quiz',
          period,
        })],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Backlog: messages waiting, and the oldest',
        width: 12,
        left: [this.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'waiting' })],
        right: [this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum', label: 'oldest (s)' })],
      }),
      new cloudwatch.GraphWidget({
        title: "The table's pace: write units consumed, requests throttled",
        width: 12,
        left: [m('qrl_dynamodb_capacity_units_total.consumed.PutItem', 'PutItem units consumed')],
        right: [m('qrl_dynamodb_requests_total.PutItem.throttled', 'PutItem throttled')],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Dead letters',
        width: 8,
        left: [this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'dead letters' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'The function: invocations, errors, throttles',
        width: 8,
        left: [this.function.metricInvocations({ period }), this.function.metricErrors({ period }),
          this.function.metricThrottles({ period })],
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        width: 8,
        alarms: Object.values(this.alarms),
      }),
    );
    return dashboard;
  }

  makeAlarms() {
    const period = Duration.minutes(5);
    const deadLetters = new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
      alarmDescription: 'quiz-result-loader: a quiz was dead-lettered (dlq list, then replay)',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Ten receives a visibility timeout apart is the longest a quiz should wait; one waiting half
    // of it says the loader is not keeping up or keeps failing.
    const oldest = new cloudwatch.Alarm(this, 'OldestMessageAlarm', {
      alarmDescription: 'quiz-result-loader: a finished quiz has waited too long to be loaded',
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
      threshold: 15 * 60,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // The loader's EMF lines (docs/operations.md: Metrics and health): a failed record is counted as
    // requeued (SQS has it again), an environment failure as paused.
    const loaderMetric = (outcome) => this.loaderMetric(`qrl_quizzes_total.${outcome}`, 'Sum', period);
    const failures = new cloudwatch.Alarm(this, 'FailuresAlarm', {
      alarmDescription: 'quiz-result-loader: records failed (requeued) or the environment is wrong (paused)',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(requeued, 0) + FILL(paused, 0)',
        usingMetrics: { requeued: loaderMetric('requeued'), paused: loaderMetric('paused') },
        period,
        label: 'failed records',
      }),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return { deadLetters, oldest, failures };
  }
}

module.exports = { QuizResultLoader, DEFAULTS, lambdaPolicyActions, Stack };
