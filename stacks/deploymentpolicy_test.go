package stacks

import (
	"path"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deployActions is what CloudFormation needs, with the deployment role's credentials, to
// create, update and delete each resource type of the application template (plus reading the
// Lambda code from the artifact store for a function). It is the specification the deployment
// policy in policies/ is checked against in both directions: every type the template uses must
// be listed here and covered by the policy, and the policy may grant nothing that no type here
// needs.
var deployActions = map[string][]string{
	"AWS::IAM::Role": {"iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy",
		"iam:TagRole", "iam:UntagRole", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PassRole"},
	"AWS::IAM::Policy":    {"iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"},
	"AWS::Logs::LogGroup": {"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource"},
	"AWS::Lambda::Function": {"lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:CreateFunction", "lambda:DeleteFunction",
		"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:TagResource", "lambda:UntagResource", "lambda:ListTags",
		// Lambda fetches the code from the artifact bucket with the caller's credentials.
		"s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket", "kms:Decrypt", "kms:DescribeKey"},
	"AWS::Lambda::Version":    {"lambda:PublishVersion", "lambda:ListVersionsByFunction", "lambda:GetFunctionConfiguration", "lambda:DeleteFunction"},
	"AWS::Lambda::Alias":      {"lambda:GetAlias", "lambda:CreateAlias", "lambda:UpdateAlias", "lambda:DeleteAlias"},
	"AWS::Lambda::Permission": {"lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"},
	"AWS::CodeDeploy::Application": {"codedeploy:CreateApplication", "codedeploy:DeleteApplication", "codedeploy:GetApplication",
		"codedeploy:TagResource", "codedeploy:UntagResource", "codedeploy:ListTagsForResource"},
	"AWS::CodeDeploy::DeploymentGroup": {"codedeploy:CreateDeploymentGroup", "codedeploy:UpdateDeploymentGroup",
		"codedeploy:DeleteDeploymentGroup", "codedeploy:GetDeploymentGroup", "codedeploy:GetDeploymentConfig", "iam:PassRole",
		// The alias' CodeDeployLambdaAliasUpdate policy: CloudFormation starts and follows a deployment.
		"codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:StopDeployment",
		"codedeploy:RegisterApplicationRevision", "codedeploy:GetApplicationRevision"},
	"AWS::CloudWatch::Alarm": {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
		"cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"},
	"AWS::ApiGateway::RestApi":    {"apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE"},
	"AWS::ApiGateway::Resource":   {"apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"},
	"AWS::ApiGateway::Method":     {"apigateway:GET", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"},
	"AWS::ApiGateway::Deployment": {"apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"},
	"AWS::ApiGateway::Stage":      {"apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"},
}

// allowedActions returns the actions a role's policies allow, by the name the role has in the
// stack (prod) or its logical ID prefix (dev).
func allowedActions(t *testing.T, stackID, roleName string) []string {
	t.Helper()
	var out []string
	for _, p := range rolePoliciesOf(t, stackID, roleName) {
		for _, s := range list(get(p, "Properties", "PolicyDocument", "Statement")) {
			for _, a := range list(get(s, "Action")) {
				out = append(out, a.(string))
			}
		}
	}
	return out
}

// rolePoliciesOf returns the policy resources (AWS::IAM::Policy) attached to a role, which it
// finds by RoleName or, for unnamed roles, by logical ID prefix.
func rolePoliciesOf(t *testing.T, stackID, role string) map[string]map[string]any {
	t.Helper()
	if _, named := resourcesOf(stackID, "AWS::IAM::Role")[role]; !named {
		for id, r := range resourcesOf(stackID, "AWS::IAM::Role") {
			if get(r, "Properties", "RoleName") == role || (len(id) > len(role) && id[:len(role)] == role) {
				role = id
				break
			}
		}
	}
	out := map[string]map[string]any{}
	for id, p := range resourcesOf(stackID, "AWS::IAM::Policy") {
		for _, r := range list(get(p, "Properties", "Roles")) {
			if get(r, "Ref") == role {
				out[id] = p
			}
		}
	}
	require.NotEmpty(t, out, "%s: no policies attached to %s", stackID, role)
	return out
}

func allows(granted []string, action string) bool {
	for _, g := range granted {
		if ok, _ := path.Match(g, action); ok {
			return true
		}
	}
	return false
}

func TestDeploymentRolesCoverExactlyTheApplicationTemplate(t *testing.T) {
	for _, c := range []struct{ stackID, roleStack, role string }{
		{DevApplicationStackID, PipelineStackID, "DevDeploymentRole"},
		{ProdApplicationStackID, ProdRolesStackID, DeploymentRoleName},
	} {
		t.Run(c.stackID, func(t *testing.T) {
			granted := allowedActions(t, c.roleStack, c.role)
			var needed []string
			for _, r := range raw[c.stackID]["Resources"].(map[string]any) {
				typ := get(r, "Type").(string)
				actions, known := deployActions[typ]
				if !assert.True(t, known, "the application template gained %s: add the actions it needs to "+
					"policies/cloudformation-deployment-role.json and to deployActions", typ) {
					continue
				}
				for _, a := range actions {
					assert.True(t, allows(granted, a), "%s needs %s, which the deployment role does not allow", typ, a)
					needed = append(needed, a)
				}
			}
			for _, g := range granted {
				assert.True(t, slices.ContainsFunc(needed, func(a string) bool { ok, _ := path.Match(g, a); return ok }),
					"the deployment role allows %s, which no resource of the template needs: remove it", g)
			}
		})
	}
}
