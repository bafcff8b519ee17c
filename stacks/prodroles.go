package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/policies"
)

// ProdRolesStackProps configures the roles stack in the prod account.
type ProdRolesStackProps struct {
	Target Target
	// DevAccountID is the account whose pipeline assumes CodePipelineCrossAccountRole.
	DevAccountID string
	// ArtifactBucket is the dev account's artifact bucket that both roles read.
	ArtifactBucket string
}

// ProdRolesStack holds the two roles the dev account's pipeline uses in the prod account. It is
// a plain template (no bootstrap, no assets) that a prod administrator can deploy with
// `cdk deploy` or upload to the CloudFormation console.
//
// The artifact key exists only after the pipeline stack is deployed, while the pipeline stack
// needs these roles to exist (KMS and S3 refuse policies naming unknown principals). So the key
// ARN is a parameter: deploy once without it, deploy the pipeline, then update this stack with
// the pipeline's ArtifactBucketEncryptionKeyArn output. Until then the key statements are absent.
type ProdRolesStack struct {
	awscdk.Stack
	CrossAccountRole awsiam.Role
	DeploymentRole   awsiam.Role
	ArtifactKeyArn   awscdk.CfnParameter
}

// NewProdRolesStack creates the two roles with the policies from policies/.
func NewProdRolesStack(scope constructs.Construct, id string, props ProdRolesStackProps) (*ProdRolesStack, error) {
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps(props.Target,
		"Roles that let the dev account's CrossAccountPipeline deploy into this account", true))

	keyArn := awscdk.NewCfnParameter(stack, jsii.String(ArtifactKeyArnParameter), &awscdk.CfnParameterProps{
		Type:    jsii.String("String"),
		Default: jsii.String(""),
		Description: jsii.String("ARN of the pipeline's artifact key (output " + ArtifactKeyArnOutput +
			" of " + PipelineStackID + "); empty on the first deployment"),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$`),
		ConstraintDescription: jsii.String("must be empty or a KMS key ARN such as arn:aws:kms:us-east-1:111111111111:key/1234abcd-..."),
	})
	hasKey := awscdk.NewCfnCondition(stack, jsii.String("HasArtifactKey"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(keyArn.ValueAsString(), jsii.String(""))),
	})

	values := policyValues(stack, ProdDeploymentStackName, ProdStage, props.ArtifactBucket, *keyArn.ValueAsString())

	crossAccount := awsiam.NewRole(stack, jsii.String("CrossAccountRole"), &awsiam.RoleProps{
		RoleName: jsii.String(CrossAccountRoleName),
		// Trusting the dev account with a condition on the caller's ARN, rather than naming the
		// pipeline role as principal, keeps the trust exact and the deploy order free: IAM
		// rejects a trust policy naming a role that does not exist yet, but not a condition.
		AssumedBy: awsiam.NewAccountPrincipal(jsii.String(props.DevAccountID)).WithConditions(&map[string]any{
			"ArnEquals": map[string]any{"aws:PrincipalArn": roleArn(stack, props.DevAccountID, PipelineRoleName)},
		}),
		Description: jsii.String("Assumed by CrossAccountPipeline in account " + props.DevAccountID + " to deploy " + ProdDeploymentStackName),
	})
	deployment := awsiam.NewRole(stack, jsii.String("DeploymentRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(DeploymentRoleName),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("cloudformation.amazonaws.com"), nil),
		Description: jsii.String("Used by CloudFormation to create " + ProdDeploymentStackName),
	})
	for _, r := range []struct {
		role   awsiam.Role
		policy string
	}{{crossAccount, policies.CrossAccountRole}, {deployment, policies.DeploymentRole}} {
		if err := attachPolicy(r.role, r.policy, values, hasKey); err != nil {
			return nil, err
		}
	}

	awscdk.NewCfnOutput(stack, jsii.String("CrossAccountRoleArn"), &awscdk.CfnOutputProps{Value: crossAccount.RoleArn()})
	awscdk.NewCfnOutput(stack, jsii.String("DeploymentRoleArn"), &awscdk.CfnOutputProps{Value: deployment.RoleArn()})

	return &ProdRolesStack{Stack: stack, CrossAccountRole: crossAccount, DeploymentRole: deployment, ArtifactKeyArn: keyArn}, nil
}
