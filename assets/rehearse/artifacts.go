package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/policies"
)

// artifactDigests runs Record_Digests on this run's artifacts, then Verify_Artifacts on the same
// artifacts (it passes) and on rewritten ones (it stops the deploy).
func (r *rehearsal) artifactDigests(pipeline map[string]any, assembly string, shimEnv []string) error {
	lambda, _, err := buildspecArtifacts(assets.ApplicationBuildspec, r.work)
	if err != nil {
		return err
	}
	run := func(action string, vars map[string]string, lambdaDir string, out io.Writer) (map[string]string, error) {
		env, err := actionEnv(pipeline, action, vars)
		if err != nil {
			return nil, err
		}
		env = append(append(env, shimEnv...), "CODEBUILD_SRC_DIR="+assembly, "CODEBUILD_SRC_DIR_LambdaBuildOutput="+lambdaDir)
		return r.runBuildspecIn(assets.ArtifactDigestsBuildspec, assembly, env, out)
	}
	var out bytes.Buffer
	recorded, err := run("Record_Digests", nil, lambda, &out)
	if err != nil || len(recorded["TEMPLATES"]) != 64 || len(recorded["CODE"]) != 64 {
		return fmt.Errorf("Record_Digests: %v, exported %v\n%s", err, recorded, tail(out.String(), 20))
	}
	vars := map[string]string{"ArtifactDigests.TEMPLATES": recorded["TEMPLATES"], "ArtifactDigests.CODE": recorded["CODE"]}
	out.Reset()
	if _, err := run("Verify_Artifacts", vars, lambda, &out); err != nil {
		return fmt.Errorf("Verify_Artifacts on the recorded artifacts: %w\n%s", err, tail(out.String(), 20))
	}
	fmt.Printf("    Record_Digests: templates %s..., code %s...; Verify_Artifacts on the same artifacts: passes\n", recorded["TEMPLATES"][:12], recorded["CODE"][:12])

	rewritten := filepath.Join(r.dir, "rewritten-lambda")
	if err := copyDir(lambda, rewritten); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(rewritten, "bootstrap"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString("planted")
		f.Close()
	}
	if err != nil {
		return err
	}
	if err := expectFailure("Verify_Artifacts on a Lambda build rewritten after Record_Digests", "differ from what this run recorded", func(w io.Writer) error {
		_, err := run("Verify_Artifacts", vars, rewritten, w)
		return err
	}); err != nil {
		return err
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(rewritten, "passwd")); err != nil {
		return err
	}
	return expectFailure("Record_Digests on an artifact holding a symlink", "is a symlink", func(w io.Writer) error {
		_, err := run("Record_Digests", nil, rewritten, w)
		return err
	})
}

func copyDir(from, to string) error {
	return filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, info.Mode())
	})
}

// faultSmokeOverwrites is a hostile smoke test: repository code that, after dev's deploy and
// before prod's approval, tries to overwrite this run's Lambda build in the artifact bucket. The
// `aws` stand-in answers S3 writes as IAM would for the role the build runs as: it evaluates
// the role's policy from the synthesized pipeline template (policies.Evaluate).
func (r *rehearsal) faultSmokeOverwrites() error {
	bucket := "artifact-bucket-" + r.envs[0].Account
	target := "s3://" + bucket + "/CrossAccountPipeline/LambdaBuil/an-earlier-build"
	restore, err := r.inject("Makefile", "smoke-test: ## Check a deployed stage", "smoke-test: ## (rehearsal) overwrite the build output\n\taws s3 cp build/lambda/bootstrap "+target+"\n\nsmoke-test-real: ## Check a deployed stage")
	if err != nil {
		return err
	}
	defer restore()
	shimEnv, _, err := r.shims()
	if err != nil {
		return err
	}
	template := filepath.Join(r.work, "cdk.out", "CrossAccountPipelineStack.template.json")
	pipeline, err := readTemplate(template)
	if err != nil {
		return err
	}
	roleOf := func(action string) (string, error) {
		return serviceRole(pipeline, action)
	}
	smokeRole, err := roleOf("Smoke_Test")
	if err != nil {
		return err
	}
	written := filepath.Join(r.dir, "fake-s3")
	env := append(shimEnv, "REHEARSAL_TEMPLATE="+template, "REHEARSAL_ROLE="+smokeRole, "FAKE_S3="+written,
		"API_URL=http://127.0.0.1:9", "STAGE=dev")
	err = expectFailure("a smoke test that overwrites the Lambda build", "AccessDenied", func(w io.Writer) error {
		_, err := r.runBuildspecIn(assets.SmokeBuildspec, r.work, env, w)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := os.Stat(written); err == nil {
		return fmt.Errorf("the smoke test's write reached the bucket (%s)", written)
	}
	// The stand-in is no wall that denies everything: the build that produces the artifact may write it.
	buildRole, err := roleOf("Application_Build")
	if err != nil {
		return err
	}
	if d, err := authorizeIn(pipeline, buildRole, "s3:PutObject", "arn:aws:s3:::"+strings.TrimPrefix(target, "s3://")); err != nil || !d.Allowed {
		return fmt.Errorf("Application_Build's role may not write its own output either (%v, %s): the drill proves nothing", err, d.Why)
	}
	fmt.Println("    the same write as Application_Build's role: allowed, so the denial is the smoke test's role at work")
	return nil
}

// serviceRole is the logical ID of the role a pipeline action's build project runs as.
func serviceRole(pipeline map[string]any, action string) (string, error) {
	resources, _ := pipeline["Resources"].(map[string]any)
	for _, res := range resources {
		stages, _ := lookup(res, "Properties", "Stages").([]any)
		for _, st := range stages {
			actions, _ := lookup(st, "Actions").([]any)
			for _, a := range actions {
				if lookup(a, "Name") != action {
					continue
				}
				project, _ := lookup(a, "Configuration", "ProjectName", "Ref").(string)
				att, _ := lookup(resources[project], "Properties", "ServiceRole", "Fn::GetAtt").([]any)
				if len(att) == 2 {
					return att[0].(string), nil
				}
			}
		}
	}
	return "", fmt.Errorf("no build action %s with a service role of its stack", action)
}

// authorize answers, for the `aws` stand-in, whether the role REHEARSAL_ROLE of the template
// REHEARSAL_TEMPLATE may do action on resource: exit 0 if so, 1 with IAM's words if not.
func authorize(action, resource string) int {
	pipeline, err := readTemplate(os.Getenv("REHEARSAL_TEMPLATE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := authorizeIn(pipeline, os.Getenv("REHEARSAL_ROLE"), action, resource)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if !d.Allowed {
		fmt.Fprintf(os.Stderr, "An error occurred (AccessDenied): %s is not authorized to perform: %s on resource: %s (%s)\n",
			os.Getenv("REHEARSAL_ROLE"), action, resource, d.Why)
		return 1
	}
	return 0
}

// authorizeIn evaluates a request against the policies attached to a role of the template.
func authorizeIn(template map[string]any, role, action, resource string) (policies.Decision, error) {
	resources, _ := template["Resources"].(map[string]any)
	var statements []policies.Statement
	for _, res := range resources {
		if lookup(res, "Type") != "AWS::IAM::Policy" {
			continue
		}
		roles, _ := lookup(res, "Properties", "Roles").([]any)
		for _, ref := range roles {
			if lookup(ref, "Ref") == role {
				doc, _ := lookup(res, "Properties", "PolicyDocument", "Statement").([]any)
				for _, s := range doc {
					statements = append(statements, intrinsics(resources, s).(map[string]any))
				}
			}
		}
	}
	return policies.Evaluate(statements, nil, policies.Request{Action: action, Resource: resource})
}

// intrinsics resolves what the pipeline template's policies use: pseudo parameters, the
// artifact bucket's ARN by its fixed name, Fn::Join. Anything else keeps a name that matches
// no real ARN.
func intrinsics(resources map[string]any, v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = intrinsics(resources, e)
		}
		return out
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			if v, ok := map[string]string{"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111111111111"}[ref]; ok {
				return v
			}
			return "unresolved-" + ref
		}
		if att, ok := x["Fn::GetAtt"].([]any); ok && len(att) == 2 {
			if name, ok := lookup(resources[att[0].(string)], "Properties", "BucketName").(string); ok {
				return "arn:aws:s3:::" + name
			}
			return fmt.Sprintf("unresolved-%v", att[0])
		}
		if join, ok := x["Fn::Join"].([]any); ok && len(join) == 2 {
			parts, _ := intrinsics(resources, join[1]).([]any)
			texts := make([]string, len(parts))
			for i, p := range parts {
				texts[i] = fmt.Sprint(p)
			}
			return strings.Join(texts, fmt.Sprint(join[0]))
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = intrinsics(resources, e)
		}
		return out
	}
	return v
}
