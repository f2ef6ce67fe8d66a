#!/usr/bin/env node
'use strict';
// cdk synth|deploy -c redisHost=... [-c key=value ...]: see docs/deployment.md.
const { App } = require('aws-cdk-lib');
const { QuizResultLoaderStack } = require('../lib/stack');

const app = new App();
new QuizResultLoaderStack(app, app.node.tryGetContext('stackName') ?? 'QuizResultLoader', {
  description: 'quiz-result-loader in Lambda: SQS FIFO queue, dead-letter queue, function, table, alarms',
});
app.synth();
