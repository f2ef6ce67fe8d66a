'use strict';
// The synthesized template, property by property: what the deployment promises (docs/deployment.md,
// Deployments) checked on what CloudFormation would receive. Offline: nothing here reaches AWS.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { App } = require('aws-cdk-lib');
const { Match, Template } = require('aws-cdk-lib/assertions');
const { QuizResultLoaderStack } = require('../lib/stack');
const { lambdaPolicyActions } = require('../lib/quiz-result-loader');

// A zip of our own: the asset is copied as it is, so any bytes show where it went.
const zip = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qrl-cdk-')), 'loader.zip');
fs.writeFileSync(zip, `not a real zip ${process.pid}`);

function synth(context = {}) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'qrl-cdk-out-'));
  const app = new App({ outdir, context: { redisHost: 'redis.internal', zip, ...context } });
  const stack = new QuizResultLoaderStack(app, 'Test');
  const template = Template.fromStack(stack);
  return { template, json: template.toJSON(), outdir, app };
}

const only = (json, type) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);
const one = (json, type) => {
  const found = only(json, type);
  assert.equal(found.length, 1, `one ${type}, found ${found.length}`);
  return found[0][1].Properties;
};
const logicalId = (json, type, predicate = () => true) =>
  only(json, type).find(([, r]) => predicate(r.Properties ?? {}))?.[0];

test('the function: provided.al2023 with the zip, the measured memory and timeout, the volume where the platform mounts it', () => {
  const { json, app, outdir } = synth();
  const fn = one(json, 'AWS::Lambda::Function');
  assert.equal(fn.Runtime, 'provided.al2023');
  assert.equal(fn.Handler, 'bootstrap');
  assert.deepEqual(fn.Architectures, ['x86_64']);
  assert.equal(fn.MemorySize, 256);
  assert.equal(fn.Timeout, 30);
  assert.equal(fn.FileSystemConfigs.length, 1);
  assert.equal(fn.FileSystemConfigs[0].LocalMountPath, '/mnt/quizzes');
  assert.ok(JSON.stringify(fn.FileSystemConfigs[0].Arn).includes('access-point/'));
  assert.ok(fn.VpcConfig.SubnetIds.length >= 1);
  const env = fn.Environment.Variables;
  assert.equal(env.REDIS_HOST, 'redis.internal');
  assert.equal(env.REDIS_PORT, '6379');
  assert.equal(env.QUESTION_SET_PATH, '/mnt/quizzes');
  assert.deepEqual(env.DYNAMODB_TABLE, { Ref: logicalId(json, 'AWS::DynamoDB::Table') });
  assert.equal(env.LOADER_CAPACITY_SHARE_PERCENT, '50');  // half the table each, of 2 functions
  // The code is this zip, byte for byte.
  app.synth();
  const copied = fs.readdirSync(outdir).filter((name) => name.startsWith('asset.') && name.endsWith('.zip'));
  assert.equal(copied.length, 1);
  assert.deepEqual(fs.readFileSync(path.join(outdir, copied[0])), fs.readFileSync(zip));
  assert.ok(fn.Code.S3Key.endsWith('.zip'));
});

test('arm64 when chosen; an architecture that is neither is refused', () => {
  const fn = one(synth({ architecture: 'arm64' }).json, 'AWS::Lambda::Function');
  assert.deepEqual(fn.Architectures, ['arm64']);
  assert.throws(() => synth({ architecture: 'sparc' }), /neither x86_64 nor arm64/);
});

test('the queue: FIFO, content-based deduplication, delayed by the settle window, six function timeouts of visibility, a FIFO dead-letter queue', () => {
  const { json } = synth();
  const queues = only(json, 'AWS::SQS::Queue');
  assert.equal(queues.length, 2);
  const [, main] = queues.find(([, r]) => r.Properties.RedrivePolicy);
  const [dlqId, dlq] = queues.find(([, r]) => !r.Properties.RedrivePolicy);
  assert.equal(main.Properties.FifoQueue, true);
  assert.equal(main.Properties.ContentBasedDeduplication, true);
  assert.equal(main.Properties.DelaySeconds, 5);
  const timeout = one(json, 'AWS::Lambda::Function').Timeout;
  assert.ok(main.Properties.VisibilityTimeout >= 6 * timeout, `visibility ${main.Properties.VisibilityTimeout}`);
  assert.equal(dlq.Properties.FifoQueue, true);
  assert.deepEqual(main.Properties.RedrivePolicy.deadLetterTargetArn, { 'Fn::GetAtt': [dlqId, 'Arn'] });
  assert.equal(main.Properties.RedrivePolicy.maxReceiveCount, 10);
  // A longer function timeout keeps the rule; a settle window of 0 turns the delay off.
  const longer = synth({ timeoutSeconds: '120', settleSeconds: '0', maxReceiveCount: '4' }).json;
  const [, main2] = only(longer, 'AWS::SQS::Queue').find(([, r]) => r.Properties.RedrivePolicy);
  assert.equal(main2.Properties.VisibilityTimeout, 720);
  assert.equal(main2.Properties.DelaySeconds, 0);
  assert.equal(main2.Properties.RedrivePolicy.maxReceiveCount, 4);
});

test('the event source: batches of 10, partial batch responses, a maximum concurrency', () => {
  const { template, json } = synth();
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    BatchSize: 10,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: 2 },
    EventSourceArn: { 'Fn::GetAtt': [logicalId(json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy), 'Arn'] },
  });
  const more = synth({ maxConcurrency: '5' });
  more.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 5 } });
});

test('the sweep: an EventBridge schedule every 15 minutes that invokes the function, and none when asked', () => {
  const { json } = synth();
  const rule = one(json, 'AWS::Events::Rule');
  assert.equal(rule.ScheduleExpression, 'rate(15 minutes)');
  assert.equal(rule.State, 'ENABLED');
  const fnId = logicalId(json, 'AWS::Lambda::Function');
  assert.deepEqual(rule.Targets[0].Arn, { 'Fn::GetAtt': [fnId, 'Arn'] });
  const permission = one(json, 'AWS::Lambda::Permission');
  assert.equal(permission.Principal, 'events.amazonaws.com');
  assert.equal(permission.Action, 'lambda:InvokeFunction');
  const { json: without } = synth({ sweepMinutes: '0' });
  assert.equal(only(without, 'AWS::Events::Rule').length, 0);
});

test('the table: created on demand by default, keyed by id', () => {
  const { template } = synth();
  template.hasResource('AWS::DynamoDB::Table', {
    Properties: {
      TableName: 'quiz',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    },
    DeletionPolicy: 'Retain',
  });
});

test('a small table (tableWriteCapacity): provisioned so, a 300 s timeout, 100 receives, each function its share', () => {
  const { template, json } = synth({ tableWriteCapacity: '1' });
  const table = one(json, 'AWS::DynamoDB::Table');
  // CloudFormation's default billing mode is PROVISIONED, and CDK leaves it unsaid.
  assert.ok([undefined, 'PROVISIONED'].includes(table.BillingMode), table.BillingMode);
  assert.deepEqual(table.ProvisionedThroughput, { ReadCapacityUnits: 1, WriteCapacityUnits: 1 });
  const fn = one(json, 'AWS::Lambda::Function');
  assert.equal(fn.Timeout, 300);
  assert.equal(fn.Environment.Variables.LOADER_CAPACITY_SHARE_PERCENT, '50');
  const [, main] = only(json, 'AWS::SQS::Queue').find(([, r]) => r.Properties.RedrivePolicy);
  assert.equal(main.Properties.VisibilityTimeout, 1800);
  assert.equal(main.Properties.RedrivePolicy.maxReceiveCount, 100);
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 2 } });
  // The platform's own table, as it is: the settings follow, no table is made.
  const existing = synth({ tableWriteCapacity: '1', createTable: 'false' }).json;
  assert.equal(only(existing, 'AWS::DynamoDB::Table').length, 0);
  assert.equal(one(existing, 'AWS::Lambda::Function').Timeout, 300);
  // Given settings win; more functions, a smaller share each.
  const given = synth({ tableWriteCapacity: '5', tableReadCapacity: '2', timeoutSeconds: '60', maxConcurrency: '4' });
  given.template.hasResourceProperties('AWS::DynamoDB::Table', {
    ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 5 },
  });
  const fn4 = one(given.json, 'AWS::Lambda::Function');
  assert.equal(fn4.Timeout, 60);
  assert.equal(fn4.Environment.Variables.LOADER_CAPACITY_SHARE_PERCENT, '25');
  assert.throws(() => synth({ tableWriteCapacity: 'lots' }), /'tableWriteCapacity' is 'lots'/);
});

test('the role: exactly the project\'s Lambda policy on the table, and no other DynamoDB action', () => {
  for (const context of [{}, { createTable: 'false', tableName: 'quiz-archive' }]) {
    const { json } = synth(context);
    const statements = only(json, 'AWS::IAM::Policy').flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    const dynamo = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    assert.equal(dynamo.length, 1, JSON.stringify(dynamo));
    assert.deepEqual([dynamo[0].Action].flat().sort(), [...lambdaPolicyActions()].sort());
    assert.deepEqual(lambdaPolicyActions().sort(), ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem']);
    const resource = JSON.stringify(dynamo[0].Resource);
    if (context.createTable === 'false') {
      assert.equal(only(json, 'AWS::DynamoDB::Table').length, 0);
      assert.ok(resource.includes(':table/quiz-archive'), resource);
    } else {
      assert.equal(resource, JSON.stringify({ 'Fn::GetAtt': [logicalId(json, 'AWS::DynamoDB::Table'), 'Arn'] }));
    }
    assert.ok(!resource.includes('*'), resource);
    // No wildcard action anywhere, and the role is Lambda's.
    for (const s of statements) for (const a of [s.Action].flat()) assert.ok(!a.endsWith(':*') && a !== '*', a);
    const role = one(json, 'AWS::IAM::Role');
    assert.equal(role.AssumeRolePolicyDocument.Statement[0].Principal.Service, 'lambda.amazonaws.com');
    const fn = one(json, 'AWS::Lambda::Function');
    assert.deepEqual(fn.Role, { 'Fn::GetAtt': [logicalId(json, 'AWS::IAM::Role'), 'Arn'] });
  }
});

test('alarms: dead letters, the oldest message, the loader\'s own failure counts', () => {
  const { json } = synth();
  const alarms = only(json, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
  assert.equal(alarms.length, 3);
  const dlqId = logicalId(json, 'AWS::SQS::Queue', (p) => !p.RedrivePolicy);
  const queueId = logicalId(json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy);
  const depth = alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
  assert.deepEqual(depth.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }]);
  assert.equal(depth.Threshold, 1);
  const oldest = alarms.find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');
  assert.deepEqual(oldest.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
  const failures = alarms.find((a) => a.Metrics);
  const emf = failures.Metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat.Metric);
  assert.deepEqual(emf.map((m) => m.MetricName).sort(), ['qrl_quizzes_total.paused', 'qrl_quizzes_total.requeued']);
  for (const m of emf) {
    assert.equal(m.Namespace, 'QuizResultLoader');
    assert.deepEqual(m.Dimensions, [{ Name: 'function', Value: { Ref: logicalId(json, 'AWS::Lambda::Function') } }]);
  }
});

test('a given VPC, subnets, security group and access point are used, not made', () => {
  const { json } = synth({
    vpcId: 'vpc-0123456789abcdef0',
    subnetIds: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
    availabilityZones: 'eu-west-1a,eu-west-1b',
    securityGroupIds: 'sg-0cccccccccccccccc',
    fileSystemId: 'fs-0123456789abcdef0',
    accessPointId: 'fsap-0123456789abcdef0',
  });
  for (const type of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EFS::FileSystem', 'AWS::EFS::AccessPoint', 'AWS::EC2::SecurityGroup']) {
    assert.equal(only(json, type).length, 0, type);
  }
  const fn = one(json, 'AWS::Lambda::Function');
  assert.deepEqual(fn.VpcConfig.SubnetIds, ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb']);
  assert.deepEqual(fn.VpcConfig.SecurityGroupIds, ['sg-0cccccccccccccccc']);
  assert.ok(JSON.stringify(fn.FileSystemConfigs[0].Arn).includes('access-point/fsap-0123456789abcdef0'));
});

test('a made VPC has a route to DynamoDB; a made volume is the platform\'s access point', () => {
  const { template } = synth();
  template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
    ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.dynamodb'])]) }),
    VpcEndpointType: 'Gateway',
  });
  template.hasResourceProperties('AWS::EFS::AccessPoint', {
    RootDirectory: { Path: '/quizzes', CreationInfo: { OwnerUid: '1001', OwnerGid: '1001', Permissions: '750' } },
    PosixUser: { Uid: '1001', Gid: '1001' },
  });
});

test('redis=serverless: an ElastiCache Serverless cache in the VPC, reached over TLS on 6379 by the function alone', () => {
  const { json } = synth({ redisHost: undefined, redis: 'serverless' });
  const cache = one(json, 'AWS::ElastiCache::ServerlessCache');
  assert.equal(cache.Engine, 'redis');
  assert.equal(cache.ServerlessCacheName, 'quiz-live');
  assert.ok(cache.SubnetIds.length >= 1);
  const cacheId = logicalId(json, 'AWS::ElastiCache::ServerlessCache');
  const env = one(json, 'AWS::Lambda::Function').Environment.Variables;
  assert.deepEqual(env.REDIS_HOST, { 'Fn::GetAtt': [cacheId, 'Endpoint.Address'] });
  assert.deepEqual(env.REDIS_PORT, { 'Fn::GetAtt': [cacheId, 'Endpoint.Port'] });
  assert.equal(env.REDIS_TLS, 'true');
  assert.equal(env.REDIS_CLUSTER, undefined, 'auto: the loader finds the cluster itself');
  // The cache's security group lets the function in on 6379, and nothing else.
  const [groupId] = cache.SecurityGroupIds.map((g) => g['Fn::GetAtt'][0]);
  const ingress = only(json, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties)
    .filter((rule) => rule.GroupId['Fn::GetAtt'][0] === groupId);
  assert.equal(ingress.length, 1);
  assert.equal(ingress[0].FromPort, 6379);
  assert.equal(ingress[0].ToPort, 6379);
  const functionGroups = one(json, 'AWS::Lambda::Function').VpcConfig.SecurityGroupIds.map((g) => g['Fn::GetAtt'][0]);
  assert.deepEqual([ingress[0].SourceSecurityGroupId['Fn::GetAtt'][0]], functionGroups);
  // A given endpoint with TLS: the same setting, no cache made.
  const given = synth({ redisHost: 'clustercfg.quiz-live.abc123.use1.cache.amazonaws.com', redisTls: 'true' }).json;
  assert.equal(only(given, 'AWS::ElastiCache::ServerlessCache').length, 0);
  assert.equal(one(given, 'AWS::Lambda::Function').Environment.Variables.REDIS_TLS, 'true');
  assert.equal(one(synth().json, 'AWS::Lambda::Function').Environment.Variables.REDIS_TLS, undefined);
  assert.throws(() => synth({ redis: 'serverless' }), /not both/);
  assert.throws(() => synth({ redisHost: undefined, redis: 'cluster' }), /only value is 'serverless'/);
});

test('a CloudWatch dashboard over the loader\'s EMF metrics, the queues, the function and the alarms', () => {
  const { json } = synth();
  const body = JSON.stringify(one(json, 'AWS::CloudWatch::Dashboard').DashboardBody);
  // The EMF names the loader writes (src/metrics/registry.cpp: family, then label values in
  // label-name order), in its namespace, for this function.
  for (const name of ['qrl_quizzes_total.loaded', 'qrl_quizzes_total.dead_lettered', 'qrl_quizzes_total.requeued',
    'qrl_quiz_duration_seconds.sum', 'qrl_quiz_duration_seconds.count',
    'qrl_dynamodb_capacity_units_total.consumed.PutItem', 'qrl_dynamodb_requests_total.PutItem.throttled']) {
    assert.ok(body.includes(`\\"QuizResultLoader\\",\\"${name}\\"`), `the dashboard graphs ${name}`);
  }
  assert.ok(body.includes('ApproximateAgeOfOldestMessage'));
  assert.ok(body.includes('ApproximateNumberOfMessagesVisible'));
  assert.ok(body.includes('\\"AWS/Lambda\\",\\"Throttles\\"'));
  const alarmIds = only(json, 'AWS::CloudWatch::Alarm').map(([id]) => id);
  assert.equal(alarmIds.length, 3);
  for (const id of alarmIds) assert.ok(body.includes(id), `the alarm widget shows ${id}`);
});

test('what is missing or wrong is named', () => {
  assert.throws(() => synth({ redisHost: '' }), /'redisHost' is required/);
  assert.throws(() => synth({ zip: '/nonexistent/loader.zip' }), /no zip at '\/nonexistent\/loader.zip'/);
  assert.throws(() => synth({ vpcId: 'vpc-1' }), /give 'subnetIds'/);
  assert.throws(() => synth({ maxConcurrency: 'many' }), /'maxConcurrency' is 'many'/);
});
