package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// threeEnvApp synthesizes dev -> staging (its own account) -> prod for the tests below.
func threeEnvApp(t *testing.T) (*Stacks, map[string]map[string]any) {
	return environmentsApp(t, threeEnvironments())
}

// environmentsApps holds each environments list's synthesized app, so tests sharing a list pay
// for one jsii App and one synth.
var environmentsApps = map[string]*environmentsResult{}

type environmentsResult struct {
	stacks *Stacks
	tmpls  map[string]map[string]any
	nag    map[string][]string // cdk-nag findings by stack ID
}

// environmentsApp synthesizes the app for an environments list in its own App and returns its
// templates by stack ID, each free of cdk-nag findings.
func environmentsApp(t *testing.T, list string) (*Stacks, map[string]map[string]any) {
	return configuredApp(t, list, nil)
}

// configuredApp is environmentsApp with more configuration keys (notifications, say).
func configuredApp(t *testing.T, list string, more map[string]any) (*Stacks, map[string]map[string]any) {
	t.Helper()
	key := list + fmt.Sprint(more)
	r, ok := environmentsApps[key]
	if !ok {
		v := testValues()
		delete(v, config.DevAccountKey)
		delete(v, config.ProdAccountKey)
		v[config.EnvironmentsKey] = list
		for k, x := range more {
			v[k] = x
		}
		cfg, err := config.NewConfig(v)
		require.NoError(t, err)
		ctx, err := config.CDKJSONContext("../cdk.json")
		require.NoError(t, err)
		// The built-in validation ran over the same constructs in the shared app.
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir()), BuiltinCloudFormationValidation: jsii.Bool(false)})
		s, err := Build(app, cfg)
		require.NoError(t, err)
		asm := app.Synth(nil)
		r = &environmentsResult{stacks: s, tmpls: map[string]map[string]any{}, nag: map[string][]string{}}
		for _, st := range s.All() {
			r.tmpls[*st.StackName()] = asm.GetStackByName(st.StackName()).Template().(map[string]any)
			r.nag[*st.StackName()] = nagFindingsIn(asm, *st.StackName())
		}
		environmentsApps[key] = r
	}
	for id, findings := range r.nag {
		assert.Empty(t, findings, "%s has cdk-nag findings", id)
	}
	return r.stacks, r.tmpls
}

func TestThreeEnvironments(t *testing.T) {
	s, tmpls := threeEnvApp(t)
	var ids []string
	for _, st := range s.All() {
		ids = append(ids, *st.StackName())
	}
	assert.Equal(t, []string{"RepositoryStack", "LambdaStack", "DevApplicationStack", "StagingApplicationStack", "ProdApplicationStack",
		"CrossAccountPipelineStack", "StagingAccountRolesStack", "ProdAccountRolesStack"}, ids)

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
	_, tmpls := threeEnvApp(t)
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

// Two environments may share an account: one roles stack, named after the first of them like
// every roles stack, one deployment role per environment, each scoped to its own application,
// and a cross-account role that drives both stacks and no other.
func TestEnvironmentsSharingAnAccount(t *testing.T) {
	s, tmpls := environmentsApp(t, fmt.Sprintf(`[{"name":"dev","account":%q},{"name":"qa","account":%q},{"name":"prod","account":%q}]`,
		devAccount, prodAccount, prodAccount))
	require.Len(t, s.Roles, 1, "one roles stack for the shared account")
	assert.Equal(t, "QaAccountRolesStack", *s.Roles[0].StackName())
	tmpl := tmpls["QaAccountRolesStack"]

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
	assert.ElementsMatch(t, []string{config.CrossAccountRoleName, config.DeploymentRoleName, config.DeploymentRoleNameFor(config.Environment{Name: "qa"})}, slices.Collect(maps.Values(roleNames)))
	cross := policies[config.CrossAccountRoleName]
	assert.Contains(t, cross, "stack/QaApplicationDeploymentStack/*")
	assert.Contains(t, cross, "stack/ProdApplicationDeploymentStack/*")
	assert.NotContains(t, cross, "DevApplicationDeploymentStack")
	for env, own := range map[string]string{"qa": config.DeploymentRoleNameFor(config.Environment{Name: "qa"}), "prod": config.DeploymentRoleName} {
		other := map[string]string{"qa": "prod", "prod": "qa"}[env]
		assert.Contains(t, policies[own], config.Environment{Name: env}.AppName()+"/", "%s's deployment role covers its application", env)
		assert.NotContains(t, policies[own], config.Environment{Name: other}.AppName()+"/", "%s's deployment role does not reach %s's", env, other)
	}
}
