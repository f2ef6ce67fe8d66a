'use strict';
// A stack around the construct for a deployment of the loader on its own: the VPC, the
// question-set volume and the table are taken when their ids are given and made otherwise.
// Every setting is a context value (cdk synth -c key=value), listed in docs/deployment.md.

const path = require('node:path');
const { Duration, RemovalPolicy, Stack } = require('aws-cdk-lib');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const ec2 = require('aws-cdk-lib/aws-ec2');
const efs = require('aws-cdk-lib/aws-efs');
const elasticache = require('aws-cdk-lib/aws-elasticache');
const { QuizResultLoader } = require('./quiz-result-loader');

const list = (value) => (value ? String(value).split(',').map((s) => s.trim()).filter(Boolean) : []);
const number = (value, name) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`context '${name}' is '${value}': expected a positive integer`);
  return n;
};

class QuizResultLoaderStack extends Stack {
  constructor(scope, id, props = {}) {
    super(scope, id, props);
    const get = (name) => this.node.tryGetContext(name);

    // Redis: the endpoint the quiz server writes (redisHost), or, with redis=serverless, an
    // ElastiCache Serverless cache made here (cluster mode, TLS only) for the quiz server to use.
    const serverless = get('redis') === 'serverless';
    if (get('redis') !== undefined && !serverless) throw new Error(`context 'redis' is '${get('redis')}': the only value is 'serverless'`);
    if (!get('redisHost') && !serverless) {
      throw new Error("context 'redisHost' is required (the Redis endpoint the quiz server writes), or redis=serverless");
    }
    if (get('redisHost') && serverless) throw new Error("give 'redisHost' or redis=serverless, not both");

    // The VPC of Redis: given (its id, availability zones and the subnets to run in), or made
    // with isolated subnets and a gateway endpoint to DynamoDB, as the platform's network stack.
    let vpc;
    let vpcSubnets;
    if (get('vpcId')) {
      const subnetIds = list(get('subnetIds'));
      const zones = list(get('availabilityZones'));
      if (subnetIds.length === 0 || zones.length !== subnetIds.length) {
        throw new Error("with 'vpcId', give 'subnetIds' and as many 'availabilityZones' (comma-separated)");
      }
      vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: get('vpcId'), availabilityZones: zones, privateSubnetIds: subnetIds });
      vpcSubnets = { subnets: vpc.privateSubnets };
    } else {
      vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      });
      vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });
      vpcSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    }
    const securityGroups = list(get('securityGroupIds')).map((sg, i) =>
      ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, sg),
    );

    // The question-set volume: the platform's access point (path /quizzes, owned by 1001:1001,
    // which the function then acts as), or one made the same way.
    let accessPoint;
    if (get('accessPointId')) {
      if (!get('fileSystemId')) throw new Error("with 'accessPointId', give 'fileSystemId' too");
      const fileSystem = efs.FileSystem.fromFileSystemAttributes(this, 'QuestionSets', {
        fileSystemId: get('fileSystemId'),
        securityGroup: ec2.SecurityGroup.fromSecurityGroupId(this, 'QuestionSetsSecurityGroup',
          get('fileSystemSecurityGroupId') ?? securityGroups[0]?.securityGroupId ?? 'sg-unknown'),
      });
      accessPoint = efs.AccessPoint.fromAccessPointAttributes(this, 'QuestionSetsAccessPoint', {
        accessPointId: get('accessPointId'),
        fileSystem,
      });
    } else {
      const fileSystem = new efs.FileSystem(this, 'QuestionSets', {
        vpc,
        vpcSubnets,
        encrypted: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      accessPoint = fileSystem.addAccessPoint('QuestionSetsAccessPoint', {
        path: '/quizzes',
        createAcl: { ownerUid: '1001', ownerGid: '1001', permissions: '750' },
        posixUser: { uid: '1001', gid: '1001' },
      });
    }

    let redisHost = get('redisHost');
    let redisPort = get('redisPort') ?? '6379';
    let redisTls = String(get('redisTls') ?? 'false') === 'true';
    let cache;
    if (serverless) {
      const cacheSecurityGroup = new ec2.SecurityGroup(this, 'RedisSecurityGroup', {
        vpc,
        description: 'ElastiCache Serverless: Redis for the quiz server and the loader, on 6379',
        allowAllOutbound: false,
      });
      cache = new elasticache.CfnServerlessCache(this, 'Redis', {
        serverlessCacheName: get('redisCacheName') ?? 'quiz-live',
        engine: 'redis',
        majorEngineVersion: '7',
        subnetIds: vpc.selectSubnets(vpcSubnets).subnetIds,
        securityGroupIds: [cacheSecurityGroup.securityGroupId],
      });
      redisHost = cache.attrEndpointAddress;
      redisPort = cache.attrEndpointPort;
      redisTls = true;  // ElastiCache Serverless takes TLS only
      this.redisSecurityGroup = cacheSecurityGroup;
    }
    const createTable = String(get('createTable') ?? 'true') !== 'false';
    const tableName = get('tableName') ?? 'quiz';
    const table = createTable ? undefined : dynamodb.Table.fromTableName(this, 'ExistingTable', tableName);
    const timeoutSeconds = number(get('timeoutSeconds'), 'timeoutSeconds');
    const settleSeconds = get('settleSeconds') === '0' ? 0 : number(get('settleSeconds'), 'settleSeconds');
    const sweepMinutes = get('sweepMinutes') === '0' ? 0 : number(get('sweepMinutes'), 'sweepMinutes');

    this.loader = new QuizResultLoader(this, 'QuizResultLoader', {
      zipPath: path.resolve(get('zip') ?? path.join(__dirname, '..', '..', '..', 'build', 'quiz-result-loader-lambda.zip')),
      architecture: get('architecture') ?? 'x86_64',
      vpc,
      vpcSubnets,
      securityGroups: securityGroups.length ? securityGroups : undefined,
      questionSetAccessPoint: accessPoint,
      redisHost,
      redisPort,
      redisTls,
      table,
      tableName,
      memorySize: number(get('memorySize'), 'memorySize'),
      timeout: timeoutSeconds ? Duration.seconds(timeoutSeconds) : undefined,
      settleWindow: settleSeconds !== undefined ? Duration.seconds(settleSeconds) : undefined,
      maxConcurrency: number(get('maxConcurrency'), 'maxConcurrency'),
      maxReceiveCount: number(get('maxReceiveCount'), 'maxReceiveCount'),
      tableWriteCapacity: number(get('tableWriteCapacity'), 'tableWriteCapacity'),
      tableReadCapacity: number(get('tableReadCapacity'), 'tableReadCapacity'),
      sweepEvery: sweepMinutes === 0 ? null : sweepMinutes !== undefined ? Duration.minutes(sweepMinutes) : undefined,
    });
    if (cache) {
      // The function reaches the cache's endpoint; the cache's own nodes are behind it.
      this.redisSecurityGroup.connections.allowFrom(this.loader.function, ec2.Port.tcp(6379), 'the loader');
    }
  }
}

module.exports = { QuizResultLoaderStack };
