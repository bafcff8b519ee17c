package stacks

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagException records why a cdk-nag rule does not fit a construct (and its children), so the
// reason sits in the code next to the resource and, in the pipeline stack, in the synthesized
// metadata for reviewers (the inline templates drop it: keepInlineTemplatesSmall).
type nagException struct {
	Rule   string
	Reason string
	// Findings narrows the exception to the findings whose IDs match one of these regular
	// expressions (for granular rules such as AwsSolutions-IAM5); empty means the whole rule.
	Findings []string
}

// allow attaches exceptions to a construct and everything below it.
func allow(c constructs.IConstruct, exceptions ...nagException) {
	suppressions := make([]*cdknag.NagPackSuppression, len(exceptions))
	for i, e := range exceptions {
		s := &cdknag.NagPackSuppression{Id: jsii.String(e.Rule), Reason: jsii.String(e.Reason)}
		if len(e.Findings) > 0 {
			applies := make([]any, len(e.Findings))
			for j, f := range e.Findings {
				applies[j] = &cdknag.RegexAppliesTo{Regex: jsii.String("/^" + f + "$/")}
			}
			s.AppliesTo = &applies
		}
		suppressions[i] = s
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &suppressions, jsii.Bool(true))
}

// Exceptions shared by several stacks.
var (
	// artifactObjects covers the object keys in the artifact bucket, which only CodePipeline names.
	artifactObjects = nagException{Rule: "AwsSolutions-IAM5",
		Findings: []string{`Resource::<ArtifactBucket[0-9A-F]+\.Arn>/\*`, `Resource::arn:.*:s3:::artifact-bucket-[0-9]+/\*`},
		Reason:   "CodePipeline names artifact objects per execution, so only the bucket can be fixed, not the keys."}

	// artifactGrants covers what CDK's grants on the artifact bucket and key look like.
	artifactGrants = []nagException{
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*`},
			Reason: "CDK's read/write grant on the artifact bucket: the action wildcards are object-level variants " +
				"(versions, tags, ACL reads) and the resource is this pipeline's one bucket."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Action::kms:(ReEncrypt|GenerateDataKey)\*`},
			Reason: "CDK's encrypt grant on the artifact key: the wildcards are the ReEncrypt and GenerateDataKey " +
				"variants, and the resource is this pipeline's one key."},
		artifactObjects,
	}

	// deploymentPolicyWildcards explains the wildcards of policies/*.json. Every one is a part
	// of an ARN that the service generates; the fixed part (app name, stack name, bucket) stays.
	deploymentPolicyWildcards = []nagException{
		artifactObjects,
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:cloudformation:.*:stack/[A-Za-z0-9]+DeploymentStack/\*`},
			Reason: "A stack ARN ends in an ID CloudFormation generates; the stack name is fixed."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:iam::[0-9]+:role/[A-Za-z][A-Za-z0-9-]*/\*`},
			Reason: "CloudFormation generates the names of the application's roles; their IAM path (the app name) is fixed."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:lambda:.*:function:[A-Za-z][A-Za-z0-9-]*:\*`},
			Reason: "The published versions and the live alias of the app's one function."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:logs:.*:log-group:/aws/lambda/[A-Za-z][A-Za-z0-9-]*:\*`},
			Reason: "The app function's own log group (/aws/lambda/<app name>) in the log-group:<name>:* form some Logs actions are authorized against."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::\*`},
			Reason: "Only for actions that IAM authorizes on no resource type (logs:DescribeLogGroups, codedeploy:StopDeployment): " +
				"a narrower ARN never matches them. The tests check every Resource * against the IAM service reference."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:apigateway:.*::/restapis/\*`, `Resource::arn:.*:apigateway:.*::/tags/\*`},
			Reason: "API Gateway identifies REST APIs by IDs it generates on create; there is no name-based ARN to scope to."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:codedeploy:.*:deploymentgroup:[A-Za-z][A-Za-z0-9-]*/\*`},
			Reason: "The deployment groups of the app's own CodeDeploy application."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:cloudwatch:.*:alarm:[A-Za-z][A-Za-z0-9-]*-\*`},
			Reason: "The CloudWatch alarms of the app, named after it; the suffix names the alarm's purpose (live-errors)."},
		{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:codedeploy:.*:deploymentconfig:\*`},
			Reason: "Read-only access to deployment configurations, which include AWS's built-in CodeDeployDefault.* configs."},
	}
)
