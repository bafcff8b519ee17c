package stacks

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// The tests in this file check that the two accounts agree: what the dev account's pipeline
// refers to by name or ARN is exactly what the prod account's stacks create.

// prodRoleArns returns the ARNs of the roles ProdAccountRolesStack creates, by role name.
func prodRoleArns(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range resourcesOf(ProdRolesStackID, "AWS::IAM::Role") {
		name, ok := get(r, "Properties", "RoleName").(string)
		require.True(t, ok, "prod roles need fixed names: the dev account refers to them by name")
		out[name] = fmt.Sprintf("arn:aws:iam::%s:role/%s", *built.Roles[0].Account(), name)
	}
	return out
}

func TestPipelineAssumesExactlyTheProdRoles(t *testing.T) {
	roles := prodRoleArns(t)
	deploy := action(t, "Deploy_Prod", "Deploy")
	assert.Equal(t, roles[config.CrossAccountRoleName], get(deploy, "RoleArn"), "prod deploy must assume CodePipelineCrossAccountRole")
	assert.Equal(t, roles[config.DeploymentRoleName], get(deploy, "Configuration", "RoleArn"),
		"prod CloudFormation must run as CloudFormationDeploymentRole")

	// The pipeline's own role may assume the cross-account role, and only roles the app owns.
	_, pipeline := onlyResource(t, config.PipelineStackID, "AWS::CodePipeline::Pipeline")
	pipelineRole := get(pipeline, "Properties", "RoleArn", "Fn::GetAtt", 0)
	var assumable []any
	for _, p := range resourcesOf(config.PipelineStackID, "AWS::IAM::Policy") {
		if get(p, "Properties", "Roles", 0, "Ref") != pipelineRole {
			continue
		}
		for _, s := range list(get(p, "Properties", "PolicyDocument", "Statement")) {
			if slices.Contains(list(get(s, "Action")), any("sts:AssumeRole")) {
				assumable = append(assumable, list(get(s, "Resource"))...)
			}
		}
	}
	assert.Contains(t, assumable, any(roles[config.CrossAccountRoleName]), "the pipeline role must be allowed to assume the prod role")
	for _, r := range assumable {
		if s, ok := r.(string); ok {
			assert.Equal(t, roles[config.CrossAccountRoleName], s, "the pipeline may assume no other literal role ARN")
		}
	}
}

func TestArtifactPoliciesNameOnlyTheProdRoles(t *testing.T) {
	roles := prodRoleArns(t)
	want := []any{roles[config.CrossAccountRoleName], roles[config.DeploymentRoleName]}
	slices.SortFunc(want, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })

	_, key := onlyResource(t, config.PipelineStackID, "AWS::KMS::Key")
	_, bucketPolicy := onlyResource(t, config.PipelineStackID, "AWS::S3::BucketPolicy")
	for name, doc := range map[string]any{
		"key policy":    get(key, "Properties", "KeyPolicy"),
		"bucket policy": get(bucketPolicy, "Properties", "PolicyDocument"),
	} {
		var crossAccount []any
		for _, s := range list(get(doc, "Statement")) {
			if get(s, "Effect") != "Allow" {
				continue
			}
			for _, p := range list(get(s, "Principal", "AWS")) {
				arn, _ := p.(string)
				if strings.Contains(arn, ":"+devAccount+":") {
					continue // the dev account's own administration of its key
				}
				crossAccount = append(crossAccount, p)
			}
		}
		slices.SortFunc(crossAccount, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		assert.Equal(t, want, slices.Compact(crossAccount),
			"the %s must grant the two prod roles by ARN, not the whole prod account or anyone else", name)
	}
}

func TestProdPoliciesNameThePipelineBucket(t *testing.T) {
	_, bucket := onlyResource(t, config.PipelineStackID, "AWS::S3::Bucket")
	name := get(bucket, "Properties", "BucketName").(string)
	for _, role := range []string{config.CrossAccountRoleName, config.DeploymentRoleName} {
		found := false
		for _, p := range rolePoliciesOf(t, ProdRolesStackID, role) {
			doc, _ := json.Marshal(get(p, "Properties", "PolicyDocument"))
			found = found || strings.Contains(string(doc), "arn:aws:s3:::"+name+"/*")
		}
		assert.True(t, found, "%s must be able to read the pipeline's bucket %s", role, name)
	}
}

func TestParameterOverridesMatchApplicationParameters(t *testing.T) {
	for _, c := range []struct{ stage, stackID string }{
		{"Deploy_Dev", DevApplicationStackID}, {"Deploy_Prod", ProdApplicationStackID},
	} {
		raw, _ := get(action(t, c.stage, "Deploy"), "Configuration", "ParameterOverrides").(string)
		var overrides map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &overrides))
		assert.Equal(t, keys(parameterNames(c.stackID)), keys(overrides),
			"%s must fill exactly the parameters %s declares, or CloudFormation rejects the deploy", c.stage, c.stackID)
		for name, v := range overrides {
			assert.Equal(t, "LambdaBuildOutput", get(v, "Fn::GetArtifactAtt", 0), "%s comes from the Lambda build", name)
		}
	}
}

func parameterNames(stackID string) map[string]any {
	m, _ := raw[stackID]["Parameters"].(map[string]any)
	return m
}

func TestSynthBuildspecOutputsTheTemplatesTheDeploysRead(t *testing.T) {
	spec := buildspecOf(t, projectOfAction(t, "Build", "CDK_Synth"))
	var files []string
	for _, f := range list(get(spec, "artifacts", "files")) {
		files = append(files, f.(string))
	}
	// The whole assembly: Pipeline_Changes and UpdatePipeline need the pipeline stack's
	// manifest and assets, Check_Roles the roles stacks' templates, and every environment's
	// deploy its application template, however many environments there are.
	assert.Equal(t, "cdk.out", get(spec, "artifacts", "base-directory"))
	assert.Equal(t, []string{"**/*"}, files, "CDK_Synth hands on the whole cloud assembly")
	for _, stage := range []string{"Deploy_Dev", "Deploy_Prod"} {
		path, _ := get(action(t, stage, "Deploy"), "Configuration", "TemplatePath").(string)
		file := strings.TrimPrefix(path, "CdkBuildOutput::")
		assert.FileExists(t, filepath.Join(outdir, file), "%s reads %s, which the synth must produce", stage, file)
	}
	appSpec := buildspecOf(t, projectOfAction(t, "Build", "Application_Build"))
	assert.Equal(t, []any{"bootstrap"}, get(appSpec, "artifacts", "files"),
		"the Lambda zip's root must hold bootstrap for provided.al2023")
}

func TestNoPlaceholderSurvivesSynthesis(t *testing.T) {
	for id, tmpl := range raw {
		text, err := json.Marshal(tmpl)
		require.NoError(t, err)
		assert.NotContains(t, string(text), "{{", "%s still has a policy placeholder", id)
	}
}

func TestNoWildcardActions(t *testing.T) {
	for id := range raw {
		for rid, doc := range identityPolicies(id) {
			assert.Empty(t, allActionGrants(doc), "%s/%s grants every action of a service or of AWS", id, rid)
		}
	}
	// Both spellings IAM accepts are caught.
	for _, doc := range []string{`{"Statement":[{"Action":"*"}]}`, `{"Statement":[{"Action":["s3:GetObject","*"]}]}`, `{"Statement":[{"Action":["iam:*"]}]}`} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(doc), &v))
		assert.NotEmpty(t, allActionGrants(v), "the check must catch %s", doc)
	}
}

// allActionGrants returns the actions of a policy document that grant a whole service or
// everything: "*" and "service:*", as a string or in a list.
func allActionGrants(doc any) []string {
	var out []string
	for _, s := range list(get(doc, "Statement")) {
		for _, a := range list(get(s, "Action")) {
			if action, _ := a.(string); action == "*" || strings.HasSuffix(action, ":*") {
				out = append(out, action)
			}
		}
	}
	return out
}

// identityPolicies returns every identity policy document of a stack's template: those of
// AWS::IAM::Policy resources and the inline policies of roles, keyed by where they sit.
func identityPolicies(stackID string) map[string]any {
	out := map[string]any{}
	for id, p := range resourcesOf(stackID, "AWS::IAM::Policy") {
		out[id] = get(p, "Properties", "PolicyDocument")
	}
	for id, r := range resourcesOf(stackID, "AWS::IAM::Role") {
		for i, p := range list(get(r, "Properties", "Policies")) {
			out[fmt.Sprintf("%s.Policies[%d]", id, i)] = get(p, "PolicyDocument")
		}
	}
	return out
}

func TestProdTrustsOnlyThePipelineRole(t *testing.T) {
	_, pipeline := onlyResource(t, config.PipelineStackID, "AWS::CodePipeline::Pipeline")
	roleID, _ := get(pipeline, "Properties", "RoleArn", "Fn::GetAtt", 0).(string)
	pipelineRole := resourcesOf(config.PipelineStackID, "AWS::IAM::Role")[roleID]
	require.NotNil(t, pipelineRole, "the pipeline's service role is created in its stack")
	name, _ := get(pipelineRole, "Properties", "RoleName").(string)
	require.NotEmpty(t, name, "the pipeline role needs a fixed name for prod to trust it")
	pipelineRoleArn := fmt.Sprintf("arn:aws:iam::%s:role/%s", devAccount, name)

	for _, r := range resourcesOf(ProdRolesStackID, "AWS::IAM::Role") {
		if get(r, "Properties", "RoleName") != config.CrossAccountRoleName {
			continue
		}
		statements := list(get(r, "Properties", "AssumeRolePolicyDocument", "Statement"))
		require.Len(t, statements, 2, "the pipeline role, and the roles check in its read-only session")
		for _, s := range statements {
			assert.Equal(t, "arn:aws:iam::"+devAccount+":root", get(s, "Principal", "AWS"),
				"the principal is the dev account, so the trust deploys before the pipeline role exists")
		}
		assert.Equal(t, map[string]any{"ArnEquals": map[string]any{"aws:PrincipalArn": pipelineRoleArn}}, get(statements[0], "Condition"),
			"only the pipeline's own role may assume CodePipelineCrossAccountRole, not any principal of the dev account")
		checkRoleArn := fmt.Sprintf("arn:aws:iam::%s:role/%s", devAccount, config.RolesCheckRoleName)
		assert.Equal(t, map[string]any{
			"ArnEquals":    map[string]any{"aws:PrincipalArn": checkRoleArn},
			"StringEquals": map[string]any{"sts:RoleSessionName": config.RolesCheckSession},
		}, get(statements[1], "Condition"), "the roles check may assume it only in the session the deny statement confines")
		return
	}
	t.Fatalf("%s creates no %s", ProdRolesStackID, config.CrossAccountRoleName)
}
