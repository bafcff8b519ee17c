package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/policies"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// boundedCase is one environment's deployment role and the stack that holds its boundary.
type boundedCase struct {
	env                   config.Environment
	appStack, rolesStack  string
	roleLogicalID         string
	account, boundaryName string
}

func boundedCases(t *testing.T) []boundedCase {
	devRole, _ := onlyResourceWithPrefix(t, "DevDeploymentRole", "AWS::IAM::Role")
	prodRole, _ := onlyResourceNamed(t, ProdRolesStackID, "AWS::IAM::Role", config.DeploymentRoleName)
	return []boundedCase{
		{devEnv, DevApplicationStackID, config.PipelineStackID, devRole, devAccount, config.BoundaryPolicyName(devEnv)},
		{prodEnv, ProdApplicationStackID, ProdRolesStackID, prodRole, prodAccount, config.BoundaryPolicyName(prodEnv)},
	}
}

// boundaryStatements returns the boundary policy a stack defines for an environment.
func boundaryStatements(t *testing.T, stackID, name string) []policies.Statement {
	t.Helper()
	for _, p := range resourcesOf(stackID, "AWS::IAM::ManagedPolicy") {
		if get(p, "Properties", "ManagedPolicyName") == name {
			return documentStatements(stackID, get(p, "Properties", "PolicyDocument"))
		}
	}
	t.Fatalf("%s defines no managed policy %s", stackID, name)
	return nil
}

// Every role an application template creates carries its environment's boundary, by the ARN
// the deployment role requires.
func TestApplicationRolesCarryTheBoundary(t *testing.T) {
	for _, c := range boundedCases(t) {
		want := fmt.Sprintf("arn:aws:iam::%s:policy/%s", c.account, c.boundaryName)
		roles := resourcesOf(c.appStack, "AWS::IAM::Role")
		require.NotEmpty(t, roles)
		for id, r := range roles {
			assert.Equal(t, want, resolveArn(c.appStack, get(r, "Properties", "PermissionsBoundary")),
				"%s/%s must carry the boundary, or the deployment role cannot create it", c.appStack, id)
		}
		boundaryStatements(t, c.rolesStack, c.boundaryName) // the boundary exists where the deployment role lives
	}
}

// The deployment role lets a template create the application's roles only inside the boundary:
// a push that edits the application template cannot mint a role that does more than the
// application needs, attach an AWS managed admin policy, or lift or rewrite the boundary.
func TestDeploymentRolesCannotMintAdmins(t *testing.T) {
	for _, c := range boundedCases(t) {
		t.Run(c.env.Name, func(t *testing.T) {
			role := resolvedStatements(t, c.rolesStack, c.roleLogicalID)
			boundary := fmt.Sprintf("arn:aws:iam::%s:policy/%s", c.account, c.boundaryName)
			appRole := fmt.Sprintf("arn:aws:iam::%s:role/%s/FunctionRole-ABC123", c.account, c.env.AppName())
			with := map[string]string{"iam:PermissionsBoundary": boundary}
			attaching := func(policy string) map[string]string {
				return map[string]string{"iam:PermissionsBoundary": boundary, "iam:PolicyARN": policy}
			}
			admin := "arn:aws:iam::aws:policy/AdministratorAccess"
			for _, c := range []struct {
				what    string
				request policies.Request
				allowed bool
			}{
				{"create an application role with the boundary", policies.Request{Action: "iam:CreateRole", Resource: appRole, Context: with}, true},
				{"give it an inline policy", policies.Request{Action: "iam:PutRolePolicy", Resource: appRole, Context: with}, true},
				{"attach CodeDeploy's policy for Lambda", policies.Request{Action: "iam:AttachRolePolicy", Resource: appRole,
					Context: attaching("arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited")}, true},
				{"delete an application role", policies.Request{Action: "iam:DeleteRole", Resource: appRole}, true},
				{"create a role without a boundary", policies.Request{Action: "iam:CreateRole", Resource: appRole}, false},
				{"create a role with another boundary", policies.Request{Action: "iam:CreateRole", Resource: appRole,
					Context: map[string]string{"iam:PermissionsBoundary": admin}}, false},
				{"create a role outside the application's path", policies.Request{Action: "iam:CreateRole",
					Resource: fmt.Sprintf("arn:aws:iam::%s:role/Admin", c.account), Context: with}, false},
				{"attach AdministratorAccess", policies.Request{Action: "iam:AttachRolePolicy", Resource: appRole, Context: attaching(admin)}, false},
				{"attach a customer policy", policies.Request{Action: "iam:AttachRolePolicy", Resource: appRole,
					Context: attaching(fmt.Sprintf("arn:aws:iam::%s:policy/Anything", c.account))}, false},
				{"put a policy on an unbounded role", policies.Request{Action: "iam:PutRolePolicy", Resource: appRole}, false},
				{"delete the boundary from a role", policies.Request{Action: "iam:DeleteRolePermissionsBoundary", Resource: appRole, Context: with}, false},
				{"replace the boundary", policies.Request{Action: "iam:PutRolePermissionsBoundary", Resource: appRole,
					Context: map[string]string{"iam:PermissionsBoundary": admin}}, false},
				{"rewrite the boundary policy", policies.Request{Action: "iam:CreatePolicyVersion", Resource: boundary}, false},
				{"switch the boundary's version", policies.Request{Action: "iam:SetDefaultPolicyVersion", Resource: boundary}, false},
				{"delete the boundary policy", policies.Request{Action: "iam:DeletePolicy", Resource: boundary}, false},
				{"pass an application role to EC2", policies.Request{Action: "iam:PassRole", Resource: appRole,
					Context: map[string]string{"iam:PassedToService": "ec2.amazonaws.com"}}, false},
			} {
				d := decide(t, role, nil, c.request)
				assert.Equal(t, c.allowed, d.Allowed, "the deployment role may %s: %v (%s)", c.what, c.allowed, d.Why)
			}
		})
	}
}

// The boundary allows what the application's roles use at run time and nothing else.
func TestBoundaryAllowsWhatTheApplicationNeeds(t *testing.T) {
	for _, c := range boundedCases(t) {
		t.Run(c.env.Name, func(t *testing.T) {
			boundary := boundaryStatements(t, c.rolesStack, c.boundaryName)
			arn := func(service, resource string) string {
				return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, testConfig.Region, c.account, resource)
			}
			function := arn("lambda", "function:"+c.env.AppName())
			logStream := arn("logs", "log-group:/aws/lambda/"+c.env.AppName()+":log-stream:2026/12/01/[$LATEST]abc")
			// The function role's own policy, as the application template writes it, within the boundary.
			functionRole, _ := onlyResourceWithPrefixIn(t, c.appStack, "FunctionRole", "AWS::IAM::Role")
			own := resolvedStatements(t, c.appStack, functionRole)
			for _, action := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
				d := decide(t, own, boundary, policies.Request{Action: action, Resource: logStream})
				assert.True(t, d.Allowed, "the function writes its logs: %s (%s)", action, d.Why)
			}
			for _, r := range []policies.Request{
				{Action: "lambda:UpdateAlias", Resource: function + ":" + config.LiveAliasName},
				{Action: "lambda:GetAlias", Resource: function + ":" + config.LiveAliasName},
				{Action: "cloudwatch:DescribeAlarms", Resource: arn("cloudwatch", "alarm:"+c.env.AppName()+"-live-errors")},
			} {
				d := decide(t, boundary, nil, r)
				assert.True(t, d.Allowed, "CodeDeploy shifts the alias and reads the alarm: %s (%s)", r.Action, d.Why)
			}
			for _, r := range []policies.Request{
				{Action: "iam:CreateRole", Resource: "arn:aws:iam::" + c.account + ":role/x"},
				{Action: "sts:AssumeRole", Resource: "arn:aws:iam::" + c.account + ":role/x"},
				{Action: "s3:GetObject", Resource: "arn:aws:s3:::" + config.ArtifactBucketName(devAccount) + "/x"},
				{Action: "lambda:UpdateFunctionCode", Resource: function},
				{Action: "lambda:UpdateAlias", Resource: arn("lambda", "function:SomeoneElse:live")},
				{Action: "logs:PutLogEvents", Resource: arn("logs", "log-group:/aws/lambda/SomeoneElse:log-stream:x")},
			} {
				d := decide(t, boundary, nil, r)
				assert.False(t, d.Allowed, "the boundary keeps application roles from %s on %s (%s)", r.Action, r.Resource, d.Why)
			}
		})
	}
}

func onlyResourceWithPrefixIn(t *testing.T, stackID, prefix, typ string) (string, map[string]any) {
	t.Helper()
	for id, r := range resourcesOf(stackID, typ) {
		if strings.HasPrefix(id, prefix) {
			return id, r
		}
	}
	t.Fatalf("%s has no %s %s*", stackID, typ, prefix)
	return "", nil
}

// Whatever the application template grants its roles must lie inside the boundary, or it is
// denied at run time with nothing in the deploy to say why. A grant added to the template
// without its line in policies/application-boundary.json fails here, named.
func TestBoundaryCoversWhatApplicationRolesAreGranted(t *testing.T) {
	for _, c := range boundedCases(t) {
		boundary := boundaryStatements(t, c.rolesStack, c.boundaryName)
		for roleID := range resourcesOf(c.appStack, "AWS::IAM::Role") {
			attached := 0
			for _, p := range resourcesOf(c.appStack, "AWS::IAM::Policy") {
				if slices.ContainsFunc(list(get(p, "Properties", "Roles")), func(r any) bool { return get(r, "Ref") == roleID }) {
					attached++
				}
			}
			if attached == 0 {
				continue // only AWS managed policies, which CodeDeploy's own use keeps inside
			}
			for _, s := range resolvedStatements(t, c.appStack, roleID) {
				for _, action := range list(s["Action"]) {
					for _, resource := range list(s["Resource"]) {
						r := policies.Request{Action: action.(string), Resource: resource.(string)}
						d := decide(t, boundary, nil, r)
						assert.True(t, d.Allowed, "%s/%s is granted %s on %s, which %s does not allow: add it to policies/application-boundary.json",
							c.appStack, roleID, r.Action, r.Resource, c.boundaryName)
					}
				}
			}
		}
	}
}

// The approvals' Preview reads the application stack through the same read-only session as
// Check_Roles: it may read, and nothing else.
func TestPreviewSessionReadsTheApplicationStackOnly(t *testing.T) {
	roleID, _ := onlyResourceNamed(t, ProdRolesStackID, "AWS::IAM::Role", config.CrossAccountRoleName)
	role := resolvedStatements(t, ProdRolesStackID, roleID)
	stack := fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/0123abcd", testConfig.Region, prodAccount, ProdDeploymentStackName)
	session := map[string]string{"aws:userid": "AROAEXAMPLE:" + config.RolesCheckSession}
	for action, allowed := range map[string]bool{"cloudformation:GetTemplate": true, "cloudformation:DescribeStacks": true,
		"cloudformation:UpdateStack": false, "cloudformation:CreateStack": false, "cloudformation:SetStackPolicy": false} {
		d := decide(t, role, nil, policies.Request{Action: action, Resource: stack, Context: session})
		assert.Equal(t, allowed, d.Allowed, "the %s session and %s: %s", config.RolesCheckSession, action, d.Why)
	}
	d := decide(t, role, nil, policies.Request{Action: "cloudformation:UpdateStack", Resource: stack,
		Context: map[string]string{"aws:userid": "AROAEXAMPLE:pipeline-session"}})
	assert.True(t, d.Allowed, "the pipeline's own session still deploys: %s", d.Why)
}

// The boundary bounds what an application role may do; Record_Digests and Verify_Artifacts
// (review.js trust) bound who may assume one: only the services the application runs on. A
// template whose function role trusted another account would hand that account the boundary's
// permissions, shifting prod's live alias among them.
func TestApplicationRolesTrustOnlyTheirServices(t *testing.T) {
	var templates []string
	for _, s := range pipelineStages(t) {
		if d := deployActionIn(s); d != nil {
			templates = append(templates, strings.TrimPrefix(get(d, "Configuration", "TemplatePath").(string), CdkArtifact+"::"))
		}
	}
	project := projectOfAction(t, "Build", config.RecordDigestsAction)
	var appTemplates string
	for _, v := range list(get(project, "Properties", "Environment", "EnvironmentVariables")) {
		if get(v, "Name") == "APP_TEMPLATES" {
			appTemplates = get(v, "Value").(string)
		}
	}
	assert.Equal(t, strings.Join(templates, " "), appTemplates, "the check covers every template a deploy stage deploys")

	check := func(edit func(role map[string]any)) error {
		var tmpl map[string]any
		data, _ := json.Marshal(raw[ProdApplicationStackID])
		require.NoError(t, json.Unmarshal(data, &tmpl))
		if edit != nil {
			id, _ := onlyResourceWithPrefixIn(t, ProdApplicationStackID, "FunctionRole", "AWS::IAM::Role")
			edit(tmpl["Resources"].(map[string]any)[id].(map[string]any))
		}
		path := filepath.Join(t.TempDir(), "app.json")
		out, _ := json.Marshal(tmpl)
		require.NoError(t, os.WriteFile(path, out, 0o644))
		_, err := reviewJS(t, nil, "trust", path)
		return err
	}
	require.NoError(t, check(nil), "the synthesized application template passes")
	trust := func(statement map[string]any) func(map[string]any) {
		return func(role map[string]any) {
			doc := get(role, "Properties", "AssumeRolePolicyDocument").(map[string]any)
			doc["Statement"] = append(list(doc["Statement"]), statement)
		}
	}
	for name, edit := range map[string]func(map[string]any){
		"another account": trust(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"AWS": "arn:aws:iam::999999999999:root"}}),
		"another service": trust(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"Service": "ec2.amazonaws.com"}}),
		"a principal built with Fn::Sub": trust(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole",
			"Principal": map[string]any{"Service": map[string]any{"Fn::Sub": "lambda.${AWS::URLSuffix}"}}}),
		"web identities": trust(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": map[string]any{"Federated": "cognito-identity.amazonaws.com"}}),
		"NotPrincipal":   trust(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "NotPrincipal": map[string]any{"Service": "lambda.amazonaws.com"}}),
		"a conditioned Deny that a push could drop later": trust(map[string]any{"Effect": "Deny", "Action": "sts:AssumeRole",
			"Principal": map[string]any{"Service": "lambda.amazonaws.com"}}),
		"a trust given as a string": func(role map[string]any) {
			propsOf(role)["AssumeRolePolicyDocument"] = `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*"}}]}`
		},
	} {
		assert.Error(t, check(edit), "an application role that trusts %s is refused", name)
	}
}
