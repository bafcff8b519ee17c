package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/policies"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// AccountRolesStackProps configures the roles stack of one account other than the pipeline's.
type AccountRolesStackProps struct {
	Target Target
	// PipelineAccount is the account whose pipeline assumes CodePipelineCrossAccountRole, and
	// PipelineEnvironment the name of the environment there ("dev").
	PipelineAccount     string
	PipelineEnvironment string
	// ArtifactBucket is the pipeline's artifact bucket that the roles read.
	ArtifactBucket string
	// Environments are the environments that deploy to this account; the roles cover their
	// application stacks and nothing else.
	Environments []config.Environment
}

// AccountRolesStack holds the roles the pipeline uses in one other account: the cross-account
// role it assumes, and one CloudFormation deployment role per environment of the account. It
// is a plain template (no bootstrap, no assets) that the account's administrator deploys with
// `cdk deploy` or uploads to the CloudFormation console; the pipeline never deploys it.
//
// The artifact key exists only after the pipeline stack is deployed, while the pipeline stack
// needs these roles to exist (KMS and S3 refuse policies naming unknown principals). So the key
// ARN is a parameter: deploy once without it, deploy the pipeline, then update this stack with
// the pipeline's ArtifactBucketEncryptionKeyArn output. Until then the key statements are absent.
type AccountRolesStack struct {
	awscdk.Stack
	Environments     []config.Environment
	CrossAccountRole awsiam.Role
	// DeploymentRoles are the environments' deployment roles, by environment name.
	DeploymentRoles map[string]awsiam.Role
	ArtifactKeyArn  awscdk.CfnParameter
}

// NewAccountRolesStack creates the roles with the policies from policies/.
func NewAccountRolesStack(scope constructs.Construct, id string, props AccountRolesStackProps) (*AccountRolesStack, error) {
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps(props.Target,
		"Roles that let the "+props.PipelineEnvironment+" account's CrossAccountPipeline deploy into this account", true))
	if props.PipelineAccount == "" {
		return nil, fmt.Errorf("%s: no pipeline account", id)
	}

	keyArn, hasKey := artifactKeyParameter(stack)
	var stackNames []string
	for _, e := range props.Environments {
		stackNames = append(stackNames, e.DeploymentStackName())
	}
	crossAccount := awsiam.NewRole(stack, jsii.String("CrossAccountRole"), &awsiam.RoleProps{
		RoleName: jsii.String(config.CrossAccountRoleName),
		// Trusting the pipeline account with a condition on the caller's ARN, rather than naming
		// the pipeline role as principal, keeps the trust exact and the deploy order free: IAM
		// rejects a trust policy naming a role that does not exist yet, but not a condition.
		AssumedBy: awsiam.NewAccountPrincipal(jsii.String(props.PipelineAccount)).WithConditions(&map[string]any{
			"ArnEquals": map[string]any{"aws:PrincipalArn": roleArn(stack, props.PipelineAccount, config.PipelineRoleName)},
		}),
		Description: jsii.String("Assumed by CrossAccountPipeline in account " + props.PipelineAccount + " to deploy " + strings.Join(stackNames, " and ")),
	})
	// The pipeline's Check_Roles may read this stack through the same role, in a session whose
	// name the trust requires and the RolesCheck policy confines to reading (policies/).
	crossAccount.AssumeRolePolicy().AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("sts:AssumeRole"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAccountPrincipal(jsii.String(props.PipelineAccount))},
		Conditions: &map[string]any{
			"ArnEquals":    map[string]any{"aws:PrincipalArn": roleArn(stack, props.PipelineAccount, config.RolesCheckRoleName)},
			"StringEquals": map[string]any{"sts:RoleSessionName": config.RolesCheckSession},
		},
	}))
	checkValues := policies.Values{
		policies.Partition:         *stack.Partition(),
		policies.Region:            *stack.Region(),
		policies.Account:           *stack.Account(),
		policies.RolesStackName:    id,
		policies.RolesCheckSession: config.RolesCheckSession,
	}
	if err := attachPolicy(crossAccount, "RolesCheck", policies.RolesCheck, checkValues, nil); err != nil {
		return nil, err
	}
	allow(crossAccount, nagException{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:cloudformation:.*:stack/` + id + `/\*`},
		Reason: "This roles stack's own ARN, which ends in an ID CloudFormation generates."})
	s := &AccountRolesStack{Stack: stack, Environments: props.Environments, CrossAccountRole: crossAccount,
		DeploymentRoles: map[string]awsiam.Role{}, ArtifactKeyArn: keyArn}
	for i, e := range props.Environments {
		// The first environment keeps the plain IDs, so adding an environment to an account
		// never renames (and so replaces) what is there.
		prefix := ""
		if i > 0 {
			prefix = e.Title()
		}
		roleID := config.DeploymentRoleID(e)
		deployment := awsiam.NewRole(stack, jsii.String(roleID), &awsiam.RoleProps{
			RoleName:    jsii.String(config.DeploymentRoleNameFor(e)),
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("cloudformation.amazonaws.com"), nil),
			Description: jsii.String("Used by CloudFormation to create " + e.DeploymentStackName()),
		})
		values := policyValues(stack, e, props.ArtifactBucket, *keyArn.ValueAsString())
		if err := attachPolicy(crossAccount, prefix, policies.CrossAccountRole, values, hasKey); err != nil {
			return nil, err
		}
		if err := attachPolicy(deployment, "", policies.DeploymentRole, values, hasKey); err != nil {
			return nil, err
		}
		if err := newApplicationBoundary(stack, strings.TrimSuffix(roleID, "DeploymentRole")+"ApplicationBoundary", e, values); err != nil {
			return nil, err
		}
		s.DeploymentRoles[e.Name] = deployment
		awscdk.NewCfnOutput(stack, jsii.String(roleID+"Arn"), &awscdk.CfnOutputProps{Value: deployment.RoleArn()})
	}
	awscdk.NewCfnOutput(stack, jsii.String("CrossAccountRoleArn"), &awscdk.CfnOutputProps{Value: crossAccount.RoleArn()})
	return s, nil
}

// artifactKeyParameter is the artifact key's ARN, which exists only once the pipeline stack does:
// empty on the first deployment, so the statements about the key exist only under hasKey.
func artifactKeyParameter(stack awscdk.Stack) (keyArn awscdk.CfnParameter, hasKey awscdk.CfnCondition) {
	keyArn = awscdk.NewCfnParameter(stack, jsii.String(config.ArtifactKeyArnParameter), &awscdk.CfnParameterProps{
		Type:    jsii.String("String"),
		Default: jsii.String(""),
		Description: jsii.String("ARN of the pipeline's artifact key (output " + config.ArtifactKeyArnOutput +
			" of " + config.PipelineStackID + "); empty on the first deployment"),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$`),
		ConstraintDescription: jsii.String("must be empty or a KMS key ARN such as arn:aws:kms:us-east-1:111111111111:key/1234abcd-..."),
	})
	hasKey = awscdk.NewCfnCondition(stack, jsii.String("HasArtifactKey"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(keyArn.ValueAsString(), jsii.String(""))),
	})
	return keyArn, hasKey
}
