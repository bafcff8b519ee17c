package stacks

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/policies"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// handlerPermissions is, for every resource type of the application template, the IAM
// permissions each of its CloudFormation handlers calls, as the type's provider schema lists
// them (handlers.<create|read|update|delete>.permissions), and what the deployment role does
// about each: grants it in a named statement of policies/cloudformation-deployment-role.json,
// or leaves it out because it serves only a property the template does not use.
//
// Where it came from: the CloudFormation registry's provider schemas (us-east-1) as vendored by
// hashicorp/terraform-provider-awscc at commit f995d4f4139602dbb9044f3108702f2a1837a872
// (2026-08-07), handlers' permission lists copied as they are. AWS::IAM::Policy is a legacy
// type without a registry handler; its row follows the IAM API it calls.
// To refresh a type from the live registry (the list handler is not used by stack operations):
//
//	aws cloudformation describe-type --type RESOURCE --type-name AWS::Lambda::Function \
//	  --query Schema --output text | jq '.handlers | map_values(.permissions)'
//
// then give every new permission a disposition and run `make test`.
var handlerPermissions = map[string]typePermissions{
	"AWS::IAM::Role": {
		Properties: []string{"AssumeRolePolicyDocument", "Description", "ManagedPolicyArns", "Path", "PermissionsBoundary"},
		Handlers: handlers{
			"create": {"iam:AttachRolePolicy", "iam:CreateRole", "iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole"},
			"read":   {"iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"},
			"update": {"iam:AttachRolePolicy", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
				"iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription"},
			"delete": {"iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:TagRole", "iam:UntagRole"},
		},
		Use: uses{
			// Roles are created with the boundary, or not at all; it may be set (to the
			// boundary and nothing else) on a role that predates it, and never removed.
			"iam:DeleteRolePermissionsBoundary": refused("a template could lift the boundary off a role it created"),
			"iam:PutRolePermissionsBoundary":    grant("CreateBoundedApplicationRoles"),
			"iam:CreateRole":                    grant("CreateBoundedApplicationRoles"),
			"iam:PutRolePolicy":                 grant("CreateBoundedApplicationRoles"),
			"iam:AttachRolePolicy":              grant("AttachAllowedManagedPolicies"),
			"iam:*":                             grant("ManageApplicationRoles"),
		},
	},
	"AWS::IAM::Policy": {
		Properties: []string{"PolicyDocument", "PolicyName", "Roles"},
		Handlers: handlers{
			"create": {"iam:PutRolePolicy"},
			"read":   {"iam:GetRolePolicy"},
			"update": {"iam:PutRolePolicy", "iam:DeleteRolePolicy"},
			"delete": {"iam:DeleteRolePolicy"},
		},
		Use: uses{"iam:PutRolePolicy": grant("CreateBoundedApplicationRoles"), "iam:*": grant("ManageApplicationRoles")},
	},
	"AWS::Lambda::Function": {
		Properties: []string{"Architectures", "Code", "Description", "Environment", "FunctionName", "Handler", "LoggingConfig", "MemorySize", "Role", "Runtime", "Timeout"},
		Handlers: handlers{
			"create": {"ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "elasticfilesystem:DescribeMountTargets", "iam:PassRole",
				"kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "lambda:CreateFunction", "lambda:GetCodeSigningConfig", "lambda:GetFunction",
				"lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionRecursionConfig", "lambda:GetLayerVersion", "lambda:GetRuntimeManagementConfig",
				"lambda:PassCapacityProvider", "lambda:PutFunctionConcurrency", "lambda:PutFunctionRecursionConfig", "lambda:PutFunctionScalingConfig",
				"lambda:PutRuntimeManagementConfig", "lambda:TagResource", "s3:GetObject", "s3:GetObjectVersion", "s3files:ListMountTargets"},
			"read": {"kms:Decrypt", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionRecursionConfig",
				"lambda:GetFunctionScalingConfig", "lambda:GetRuntimeManagementConfig"},
			"update": {"ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "elasticfilesystem:DescribeMountTargets", "iam:PassRole",
				"kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey", "lambda:DeleteFunctionCodeSigningConfig", "lambda:DeleteFunctionConcurrency",
				"lambda:GetCodeSigningConfig", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionRecursionConfig",
				"lambda:GetRuntimeManagementConfig", "lambda:PassCapacityProvider", "lambda:PublishVersion", "lambda:PutFunctionCodeSigningConfig",
				"lambda:PutFunctionConcurrency", "lambda:PutFunctionRecursionConfig", "lambda:PutFunctionScalingConfig", "lambda:PutRuntimeManagementConfig",
				"lambda:TagResource", "lambda:UntagResource", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "s3:GetObject",
				"s3:GetObjectVersion", "s3files:ListMountTargets"},
			"delete": {"ec2:DescribeNetworkInterfaces", "lambda:DeleteFunction", "lambda:GetFunction"},
		},
		Use: uses{
			"ec2:*":                               unused("VpcConfig"),
			"elasticfilesystem:*":                 unused("FileSystemConfigs"),
			"s3files:*":                           unused("FileSystemConfigs"),
			"kms:Decrypt":                         grant("DecryptArtifacts"),
			"kms:*":                               unused("KmsKeyArn"),
			"iam:PassRole":                        grant("PassApplicationRoles"),
			"lambda:GetCodeSigningConfig":         unused("CodeSigningConfigArn"),
			"lambda:*FunctionCodeSigningConfig":   unused("CodeSigningConfigArn"),
			"lambda:GetLayerVersion":              unused("Layers"),
			"lambda:*FunctionConcurrency":         unused("ReservedConcurrentExecutions"),
			"lambda:PutFunctionRecursionConfig":   unused("RecursiveLoop"),
			"lambda:PassCapacityProvider":         unused("CapacityProviderConfig"),
			"lambda:PutFunctionScalingConfig":     unused("CapacityProviderConfig", "FunctionScalingConfig"),
			"lambda:PutRuntimeManagementConfig":   unused("RuntimeManagementConfig"),
			"lambda:GetFunctionCodeSigningConfig": grant("ManageApplicationFunction"),
			"lambda:*":                            grant("ManageApplicationFunction"),
			"s3:*":                                grant("ReadArtifacts"),
		},
	},
	"AWS::Lambda::Version": {
		Properties: []string{"Description", "FunctionName"},
		Handlers: handlers{
			"create": {"lambda:GetFunctionConfiguration", "lambda:GetProvisionedConcurrencyConfig", "lambda:GetRuntimeManagementConfig", "lambda:ListVersionsByFunction",
				"lambda:PublishVersion", "lambda:PutFunctionScalingConfig", "lambda:PutProvisionedConcurrencyConfig", "lambda:PutRuntimeManagementConfig"},
			"read":   {"lambda:GetFunctionConfiguration", "lambda:GetFunctionScalingConfig", "lambda:GetProvisionedConcurrencyConfig", "lambda:GetRuntimeManagementConfig"},
			"update": {"lambda:GetFunctionConfiguration", "lambda:PutFunctionScalingConfig"},
			"delete": {"lambda:DeleteFunction", "lambda:GetFunctionConfiguration"},
		},
		Use: uses{
			"lambda:PutFunctionScalingConfig":        unused("FunctionScalingConfig"),
			"lambda:PutProvisionedConcurrencyConfig": unused("ProvisionedConcurrencyConfig"),
			"lambda:PutRuntimeManagementConfig":      unused("RuntimePolicy"),
			"lambda:*":                               grant("ManageApplicationFunction"),
		},
	},
	"AWS::Lambda::Alias": {
		// CloudFormation shifts the alias through CodeDeploy because of this update policy,
		// which is why the alias' update handler lists CodeDeploy permissions.
		Properties: []string{"FunctionName", "FunctionVersion", "Name", "UpdatePolicy.CodeDeployLambdaAliasUpdate"},
		Handlers: handlers{
			"create": {"lambda:CreateAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:PutProvisionedConcurrencyConfig"},
			"read":   {"lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig"},
			"update": {"codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:GetDeploymentConfig", "codedeploy:GetDeploymentGroup",
				"codedeploy:StopDeployment", "lambda:DeleteProvisionedConcurrencyConfig", "lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig",
				"lambda:PutProvisionedConcurrencyConfig", "lambda:UpdateAlias"},
			"delete": {"lambda:DeleteAlias", "lambda:GetAlias"},
		},
		Use: uses{
			"lambda:*ProvisionedConcurrencyConfig":   unused("ProvisionedConcurrencyConfig"),
			"lambda:GetProvisionedConcurrencyConfig": grant("ManageApplicationFunction"),
			"lambda:*":                               grant("ManageApplicationFunction"),
			"codedeploy:GetDeploymentConfig":         grant("ReadDeploymentConfigs"),
			"codedeploy:StopDeployment":              grant("StopDeployments"),
			"codedeploy:*":                           grant("ManageCodeDeploy"),
		},
	},
	"AWS::Lambda::Permission": {
		Properties: []string{"Action", "FunctionName", "Principal", "SourceArn"},
		Handlers: handlers{
			"create": {"lambda:AddPermission"},
			"read":   {"lambda:GetPolicy"},
			"delete": {"lambda:RemovePermission"},
		},
		Use: uses{"lambda:*": grant("ManageApplicationFunction")},
	},
	"AWS::Logs::LogGroup": {
		Properties: []string{"LogGroupName", "RetentionInDays"},
		Handlers: handlers{
			"create": {"firehose:TagDeliveryStream", "logs:CreateLogDelivery", "logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
				"logs:GetDataProtectionPolicy", "logs:PutDataProtectionPolicy", "logs:PutResourcePolicy", "logs:PutRetentionPolicy", "logs:TagResource", "s3:REST.PUT.OBJECT"},
			"read": {"logs:DescribeLogGroups", "logs:GetDataProtectionPolicy", "logs:ListTagsForResource"},
			"update": {"firehose:TagDeliveryStream", "logs:AssociateKmsKey", "logs:CreateLogDelivery", "logs:DeleteRetentionPolicy", "logs:DescribeLogGroups",
				"logs:DisassociateKmsKey", "logs:GetDataProtectionPolicy", "logs:PutDataProtectionPolicy", "logs:PutRetentionPolicy", "logs:TagResource",
				"logs:UntagResource", "s3:REST.PUT.OBJECT"},
			"delete": {"logs:DeleteDataProtectionPolicy", "logs:DeleteLogGroup", "logs:DescribeLogGroups"},
		},
		Use: uses{
			// A data protection policy's audit findings go to Firehose, S3 or another log group.
			"firehose:TagDeliveryStream":      unused("DataProtectionPolicy"),
			"logs:CreateLogDelivery":          unused("DataProtectionPolicy"),
			"s3:REST.PUT.OBJECT":              unused("DataProtectionPolicy"),
			"logs:PutDataProtectionPolicy":    unused("DataProtectionPolicy"),
			"logs:*ResourcePolic*":            unused("ResourcePolicyDocument"),
			"logs:*KmsKey":                    unused("KmsKeyId"),
			"logs:DescribeLogGroups":          grant("DescribeLogGroups"),
			"logs:*":                          grant("ManageApplicationLogGroup"),
			"logs:DeleteDataProtectionPolicy": grant("ManageApplicationLogGroup"),
		},
	},
	"AWS::CloudWatch::Alarm": {
		Properties: []string{"AlarmDescription", "AlarmName", "ComparisonOperator", "Dimensions", "EvaluationPeriods", "MetricName", "Namespace",
			"Period", "Statistic", "Threshold", "TreatMissingData"},
		Handlers: handlers{
			"create": {"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"},
			"read":   {"cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"},
			"update": {"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"},
			"delete": {"cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms"},
		},
		Use: uses{"cloudwatch:*": grant("ManageErrorAlarm")},
	},
	"AWS::CodeDeploy::Application": {
		Properties: []string{"ApplicationName", "ComputePlatform"},
		Handlers: handlers{
			"create": {"codedeploy:CreateApplication", "codedeploy:TagResource"},
			"read":   {"codedeploy:GetApplication", "codedeploy:ListTagsForResource"},
			"update": {"codedeploy:TagResource", "codedeploy:UntagResource"},
			"delete": {"codedeploy:DeleteApplication", "codedeploy:GetApplication"},
		},
		Use: uses{"codedeploy:*": grant("ManageCodeDeploy")},
	},
	"AWS::CodeDeploy::DeploymentGroup": {
		Properties: []string{"AlarmConfiguration", "ApplicationName", "AutoRollbackConfiguration", "DeploymentConfigName", "DeploymentGroupName",
			"DeploymentStyle", "ServiceRoleArn"},
		Handlers: handlers{
			"create": {"codedeploy:CreateDeployment", "codedeploy:CreateDeploymentGroup", "codedeploy:GetApplicationRevision", "codedeploy:GetDeployment",
				"codedeploy:GetDeploymentConfig", "codedeploy:GetDeploymentGroup", "codedeploy:ListDeployments", "codedeploy:RegisterApplicationRevision",
				"codedeploy:RegisterOnPremisesInstance", "codedeploy:TagResource", "codedeploy:UntagResource", "iam:PassRole"},
			"read": {"codedeploy:GetDeployment", "codedeploy:GetDeploymentGroup", "codedeploy:ListDeployments", "codedeploy:ListTagsForResource"},
			"update": {"codedeploy:CreateDeployment", "codedeploy:GetApplicationRevision", "codedeploy:GetDeployment", "codedeploy:GetDeploymentConfig",
				"codedeploy:ListDeployments", "codedeploy:RegisterApplicationRevision", "codedeploy:RegisterOnPremisesInstance", "codedeploy:StopDeployment",
				"codedeploy:TagResource", "codedeploy:UntagResource", "codedeploy:UpdateDeploymentGroup", "iam:PassRole"},
			"delete": {"codedeploy:DeleteDeploymentGroup", "codedeploy:GetDeploymentGroup"},
		},
		Use: uses{
			"codedeploy:RegisterOnPremisesInstance": unused("OnPremisesInstanceTagFilters", "OnPremisesTagSet"),
			"codedeploy:GetDeploymentConfig":        grant("ReadDeploymentConfigs"),
			"codedeploy:StopDeployment":             grant("StopDeployments"),
			"codedeploy:*":                          grant("ManageCodeDeploy"),
			"iam:PassRole":                          grant("PassApplicationRoles"),
		},
	},
	"AWS::ApiGateway::RestApi": {
		Properties: []string{"Description", "Name"},
		Handlers: handlers{
			"create": {"apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT", "apigateway:UpdateRestApiPolicy", "iam:PassRole", "s3:GetObject"},
			"read":   {"apigateway:GET"},
			"update": {"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:PUT", "apigateway:UpdateRestApiPolicy", "iam:PassRole", "s3:GetObject"},
			"delete": {"apigateway:DELETE"},
		},
		Use: uses{
			"apigateway:UpdateRestApiPolicy": unused("Policy"),
			// An OpenAPI definition may name integration credentials (roles) and come from S3.
			"iam:PassRole": unused("Body", "BodyS3Location"),
			"s3:GetObject": unused("BodyS3Location"),
			"apigateway:*": grant("ManageRestApi"),
		},
	},
	"AWS::ApiGateway::Resource": {
		Properties: []string{"ParentId", "PathPart", "RestApiId"},
		Handlers: handlers{
			"create": {"apigateway:POST"},
			"read":   {"apigateway:GET"},
			"update": {"apigateway:GET", "apigateway:PATCH"},
			"delete": {"apigateway:DELETE"},
		},
		Use: uses{"apigateway:*": grant("ManageRestApi")},
	},
	"AWS::ApiGateway::Method": {
		Properties: []string{"AuthorizationType", "HttpMethod", "Integration", "ResourceId", "RestApiId"},
		Handlers: handlers{
			"create": {"apigateway:GET", "apigateway:PUT", "iam:PassRole"},
			"read":   {"apigateway:GET"},
			"update": {"apigateway:DELETE", "apigateway:GET", "apigateway:PUT", "iam:PassRole"},
			"delete": {"apigateway:DELETE"},
		},
		Use: uses{
			"iam:PassRole": unused("Integration.Credentials"),
			"apigateway:*": grant("ManageRestApi"),
		},
	},
	"AWS::ApiGateway::Deployment": {
		Properties: []string{"Description", "RestApiId"},
		Handlers: handlers{
			"create": {"apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"},
			"read":   {"apigateway:GET"},
			"update": {"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:PUT"},
			"delete": {"apigateway:DELETE", "apigateway:GET"},
		},
		Use: uses{"apigateway:*": grant("ManageRestApi")},
	},
	"AWS::ApiGateway::Stage": {
		Properties: []string{"DeploymentId", "RestApiId", "StageName"},
		Handlers: handlers{
			"create": {"apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"},
			"read":   {"apigateway:GET"},
			"update": {"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:PUT"},
			"delete": {"apigateway:DELETE"},
		},
		Use: uses{"apigateway:*": grant("ManageRestApi")},
	},
}

// extraGrants are the deployment role's permissions that no handler lists, each with its reason.
var extraGrants = map[string]string{
	// Without it S3 answers a missing object with 403 AccessDenied; with it, 404 NoSuchKey, so a
	// rollback to an artifact that is gone says so instead of looking like a permissions bug.
	"s3:ListBucket": "ListArtifacts",
}

// handlers maps a CloudFormation handler (create, read, update, delete) to the permissions its
// schema lists.
type handlers map[string][]string

// uses maps permission patterns (path.Match syntax, most specific first when tried: exact names
// before patterns) to what the role does about them.
type uses map[string]use

// use is a grant (the Sid of the statement that grants it), a reason it is not needed (the
// properties that would need it, none of which the template may use), or a refusal: a
// permission the role must never hold, whatever the template needs.
type use struct {
	Statement     string
	ForProperties []string
	Refused       string
}

func grant(sid string) use            { return use{Statement: sid} }
func unused(properties ...string) use { return use{ForProperties: properties} }
func refused(why string) use          { return use{Refused: why} }
func (u use) String() string {
	switch {
	case u.Statement != "":
		return "granted by " + u.Statement
	case u.Refused != "":
		return "refused: " + u.Refused
	}
	return "only for " + strings.Join(u.ForProperties, ", ")
}

// typePermissions is one row of handlerPermissions.
type typePermissions struct {
	// Properties are the properties (and, as UpdatePolicy.<name>, update policies) the row was
	// reviewed for; a template that uses another fails the test until the row is reviewed again.
	Properties []string
	Handlers   handlers
	Use        uses
}

// useOf finds what the row does about a permission: an exact entry first, then the longest
// matching pattern. It returns the entry's key too.
func (p typePermissions) useOf(action string) (string, use, bool) {
	if u, ok := p.Use[action]; ok {
		return action, u, true
	}
	best := ""
	for k := range p.Use {
		if ok, _ := path.Match(k, action); ok && len(k) > len(best) {
			best = k
		}
	}
	u, ok := p.Use[best]
	return best, u, ok
}

// templateProperties lists the properties a resource uses, with its update policies as
// UpdatePolicy.<name> and one level of nesting as Parent.Child (for rows that name one).
func templateProperties(r map[string]any) []string {
	var out []string
	for k, v := range asMap(get(r, "Properties")) {
		out = append(out, k)
		for child := range asMap(v) {
			out = append(out, k+"."+child)
		}
	}
	for k := range asMap(get(r, "UpdatePolicy")) {
		out = append(out, "UpdatePolicy."+k)
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// policyStatements returns the statements of a role's policies by Sid.
func policyStatements(t *testing.T, stackID, role string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, p := range rolePoliciesOf(t, stackID, role) {
		for _, s := range list(get(p, "Properties", "PolicyDocument", "Statement")) {
			sid, _ := get(s, "Sid").(string)
			out[sid] = s.(map[string]any)
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
			if get(r, "Properties", "RoleName") == role || strings.HasPrefix(id, role) {
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

func allows(granted []any, action string) bool {
	for _, g := range granted {
		if ok, _ := path.Match(g.(string), action); ok {
			return true
		}
	}
	return false
}

// TestDeploymentRolesCoverTheHandlers checks the deployment roles against handlerPermissions in
// both directions: every permission a handler of a template type lists is granted by the named
// statement or serves only a property the template does not use, and the role grants nothing
// that neither a handler nor extraGrants names. A type or property the table does not cover
// fails the test, so a template change cannot outgrow the role unnoticed.
func TestDeploymentRolesCoverTheHandlers(t *testing.T) {
	for _, c := range []struct{ stackID, roleStack, role string }{
		{DevApplicationStackID, config.PipelineStackID, "DevDeploymentRole"},
		{ProdApplicationStackID, ProdRolesStackID, config.DeploymentRoleName},
	} {
		t.Run(c.stackID, func(t *testing.T) {
			statements := policyStatements(t, c.roleStack, c.role)
			needed := map[string][]string{} // action -> statements that must grant it
			for id, r := range raw[c.stackID]["Resources"].(map[string]any) {
				typ := get(r, "Type").(string)
				row, known := handlerPermissions[typ]
				if !assert.True(t, known, "the application template gained %s: add its handlers' permissions to handlerPermissions "+
					"(see the comment there for where they come from) and grant what it needs in policies/cloudformation-deployment-role.json", typ) {
					continue
				}
				used := templateProperties(r.(map[string]any))
				for _, p := range used {
					if !strings.Contains(p, ".") || strings.HasPrefix(p, "UpdatePolicy.") {
						assert.Contains(t, row.Properties, p, "%s (%s) uses %s, which the %s row was not reviewed for: check which "+
							"handler permissions it needs, then add it to Properties", id, typ, p, typ)
					}
				}
				for handler, actions := range row.Handlers {
					for _, a := range actions {
						_, u, ok := row.useOf(a)
						if !assert.True(t, ok, "%s %s handler calls %s: grant it or say which property needs it", typ, handler, a) {
							continue
						}
						if u.Refused != "" {
							for sid, s := range statements {
								assert.False(t, allows(list(get(s, "Action")), a), "statement %s grants %s, which the role must never hold: %s", sid, a, u.Refused)
							}
							continue
						}
						if u.Statement == "" {
							for _, p := range u.ForProperties {
								assert.NotContains(t, used, p, "%s now uses %s, so its %s handler needs %s: grant it", id, p, handler, a)
							}
							continue
						}
						s, ok := statements[u.Statement]
						if assert.True(t, ok, "the role has no statement %s (for %s)", u.Statement, a) {
							assert.True(t, allows(list(get(s, "Action")), a), "%s %s handler calls %s, which statement %s does not grant", typ, handler, a, u.Statement)
						}
						needed[a] = append(needed[a], u.Statement)
					}
				}
			}
			for action, sid := range extraGrants {
				needed[action] = append(needed[action], sid)
			}
			for sid, s := range statements {
				for _, g := range list(get(s, "Action")) {
					granted := g.(string)
					ok := slices.ContainsFunc(slices.Sorted(maps.Keys(needed)), func(a string) bool {
						match, _ := path.Match(granted, a)
						return match && slices.Contains(needed[a], sid)
					})
					assert.True(t, ok, "statement %s grants %s, which no handler of the template's types calls (or not through "+
						"this statement): remove it, or add it to extraGrants with the reason", sid, granted)
				}
			}
		})
	}
}

// TestTheTableKnowsEveryDisposition keeps the table honest on its own: every use entry is
// reached by some handler permission, so a stale exception cannot hide.
func TestTheTableKnowsEveryDisposition(t *testing.T) {
	for typ, row := range handlerPermissions {
		reached := map[string]bool{}
		for _, actions := range row.Handlers {
			for _, a := range actions {
				key, _, _ := row.useOf(a)
				reached[key] = true
			}
		}
		for k, u := range row.Use {
			assert.True(t, reached[k], "%s: %s (%s) matches no handler permission: remove it", typ, k, u)
		}
	}
}

// TestEveryPolicyNamesRealActionsOnTheirResources checks every identity policy of every
// template against the IAM service reference (policies.Reference): real actions, each on a
// resource type it supports, and "*" only where IAM supports nothing narrower.
func TestEveryPolicyNamesRealActionsOnTheirResources(t *testing.T) {
	ref, err := policies.LoadReference("../" + policies.IAMReferenceDir)
	require.NoError(t, err)
	for id := range raw {
		for rid, doc := range identityPolicies(id) {
			for i, s := range list(get(doc, "Statement")) {
				if get(s, "Effect") == "Deny" {
					var denied []string
					for _, a := range list(get(s, "NotAction")) {
						denied = append(denied, a.(string))
					}
					for _, p := range ref.Actions(denied) {
						t.Errorf("%s/%s statement %d: %s", id, rid, i, p)
					}
					continue
				}
				var actions, resources []string
				for _, a := range list(get(s, "Action")) {
					actions = append(actions, a.(string))
				}
				for _, r := range list(get(s, "Resource")) {
					resources = append(resources, resolveArn(id, r))
				}
				for _, p := range ref.Statement(actions, resources) {
					if cdkGenerated(rid) && strings.HasPrefix(p, cdkIneffectiveGrant) {
						continue
					}
					t.Errorf("%s/%s statement %d: %s", id, rid, i, p)
				}
			}
		}
	}
}

// cdkIneffectiveGrant is the one finding allowed in policies CDK writes itself: its CloudFormation
// deploy action grants cloudformation:ValidateTemplate on the stack's ARN, where IAM never
// matches it. It is granted nothing, and the action never needed it (pipelines built on it
// deploy), so it is dead text rather than a gap; our own policies leave it out.
const cdkIneffectiveGrant = "cloudformation:ValidateTemplate supports no resource type"

// cdkGenerated tells the per-action roles CDK creates for pipeline actions by their logical ID.
func cdkGenerated(policyID string) bool { return strings.Contains(policyID, "CodePipelineActionRole") }

// resolveArn turns a policy resource of a template into a plain string: pseudo parameters take
// the test config's values, references to the template's resources their ARN or name format.
func resolveArn(stackID string, v any) string {
	region, account := testConfig.Region, *templatesAccount(stackID)
	resources := raw[stackID]["Resources"].(map[string]any)
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if parts, ok := get(x, "Fn::Join", 1).([]any); ok {
			sep, _ := get(x, "Fn::Join", 0).(string)
			resolved := make([]string, len(parts))
			for i, p := range parts {
				resolved[i] = resolveArn(stackID, p)
			}
			return strings.Join(resolved, sep)
		}
		if ref, ok := x["Ref"].(string); ok {
			switch ref {
			case "AWS::Partition":
				return "aws"
			case "AWS::Region":
				return region
			case "AWS::AccountId":
				return account
			case config.ArtifactKeyArnParameter:
				return fmt.Sprintf("arn:aws:kms:%s:%s:key/0123abcd-0123-abcd-0123-0123456789ab", region, devAccount)
			}
			return "name-of-" + ref
		}
		if att, ok := x["Fn::GetAtt"].([]any); ok && len(att) == 2 && att[1] == "Arn" {
			name := "name-of-" + att[0].(string)
			if fixed, ok := fixedName(asMap(resources[att[0].(string)])); ok {
				name = fixed
			}
			switch get(resources[att[0].(string)], "Type") {
			case "AWS::S3::Bucket":
				return "arn:aws:s3:::" + name
			case "AWS::KMS::Key":
				return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, account, name)
			case "AWS::IAM::Role":
				return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name)
			case "AWS::CodeBuild::Project":
				return fmt.Sprintf("arn:aws:codebuild:%s:%s:project/%s", region, account, name)
			case "AWS::Logs::LogGroup":
				return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", region, account, name)
			}
		}
	}
	return fmt.Sprintf("unresolved %v", v)
}

func templatesAccount(stackID string) *string {
	for _, s := range built.All() {
		if *s.StackName() == stackID {
			return s.Account()
		}
	}
	panic("no stack " + stackID)
}
