package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/policies"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// roleArn is the ARN of a named role in an account, in the partition of stack.
func roleArn(stack awscdk.Stack, account, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("iam"),
		Region:       jsii.String(""),
		Account:      jsii.String(account),
		Resource:     jsii.String("role"),
		ResourceName: jsii.String(name),
	})
}

// functionLogging is a Lambda execution role and the one log group it may write to, instead of
// the AWS managed basic execution policy, which allows writing to every log group of the account.
type functionLogging struct {
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
}

// newFunctionLogging creates the role and the log group. The log group exists before the
// function (rather than being named after it), so the role's policy does not depend on the
// function, which depends on the role: CloudFormation rejects that cycle. logGroupName may be
// empty to let CloudFormation name it; path may be empty for the root IAM path.
func newFunctionLogging(scope constructs.Construct, logGroupName, path, description string) functionLogging {
	roleProps := &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(description),
	}
	if path != "" {
		roleProps.Path = jsii.String(path)
	}
	role := awsiam.NewRole(scope, jsii.String("FunctionRole"), roleProps)
	// Logs outlive the function for the investigation after a bad release, but not a failed first
	// create: RETAIN would keep the log group when a create rolls back, and the retry would then
	// fail on its fixed name, every time. `make purge` removes the retained groups (README).
	logProps := &awslogs.LogGroupProps{Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE}
	if logGroupName != "" {
		logProps.LogGroupName = jsii.String(logGroupName)
	}
	logGroup := awslogs.NewLogGroup(scope, jsii.String("FunctionLogs"), logProps)
	logGroup.GrantWrite(role)
	allow(role, nagException{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::<FunctionLogs[0-9A-F]+\.Arn>:\*`},
		Reason: "Lambda creates a log stream per execution environment in the function's own log group; stream names are generated."})
	return functionLogging{Role: role, LogGroup: logGroup}
}

// policyValues fills the placeholders of policies/ for the account and region of stack. The
// partition, region and account are the stack's own tokens, never literals, so the same
// documents serve any partition.
func policyValues(stack awscdk.Stack, env config.Environment, bucket, keyArn string) policies.Values {
	return policies.Values{
		policies.Partition:          *stack.Partition(),
		policies.Region:             *stack.Region(),
		policies.Account:            *stack.Account(),
		policies.ArtifactBucket:     bucket,
		policies.ArtifactKeyArn:     keyArn,
		policies.StackName:          env.DeploymentStackName(),
		policies.AppName:            env.AppName(),
		policies.DeploymentRoleName: config.DeploymentRoleNameFor(env),
		policies.BoundaryArn: *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""),
			Resource: jsii.String("policy"), ResourceName: jsii.String(config.BoundaryPolicyName(env))}),
	}
}

// newApplicationBoundary creates the permissions boundary of an environment's application roles,
// in the account the environment deploys to. A fixed name, so that the application template can
// name it and the deployment role can require it; nothing retains it, so a failed create
// leaves no name behind.
func newApplicationBoundary(stack awscdk.Stack, id string, env config.Environment, values policies.Values) error {
	doc, err := policies.Load(policies.ApplicationBoundary)
	if err != nil {
		return err
	}
	filled, err := doc.Fill(values)
	if err != nil {
		return fmt.Errorf("%s: %w", policies.ApplicationBoundary, err)
	}
	boundary := awsiam.NewManagedPolicy(stack, jsii.String(id), &awsiam.ManagedPolicyProps{
		ManagedPolicyName: jsii.String(config.BoundaryPolicyName(env)),
		Description:       jsii.String("Permissions boundary of every role of " + env.AppName() + ": the most its roles may do"),
		Document:          awsiam.PolicyDocument_FromJson(filled),
	})
	allow(boundary, deploymentPolicyWildcards...)
	return nil
}

// attachPolicy gives role the statements of one policies/ document. With keyCondition set, the
// statements about the artifact key go into a separate policy that exists only under that
// condition, so the role can be deployed before the key exists. idPrefix tells apart the
// policies of a role that gets the same document for several environments.
func attachPolicy(role awsiam.Role, idPrefix, name string, values policies.Values, keyCondition awscdk.CfnCondition) error {
	doc, err := policies.Load(name)
	if err != nil {
		return err
	}
	base, keyStatements := doc, policies.Document{}
	if keyCondition != nil {
		base, keyStatements = doc.Split(policies.ArtifactKeyArn)
	}
	filled, err := base.Fill(values)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	role.AttachInlinePolicy(awsiam.NewPolicy(role, jsii.String(idPrefix+"Policy"), &awsiam.PolicyProps{
		Document: awsiam.PolicyDocument_FromJson(filled),
	}))
	allow(role, deploymentPolicyWildcards...)
	if len(keyStatements.Statement) == 0 {
		return nil
	}
	filled, err = keyStatements.Fill(values)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	keyPolicy := awsiam.NewCfnPolicy(role, jsii.String(idPrefix+"ArtifactKeyPolicy"), &awsiam.CfnPolicyProps{
		PolicyName:     jsii.String(idPrefix + "ArtifactKeyAccess"),
		PolicyDocument: filled,
		Roles:          &[]*string{role.RoleName()},
	})
	keyPolicy.CfnOptions().SetCondition(keyCondition)
	return nil
}
