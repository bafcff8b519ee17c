// The workshop's four stacks (repository, dev and prod application, pipeline) written plainly in
// JavaScript, the way the TypeScript original builds them. It exists only so that `make bench`
// can time this project's synth against the original's on the same machine; it is never deployed.
'use strict';
const cdk = require('aws-cdk-lib');
const codecommit = require('aws-cdk-lib/aws-codecommit');
const lambda = require('aws-cdk-lib/aws-lambda');
const apigateway = require('aws-cdk-lib/aws-apigateway');
const codedeploy = require('aws-cdk-lib/aws-codedeploy');
const iam = require('aws-cdk-lib/aws-iam');
const kms = require('aws-cdk-lib/aws-kms');
const s3 = require('aws-cdk-lib/aws-s3');
const codebuild = require('aws-cdk-lib/aws-codebuild');
const codepipeline = require('aws-cdk-lib/aws-codepipeline');
const actions = require('aws-cdk-lib/aws-codepipeline-actions');

const app = new cdk.App();
const devAccount = app.node.tryGetContext('dev-account');
const prodAccount = app.node.tryGetContext('prod-account');
const env = { account: devAccount, region: app.node.tryGetContext('region') };

class ApplicationStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    this.lambdaCode = lambda.Code.fromCfnParameters();
    const fn = new lambda.Function(this, 'Lambda', {
      code: this.lambdaCode,
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      environment: { STAGE_NAME: props.stageName },
    });
    new apigateway.LambdaRestApi(this, 'Api', { handler: fn, deployOptions: { stageName: props.stageName } });
    const alias = new lambda.Alias(this, 'Alias', { aliasName: props.stageName, version: fn.currentVersion });
    new codedeploy.LambdaDeploymentGroup(this, 'DeploymentGroup', {
      alias,
      deploymentConfig: codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
    });
  }
}

class PipelineStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const prodRole = (name) =>
      iam.Role.fromRoleArn(this, name, `arn:aws:iam::${prodAccount}:role/${name}`, { mutable: false });
    const key = new kms.Key(this, 'ArtifactKey');
    key.grantDecrypt(new iam.AccountPrincipal(prodAccount));
    const bucket = new s3.Bucket(this, 'ArtifactBucket', {
      bucketName: `artifact-bucket-${devAccount}`,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
    });
    bucket.grantRead(new iam.AccountPrincipal(prodAccount));
    const project = (id) => new codebuild.PipelineProject(this, id, {
      encryptionKey: key,
      buildSpec: codebuild.BuildSpec.fromObject({ version: '0.2', phases: { build: { commands: ['make'] } } }),
    });
    const source = new codepipeline.Artifact();
    const lambdaOut = new codepipeline.Artifact('LambdaBuildOutput');
    const cdkOut = new codepipeline.Artifact('CdkBuildOutput');
    const deploy = (appStack, stackName, extra) => new actions.CloudFormationCreateUpdateStackAction({
      actionName: 'Deploy',
      templatePath: cdkOut.atPath(`${appStack.stackName}.template.json`),
      stackName,
      adminPermissions: true,
      parameterOverrides: appStack.lambdaCode.assign(lambdaOut.s3Location),
      extraInputs: [lambdaOut],
      ...extra,
    });
    new codepipeline.Pipeline(this, 'Pipeline', {
      artifactBucket: bucket,
      stages: [
        { stageName: 'Source', actions: [new actions.CodeCommitSourceAction({
          actionName: 'CodeCommit_Source',
          repository: codecommit.Repository.fromRepositoryName(this, 'Repo', `repo-${devAccount}`),
          output: source,
        })] },
        { stageName: 'Build', actions: [
          new actions.CodeBuildAction({ actionName: 'Application_Build', project: project('LambdaBuild'), input: source, outputs: [lambdaOut] }),
          new actions.CodeBuildAction({ actionName: 'CDK_Synth', project: project('CdkBuild'), input: source, outputs: [cdkOut] }),
        ] },
        { stageName: 'Deploy_Dev', actions: [deploy(props.dev, 'DevApplicationDeploymentStack', {})] },
        { stageName: 'Deploy_Prod', actions: [deploy(props.prod, 'ProdApplicationDeploymentStack', {
          role: prodRole('CodePipelineCrossAccountRole'),
          deploymentRole: prodRole('CloudFormationDeploymentRole'),
          cfnCapabilities: [cdk.CfnCapabilities.ANONYMOUS_IAM],
        })] },
      ],
    });
    new cdk.CfnOutput(this, 'ArtifactBucketEncryptionKeyArn', { value: key.keyArn });
  }
}

const dev = new ApplicationStack(app, 'DevApplicationStack', { stageName: 'dev' });
const prod = new ApplicationStack(app, 'ProdApplicationStack', { stageName: 'prod' });
new PipelineStack(app, 'CrossAccountPipelineStack', { env, dev, prod });
new (class extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    new codecommit.Repository(this, 'Repository', { repositoryName: `repo-${devAccount}` });
  }
})(app, 'RepositoryStack', { env });
app.synth();
