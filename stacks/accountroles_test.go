package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"regexp"
	"slices"
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/policies"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// sids lists the statement IDs of policy resources, sorted.
func sids(policyResources ...map[string]any) []string {
	var out []string
	for _, p := range policyResources {
		for _, s := range list(get(p, "Properties", "PolicyDocument", "Statement")) {
			out = append(out, get(s, "Sid").(string))
		}
	}
	slices.Sort(out)
	return out
}

func TestProdRoles(t *testing.T) {
	tmpl := templates[ProdRolesStackID]
	expect(t, "CodePipelineCrossAccountRole is assumed from the dev account", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), props{
			"RoleName": config.CrossAccountRoleName,
			"AssumeRolePolicyDocument": like(props{"Statement": assertions.Match_ArrayWith(&[]any{like(props{
				"Action":    "sts:AssumeRole",
				"Principal": props{"AWS": "arn:aws:iam::" + devAccount + ":root"},
			})})}),
		})
	})
	expect(t, "CloudFormationDeploymentRole is assumed only by CloudFormation", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), props{
			"RoleName": config.DeploymentRoleName,
			"AssumeRolePolicyDocument": like(props{"Statement": []any{like(props{
				"Action":    "sts:AssumeRole",
				"Principal": props{"Service": "cloudformation.amazonaws.com"},
			})}}),
		})
	})
}

func TestProdRolePoliciesComeFromPoliciesFolder(t *testing.T) {
	for _, c := range []struct{ role, doc, extra string }{
		{config.CrossAccountRoleName, policies.CrossAccountRole, policies.RolesCheck},
		{config.DeploymentRoleName, policies.DeploymentRole, ""},
	} {
		t.Run(c.role, func(t *testing.T) {
			doc, err := policies.Load(c.doc)
			require.NoError(t, err)
			if c.extra != "" {
				extra, err := policies.Load(c.extra)
				require.NoError(t, err)
				doc.Statement = append(doc.Statement, extra.Statement...)
			}
			without, with := doc.Split(policies.ArtifactKeyArn)
			require.NotEmpty(t, with.Statement, "%s has statements about the artifact key", c.doc)

			var always, keyed []map[string]any
			for _, p := range rolePoliciesOf(t, ProdRolesStackID, c.role) {
				if p["Condition"] == "HasArtifactKey" {
					keyed = append(keyed, p)
				} else {
					always = append(always, p)
				}
			}
			assert.Equal(t, statementIDs(without), sids(always...), "the role's policy is %s, not a retyped copy", c.doc)
			assert.Equal(t, statementIDs(with), sids(keyed...),
				"key statements exist only once ArtifactKeyArn is set, so the first deploy works before the key exists")
			for _, p := range keyed {
				for _, s := range list(get(p, "Properties", "PolicyDocument", "Statement")) {
					assert.Equal(t, props{"Ref": config.ArtifactKeyArnParameter}, get(s, "Resource"))
				}
			}
		})
	}
}

func TestProdRolesParameter(t *testing.T) {
	p := get(raw[ProdRolesStackID], "Parameters", config.ArtifactKeyArnParameter)
	require.NotNil(t, p)
	assert.Equal(t, "", get(p, "Default"), "the first deployment happens before the key exists")
	pattern := regexp.MustCompile(get(p, "AllowedPattern").(string))
	for value, ok := range map[string]bool{
		"": true,
		"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab":         true,
		"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-123456789": true,
		"arn:aws:kms:eu-west-1:123456789012:alias/cross-account-pipeline-artifacts":           false,
		"1234abcd-12ab-34cd-56ef-1234567890ab":                                                false,
		"arn:aws:kms:eu-west-1:12345:key/1234":                                                false,
	} {
		assert.Equal(t, ok, pattern.MatchString(value), "ArtifactKeyArn %q: CloudFormation should reject it before creating anything", value)
	}
	assert.Equal(t, []string{config.ArtifactKeyArnParameter}, keys(raw[ProdRolesStackID]["Parameters"]), "no BootstrapVersion parameter")
	assert.Nil(t, raw[ProdRolesStackID]["Rules"], "no bootstrap check: the prod account is not bootstrapped")
	assertNoBootstrapRoles(t, ProdRolesStackID)
}

// statementIDs lists the Sids of a document, sorted.
func statementIDs(d policies.Document) []string {
	var out []string
	for _, s := range d.Statement {
		out = append(out, s["Sid"].(string))
	}
	slices.Sort(out)
	return out
}
