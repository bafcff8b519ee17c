package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/policies"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// resolvedStatements returns the statements of every policy attached to a role of a stack's
// template (its AWS::IAM::Policy resources and inline Policies), with intrinsics resolved the
// way resolveArn resolves them, ready for policies.Evaluate.
func resolvedStatements(t *testing.T, stackID, roleID string) []policies.Statement {
	t.Helper()
	var docs []any
	for _, p := range resourcesOf(stackID, "AWS::IAM::Policy") {
		for _, r := range list(get(p, "Properties", "Roles")) {
			if get(r, "Ref") == roleID {
				docs = append(docs, get(p, "Properties", "PolicyDocument"))
			}
		}
	}
	role := resourcesOf(stackID, "AWS::IAM::Role")[roleID]
	require.NotNil(t, role, "%s has no role %s", stackID, roleID)
	for _, p := range list(get(role, "Properties", "Policies")) {
		docs = append(docs, get(p, "PolicyDocument"))
	}
	return documentStatements(stackID, docs...)
}

func documentStatements(stackID string, docs ...any) []policies.Statement {
	var out []policies.Statement
	for _, d := range docs {
		for _, s := range list(get(d, "Statement")) {
			out = append(out, resolveIntrinsics(stackID, s).(map[string]any))
		}
	}
	return out
}

// resolveIntrinsics replaces every Ref, Fn::GetAtt and Fn::Join in v by resolveArn's string.
func resolveIntrinsics(stackID string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k := range x {
			if k == "Ref" || strings.HasPrefix(k, "Fn::") {
				return resolveArn(stackID, x)
			}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolveIntrinsics(stackID, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveIntrinsics(stackID, e)
		}
		return out
	}
	return v
}

// decide evaluates a request against a role's policies (and a boundary, when not nil).
func decide(t *testing.T, identity, boundary []policies.Statement, r policies.Request) policies.Decision {
	t.Helper()
	d, err := policies.Evaluate(identity, boundary, r)
	require.NoError(t, err, "%s on %s", r.Action, r.Resource)
	return d
}

// serviceRoleOf is the logical ID of the role a pipeline action's build project runs as.
func serviceRoleOf(t *testing.T, stage, actionName string) string {
	id, _ := get(projectOfAction(t, stage, actionName), "Properties", "ServiceRole", "Fn::GetAtt", 0).(string)
	require.NotEmpty(t, id, "%s.%s's project has no service role of this stack", stage, actionName)
	return id
}

// Every build reads its inputs and writes its own output artifact and nothing else in the bucket:
// no other artifact, no list, no delete. A build that runs repository code (a smoke test after
// dev's deploy, say) therefore cannot write another artifact. Older objects under a build's own
// prefix stay writable by that build; Verify_Artifacts catches such a rewrite before each deploy
// (README, Security model: what stays open).
func TestBuildsWriteOnlyTheirOwnOutput(t *testing.T) {
	bucketID, _ := onlyResource(t, config.PipelineStackID, "AWS::S3::Bucket")
	bucket := resolveArn(config.PipelineStackID, map[string]any{"Fn::GetAtt": []any{bucketID, "Arn"}})
	object := func(prefix string) string { return bucket + "/" + prefix + "Xy7Zq2w" }
	for _, c := range []struct {
		stage, action, writes string
	}{
		{"Build", "Application_Build", LambdaArtifact},
		{"Build", "CDK_Synth", CdkArtifact},
		{"Deploy_Dev", "Smoke_Test", ""},
		{"Deploy_Prod", "Smoke_Test", ""},
		{"Build", config.PipelineChangesAction, ""},
		{"Build", config.RecordDigestsAction, ""},
		{config.UpdatePipelineStage, "SelfMutate", ""},
		{config.CheckRolesStage, ProdRolesStackID, ""},
	} {
		role := resolvedStatements(t, config.PipelineStackID, serviceRoleOf(t, c.stage, c.action))
		name := c.stage + "." + c.action
		for _, artifact := range []string{SourceArtifact, LambdaArtifact, CdkArtifact} {
			d := decide(t, role, nil, policies.Request{Action: "s3:PutObject", Resource: object(ArtifactPrefix(artifact))})
			assert.Equal(t, artifact == c.writes, d.Allowed, "%s writing %s: %s", name, artifact, d.Why)
		}
		for _, r := range []policies.Request{
			{Action: "s3:DeleteObject", Resource: object(ArtifactPrefix(CdkArtifact))},
			{Action: "s3:DeleteObjectVersion", Resource: object(ArtifactPrefix(LambdaArtifact))},
			{Action: "s3:ListBucket", Resource: bucket},
			{Action: "s3:ListBucketVersions", Resource: bucket},
			{Action: "s3:PutObject", Resource: object(config.BuildCachePrefix)},
			{Action: "s3:PutObject", Resource: object("")},
			{Action: "s3:PutObjectAcl", Resource: object(ArtifactPrefix(c.writes + "x"))},
			{Action: "s3:PutBucketPolicy", Resource: bucket},
		} {
			d := decide(t, role, nil, r)
			assert.False(t, d.Allowed, "%s may not %s %s (%s)", name, r.Action, r.Resource, d.Why)
		}
	}
}

// The roles are scoped by CodePipeline's artifact prefixes, which keep only ten characters of an
// artifact's name: two artifacts sharing those would share a prefix, and a build could write both.
func TestArtifactPrefixesAreDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, s := range pipelineStages(t) {
		for _, a := range list(get(s, "Actions")) {
			for _, field := range []string{"InputArtifacts", "OutputArtifacts"} {
				for _, artifact := range list(get(a, field)) {
					name := get(artifact, "Name").(string)
					prefix := ArtifactPrefix(name)
					if other, ok := seen[prefix]; ok {
						assert.Equal(t, other, name, "%s and %s share the prefix %s", other, name, prefix)
					}
					seen[prefix] = name
				}
			}
		}
	}
	assert.Len(t, seen, 3, "source, Lambda build and cloud assembly")
}

// Record_Digests runs once per run in the Build stage; every deploy stage starts with
// Verify_Artifacts against its variables, and every approval names the digests it approves.
func TestEveryDeployChecksTheRecordedArtifacts(t *testing.T) {
	record := action(t, "Build", config.RecordDigestsAction)
	assert.Equal(t, config.DigestsNamespace, get(record, "Namespace"))
	assert.Greater(t, get(record, "RunOrder"), get(action(t, "Build", "CDK_Synth"), "RunOrder"), "it digests what the builds produced")
	inputs := []any{get(record, "InputArtifacts", 0, "Name"), get(record, "InputArtifacts", 1, "Name")}
	assert.Equal(t, []any{CdkArtifact, LambdaArtifact}, inputs)
	recordProject := get(record, "Configuration", "ProjectName")
	for _, s := range pipelineStages(t) {
		name := get(s, "Name").(string)
		if strings.HasPrefix(name, "Deploy_") {
			verify := get(s, "Actions", 0)
			assert.Equal(t, config.VerifyArtifactsAction, get(verify, "Name"), "%s checks the artifacts before it deploys", name)
			assert.Equal(t, recordProject, get(verify, "Configuration", "ProjectName"), "%s: the same trusted project", name)
			env := get(verify, "Configuration", "EnvironmentVariables").(string)
			for _, v := range []string{`"CHECK","type":"PLAINTEXT","value":"verify"`, digestVariable("TEMPLATES"), digestVariable("CODE")} {
				assert.Contains(t, env, v, name)
			}
			assert.Equal(t, get(record, "InputArtifacts"), get(verify, "InputArtifacts"), "%s verifies the artifacts its deploy reads", name)
		}
		if strings.HasPrefix(name, "Approve_") && name != config.ApproveUpdateStage {
			text := get(action(t, name, "Approve"), "Configuration", "CustomData").(string)
			assert.Contains(t, text, digestVariable("TEMPLATES"), "%s names the templates it approves", name)
			assert.Contains(t, text, digestVariable("CODE"), "%s names the code it approves", name)
		}
	}
}

// The longest each variable an approval's text names can be once CodePipeline fills it in: the
// digests are SHA-256 in hex, and review.js caps the rest (cap in assets/review.js).
var longestVariable = map[string]int{"REASON": len("the push ") + 280 + len("; approving cancels the run waiting at ") + 60, "IAM": len("changes ") + 120, "REPLACED": 120, "DELETED": 120,
	"TEMPLATES": 64, "CODE": 64, "DIGEST": 64}

// CodePipeline refuses an approval whose text is over 1,000 characters after its variables are
// filled in, and it does so when the run reaches the approval: exactly when a person is needed.
func TestApprovalTextsFitAfterSubstitution(t *testing.T) {
	variable := regexp.MustCompile(`#\{[A-Za-z0-9_@-]+\.([A-Z_]+)\}`)
	for _, s := range pipelineStages(t) {
		for _, a := range list(get(s, "Actions")) {
			text, ok := get(a, "Configuration", "CustomData").(string)
			if !ok {
				continue
			}
			filled := variable.ReplaceAllStringFunc(text, func(v string) string {
				name := variable.FindStringSubmatch(v)[1]
				n, known := longestVariable[name]
				assert.True(t, known, "%s names %s, whose longest value this test does not know", get(s, "Name"), v)
				return strings.Repeat("x", n)
			})
			assert.LessOrEqual(t, len(filled), 1000, "%s's approval text, with every variable at its longest: %s", get(s, "Name"), text)
		}
	}
}

// review.js keeps to those lengths whatever the templates hold.
func TestReviewCapsWhatApprovalsQuote(t *testing.T) {
	dir := t.TempDir()
	var diff strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&diff, "[~] AWS::IAM::Role SomeRoleWithAVeryLongLogicalId%02dABCDEF replace\n[-] AWS::SNS::Topic Topic%02dWithALongName destroy\n", i, i)
	}
	path := filepath.Join(dir, "diff.txt")
	require.NoError(t, os.WriteFile(path, []byte(diff.String()), 0o644))
	out, err := reviewJS(t, nil, "replacements", path)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, value, _ := strings.Cut(line, "=")
		value = strings.Trim(value, "'")
		assert.LessOrEqual(t, len(value), longestVariable[name], "%s", line)
		assert.Contains(t, value, "more: see the log", "%s says the list goes on in the log", name)
	}
	v := reviewOf(t, func(t *testing.T, tmpl map[string]any) {
		for i := 0; i < 40; i++ {
			tmpl["Resources"].(map[string]any)[fmt.Sprintf("Added%02dResourceWithAVeryLongName", i)] = map[string]any{"Type": "AWS::SNS::Topic"}
		}
	}, false)
	assert.LessOrEqual(t, len(v.Reason), longestVariable["REASON"], v.Reason)
}
