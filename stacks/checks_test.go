package stacks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// nagFindings returns the cdk-nag error and warning annotations of a stack of the shared app.
func nagFindings(stackID string) []string { return nagFindingsIn(assembly, stackID) }

// nagFindingsIn returns the cdk-nag error and warning annotations of a stack artifact.
func nagFindingsIn(asm cxapi.CloudAssembly, stackID string) []string {
	var out []string
	for _, m := range *asm.GetStackByName(jsii.String(stackID)).Messages() {
		level := strings.ToLower(string(m.Level))
		text, _ := json.Marshal(m.Entry.Data)
		if (level == "error" || level == "warning") && strings.Contains(string(text), "AwsSolutions-") {
			out = append(out, level+" "+*m.Id+": "+string(text))
		}
	}
	return out
}

func TestNoUnsuppressedNagFindings(t *testing.T) {
	for id := range raw {
		assert.Empty(t, nagFindings(id), "%s has cdk-nag findings: fix them, or add an allow() with a reason next to the resource", id)
	}
}

func TestNagIsWiredAndCatchesFindings(t *testing.T) {
	found := false
	for _, a := range *awscdk.Aspects_Of(app).All() {
		_, ok := a.(cdknag.AwsSolutionsChecks)
		found = found || ok
	}
	assert.True(t, found, "Build must add the AWS Solutions checks to the app")

	// The checks themselves catch a plain bucket (no SSL enforcement, no access logs).
	probe := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), BuiltinCloudFormationValidation: jsii.Bool(false)})
	addSecurityChecks(probe)
	stack := awscdk.NewStack(probe, jsii.String("Probe"), nil)
	awss3.NewBucket(stack, jsii.String("Plain"), nil)
	asm := probe.Synth(nil)
	var rules []string
	for _, m := range *asm.GetStackByName(jsii.String("Probe")).Messages() {
		text, _ := json.Marshal(m.Entry.Data)
		if strings.EqualFold(string(m.Level), "error") {
			rules = append(rules, string(text))
		}
	}
	assert.Contains(t, strings.Join(rules, "\n"), "AwsSolutions-S10", "an unencrypted-transport bucket must be an error")
}

func TestEverySuppressionHasAReason(t *testing.T) {
	for id, tmpl := range raw {
		for rid, r := range tmpl["Resources"].(map[string]any) {
			for _, s := range list(get(r, "Metadata", "cdk_nag", "rules_to_suppress")) {
				rule, _ := get(s, "id").(string)
				reason, _ := get(s, "reason").(string)
				assert.GreaterOrEqual(t, len(reason), 50, "%s/%s: suppression of %s needs a reason a reviewer can check", id, rid, rule)
				if strings.HasPrefix(rule, "AwsSolutions-IAM") {
					assert.NotEmpty(t, get(s, "applies_to"), "%s/%s: %s must name the findings it excuses, not the whole rule", id, rid, rule)
				}
			}
		}
	}
}

// CDK's built-in template validation runs at every synth; cdk.json's flag turns its findings
// into errors, so `make synth` fails on them. Here it ran over the shared app's config, now or
// on an earlier run over the very same templates (validationReport).
func TestBuiltinValidationRanWithoutFindings(t *testing.T) {
	ctx, err := config.CDKJSONContext("../cdk.json")
	require.NoError(t, err)
	assert.Equal(t, true, ctx["@aws-cdk/core:validateAgainstDefaultRules"], "cdk.json must make validation findings fail the synth")

	require.NotNil(t, validation, "the validation must have run over these templates, now or before")
	text, _ := json.MarshalIndent(validation["pluginReports"], "", "  ")
	assert.Empty(t, validation["pluginReports"], "validation findings:\n%s", text)
}
