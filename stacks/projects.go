package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodebuild"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// The pipeline's artifacts, by name. CodePipeline stores each under a prefix of its own
// (ArtifactPrefix), which is what lets a build's role write its own output and nothing else.
const (
	SourceArtifact = "Source"
	LambdaArtifact = "LambdaBuildOutput"
	CdkArtifact    = "CdkBuildOutput"
)

// projectOptions are what sets one build project apart from the others.
type projectOptions struct {
	// Env holds the project's fixed environment variables.
	Env map[string]string
	// Role, when set, is the project's service role instead of a generated one.
	Role awsiam.Role
	// LocalCache keeps the caches the buildspec names on the build host. No project keeps a
	// cache in S3: a build that runs repository code may write nothing but its own output, and
	// a cache it wrote would feed later builds of other commits (README, Security model).
	LocalCache bool
	// Reads are the artifacts the project's actions take as input; Writes is the one artifact
	// its action produces, if any. The role may read those and write only this one.
	Reads  []string
	Writes string
	// Statements are what the role may do beyond its artifacts, logs and cache.
	Statements []awsiam.PolicyStatement
}

// buildProject creates a CodeBuild project from one of the embedded buildspecs. Builds run on
// ARM, the architecture of the Lambda they build, and encrypt their output with the artifact
// key.
func buildProject(stack awscdk.Stack, id, buildspec string, bucket awss3.Bucket, opts projectOptions) (awscodebuild.PipelineProject, error) {
	spec, err := assets.Buildspec(buildspec)
	if err != nil {
		return nil, err
	}
	vars := map[string]*awscodebuild.BuildEnvironmentVariable{}
	for k, v := range opts.Env {
		vars[k] = &awscodebuild.BuildEnvironmentVariable{Value: jsii.String(v)}
	}
	props := &awscodebuild.PipelineProjectProps{
		BuildSpec: awscodebuild.BuildSpec_FromObjectToYaml(&spec),
		Environment: &awscodebuild.BuildEnvironment{
			BuildImage:  awscodebuild.LinuxArmBuildImage_AMAZON_LINUX_2023_STANDARD_3_0(),
			ComputeType: awscodebuild.ComputeType_SMALL,
		},
		EnvironmentVariables: &vars,
		EncryptionKey:        bucket.EncryptionKey(),
		Timeout:              awscdk.Duration_Minutes(jsii.Number(30)),
	}
	if opts.Role != nil {
		props.Role = opts.Role
	}
	if opts.LocalCache {
		props.Cache = awscodebuild.Cache_Local(awscodebuild.LocalCacheMode_CUSTOM)
	}
	project := awscodebuild.NewPipelineProject(stack, jsii.String(id), props)
	role := opts.Role
	if role == nil {
		role = project.Node().FindChild(jsii.String("Role")).(awsiam.Role)
	}
	confine(role, projectPolicy(stack, project, bucket, opts))
	allow(role, projectGrants...)
	return project, nil
}

// confine makes doc the whole of what role's default policy allows. CDK's pipeline actions
// grant a build project's role read and write on the whole artifact bucket (delete and list
// included), and its S3 cache does the same; a build that runs repository code could then
// rewrite another action's output after it was reviewed or tested. Setting the policy
// resource's document detaches it from the document CDK's grants add to, whatever they add
// later, and keeps the role's and the policy's logical IDs.
func confine(role awsiam.Role, doc awsiam.PolicyDocument) {
	role.Node().FindChild(jsii.String("DefaultPolicy")).Node().DefaultChild().(awsiam.CfnPolicy).SetPolicyDocument(doc)
}

// projectPolicy is everything a build project's role may do: write its own logs, read its input
// artifacts, write its own output artifact (no list, no delete), use the artifact key as far as
// that needs, and its own statements.
func projectPolicy(stack awscdk.Stack, project awscodebuild.PipelineProject, bucket awss3.Bucket, opts projectOptions) awsiam.PolicyDocument {
	logGroup := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("logs"), Resource: jsii.String("log-group"),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME, ResourceName: jsii.String("/aws/codebuild/" + *project.ProjectName())})
	statements := []awsiam.PolicyStatement{
		statement("WriteOwnLogs", []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}, *logGroup, *logGroup+":*"),
		statement("LocateArtifactBucket", []string{"s3:GetBucketAcl", "s3:GetBucketLocation"}, *bucket.BucketArn()),
	}
	var reads []string
	for _, name := range opts.Reads {
		reads = append(reads, *bucket.ArnForObjects(jsii.String(ArtifactPrefix(name) + "*")))
	}
	if len(reads) > 0 {
		statements = append(statements, statement("ReadInputArtifacts", []string{"s3:GetObject", "s3:GetObjectVersion"}, reads...))
	}
	if opts.Writes != "" {
		statements = append(statements, statement("WriteOwnArtifact", []string{"s3:PutObject"}, *bucket.ArnForObjects(jsii.String(ArtifactPrefix(opts.Writes) + "*"))))
	}
	keyActions := []string{"kms:Decrypt", "kms:DescribeKey"}
	if opts.Writes != "" {
		keyActions = append(keyActions, "kms:Encrypt", "kms:GenerateDataKey")
	}
	statements = append(statements, statement("UseArtifactKey", keyActions, *bucket.EncryptionKey().KeyArn()))
	statements = append(statements, opts.Statements...)
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements})
}

// statement is an Allow statement with a Sid.
func statement(sid string, actions []string, resources ...string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...)})
}

// ArtifactPrefix is the key prefix under which CodePipeline stores an artifact of this
// pipeline: the pipeline's name cut to 20 characters, then the artifact's name cut to 10.
func ArtifactPrefix(artifact string) string {
	return config.PipelineArtifactPrefix(config.PipelineName) + artifact[:min(len(artifact), 10)] + "/"
}

// projectGrants explains the wildcards of a build project's policy (projectPolicy).
var projectGrants = []nagException{
	{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:logs:.*:log-group:/aws/codebuild/<.*>:\*`},
		Reason: "The log streams of this project's own log group; CodeBuild names a stream per build."},
	{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::<ArtifactBucket[0-9A-F]+\.Arn>/` + config.PipelineName + `/[A-Za-z]+/\*`},
		Reason: "One artifact's objects: CodePipeline names an object per execution under the artifact's fixed prefix."},
}
