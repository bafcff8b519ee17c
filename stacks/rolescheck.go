package stacks

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodebuild"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipelineactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// rolesCheck is the trusted project that reads other accounts through their cross-account
// role, in the read-only session the roles stacks allow it: the Check_Roles stage (is each roles
// stack current?) and the Preview action before each approval (what would deploying change?).
type rolesCheck struct {
	cfg     config.Config
	project awscodebuild.PipelineProject
	added   bool
}

func newRolesCheck(stack awscdk.Stack, cfg config.Config, bucket awss3.Bucket, keyArn string) (*rolesCheck, error) {
	c := &rolesCheck{cfg: cfg}
	var statements []awsiam.PolicyStatement
	var targets, local []string
	for _, account := range config.RemoteAccounts(cfg) {
		targets = append(targets, *roleArn(stack, account, config.CrossAccountRoleName))
	}
	for _, e := range cfg.Environments {
		if e.Approval && e.Account == cfg.PipelineAccount() {
			local = append(local, *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudformation"),
				Resource: jsii.String("stack"), ResourceName: jsii.String(e.DeploymentStackName() + "/*")}))
		}
	}
	if len(targets) > 0 {
		statements = append(statements, statement("ReadRolesStacks", []string{"sts:AssumeRole"}, targets...))
	}
	if len(local) > 0 {
		statements = append(statements, statement("PreviewLocalStacks", []string{"cloudformation:GetTemplate"}, local...))
	}
	if len(statements) == 0 {
		return c, nil
	}
	// A fixed name, so the roles stacks can trust exactly this role (and only with the session
	// name that their deny statement confines to reading).
	role := awsiam.NewRole(stack, jsii.String("RolesCheckRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(config.RolesCheckRoleName),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("codebuild.amazonaws.com"), nil),
		Description: jsii.String("Check_Roles of " + config.PipelineName + ": reads the roles stacks of " + remoteNames(cfg) + " through their cross-account role"),
	})
	// What the actions share lives in the project's environment, not in each action's
	// configuration, whose values CodePipeline limits to 1,000 characters.
	fixes := map[string]string{}
	for _, account := range config.RemoteAccounts(cfg) {
		fixes[account] = config.RolesUpdateCommand(cfg, account, "")
	}
	fixesJSON, _ := json.Marshal(fixes)
	project, err := buildProject(stack, "RolesCheck", assets.RolesCheckBuildspec, bucket, projectOptions{
		Env: map[string]string{"SESSION_NAME": config.RolesCheckSession, "CROSS_ACCOUNT_ROLE": config.CrossAccountRoleName,
			"PIPELINE_ACCOUNT": cfg.PipelineAccount(), "KEY_ARN": keyArn, "FIXES": string(fixesJSON)},
		Role: role, Reads: []string{CdkArtifact}, Statements: statements})
	if err != nil {
		return nil, err
	}
	allow(role, nagException{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:cloudformation:.*:stack/[A-Za-z0-9]+DeploymentStack/\*`},
		Reason: "A stack ARN ends in an ID CloudFormation generates; the stack name is fixed."})
	c.project = project
	return c, nil
}

// stage is Check_Roles; it is added once, before the first environment of another account.
func (c *rolesCheck) stage(cdkOut awscodepipeline.Artifact) *awscodepipeline.StageProps {
	c.added = true
	var actions []awscodepipeline.IAction
	for _, account := range config.RemoteAccounts(c.cfg) {
		id := config.RolesStackID(config.EnvironmentsIn(c.cfg, account))
		actions = append(actions, awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
			ActionName: jsii.String(id),
			Project:    c.project,
			Input:      cdkOut,
			EnvironmentVariables: &map[string]*awscodebuild.BuildEnvironmentVariable{
				"CHECK":       {Value: jsii.String("roles")},
				"ROLES_STACK": {Value: jsii.String(id)},
				"ACCOUNT":     {Value: jsii.String(account)},
			},
		}))
	}
	return &awscodepipeline.StageProps{StageName: jsii.String(config.CheckRolesStage), Actions: &actions}
}

// preview is the Preview action of an environment's approval stage: it compares the
// environment's synthesized template with its deployed stack, read-only, and exports IAM,
// REPLACED and DELETED for the approval's text (previewText).
func (c *rolesCheck) preview(env config.Environment, cdkOut awscodepipeline.Artifact) awscodepipeline.IAction {
	vars := map[string]*awscodebuild.BuildEnvironmentVariable{
		"CHECK":          {Value: jsii.String("preview")},
		"ACCOUNT":        {Value: jsii.String(env.Account)},
		"APP_STACK":      {Value: jsii.String(env.StackID())},
		"DEPLOYED_STACK": {Value: jsii.String(env.DeploymentStackName())},
	}
	return awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
		ActionName:           jsii.String(config.PreviewAction),
		RunOrder:             jsii.Number(1),
		Project:              c.project,
		Input:                cdkOut,
		VariablesNamespace:   jsii.String(previewNamespace(env)),
		EnvironmentVariables: &vars,
	})
}

func previewNamespace(env config.Environment) string { return "Preview_" + env.Title() }

// previewText is what the approval says of the preview; each value is capped (review.js) so
// that the approval's text stays within CodePipeline's 1,000 characters.
func previewText(env config.Environment) string {
	ns := previewNamespace(env)
	return " What deploying changes in " + env.Name + ": IAM #{" + ns + ".IAM}; replaced #{" + ns + ".REPLACED}; deleted #{" + ns +
		".DELETED} (the full diff is in the log of the Preview action)."
}
