package stacks

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodebuild"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodecommit"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipelineactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/policies"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// PipelineStackProps configures the pipeline in the first environment's account.
type PipelineStackProps struct {
	Config config.Config
	// The application stacks whose templates the pipeline deploys, one per environment in
	// deployment order; their LambdaCode tells the deploy actions which parameters receive the
	// build output.
	Applications []*ApplicationStack
}

// PipelineStack is the CI/CD pipeline in the first environment's account: source, build and
// synth, then a deploy stage per environment, through the roles of the account's roles stack
// for every other account.
type PipelineStack struct {
	awscdk.Stack
	Pipeline       awscodepipeline.Pipeline
	ArtifactKey    awskms.Key
	ArtifactBucket awss3.Bucket
	// LocalDeploymentRoles are the deployment roles of the environments in the pipeline's own
	// account (twins of the roles stacks' CloudFormationDeploymentRole), by environment name.
	LocalDeploymentRoles map[string]awsiam.Role
	// DeploymentRoles are every environment's deployment role, by environment name: the local
	// ones, and those of other accounts imported by the ARNs their roles stacks create.
	DeploymentRoles map[string]awsiam.IRole
	// CrossAccountRoles are the roles the pipeline assumes in other accounts, by account.
	CrossAccountRoles map[string]awsiam.IRole
}

// NewPipelineStack creates the artifact store, the deployment roles, the build projects and the
// pipeline, whose stages follow config.Stages.
func NewPipelineStack(scope constructs.Construct, id string, props PipelineStackProps) (*PipelineStack, error) {
	cfg := props.Config
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps(Target{cfg.PipelineAccount(), cfg.Region},
		"Cross-account CI/CD pipeline: builds in this account, deploys to "+deployList(cfg), false))
	s := &PipelineStack{Stack: stack, LocalDeploymentRoles: map[string]awsiam.Role{},
		DeploymentRoles: map[string]awsiam.IRole{}, CrossAccountRoles: map[string]awsiam.IRole{}}
	s.addArtifactStore(cfg.PipelineAccount())
	if err := s.addDeploymentRoles(cfg); err != nil {
		return nil, err
	}
	parts, err := s.newPipelineParts(cfg, props.Applications)
	if err != nil {
		return nil, err
	}
	var stages []*awscodepipeline.StageProps
	for _, stage := range config.Stages(cfg) {
		stages = append(stages, parts.stage(stage))
	}
	s.addPipeline(cfg, stages, parts.topic)
	s.addOutputs(cfg)
	return s, nil
}

// addArtifactStore creates the artifact key and bucket. Artifacts cross into other accounts, so
// they are encrypted with a customer managed key that the other accounts' roles may use: the AWS
// managed S3 key cannot be shared across accounts.
func (s *PipelineStack) addArtifactStore(home string) {
	s.ArtifactKey = awskms.NewKey(s.Stack, jsii.String("ArtifactKey"), &awskms.KeyProps{
		Alias:             jsii.String("alias/cross-account-pipeline-artifacts"),
		Description:       jsii.String("Encrypts the artifacts of " + config.PipelineName),
		EnableKeyRotation: jsii.Bool(true),
		// The retained bucket's objects stay readable only while the key exists; a create that
		// rolls back leaves no orphaned key behind.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	s.ArtifactBucket = awss3.NewBucket(s.Stack, jsii.String("ArtifactBucket"), &awss3.BucketProps{
		BucketName:        jsii.String(config.ArtifactBucketName(home)),
		Encryption:        awss3.BucketEncryption_KMS,
		EncryptionKey:     s.ArtifactKey,
		BucketKeyEnabled:  jsii.Bool(true),
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		LifecycleRules:    artifactLifecycle(),
		// Kept when the stack is deleted (it holds the code every deployed stack may roll back
		// to), but not when a create rolls back: the retry would fail on the fixed name.
		// `make purge` removes it after `make destroy` (config.Retained).
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	allow(s.ArtifactBucket, nagException{Rule: "AwsSolutions-S1",
		Reason: "The artifact bucket is read and written only by the pipeline's roles, and CloudTrail records who used it. " +
			"A log bucket would only move the same finding to the log bucket."})
}

// addDeploymentRoles creates the deployment role (and boundary) of each environment in the
// pipeline's own account, and imports the roles that other accounts' roles stacks create.
func (s *PipelineStack) addDeploymentRoles(cfg config.Config) error {
	home := cfg.PipelineAccount()
	for _, env := range cfg.Environments {
		if env.Account == home {
			role := awsiam.NewRole(s.Stack, jsii.String(env.Title()+"DeploymentRole"), &awsiam.RoleProps{
				AssumedBy:   awsiam.NewServicePrincipal(jsii.String("cloudformation.amazonaws.com"), nil),
				Description: jsii.String("Used by CloudFormation to create " + env.DeploymentStackName()),
			})
			values := policyValues(s.Stack, env, config.ArtifactBucketName(home), *s.ArtifactKey.KeyArn())
			if err := attachPolicy(role, "", policies.DeploymentRole, values, nil); err != nil {
				return err
			}
			if err := newApplicationBoundary(s.Stack, env.Title()+"ApplicationBoundary", env, values); err != nil {
				return err
			}
			s.LocalDeploymentRoles[env.Name] = role
			s.DeploymentRoles[env.Name] = role
			continue
		}
		if _, ok := s.CrossAccountRoles[env.Account]; !ok {
			s.CrossAccountRoles[env.Account] = importRole(s.Stack, env.Title()+"CrossAccountRole", env.Account, config.CrossAccountRoleName)
		}
		role := importRole(s.Stack, env.Title()+"DeploymentRole", env.Account, config.DeploymentRoleNameFor(env))
		s.DeploymentRoles[env.Name] = role
		// CloudFormation in the other account makes Lambda fetch the code from this bucket with
		// the deployment role's credentials, so that role needs the artifacts too. The pipeline
		// grants the cross-account role by itself. Naming the roles, not the account, keeps
		// every other principal of that account out.
		s.ArtifactBucket.GrantRead(role, nil)
	}
	return nil
}

// pipelineParts are what the stages are made of: the build projects, the artifacts, the
// self-update, the roles check and the digests.
type pipelineParts struct {
	s                         *PipelineStack
	apps                      []*ApplicationStack
	appBuild, smoke, synth    awscodebuild.PipelineProject
	topic                     awssns.ITopic
	update                    selfUpdate
	check                     *rolesCheck
	source, lambdaOut, cdkOut awscodepipeline.Artifact
	digests                   artifactDigests
	src                       awscodepipeline.IAction
}

// newPipelineParts creates the build projects and everything else the stages share.
func (s *PipelineStack) newPipelineParts(cfg config.Config, apps []*ApplicationStack) (*pipelineParts, error) {
	p := &pipelineParts{s: s, apps: apps}
	var err error
	if p.appBuild, err = buildProject(s.Stack, "ApplicationBuild", assets.ApplicationBuildspec, s.ArtifactBucket,
		projectOptions{Reads: []string{SourceArtifact}, Writes: LambdaArtifact}); err != nil {
		return nil, err
	}
	// The smoke tests run repository code after a deploy and before the next approval: they
	// read the source and write nothing, so they cannot change what the next stage deploys.
	if p.smoke, err = buildProject(s.Stack, "SmokeTest", assets.SmokeBuildspec, s.ArtifactBucket, projectOptions{Reads: []string{SourceArtifact}}); err != nil {
		return nil, err
	}
	if p.synth, err = buildProject(s.Stack, "CdkSynth", assets.SynthBuildspec, s.ArtifactBucket,
		projectOptions{Env: synthEnvironment(cfg), Reads: []string{SourceArtifact}, Writes: CdkArtifact, LocalCache: true}); err != nil {
		return nil, err
	}
	// Approvals and the notification rule send to this topic, when notifications are configured.
	if cfg.Notifications.Enabled() {
		p.topic = notificationTopic(s.Stack, cfg.Notifications)
	}
	if p.update, err = newSelfUpdate(s.Stack, s.ArtifactBucket, cfg.PipelineAccount()); err != nil {
		return nil, err
	}
	if p.check, err = newRolesCheck(s.Stack, cfg, s.ArtifactBucket, *s.ArtifactKey.KeyArn()); err != nil {
		return nil, err
	}
	p.source = awscodepipeline.NewArtifact(jsii.String(SourceArtifact), nil)
	p.lambdaOut = awscodepipeline.NewArtifact(jsii.String(LambdaArtifact), nil)
	p.cdkOut = awscodepipeline.NewArtifact(jsii.String(CdkArtifact), nil)
	var templates []string
	for _, app := range apps {
		templates = append(templates, config.TemplateFile(*app.StackName()))
	}
	if p.digests, err = newArtifactDigests(s.Stack, s.ArtifactBucket, p.cdkOut, p.lambdaOut, templates); err != nil {
		return nil, err
	}
	p.src = sourceAction(s.Stack, cfg, p.source)
	return p, nil
}

// stage builds one stage of config.Stages.
func (p *pipelineParts) stage(stage config.Stage) *awscodepipeline.StageProps {
	switch stage.Kind {
	case config.StageSource:
		return &awscodepipeline.StageProps{StageName: jsii.String(stage.Name), Actions: &[]awscodepipeline.IAction{p.src}}
	case config.StageBuild:
		return &awscodepipeline.StageProps{StageName: jsii.String(stage.Name), Actions: &[]awscodepipeline.IAction{
			p.build("Application_Build", p.appBuild, p.lambdaOut),
			p.build("CDK_Synth", p.synth, p.cdkOut),
			p.update.reviewAction(p.cdkOut),
			p.digests.record(),
		}}
	case config.StageApproveUpdate:
		return p.update.stages(p.cdkOut, p.topic, *p.src.ActionProperties().ActionName)[0]
	case config.StageUpdate:
		return p.update.stages(p.cdkOut, p.topic, *p.src.ActionProperties().ActionName)[1]
	case config.StageCheckRoles:
		return p.check.stage(p.cdkOut)
	case config.StageApprove:
		return p.approveStage(stage)
	}
	return p.deployStage(stage)
}

// build is a build action that reads the source and writes one artifact.
func (p *pipelineParts) build(name string, project awscodebuild.IProject, output awscodepipeline.Artifact) awscodepipeline.IAction {
	return awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
		ActionName: jsii.String(name),
		Project:    project,
		Input:      p.source,
		Outputs:    &[]awscodepipeline.Artifact{output},
	})
}

// approveStage is an environment's approval, a stage of its own rather than an action of the
// deploy stage: a stage rollback re-runs every action of the stage, and a rollback must not wait
// for a person. The preview runs first, so the approver reads what deploying changes.
func (p *pipelineParts) approveStage(stage config.Stage) *awscodepipeline.StageProps {
	i, env := stage.Index, stage.Env
	approve := &awscodepipelineactions.ManualApprovalActionProps{
		ActionName:            jsii.String("Approve"),
		RunOrder:              jsii.Number(2),
		AdditionalInformation: jsii.String(approvalText(p.apps, i) + previewText(env)),
		NotificationTopic:     p.topic,
	}
	if i > 0 {
		approve.ExternalEntityLink = jsii.String("#{" + p.apps[i-1].Environment.DeployStage() + "." + ApiEndpointOutput + "}")
	}
	return &awscodepipeline.StageProps{
		StageName: jsii.String(stage.Name),
		Actions:   &[]awscodepipeline.IAction{p.check.preview(env, p.cdkOut), awscodepipelineactions.NewManualApprovalAction(approve)},
	}
}

// deployStage is an environment's deploy, through the cross-account role in another account.
func (p *pipelineParts) deployStage(stage config.Stage) *awscodepipeline.StageProps {
	app, env := p.apps[stage.Index], stage.Env
	d := deployStage{
		Name:           stage.Name,
		App:            app,
		StackName:      env.DeploymentStackName(),
		DeploymentRole: p.s.DeploymentRoles[env.Name],
		// Only the first environment may replace a stack that failed: a failed first create
		// leaves it in ROLLBACK_COMPLETE, which cannot be updated, and the first environment
		// holds nothing worth keeping. Every later one is updated, never replaced.
		ReplaceOnFailure: app.Replaceable,
		Window:           env.Window,
		CrossAccountRole: p.s.CrossAccountRoles[env.Account],
	}
	return d.props(p.digests.verify(), p.smoke, p.source, p.lambdaOut, p.cdkOut)
}

// addPipeline creates the pipeline and its service role.
func (s *PipelineStack) addPipeline(cfg config.Config, stages []*awscodepipeline.StageProps, topic awssns.ITopic) {
	// A fixed name lets the other accounts' roles trust exactly this role, not the whole account.
	pipelineRole := awsiam.NewRole(s.Stack, jsii.String("PipelineRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(config.PipelineRoleName),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("codepipeline.amazonaws.com"), nil),
		Description: jsii.String("Service role of " + config.PipelineName + "; the only principal the " + remoteNames(cfg) + " roles trust"),
	})
	s.Pipeline = awscodepipeline.NewPipeline(s.Stack, jsii.String("Pipeline"), &awscodepipeline.PipelineProps{
		PipelineName:   jsii.String(config.PipelineName),
		Role:           pipelineRole,
		PipelineType:   awscodepipeline.PipelineType_V2,
		ExecutionMode:  awscodepipeline.ExecutionMode(cfg.ExecutionModeOrDefault()),
		ArtifactBucket: s.ArtifactBucket,
		Stages:         &stages,
		Variables:      &[]awscodepipeline.Variable{restartedFor()},
	})
	if topic != nil {
		notifyOn(s.Pipeline, topic)
	}
	// The deploy actions in the pipeline's own account get CDK's generated policies.
	var localStackNames, localEnvNames []string
	for _, e := range cfg.Environments {
		if e.Account == cfg.PipelineAccount() {
			localStackNames = append(localStackNames, e.DeploymentStackName())
			localEnvNames = append(localEnvNames, e.Name)
		}
	}
	localStacks, localNames := strings.Join(localStackNames, "|"), strings.Join(localEnvNames, " and ")
	if len(localStackNames) > 1 {
		localStacks = "(" + localStacks + ")"
	}
	allow(pipelineRole, artifactGrants...)
	allow(s.Pipeline, append(artifactGrants,
		nagException{Rule: "AwsSolutions-IAM5",
			Findings: []string{`Action::cloudformation:(DescribeStack|GetTemplate)\*`, `Resource::arn:.*:cloudformation:.*:stack/` + localStacks + `/\*`},
			Reason: "CDK's policy for the " + localNames + " deploy action: read-only describe/get variants on the one application " +
				"stack, whose ARN ends in an ID CloudFormation generates."})...)
}

// addOutputs are what users and the Makefile read from the stack.
func (s *PipelineStack) addOutputs(cfg config.Config) {
	awscdk.NewCfnOutput(s.Stack, jsii.String(config.ArtifactKeyArnOutput), &awscdk.CfnOutputProps{
		Description: jsii.String("Pass to " + rolesStackList(cfg) + " as parameter " + config.ArtifactKeyArnParameter),
		Value:       s.ArtifactKey.KeyArn(),
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String(config.ArtifactBucketNameOutput), &awscdk.CfnOutputProps{Value: s.ArtifactBucket.BucketName()})
	awscdk.NewCfnOutput(s.Stack, jsii.String("PipelineName"), &awscdk.CfnOutputProps{Value: s.Pipeline.PipelineName()})
}

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
	// Window, when set, holds the stage at its entry until the deployment window opens.
	Window *config.DeploymentWindow
}

// props builds the stage. verify checks the artifacts' digests first; the smoke test sits in the
// same stage as the deploy, and the stage rolls back on failure: a failed smoke test or deploy
// makes CodePipeline redeploy the artifacts of the stage's last successful execution.
func (d deployStage) props(verify awscodepipeline.IAction, smoke awscodebuild.IProject, source, lambdaOut, cdkOut awscodepipeline.Artifact) *awscodepipeline.StageProps {
	deploy := &awscodepipelineactions.CloudFormationCreateUpdateStackActionProps{
		ActionName:         jsii.String("Deploy"),
		RunOrder:           jsii.Number(2),
		VariablesNamespace: jsii.String(d.Name),
		StackName:          jsii.String(d.StackName),
		TemplatePath:       cdkOut.AtPath(jsii.String(config.TemplateFile(*d.App.StackName()))),
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
	var window *awscodepipeline.Conditions
	if d.Window != nil {
		config := map[string]any{"Cron": d.Window.Cron}
		if d.Window.TimeZone != "" {
			config["TimeZone"] = d.Window.TimeZone
		}
		window = &awscodepipeline.Conditions{Conditions: &[]*awscodepipeline.Condition{{
			Result: awscodepipeline.Result_FAIL,
			Rules: &[]awscodepipeline.Rule{awscodepipeline.NewRule(&awscodepipeline.RuleProps{
				// Rule names must be unique within the pipeline: one per windowed stage.
				Name:          jsii.String(d.Name + "_Window"),
				Provider:      jsii.String("DeploymentWindow"),
				Version:       jsii.String("1"),
				Configuration: &config,
			})},
		}}}
	}
	return &awscodepipeline.StageProps{
		BeforeEntry: window,
		StageName:   jsii.String(d.Name),
		Actions: &[]awscodepipeline.IAction{
			verify,
			awscodepipelineactions.NewCloudFormationCreateUpdateStackAction(deploy),
			awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
				ActionName: jsii.String("Smoke_Test"),
				RunOrder:   jsii.Number(3),
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
func sourceAction(stack awscdk.Stack, cfg config.Config, output awscodepipeline.Artifact) awscodepipeline.IAction {
	if cfg.UsesGitHub() {
		owner, repo, _ := strings.Cut(cfg.GitHubRepository, "/")
		return awscodepipelineactions.NewCodeStarConnectionsSourceAction(&awscodepipelineactions.CodeStarConnectionsSourceActionProps{
			ActionName:         jsii.String("GitHub_Source"),
			ConnectionArn:      jsii.String(cfg.ConnectionArn),
			Owner:              jsii.String(owner),
			Repo:               jsii.String(repo),
			Branch:             jsii.String(cfg.Branch),
			Output:             output,
			TriggerOnPush:      jsii.Bool(true),
			VariablesNamespace: jsii.String(config.SourceNamespace),
		})
	}
	return awscodepipelineactions.NewCodeCommitSourceAction(&awscodepipelineactions.CodeCommitSourceActionProps{
		ActionName:         jsii.String("CodeCommit_Source"),
		Repository:         awscodecommit.Repository_FromRepositoryName(stack, jsii.String("Repository"), jsii.String(cfg.RepositoryName)),
		Branch:             jsii.String(cfg.Branch),
		Output:             output,
		Trigger:            awscodepipelineactions.CodeCommitTrigger_EVENTS,
		VariablesNamespace: jsii.String(config.SourceNamespace),
	})
}

// importRole refers to a role of another account by the name its own stack gives it. Immutable:
// the pipeline stack must never try to attach policies to a role it does not own.
func importRole(stack awscdk.Stack, id, account, name string) awsiam.IRole {
	return awsiam.Role_FromRoleArn(stack, jsii.String(id), roleArn(stack, account, name), &awsiam.FromRoleArnOptions{Mutable: jsii.Bool(false)})
}

// deployList describes where the pipeline deploys: "dev and to prod account 222222222222".
func deployList(cfg config.Config) string {
	var parts []string
	for _, e := range cfg.Environments {
		p := e.Name
		if e.Account != cfg.PipelineAccount() {
			p += " account " + e.Account
		}
		parts = append(parts, p)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", to ") + " and to " + parts[len(parts)-1]
}

// remoteNames names the environments of other accounts: "prod", "staging and prod".
func remoteNames(cfg config.Config) string {
	var names []string
	for _, e := range cfg.Environments {
		if e.Account != cfg.PipelineAccount() {
			names = append(names, e.Name)
		}
	}
	return strings.Join(names, " and ")
}

// rolesStackList names the roles stacks that take the artifact key's ARN.
func rolesStackList(cfg config.Config) string {
	var ids []string
	for _, account := range config.RemoteAccounts(cfg) {
		ids = append(ids, config.RolesStackID(config.EnvironmentsIn(cfg, account)))
	}
	return strings.Join(ids, " and ")
}

// trafficText says how CodeDeploy shifts an environment's traffic, for the approver.
func trafficText(t config.Traffic) string {
	style, _ := t.Style()
	return style.Text + ", rolled back on errors"
}

// approvalText tells the approver what the previous environment showed, what approving does,
// and exactly which artifacts it approves: Verify_Artifacts lets through no others.
func approvalText(apps []*ApplicationStack, i int) string {
	env := apps[i].Environment
	text := "Approving deploys this commit to " + env.Name + " account " + env.Account + " (" + trafficText(env.Traffic) + ")."
	if i > 0 {
		text = apps[i-1].Environment.Title() + " is deployed and passed its smoke test. " + text
	}
	return text + " Artifacts (sha256): templates " + digestVariable("TEMPLATES") + ", code " + digestVariable("CODE") + "."
}

// synthEnvironment is what CDK_Synth synthesizes with: the config the pipeline was deployed
// with, so no account ID needs to be committed. The Makefile turns these into -c flags.
func synthEnvironment(cfg config.Config) map[string]string {
	env := map[string]string{
		"REGION":          cfg.Region,
		"REPOSITORY_NAME": cfg.RepositoryName,
		"BRANCH":          cfg.Branch,
		// The app's name scopes every deployment role; a push must not change it.
		"APP_NAME": cfg.AppName,
	}
	if cfg.Notifications.Enabled() {
		env["NOTIFICATIONS"] = cfg.Notifications.TopicArn
		if len(cfg.Notifications.Emails) > 0 {
			list, _ := json.Marshal(cfg.Notifications.Emails)
			env["NOTIFICATIONS"] = string(list)
		}
	}
	if cfg.ExecutionModeOrDefault() != config.ExecutionModeQueued {
		env["EXECUTION_MODE"] = cfg.ExecutionModeOrDefault()
	}
	if cfg.Shorthand {
		env["DEV_ACCOUNT"], env["PROD_ACCOUNT"] = cfg.Environments[0].Account, cfg.Environments[1].Account
		if !cfg.Environments[1].Approval {
			env["PROD_APPROVAL"] = "false"
		}
		return env
	}
	env["ENVIRONMENTS"] = config.EnvironmentsJSON(cfg.Environments)
	return env
}

// artifactLifecycle expires only what nothing can roll back to. Pipeline artifacts (under the
// pipeline's prefix) never expire: CloudFormation's rollback of an application stack re-applies
// the previous deployment's Lambda code key, and a stage rollback redeploys the artifacts of the
// last successful execution, however old either is. Build caches, which earlier versions kept in
// the bucket (builds now keep none there), expire under their own prefix.
func artifactLifecycle() *[]*awss3.LifecycleRule {
	return &[]*awss3.LifecycleRule{
		{Id: jsii.String("ExpireBuildCaches"), Prefix: jsii.String(config.BuildCachePrefix), Expiration: awscdk.Duration_Days(jsii.Number(config.BuildCacheDays))},
		{Id: jsii.String("AbortIncompleteUploads"), AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1))},
	}
}
