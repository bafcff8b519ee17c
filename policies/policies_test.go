package policies

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// known lists every placeholder the stacks fill (stacks.policyValues); a document that used
// another one could never be filled.
var known = []string{Partition, Region, Account, ArtifactBucket, ArtifactKeyArn, StackName, AppName, DeploymentRoleName,
	RolesStackName, RolesCheckSession, BoundaryArn}

func TestDocumentsAreValidPolicies(t *testing.T) {
	names := Names()
	assert.ElementsMatch(t, []string{ApplicationBoundary, CrossAccountRole, DeploymentRole, RolesCheck}, names, "the documents the stacks attach")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			doc, err := Load(name)
			require.NoError(t, err)
			seen := map[string]bool{}
			for i, s := range doc.Statement {
				sid, _ := s["Sid"].(string)
				assert.Regexp(t, `^[A-Za-z0-9]+$`, sid, "statement %d needs an alphanumeric Sid: IAM rejects others, and tests refer to Sids", i)
				assert.False(t, seen[sid], "duplicate Sid %s", sid)
				seen[sid] = true
				actionKey := "Action"
				if s["Effect"] == "Deny" {
					// A deny confines one kind of session (a condition) to a few actions
					// (NotAction); an unconditional deny would lock the role itself.
					actionKey = "NotAction"
					assert.NotEmpty(t, s["Condition"], "%s: a Deny must be conditioned to the sessions it confines", sid)
				} else {
					assert.Equal(t, "Allow", s["Effect"], "%s: Effect is Allow or Deny", sid)
				}
				for _, key := range []string{actionKey, "Resource"} {
					assert.NotEmpty(t, s[key], "%s needs %s", sid, key)
				}
				for k := range s {
					assert.Contains(t, []string{"Sid", "Effect", actionKey, "Resource", "Condition"}, k, "%s: unexpected key", sid)
				}
				for _, a := range asList(s[actionKey]) {
					assert.Regexp(t, `^[a-z0-9-]+:[A-Za-z0-9*]+$`, a, "%s: an action is service:Name", sid)
				}
				for _, r := range asList(s["Resource"]) {
					// "*" is checked against the IAM reference (TestActionsAreRealAndScoped).
					assert.True(t, r == "*" || strings.HasPrefix(r, "arn:{{Partition}}:") || r == "{{ArtifactKeyArn}}",
						"%s: resource %s must take its partition from the stack", sid, r)
				}
			}
			for _, p := range doc.Placeholders() {
				assert.Contains(t, known, p, "placeholder {{%s}} is never filled", p)
			}
		})
	}
}

func asList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, len(t))
		for i, e := range t {
			out[i], _ = e.(string)
		}
		return out
	}
	return nil
}

func TestFillReplacesEveryPlaceholder(t *testing.T) {
	doc, err := Load(DeploymentRole)
	require.NoError(t, err)
	values := Values{}
	for _, p := range known {
		values[p] = "v" + p
	}
	filled, err := doc.Fill(values)
	require.NoError(t, err)
	text, _ := json.Marshal(filled)
	assert.NotContains(t, string(text), "{{")
	assert.Contains(t, string(text), `"arn:vPartition:iam::vAccount:role/vAppName/*"`)

	// The original document is left alone: it is filled again for each account.
	again, _ := json.Marshal(doc.Statement)
	assert.Contains(t, string(again), "{{AppName}}")
}

func TestFillRefusesMissingValues(t *testing.T) {
	doc, err := Load(CrossAccountRole)
	require.NoError(t, err)
	_, err = doc.Fill(Values{Partition: "aws"})
	require.Error(t, err)
	for _, p := range []string{Account, ArtifactBucket, ArtifactKeyArn, Region, StackName} {
		assert.Contains(t, err.Error(), p, "the error names every missing placeholder")
	}
}

func TestSplitSeparatesKeyStatements(t *testing.T) {
	for _, name := range Names() {
		doc, err := Load(name)
		require.NoError(t, err)
		without, with := doc.Split(ArtifactKeyArn)
		assert.Len(t, append(without.Statement, with.Statement...), len(doc.Statement), "%s: nothing lost or doubled", name)
		assert.NotContains(t, without.Placeholders(), ArtifactKeyArn)
		if name != RolesCheck && name != ApplicationBoundary {
			require.NotEmpty(t, with.Statement, "%s grants the artifact key", name)
		}
		for _, s := range with.Statement {
			assert.Equal(t, "{{ArtifactKeyArn}}", s["Resource"], "%s: key statements apply to the key only", name)
		}
	}
}

// TestActionsAreRealAndScoped checks each statement against the IAM service reference: every
// action exists, and every resource is one the action is authorized on, with "*" only for
// actions that support no resource type. IAM itself accepts both mistakes silently.
func TestActionsAreRealAndScoped(t *testing.T) {
	ref, err := LoadReference("../" + IAMReferenceDir)
	require.NoError(t, err)
	values := Values{Partition: "aws", Region: "eu-west-1", Account: "123456789012", ArtifactBucket: "artifact-bucket-123456789012",
		ArtifactKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-abcd-0123-0123456789ab",
		StackName:      "ProdApplicationDeploymentStack", AppName: "HelloLambda-prod", DeploymentRoleName: "CloudFormationDeploymentRole",
		RolesStackName: "ProdAccountRolesStack", RolesCheckSession: "roles-check", BoundaryArn: "arn:aws:iam::123456789012:policy/HelloLambda-prod-boundary"}
	for _, name := range Names() {
		doc, err := Load(name)
		require.NoError(t, err)
		filled, err := doc.Fill(values)
		require.NoError(t, err)
		for _, s := range filled["Statement"].([]any) {
			st := s.(map[string]any)
			if st["Effect"] == "Deny" {
				for _, p := range ref.Actions(asList(st["NotAction"])) {
					t.Errorf("%s, statement %s: %s", name, st["Sid"], p)
				}
				continue
			}
			for _, p := range ref.Statement(asList(st["Action"]), asList(st["Resource"])) {
				t.Errorf("%s, statement %s: %s", name, st["Sid"], p)
			}
		}
	}
}

// The check itself catches the mistakes it exists for.
func TestReferenceCatchesMistakes(t *testing.T) {
	ref, err := LoadReference("../" + IAMReferenceDir)
	require.NoError(t, err)
	stack := "arn:aws:cloudformation:eu-west-1:123456789012:stack/S/*"
	for _, c := range []struct {
		actions, resources []string
		want               string
	}{
		{[]string{"lambda:GetFunktion"}, []string{"*"}, "not an IAM action"},
		{[]string{"nosuchservice:Get"}, []string{"*"}, "unknown service"},
		{[]string{"codedeploy:StopDeployment"}, []string{"arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:A/B"}, "matches only Resource \"*\""},
		{[]string{"cloudformation:ValidateTemplate"}, []string{stack}, "matches only Resource \"*\""},
		{[]string{"lambda:GetFunction"}, []string{"*"}, "name the resource"},
		{[]string{"lambda:GetFunction"}, []string{"arn:aws:s3:::bucket/*"}, "none of"},
		{[]string{"s3:GetObject"}, []string{"arn:aws:s3:::bucket/*", "arn:aws:sqs:eu-west-1:123456789012:q"}, "matches no resource type"},
	} {
		assert.Contains(t, strings.Join(ref.Statement(c.actions, c.resources), "\n"), c.want, "%v on %v", c.actions, c.resources)
	}
	assert.Empty(t, ref.Statement([]string{"s3:GetObject*", "s3:List*"}, []string{"arn:aws:s3:::b", "arn:aws:s3:::b/*"}))
	assert.Empty(t, ref.Statement([]string{"cloudformation:DescribeStacks"}, []string{stack}))
}
