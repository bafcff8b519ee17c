package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodebuild"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodecommit"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipelineactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/policies"
)

// PipelineStackProps configures the pipeline in the dev account.
type PipelineStackProps struct {
	Config Config
	// The application stacks whose templates the pipeline deploys; their LambdaCode tells the
	// deploy actions which parameters receive the build output.
	DevApplication  *ApplicationStack
	ProdApplication *ApplicationStack
}

// PipelineStack is the CI/CD pipeline in the dev account: source, build and synth, a deploy to
// dev, and a deploy to prod through the roles of ProdAccountRolesStack.
type PipelineStack struct {
	awscdk.Stack
	Pipeline       awscodepipeline.Pipeline
	ArtifactKey    awskms.Key
	ArtifactBucket awss3.Bucket
	// DevDeploymentRole is the dev twin of the prod CloudFormationDeploymentRole.
	DevDeploymentRole awsiam.Role
	// The prod roles, imported by the ARNs that ProdAccountRolesStack creates.
	ProdCrossAccountRole awsiam.IRole
	ProdDeploymentRole   awsiam.IRole
}

// NewPipelineStack creates the artifact store, the build projects and the pipeline.
func NewPipelineStack(scope constructs.Construct, id string, props PipelineStackProps) (*PipelineStack, error) {
	cfg := props.Config
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps(Target{cfg.DevAccountID, cfg.Region},
		"Cross-account CI/CD pipeline: builds in this account, deploys to dev and to prod account "+cfg.ProdAccountID, false))
	s := &PipelineStack{Stack: stack}

	// Artifacts cross into the prod account, so they are encrypted with a customer managed key
	// that the prod roles may use: the AWS managed S3 key cannot be shared across accounts.
	s.ArtifactKey = awskms.NewKey(stack, jsii.String("ArtifactKey"), &awskms.KeyProps{
		Alias:             jsii.String("alias/cross-account-pipeline-artifacts"),
		Description:       jsii.String("Encrypts the artifacts of " + PipelineName),
		EnableKeyRotation: jsii.Bool(true),
		// The retained bucket's objects stay readable only while the key exists; a create that
		// rolls back leaves no orphaned key behind.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	s.ArtifactBucket = awss3.NewBucket(stack, jsii.String("ArtifactBucket"), &awss3.BucketProps{
		BucketName:        jsii.String(ArtifactBucketName(cfg.DevAccountID)),
		Encryption:        awss3.BucketEncryption_KMS,
		EncryptionKey:     s.ArtifactKey,
		BucketKeyEnabled:  jsii.Bool(true),
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		LifecycleRules:    artifactLifecycle(),
		// Kept when the stack is deleted (it holds the code every deployed stack may roll back
		// to), but not when a create rolls back: the retry would fail on the fixed name.
		// `make purge` removes it after `make destroy` (README, Cleanup).
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	allow(s.ArtifactBucket, nagException{Rule: "AwsSolutions-S1",
		Reason: "The artifact bucket is read and written only by the pipeline's roles, and CloudTrail records who used it. " +
			"A log bucket would only move the same finding to the log bucket."})

	s.ProdCrossAccountRole = importRole(stack, "ProdCrossAccountRole", cfg.ProdAccountID, CrossAccountRoleName)
	s.ProdDeploymentRole = importRole(stack, "ProdDeploymentRole", cfg.ProdAccountID, DeploymentRoleName)

	// CloudFormation in prod makes Lambda fetch the code from this bucket with the deployment
	// role's credentials, so that role needs the artifacts too. The pipeline grants the cross
	// account role by itself. Naming the roles, not the prod account, keeps every other
	// principal of the prod account out.
	s.ArtifactBucket.GrantRead(s.ProdDeploymentRole, nil)

	s.DevDeploymentRole = awsiam.NewRole(stack, jsii.String("DevDeploymentRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("cloudformation.amazonaws.com"), nil),
		Description: jsii.String("Used by CloudFormation to create " + DevDeploymentStackName),
	})
	values := policyValues(stack, DevDeploymentStackName, DevStage, ArtifactBucketName(cfg.DevAccountID), *s.ArtifactKey.KeyArn())
	if err := attachPolicy(s.DevDeploymentRole, policies.DeploymentRole, values, nil); err != nil {
		return nil, err
	}

	appBuild, err := buildProject(stack, "ApplicationBuild", assets.ApplicationBuildspec, s.ArtifactBucket, nil)
	if err != nil {
		return nil, err
	}
	smoke, err := buildProject(stack, "SmokeTest", assets.SmokeBuildspec, s.ArtifactBucket, nil)
	if err != nil {
		return nil, err
	}
	synth, err := buildProject(stack, "CdkSynth", assets.SynthBuildspec, s.ArtifactBucket, map[string]string{
		"DEV_ACCOUNT":     cfg.DevAccountID,
		"PROD_ACCOUNT":    cfg.ProdAccountID,
		"REGION":          cfg.Region,
		"REPOSITORY_NAME": cfg.RepositoryName,
		"BRANCH":          cfg.Branch,
	})
	if err != nil {
		return nil, err
	}

	source := awscodepipeline.NewArtifact(jsii.String("Source"), nil)
	lambdaOut := awscodepipeline.NewArtifact(jsii.String("LambdaBuildOutput"), nil)
	cdkOut := awscodepipeline.NewArtifact(jsii.String("CdkBuildOutput"), nil)

	deployDev := deployStage{
		Name:           deployDevStage,
		App:            props.DevApplication,
		StackName:      DevDeploymentStackName,
		DeploymentRole: s.DevDeploymentRole,
		// Dev alone may replace a stack that failed: a failed first create leaves it in
		// ROLLBACK_COMPLETE, which cannot be updated, and dev holds nothing worth keeping.
		ReplaceOnFailure: true,
	}
	deployProd := deployStage{
		Name:             deployProdStage,
		App:              props.ProdApplication,
		StackName:        ProdDeploymentStackName,
		DeploymentRole:   s.ProdDeploymentRole,
		CrossAccountRole: s.ProdCrossAccountRole,
	}
	stages := []*awscodepipeline.StageProps{
		{
			StageName: jsii.String("Source"),
			Actions:   &[]awscodepipeline.IAction{sourceAction(stack, cfg, source)},
		},
		{
			StageName: jsii.String("Build"),
			Actions: &[]awscodepipeline.IAction{
				awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
					ActionName: jsii.String("Application_Build"),
					Project:    appBuild,
					Input:      source,
					Outputs:    &[]awscodepipeline.Artifact{lambdaOut},
				}),
				awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
					ActionName: jsii.String("CDK_Synth"),
					Project:    synth,
					Input:      source,
					Outputs:    &[]awscodepipeline.Artifact{cdkOut},
				}),
			},
		},
		deployDev.props(smoke, source, lambdaOut, cdkOut),
	}
	if !cfg.SkipProdApproval {
		// The approval is a stage of its own, not an action of Deploy_Prod: a stage rollback
		// re-runs every action of the stage, and a rollback must not wait for a person.
		stages = append(stages, &awscodepipeline.StageProps{
			StageName: jsii.String(approveProdStage),
			Actions: &[]awscodepipeline.IAction{awscodepipelineactions.NewManualApprovalAction(&awscodepipelineactions.ManualApprovalActionProps{
				ActionName: jsii.String("Approve"),
				AdditionalInformation: jsii.String("Dev is deployed and passed its smoke test. Approving deploys this commit to prod account " +
					cfg.ProdAccountID + " (10% canary for 5 minutes, rolled back on errors)."),
				ExternalEntityLink: jsii.String("#{" + deployDevStage + "." + ApiEndpointOutput + "}"),
			})},
		})
	}
	stages = append(stages, deployProd.props(smoke, source, lambdaOut, cdkOut))

	// A fixed name lets the prod role trust exactly this role, not the whole dev account.
	pipelineRole := awsiam.NewRole(stack, jsii.String("PipelineRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(PipelineRoleName),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("codepipeline.amazonaws.com"), nil),
		Description: jsii.String("Service role of " + PipelineName + "; the only principal the prod roles trust"),
	})
	s.Pipeline = awscodepipeline.NewPipeline(stack, jsii.String("Pipeline"), &awscodepipeline.PipelineProps{
		PipelineName:   jsii.String(PipelineName),
		Role:           pipelineRole,
		PipelineType:   awscodepipeline.PipelineType_V2,
		ArtifactBucket: s.ArtifactBucket,
		Stages:         &stages,
	})

	allow(pipelineRole, artifactGrants...)
	allow(s.Pipeline, append(artifactGrants,
		nagException{Rule: "AwsSolutions-IAM5",
			Findings: []string{`Action::cloudformation:(DescribeStack|GetTemplate)\*`, `Resource::arn:.*:cloudformation:.*:stack/` + DevDeploymentStackName + `/\*`},
			Reason: "CDK's policy for the dev deploy action: read-only describe/get variants on the one application " +
				"stack, whose ARN ends in an ID CloudFormation generates."})...)

	awscdk.NewCfnOutput(stack, jsii.String(ArtifactKeyArnOutput), &awscdk.CfnOutputProps{
		Description: jsii.String("Pass to " + ProdRolesStackID + " as parameter " + ArtifactKeyArnParameter),
		Value:       s.ArtifactKey.KeyArn(),
	})
	awscdk.NewCfnOutput(stack, jsii.String(ArtifactBucketNameOutput), &awscdk.CfnOutputProps{Value: s.ArtifactBucket.BucketName()})
	awscdk.NewCfnOutput(stack, jsii.String("PipelineName"), &awscdk.CfnOutputProps{Value: s.Pipeline.PipelineName()})

	return s, nil
}

// Names of the deploy stages; each deploy action publishes its stack's outputs as variables in
// the namespace of its stage's name.
const (
	deployDevStage   = "Deploy_Dev"
	approveProdStage = "Approve_Prod"
	deployProdStage  = "Deploy_Prod"
)

// deployStage is one environment's deploy stage: CloudFormation creates or updates the
// application stack, then the smoke test calls its API.
type deployStage struct {
	// Name is the stage's name and the namespace of the deploy action's output variables.
	Name      string
	App       *ApplicationStack
	StackName string
	// DeploymentRole is the role CloudFormation deploys with; CrossAccountRole, set for another
	// account, is the role the pipeline assumes there to drive CloudFormation.
	DeploymentRole   awsiam.IRole
	CrossAccountRole awsiam.IRole
	// ReplaceOnFailure deletes and recreates a stack in any failed state. Only an environment
	// whose stack may be lost (dev) sets it: in UPDATE_ROLLBACK_FAILED it deletes the stack,
	// with a new API URL and downtime.
	ReplaceOnFailure bool
}

// props builds the stage. The smoke test sits in the same stage as the deploy, and the stage
// rolls back on failure: a failed smoke test or deploy makes CodePipeline redeploy the
// artifacts of the stage's last successful execution.
func (d deployStage) props(smoke awscodebuild.IProject, source, lambdaOut, cdkOut awscodepipeline.Artifact) *awscodepipeline.StageProps {
	deploy := &awscodepipelineactions.CloudFormationCreateUpdateStackActionProps{
		ActionName:         jsii.String("Deploy"),
		RunOrder:           jsii.Number(1),
		VariablesNamespace: jsii.String(d.Name),
		StackName:          jsii.String(d.StackName),
		TemplatePath:       cdkOut.AtPath(jsii.String(TemplateFile(*d.App.StackName()))),
		AdminPermissions:   jsii.Bool(false),
		DeploymentRole:     d.DeploymentRole,
		CfnCapabilities:    &[]awscdk.CfnCapabilities{awscdk.CfnCapabilities_ANONYMOUS_IAM},
		ParameterOverrides: d.App.LambdaCode.Assign(lambdaOut.S3Location()),
		ExtraInputs:        &[]awscodepipeline.Artifact{lambdaOut},
		ReplaceOnFailure:   jsii.Bool(d.ReplaceOnFailure),
	}
	if d.CrossAccountRole != nil {
		deploy.Role = d.CrossAccountRole
	}
	return &awscodepipeline.StageProps{
		StageName: jsii.String(d.Name),
		Actions: &[]awscodepipeline.IAction{
			awscodepipelineactions.NewCloudFormationCreateUpdateStackAction(deploy),
			awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
				ActionName: jsii.String("Smoke_Test"),
				RunOrder:   jsii.Number(2),
				Project:    smoke,
				Input:      source,
				EnvironmentVariables: &map[string]*awscodebuild.BuildEnvironmentVariable{
					"API_URL": {Value: jsii.String("#{" + d.Name + "." + ApiEndpointOutput + "}")},
					"STAGE":   {Value: jsii.String(d.App.Stage)},
				},
			}),
		},
		OnFailure: &awscodepipeline.FailureConditions{Result: awscodepipeline.Result_ROLLBACK},
	}
}

// sourceAction starts the pipeline on every push to the configured branch: from CodeCommit by
// default, or from GitHub through an AWS CodeConnections connection when one is configured.
func sourceAction(stack awscdk.Stack, cfg Config, output awscodepipeline.Artifact) awscodepipeline.IAction {
	if cfg.UsesGitHub() {
		owner, repo, _ := strings.Cut(cfg.GitHubRepository, "/")
		return awscodepipelineactions.NewCodeStarConnectionsSourceAction(&awscodepipelineactions.CodeStarConnectionsSourceActionProps{
			ActionName:    jsii.String("GitHub_Source"),
			ConnectionArn: jsii.String(cfg.ConnectionArn),
			Owner:         jsii.String(owner),
			Repo:          jsii.String(repo),
			Branch:        jsii.String(cfg.Branch),
			Output:        output,
			TriggerOnPush: jsii.Bool(true),
		})
	}
	return awscodepipelineactions.NewCodeCommitSourceAction(&awscodepipelineactions.CodeCommitSourceActionProps{
		ActionName: jsii.String("CodeCommit_Source"),
		Repository: awscodecommit.Repository_FromRepositoryName(stack, jsii.String("Repository"), jsii.String(cfg.RepositoryName)),
		Branch:     jsii.String(cfg.Branch),
		Output:     output,
		Trigger:    awscodepipelineactions.CodeCommitTrigger_EVENTS,
	})
}

func ptr[T any](v T) *T { return &v }

// importRole refers to a role of another account by the name its own stack gives it. Immutable:
// the pipeline stack must never try to attach policies to a role it does not own.
func importRole(stack awscdk.Stack, id, account, name string) awsiam.IRole {
	return awsiam.Role_FromRoleArn(stack, jsii.String(id), roleArn(stack, account, name), &awsiam.FromRoleArnOptions{Mutable: jsii.Bool(false)})
}

// buildProject creates a CodeBuild project from one of the embedded buildspecs. Builds run on
// ARM, the architecture of the Lambda they build, encrypt their output with the artifact key,
// and keep the caches their buildspec names in the artifact bucket, so a build does not pay the
// cold compile of the CDK bindings (minutes) every time.
func buildProject(stack awscdk.Stack, id, buildspec string, bucket awss3.Bucket, env map[string]string) (awscodebuild.PipelineProject, error) {
	spec, err := assets.Buildspec(buildspec)
	if err != nil {
		return nil, err
	}
	vars := map[string]*awscodebuild.BuildEnvironmentVariable{}
	for k, v := range env {
		vars[k] = &awscodebuild.BuildEnvironmentVariable{Value: jsii.String(v)}
	}
	project := awscodebuild.NewPipelineProject(stack, jsii.String(id), &awscodebuild.PipelineProjectProps{
		BuildSpec: awscodebuild.BuildSpec_FromObjectToYaml(&spec),
		Environment: &awscodebuild.BuildEnvironment{
			BuildImage:  awscodebuild.LinuxArmBuildImage_AMAZON_LINUX_2023_STANDARD_3_0(),
			ComputeType: awscodebuild.ComputeType_SMALL,
		},
		EnvironmentVariables: &vars,
		EncryptionKey:        bucket.EncryptionKey(),
		Cache:                awscodebuild.Cache_Bucket(bucket, &awscodebuild.BucketCacheOptions{Prefix: jsii.String(BuildCachePrefix + id)}),
		Timeout:              awscdk.Duration_Minutes(jsii.Number(30)),
	})
	allow(project, append(artifactGrants,
		nagException{Rule: "AwsSolutions-IAM5",
			Findings: []string{`Resource::arn:.*:logs:.*:log-group:/aws/codebuild/<.*>:\*`, `Resource::arn:.*:codebuild:.*:report-group/<.*>-\*`},
			Reason: "CDK's default CodeBuild grants: the log streams of this project's own log group and the report " +
				"groups named after the project; both names are generated per build."})...)
	return project, nil
}

// artifactLifecycle expires only what nothing can roll back to. Pipeline artifacts (under the
// pipeline's prefix) never expire: CloudFormation's rollback of an application stack re-applies
// the previous deployment's Lambda code key, and a stage rollback redeploys the artifacts of the
// last successful execution, however old either is. Build caches are rebuilt by the next build
// when missing, so they expire under their own prefix.
func artifactLifecycle() *[]*awss3.LifecycleRule {
	return &[]*awss3.LifecycleRule{
		{Id: jsii.String("ExpireBuildCaches"), Prefix: jsii.String(BuildCachePrefix), Expiration: awscdk.Duration_Days(jsii.Number(BuildCacheDays))},
		{Id: jsii.String("AbortIncompleteUploads"), AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1))},
	}
}
