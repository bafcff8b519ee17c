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

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// reviewVerdict is what review.js pipeline printed.
type reviewVerdict struct {
	Changed, Widens bool
	Reason, Changes string
}

func parseVerdict(t *testing.T, out string) reviewVerdict {
	t.Helper()
	v := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, val, ok := strings.Cut(line, "=")
		require.True(t, ok, "review.js printed %q", line)
		v[k] = strings.Trim(val, "'")
	}
	require.Len(t, v, 4, "review.js prints CHANGED, WIDENS, REASON and CHANGES: %q", out)
	return reviewVerdict{v["CHANGED"] == "true", v["WIDENS"] == "true", v["REASON"], v["CHANGES"]}
}

// pipelineEdit changes a copy of the synthesized pipeline template.
type pipelineEdit func(t *testing.T, tmpl map[string]any)

// inTemplate finds the resource whose logical ID starts with prefix.
func inTemplate(t *testing.T, tmpl map[string]any, prefix, typ string) map[string]any {
	t.Helper()
	for id, r := range resourcesIn(tmpl, typ) {
		if strings.HasPrefix(id, prefix) {
			return r
		}
	}
	t.Fatalf("no %s %s*", typ, prefix)
	return nil
}

func propsOf(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// statements returns a policy resource's statement list, for editing.
func statements(r map[string]any, key string) []any {
	return list(get(r, "Properties", key, "Statement"))
}

func setStatements(r map[string]any, key string, s []any) {
	propsOf(r)[key].(map[string]any)["Statement"] = s
}

// addStatement adds a statement to the policy of a role, by the policy's logical ID prefix.
func addStatement(prefix string, s map[string]any) pipelineEdit {
	return func(t *testing.T, tmpl map[string]any) {
		p := inTemplate(t, tmpl, prefix, "AWS::IAM::Policy")
		setStatements(p, "PolicyDocument", append(statements(p, "PolicyDocument"), s))
	}
}

func stagesOf(t *testing.T, tmpl map[string]any) []any {
	return list(propsOf(onlyIn(t, tmpl, "AWS::CodePipeline::Pipeline"))["Stages"])
}

func onlyIn(t *testing.T, tmpl map[string]any, typ string) map[string]any {
	t.Helper()
	all := resourcesIn(tmpl, typ)
	require.Len(t, all, 1, typ)
	for _, r := range all {
		return r
	}
	return nil
}

func stageNamed(t *testing.T, tmpl map[string]any, name string) map[string]any {
	for _, s := range stagesOf(t, tmpl) {
		if get(s, "Name") == name {
			return s.(map[string]any)
		}
	}
	t.Fatalf("no stage %s", name)
	return nil
}

func actionNamed(t *testing.T, tmpl map[string]any, stage, name string) map[string]any {
	for _, a := range list(get(stageNamed(t, tmpl, stage), "Actions")) {
		if get(a, "Name") == name {
			return a.(map[string]any)
		}
	}
	t.Fatalf("no action %s.%s", stage, name)
	return nil
}

func actionConfig(t *testing.T, tmpl map[string]any, stage, name string) map[string]any {
	return actionNamed(t, tmpl, stage, name)["Configuration"].(map[string]any)
}

// synthEnv returns CDK_Synth's build variables, for editing.
func synthEnv(t *testing.T, tmpl map[string]any) map[string]any {
	return propsOf(inTemplate(t, tmpl, "CdkSynth", "AWS::CodeBuild::Project"))["Environment"].(map[string]any)
}

// A literal Allow statement that a push may remove without a person.
var literalStatement = map[string]any{"Sid": "ReadSomething", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::some-bucket/*"}

// hostileEdits are the ways a push with no AWS credentials tries to widen what the pipeline may
// do without a person seeing it. Each is an edit of the synthesized pipeline stack (or, with
// onDeployed, of the deployed one) that must need a person; want is what the approver is told.
var hostileEdits = []struct {
	name, want string
	edit       pipelineEdit
	onDeployed bool
}{
	// IAM that `cdk diff --security-only` counts as a narrowing.
	{"NotAction on CDK_Synth's role", "changes the policy CdkSynthRoleDefaultPolicy", addStatement("CdkSynthRoleDefaultPolicy",
		map[string]any{"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "*"}), false},
	{"a non-literal Effect", "changes the policy CdkSynthRoleDefaultPolicy", addStatement("CdkSynthRoleDefaultPolicy",
		map[string]any{"Effect": map[string]any{"Fn::Sub": "Allow"}, "Action": "iam:*", "Resource": "*"}), false},
	{"a non-literal Effect in a trust policy", "changes the policy CdkSynthRole", func(t *testing.T, tmpl map[string]any) {
		r := inTemplate(t, tmpl, "CdkSynthRole", "AWS::IAM::Role")
		setStatements(r, "AssumeRolePolicyDocument", append(statements(r, "AssumeRolePolicyDocument"), map[string]any{
			"Effect": map[string]any{"Fn::Sub": "Allow"}, "Action": "sts:AssumeRole", "Principal": map[string]any{"AWS": "*"}}))
	}, false},
	{"a policy document given as a string", "changes the policy SmokeTestRoleDefaultPolicy", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "SmokeTestRoleDefaultPolicy", "AWS::IAM::Policy"))["PolicyDocument"] =
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	}, false},
	{"a principal built with Fn::Join", "builds Resources.ApplicationBuildRole", func(t *testing.T, tmpl map[string]any) {
		r := inTemplate(t, tmpl, "ApplicationBuildRole", "AWS::IAM::Role")
		setStatements(r, "AssumeRolePolicyDocument", []any{map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole",
			"Principal": map[string]any{"AWS": map[string]any{"Fn::Join": []any{"", []any{"arn:aws:iam::", "999999999999", ":root"}}}}}})
	}, false},
	{"a managed policy built with Fn::Sub", "changes CdkSynthRole", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "CdkSynthRole", "AWS::IAM::Role"))["ManagedPolicyArns"] = []any{
			map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"}}
	}, false},
	{"a permissions boundary removed", "changes SmokeTestRole", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "SmokeTestRole", "AWS::IAM::Role"))["PermissionsBoundary"] = "arn:aws:iam::aws:policy/PowerUserAccess"
	}, true},
	{"a role's policy attached to another role", "changes ApplicationBuildRoleDefaultPolicy", func(t *testing.T, tmpl map[string]any) {
		p := inTemplate(t, tmpl, "ApplicationBuildRoleDefaultPolicy", "AWS::IAM::Policy")
		propsOf(p)["Roles"] = append(list(propsOf(p)["Roles"]), map[string]any{"Ref": "CdkSynthRoleEADD8A33"})
	}, false},
	{"a trust policy Condition removed", "changes the policy CdkSynthRole", func(t *testing.T, tmpl map[string]any) {
		r := inTemplate(t, tmpl, "CdkSynthRole", "AWS::IAM::Role")
		s := statements(r, "AssumeRolePolicyDocument")[0].(map[string]any)
		s["Condition"] = map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": devAccount}}
	}, true},
	// The gates' own plumbing, both ways.
	{"a narrowed trusted role", "part of the gates", func(t *testing.T, tmpl map[string]any) {
		p := inTemplate(t, tmpl, "UpdatePipelineRoleDefaultPolicy", "AWS::IAM::Policy")
		setStatements(p, "PolicyDocument", statements(p, "PolicyDocument")[1:])
	}, false},
	{"a narrowed pipeline role", "part of the gates", func(t *testing.T, tmpl map[string]any) {
		p := inTemplate(t, tmpl, "PipelineRoleDefaultPolicy", "AWS::IAM::Policy")
		setStatements(p, "PolicyDocument", statements(p, "PolicyDocument")[1:])
	}, false},
	{"a key policy statement removed", "changes ArtifactKey", func(t *testing.T, tmpl map[string]any) {
		k := inTemplate(t, tmpl, "ArtifactKey", "AWS::KMS::Key")
		setStatements(k, "KeyPolicy", statements(k, "KeyPolicy")[:1])
	}, false},
	{"a bucket policy with a non-literal Effect", "changes ArtifactBucketPolicy", func(t *testing.T, tmpl map[string]any) {
		b := inTemplate(t, tmpl, "ArtifactBucketPolicy", "AWS::S3::BucketPolicy")
		statements(b, "PolicyDocument")[0].(map[string]any)["Effect"] = map[string]any{"Fn::Sub": "Allow"}
	}, false},
	// Strings built at deploy time.
	{"a split dynamic reference in a build variable", "uses a dynamic reference in Resources.CdkSynth", func(t *testing.T, tmpl map[string]any) {
		env := synthEnv(t, tmpl)
		env["EnvironmentVariables"] = append(list(env["EnvironmentVariables"]), map[string]any{"Name": "LEAK", "Type": "PLAINTEXT",
			"Value": map[string]any{"Fn::Join": []any{"", []any{"{{res", "olve:secretsmanager:prod-db}}"}}}})
	}, false},
	{"a dynamic reference in a build variable", "uses a dynamic reference in Resources.CdkSynth", func(t *testing.T, tmpl map[string]any) {
		env := synthEnv(t, tmpl)
		env["EnvironmentVariables"] = append(list(env["EnvironmentVariables"]), map[string]any{"Name": "LEAK", "Value": "{{resolve:ssm:/db}}"})
	}, false},
	{"a split dynamic reference in Outputs", "uses a dynamic reference in Outputs.Leak", func(t *testing.T, tmpl map[string]any) {
		tmpl["Outputs"].(map[string]any)["Leak"] = map[string]any{"Value": map[string]any{"Fn::Join": []any{"", []any{"{{resol", "ve:secretsmanager:X}}"}}}}
	}, false},
	{"an output built at deploy time", "builds Outputs.PipelineName.Value at deploy time", func(t *testing.T, tmpl map[string]any) {
		tmpl["Outputs"].(map[string]any)["PipelineName"] = map[string]any{"Value": map[string]any{"Fn::Sub": "${AWS::AccountId}"}}
	}, false},
	{"a build variable built with Fn::Sub", "builds Resources.CdkSynth", func(t *testing.T, tmpl map[string]any) {
		env := synthEnv(t, tmpl)
		env["EnvironmentVariables"] = append(list(env["EnvironmentVariables"]), map[string]any{"Name": "X", "Value": map[string]any{"Fn::Sub": "${AWS::StackId}"}})
	}, false},
	{"a build variable read from Secrets Manager", "from SECRETS_MANAGER", func(t *testing.T, tmpl map[string]any) {
		env := synthEnv(t, tmpl)
		env["EnvironmentVariables"] = append(list(env["EnvironmentVariables"]), map[string]any{"Name": "X", "Type": "SECRETS_MANAGER", "Value": "prod-db"})
	}, false},
	{"a smoke test's variable built with Fn::Join", "at deploy time", func(t *testing.T, tmpl map[string]any) {
		actionConfig(t, tmpl, "Deploy_Dev", "Smoke_Test")["EnvironmentVariables"] = map[string]any{"Fn::Join": []any{"", []any{"[]"}}}
	}, false},
	// A deploy action's parameters, template configuration or region: prod would run other code
	// than dev tested, with honest digests on the approval.
	{"a deploy action's parameters", "changes the actions, roles, parameters or conditions of stage Deploy_Prod", func(t *testing.T, tmpl map[string]any) {
		actionConfig(t, tmpl, "Deploy_Prod", "Deploy")["ParameterOverrides"] = `{"LambdaCodeBucket":"x","LambdaCodeKey":"CrossAccountPipeline/CdkBuildOu/evil.zip"}`
	}, false},
	{"a deploy action's template configuration", "stage Deploy_Prod", func(t *testing.T, tmpl map[string]any) {
		actionConfig(t, tmpl, "Deploy_Prod", "Deploy")["TemplateConfiguration"] = "CdkBuildOutput::config.json"
	}, false},
	{"a deploy action in another region", "stage Deploy_Dev", func(t *testing.T, tmpl map[string]any) {
		actionNamed(t, tmpl, "Deploy_Dev", "Deploy")["Region"] = "us-west-2"
	}, false},
	{"a smoke test's variable read from Secrets Manager", "variables that are not plain text", func(t *testing.T, tmpl map[string]any) {
		actionConfig(t, tmpl, "Deploy_Dev", "Smoke_Test")["EnvironmentVariables"] = `[{"name":"X","type":"SECRETS_MANAGER","value":"prod-db"}]`
	}, false},
	{"a property named like a JavaScript built-in", "changes ArtifactKey", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "ArtifactKey", "AWS::KMS::Key"))["constructor"] = "x"
	}, false},
	{"a widening behind many harmless changes", "the push changes the policy CdkSynthRoleDefaultPolicy", func(t *testing.T, tmpl map[string]any) {
		for i := 0; i < 30; i++ {
			tmpl["Resources"].(map[string]any)[fmt.Sprintf("AAAHarmless%02d", i)] = map[string]any{"Type": "AWS::SNS::Topic"}
		}
		addStatement("CdkSynthRoleDefaultPolicy", map[string]any{"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "*"})(t, tmpl)
	}, false},
	{"Fn::Transform", "uses Fn::Transform", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "SmokeTestRoleDefaultPolicy", "AWS::IAM::Policy"))["PolicyDocument"] = map[string]any{
			"Fn::Transform": map[string]any{"Name": "AWS::Include", "Parameters": map[string]any{"Location": "s3://elsewhere/policy.json"}}}
	}, false},
	{"a macro", "changes the template section Transform", func(t *testing.T, tmpl map[string]any) { tmpl["Transform"] = "SomeMacro" }, false},
	// The gates and what the pipeline runs.
	{"drops Approve_Prod", "changes the stages", dropStage("Approve_Prod"), false},
	{"drops Check_Roles", "changes the stages", dropStage(config.CheckRolesStage), false},
	{"drops UpdatePipeline", "changes the stages", dropStage(config.UpdatePipelineStage), false},
	{"moves Deploy_Prod before its approval", "changes the stages", func(t *testing.T, tmpl map[string]any) {
		stages := stagesOf(t, tmpl)
		i := slices.IndexFunc(stages, func(s any) bool { return get(s, "Name") == "Approve_Prod" })
		stages[i], stages[i+1] = stages[i+1], stages[i]
	}, false},
	{"another role for a deploy action", "changes the actions, roles, parameters or conditions of stage Deploy_Dev", func(t *testing.T, tmpl map[string]any) {
		actionNamed(t, tmpl, "Deploy_Dev", "Deploy")["RoleArn"] = "arn:aws:iam::123456789012:role/Other"
	}, false},
	{"the approval's text", "changes stage Approve_Prod", func(t *testing.T, tmpl map[string]any) {
		actionConfig(t, tmpl, "Approve_Prod", "Approve")["CustomData"] = "approve anything"
	}, false},
	{"another branch", "changes stage Source", func(t *testing.T, tmpl map[string]any) {
		actionConfig(t, tmpl, "Source", "CodeCommit_Source")["BranchName"] = "unprotected"
	}, false},
	{"the artifact check skipped", "changes the trusted action Deploy_Prod.Verify_Artifacts", func(t *testing.T, tmpl map[string]any) {
		actionConfig(t, tmpl, "Deploy_Prod", "Verify_Artifacts")["EnvironmentVariables"] = "[]"
	}, false},
	{"a trusted project's commands", "part of the gates", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "UpdatePipeline", "AWS::CodeBuild::Project"))["Source"].(map[string]any)["BuildSpec"] = "version: 0.2"
	}, false},
	{"a privileged build", "CdkSynth", func(t *testing.T, tmpl map[string]any) { synthEnv(t, tmpl)["PrivilegedMode"] = true }, false},
	{"a build on another role", "ServiceRole", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "CdkSynth", "AWS::CodeBuild::Project"))["ServiceRole"] = "arn:aws:iam::123456789012:role/Other"
	}, false},
	{"artifacts that expire", "changes ArtifactBucket", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "ArtifactBucket", "AWS::S3::Bucket"))["LifecycleConfiguration"] = map[string]any{"Rules": []any{}}
	}, false},
	{"the bucket's deletion policy", "deletion policy of ArtifactBucket", func(t *testing.T, tmpl map[string]any) {
		inTemplate(t, tmpl, "ArtifactBucket", "AWS::S3::Bucket")["DeletionPolicy"] = "Delete"
	}, false},
	{"a new resource", "adds AWS::CodeBuild::Project Sneaky", func(t *testing.T, tmpl map[string]any) {
		tmpl["Resources"].(map[string]any)["Sneaky"] = map[string]any{"Type": "AWS::CodeBuild::Project", "Properties": map[string]any{}}
	}, false},
	{"a parameter", "changes the template section Parameters", func(t *testing.T, tmpl map[string]any) {
		tmpl["Parameters"] = map[string]any{"P": map[string]any{"Type": "String", "Default": "{{resolve:ssm:/x}}"}}
	}, false},
}

func dropStage(name string) pipelineEdit {
	return func(t *testing.T, tmpl map[string]any) {
		p := propsOf(onlyIn(t, tmpl, "AWS::CodePipeline::Pipeline"))
		p["Stages"] = slices.DeleteFunc(list(p["Stages"]), func(s any) bool { return get(s, "Name") == name })
	}
}

// ordinaryEdits change what the pipeline builds, or only remove what a role was allowed: they go
// through with no person.
var ordinaryEdits = []struct {
	name       string
	edit       pipelineEdit
	onDeployed bool
}{
	{"a new build command", func(t *testing.T, tmpl map[string]any) {
		src := propsOf(inTemplate(t, tmpl, "CdkSynth", "AWS::CodeBuild::Project"))["Source"].(map[string]any)
		src["BuildSpec"] = src["BuildSpec"].(string) + "# one more step\n"
	}, false},
	{"a longer timeout", func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "CdkSynth", "AWS::CodeBuild::Project"))["TimeoutInMinutes"] = 60
	}, false},
	{"a build's image", func(t *testing.T, tmpl map[string]any) {
		synthEnv(t, tmpl)["Image"] = "aws/codebuild/amazonlinux-aarch64-standard:4.0"
	}, false},
	{"a smoke test's plain variable", func(t *testing.T, tmpl map[string]any) {
		config := actionConfig(t, tmpl, "Deploy_Dev", "Smoke_Test")
		config["EnvironmentVariables"] = strings.Replace(config["EnvironmentVariables"].(string), `"name":"STAGE"`, `"name":"STAGE_NAME"`, 1)
	}, false},
	{"a literal build variable", func(t *testing.T, tmpl map[string]any) {
		env := synthEnv(t, tmpl)
		env["EnvironmentVariables"] = append(list(env["EnvironmentVariables"]), map[string]any{"Name": "GOFLAGS", "Type": "PLAINTEXT", "Value": "-mod=mod"})
	}, false},
	// The deployed role had one more literal Allow statement than the push keeps.
	{"a removed literal Allow statement", addStatement("CdkSynthRoleDefaultPolicy", literalStatement), true},
	{"a removed literal Allow statement of a deploy action's role", addStatement("PipelineDeployDevDeployCodePipelineActionRoleDefaultPolicy", literalStatement), true},
}

// reviewOf runs review.js pipeline (in the shared harness, runReview) on the templates that
// reviewFiles writes.
func reviewOf(t *testing.T, edit pipelineEdit, onDeployed bool) reviewVerdict {
	t.Helper()
	deployed, synthesized := reviewFiles(t, edit, onDeployed)
	run := runReview(t, "pipeline", deployed, synthesized)
	require.Zero(t, run.Status, "review.js pipeline failed: %s", run.Stderr)
	return parseVerdict(t, run.Stdout)
}

// reviewFiles writes the deployed and synthesized templates (the synthesized pipeline stack, one
// of them edited) and returns their paths.
func reviewFiles(t *testing.T, edit pipelineEdit, onDeployed bool) (deployed, synthesized string) {
	t.Helper()
	data, err := json.Marshal(raw[config.PipelineStackID])
	require.NoError(t, err)
	var edited map[string]any
	require.NoError(t, json.Unmarshal(data, &edited))
	edit(t, edited)
	out, err := json.Marshal(edited)
	require.NoError(t, err)
	dir := t.TempDir()
	deployed, synthesized = filepath.Join(dir, "deployed.json"), filepath.Join(dir, "synthesized.json")
	if onDeployed {
		deployed, synthesized = synthesized, deployed
	}
	require.NoError(t, os.WriteFile(synthesized, out, 0o644))
	require.NoError(t, os.WriteFile(deployed, data, 0o644))
	if onDeployed {
		deployed, synthesized = synthesized, deployed
	}
	return deployed, synthesized
}

func TestReviewSendsEveryHostileEditToAPerson(t *testing.T) {
	for _, c := range hostileEdits {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // plain data, no jsii: the cases edit and write their templates side by side
			v := reviewOf(t, c.edit, c.onDeployed)
			assert.True(t, v.Changed)
			assert.True(t, v.Widens, "%s must wait for a person", c.name)
			assert.Contains(t, v.Reason, c.want, "the approver is told what needs them")
			assert.LessOrEqual(t, len(v.Reason), longestVariable["REASON"], "REASON fits in the approval's text")
		})
	}
}

func TestReviewLetsOrdinaryChangesThrough(t *testing.T) {
	for _, c := range ordinaryEdits {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := reviewOf(t, c.edit, c.onDeployed)
			assert.True(t, v.Changed)
			assert.False(t, v.Widens, "%s goes through without a person: %s", c.name, v.Reason)
			assert.NotEmpty(t, v.Changes, "the changed paths are named")
		})
	}
	v := reviewOf(t, func(t *testing.T, tmpl map[string]any) {
		inTemplate(t, tmpl, "ArtifactBucket", "AWS::S3::Bucket")["Metadata"] = map[string]any{"note": "CloudFormation applies no Metadata-only change"}
		tmpl["Description"] = "another description"
	}, false)
	assert.Equal(t, reviewVerdict{Reason: "the pipeline stack is unchanged"}, v,
		"a Metadata or Description change is no change, or the pipeline would update itself forever")
}

// The restart-loop guard names what keeps changing: CHANGES lists the changed properties.
func TestReviewNamesTheChangedProperties(t *testing.T) {
	v := reviewOf(t, func(t *testing.T, tmpl map[string]any) {
		propsOf(inTemplate(t, tmpl, "CdkSynth", "AWS::CodeBuild::Project"))["Description"] = "built at 2026-12-01T10:00:00Z"
	}, false)
	id, _ := onlyResourceWithPrefix(t, "CdkSynth", "AWS::CodeBuild::Project")
	assert.Equal(t, "Resources."+id+".Properties.Description", v.Changes)
}

func onlyResourceWithPrefix(t *testing.T, prefix, typ string) (string, map[string]any) {
	return onlyResourceWithPrefixIn(t, config.PipelineStackID, prefix, typ)
}

// A template the review cannot read is refused, never waved through.
func TestReviewFailsClosedOnUnreadableInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	data, _ := json.Marshal(raw[config.PipelineStackID])
	require.NoError(t, os.WriteFile(good, data, 0o644))
	for name, content := range map[string]string{"not JSON": "{", "a list": "[]", "null": "null"} {
		bad := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		require.NoError(t, os.WriteFile(bad, []byte(content), 0o644))
		assert.NotZero(t, runReview(t, "pipeline", good, bad).Status, "a synthesized template that is %s fails the review", name)
	}
}

// replacements reads what `cdk diff` prints, with and without construct paths (the CLI shows
// them when the template carries CDK's metadata).
func TestReplacementsReadTheDiff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "diff.txt")
	require.NoError(t, os.WriteFile(path, []byte(`Stack ProdApplicationStack
Resources
[-] AWS::SNS::Topic LeftOver destroy
[~] AWS::IAM::Role DeploymentGroupRole DeploymentGroupRole58AA9C50 replace
 └─ [~] Path (requires replacement)
[~] AWS::Lambda::Alias LiveAlias9B8FFEA9 may be replaced
[~] AWS::Lambda::Function Function Function76856677
[+] AWS::SNS::Topic New
`), 0o644))
	run := runReview(t, "replacements", path)
	require.Zero(t, run.Status, run.Stderr)
	assert.Equal(t, "REPLACED='DeploymentGroupRole58AA9C50; LiveAlias9B8FFEA9 (maybe)'\nDELETED='LeftOver'\n", run.Stdout)
}
