package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/policies"
)

// policyValues fills the placeholders of policies/ for the account and region of stack. The
// partition, region and account are the stack's own tokens, never literals, so the same
// documents serve any partition.
func policyValues(stack awscdk.Stack, deploymentStack, stage, bucket, keyArn string) policies.Values {
	return policies.Values{
		policies.Partition:          *stack.Partition(),
		policies.Region:             *stack.Region(),
		policies.Account:            *stack.Account(),
		policies.ArtifactBucket:     bucket,
		policies.ArtifactKeyArn:     keyArn,
		policies.StackName:          deploymentStack,
		policies.AppName:            AppName(stage),
		policies.DeploymentRoleName: DeploymentRoleName,
	}
}

// attachPolicy gives role the statements of one policies/ document. With keyCondition set, the
// statements about the artifact key go into a separate policy that exists only under that
// condition, so the role can be deployed before the key exists.
func attachPolicy(role awsiam.Role, name string, values policies.Values, keyCondition awscdk.CfnCondition) error {
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
	role.AttachInlinePolicy(awsiam.NewPolicy(role, jsii.String("Policy"), &awsiam.PolicyProps{
		Document: awsiam.PolicyDocument_FromJson(filled),
	}))
	if len(keyStatements.Statement) == 0 {
		return nil
	}
	filled, err = keyStatements.Fill(values)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	keyPolicy := awsiam.NewCfnPolicy(role, jsii.String("ArtifactKeyPolicy"), &awsiam.CfnPolicyProps{
		PolicyName:     jsii.String("ArtifactKeyAccess"),
		PolicyDocument: filled,
		Roles:          &[]*string{role.RoleName()},
	})
	keyPolicy.CfnOptions().SetCondition(keyCondition)
	return nil
}
