package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

func TestThreeEnvironments(t *testing.T) {
	_, three := synthesizedVariant(t, "three")
	tmpls := three.Templates
	assert.Equal(t, []string{"RepositoryStack", "LambdaStack", "DevApplicationStack", "StagingApplicationStack", "ProdApplicationStack",
		"CrossAccountPipelineStack", "StagingAccountRolesStack", "ProdAccountRolesStack"}, three.Stacks)

	var stages []any
	for _, r := range tmpls[config.PipelineStackID]["Resources"].(map[string]any) {
		if get(r, "Type") == "AWS::CodePipeline::Pipeline" {
			stages = list(get(r, "Properties", "Stages"))
		}
	}
	var names []any
	for _, st := range stages {
		names = append(names, get(st, "Name"))
	}
	assert.Equal(t, []any{"Source", "Build", config.ApproveUpdateStage, config.UpdatePipelineStage, "Deploy_Dev", config.CheckRolesStage,
		"Deploy_Staging", "Approve_Prod", "Deploy_Prod"}, names,
		"one deploy stage per environment in order; the roles of both other accounts checked before the first of them; approval only before the last")
	for _, st := range stages {
		if get(st, "Name") != config.CheckRolesStage {
			continue
		}
		require.Len(t, list(get(st, "Actions")), 2, "one check per other account")
		ref := get(st, "Actions", 0, "Configuration", "ProjectName", "Ref").(string)
		var fixes map[string]string
		for _, v := range list(get(tmpls[config.PipelineStackID]["Resources"].(map[string]any)[ref], "Properties", "Environment", "EnvironmentVariables")) {
			if get(v, "Name") == "FIXES" {
				require.NoError(t, json.Unmarshal([]byte(get(v, "Value").(string)), &fixes))
			}
		}
		assert.Contains(t, fixes[stagingAccount], "make deploy-roles ENV=staging ENVIRONMENTS=", "the fix for each account, in the project's environment")
		assert.Contains(t, fixes[prodAccount], "make deploy-roles ENV=prod ENVIRONMENTS=")
	}
	for _, st := range stages {
		name := get(st, "Name").(string)
		if !strings.HasPrefix(name, "Deploy_") {
			continue
		}
		deploy := get(deployActionIn(st), "Configuration")
		wantMode := map[string]string{"Deploy_Dev": "REPLACE_ON_FAILURE"}[name]
		if wantMode == "" {
			wantMode = "CREATE_UPDATE"
		}
		assert.Equal(t, wantMode, get(deploy, "ActionMode"), "%s: only the first environment may replace its stack", name)
		assert.Equal(t, "ROLLBACK", get(st, "OnFailure", "Result"), name)
	}

	pipelineRole := fmt.Sprintf("arn:aws:iam::%s:role/%s", devAccount, config.PipelineRoleName)
	for _, c := range []struct{ stack, account, env string }{
		{"StagingAccountRolesStack", stagingAccount, "staging"},
		{"ProdAccountRolesStack", prodAccount, "prod"},
	} {
		t.Run(c.stack, func(t *testing.T) {
			var roleNames []string
			for _, r := range tmpls[c.stack]["Resources"].(map[string]any) {
				if get(r, "Type") != "AWS::IAM::Role" {
					continue
				}
				name := get(r, "Properties", "RoleName").(string)
				roleNames = append(roleNames, name)
				if name == config.CrossAccountRoleName {
					assert.Equal(t, map[string]any{"ArnEquals": map[string]any{"aws:PrincipalArn": pipelineRole}},
						get(r, "Properties", "AssumeRolePolicyDocument", "Statement", 0, "Condition"), "only the pipeline role may assume it")
					assert.Equal(t, config.RolesCheckSession, get(r, "Properties", "AssumeRolePolicyDocument", "Statement", 1, "Condition",
						"StringEquals", "sts:RoleSessionName"), "and the roles check, in its read-only session")
				}
			}
			env := config.Environment{Name: c.env}
			assert.ElementsMatch(t, []string{config.CrossAccountRoleName, config.DeploymentRoleNameFor(env)}, roleNames)
			text := fmt.Sprint(tmpls[c.stack])
			assert.Contains(t, text, env.AppName(), "the deployment role covers its application")
			for _, other := range []string{"dev", "staging", "prod"} {
				if other != c.env {
					assert.NotContains(t, text, config.Environment{Name: other}.AppName()+"/", "%s's roles must not reach %s's application", c.stack, other)
				}
			}
		})
	}

	// The key and bucket policies name exactly the roles of the other accounts.
	keyText := ""
	for _, typ := range []string{"AWS::KMS::Key", "AWS::S3::BucketPolicy"} {
		for _, r := range tmpls[config.PipelineStackID]["Resources"].(map[string]any) {
			if get(r, "Type") == typ {
				keyText += fmt.Sprint(r)
			}
		}
	}
	for _, arn := range []string{
		"arn:aws:iam::" + stagingAccount + ":role/" + config.CrossAccountRoleName,
		"arn:aws:iam::" + stagingAccount + ":role/" + config.DeploymentRoleNameFor(config.Environment{Name: "staging"}),
		"arn:aws:iam::" + prodAccount + ":role/" + config.CrossAccountRoleName,
		"arn:aws:iam::" + prodAccount + ":role/" + config.DeploymentRoleName,
	} {
		assert.Contains(t, keyText, arn)
	}
}

// deploymentConfigOf returns the CodeDeploy config of an application template.
func deploymentConfigOf(t *testing.T, tmpl map[string]any) string {
	t.Helper()
	for _, r := range tmpl["Resources"].(map[string]any) {
		if get(r, "Type") == "AWS::CodeDeploy::DeploymentGroup" {
			return fmt.Sprint(get(r, "Properties", "DeploymentConfigName"))
		}
	}
	t.Fatal("no deployment group")
	return ""
}

// awsPrincipals collects the AWS principals of a resource policy's Allow statements.
func awsPrincipals(doc any) []string {
	var out []string
	for _, s := range list(get(doc, "Statement")) {
		if get(s, "Effect") != "Allow" {
			continue
		}
		for _, p := range list(get(s, "Principal", "AWS")) {
			if str, ok := p.(string); ok && !slices.Contains(out, str) {
				out = append(out, str)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Per environment of dev -> staging -> prod: the traffic each one's template shifts with, and
// key and bucket policies that name exactly the other accounts' roles.
func TestThreeEnvironmentsTrafficAndArtifactAccess(t *testing.T) {
	_, three := synthesizedVariant(t, "three")
	tmpls := three.Templates
	for stack, want := range map[string]string{
		"DevApplicationStack":     "CodeDeployDefault.LambdaAllAtOnce",
		"StagingApplicationStack": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
		"ProdApplicationStack":    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
	} {
		assert.Contains(t, deploymentConfigOf(t, tmpls[stack]), want, "%s: all-at-once first, canary after by default", stack)
	}
	remoteRoles := []string{
		"arn:aws:iam::" + prodAccount + ":role/" + config.CrossAccountRoleName,
		"arn:aws:iam::" + prodAccount + ":role/" + config.DeploymentRoleName,
		"arn:aws:iam::" + stagingAccount + ":role/" + config.CrossAccountRoleName,
		"arn:aws:iam::" + stagingAccount + ":role/" + config.DeploymentRoleNameFor(config.Environment{Name: "staging"}),
	}
	slices.Sort(remoteRoles)
	for _, r := range tmpls[config.PipelineStackID]["Resources"].(map[string]any) {
		switch get(r, "Type") {
		case "AWS::KMS::Key":
			var others []string
			for _, p := range awsPrincipals(get(r, "Properties", "KeyPolicy")) {
				if !strings.Contains(p, ":"+devAccount+":") {
					others = append(others, p)
				}
			}
			assert.Equal(t, remoteRoles, others, "the key policy names exactly the other accounts' roles")
		case "AWS::S3::BucketPolicy":
			assert.Subset(t, remoteRoles, awsPrincipals(get(r, "Properties", "PolicyDocument")), "the bucket policy names no one else")
		}
	}
}

// Environments may share an account: one roles stack, named after the first of them like every
// roles stack (prod's account holds env7's, env8's and prod's in the largest configuration), one
// deployment role per environment, each scoped to its own application, and a cross-account role
// that drives their stacks and no other.
func TestEnvironmentsSharingAnAccount(t *testing.T) {
	cfg, largest := synthesizedVariant(t, "largest")
	shared := config.EnvironmentsIn(cfg, prodAccount)
	require.Len(t, shared, 3, "the largest configuration puts three environments in prod's account")
	id := config.RolesStackID(shared)
	assert.Equal(t, "Env7AccountRolesStack", id, "named after the account's first environment, even with prod in it")
	assert.Contains(t, largest.Roles, id)
	assert.NotContains(t, largest.Roles, ProdRolesStackID)
	tmpl := largest.Templates[id]

	policies := map[string]string{} // role name -> its policies' text
	roleNames := map[string]string{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		if get(r, "Type") == "AWS::IAM::Role" {
			roleNames[id] = get(r, "Properties", "RoleName").(string)
		}
	}
	for _, r := range tmpl["Resources"].(map[string]any) {
		if get(r, "Type") == "AWS::IAM::Policy" {
			for _, ref := range list(get(r, "Properties", "Roles")) {
				name := roleNames[get(ref, "Ref").(string)]
				policies[name] += fmt.Sprint(get(r, "Properties", "PolicyDocument"))
			}
		}
	}
	want := []string{config.CrossAccountRoleName}
	for _, e := range shared {
		want = append(want, config.DeploymentRoleNameFor(e))
	}
	assert.Contains(t, want, config.DeploymentRoleName, "prod keeps its deployment role's name in a shared account")
	assert.ElementsMatch(t, want, slices.Collect(maps.Values(roleNames)))
	cross := policies[config.CrossAccountRoleName]
	for _, e := range cfg.Environments {
		stack := "stack/" + e.DeploymentStackName() + "/*"
		if slices.Contains(shared, e) {
			assert.Contains(t, cross, stack)
		} else {
			assert.NotContains(t, cross, stack, "the cross-account role reaches only its account's stacks")
		}
	}
	for _, e := range shared {
		own := policies[config.DeploymentRoleNameFor(e)]
		for _, other := range cfg.Environments {
			if other == e {
				assert.Contains(t, own, e.AppName()+"/", "%s's deployment role covers its application", e.Name)
			} else {
				assert.NotContains(t, own, other.AppName()+"/", "%s's deployment role does not reach %s's", e.Name, other.Name)
			}
		}
	}
}
