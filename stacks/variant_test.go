package stacks

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// variantPipeline builds the app for another config in its own App and returns the pipeline
// stack's template. Only the configs whose pipeline differs in shape are built this way; all
// other tests share the one synthesized app.
func variantPipeline(t *testing.T, cfg Config) map[string]any {
	t.Helper()
	ctx, err := CDKJSONContext("../cdk.json")
	require.NoError(t, err)
	ctx["@aws-cdk/core:failSynthOnValidationErrors"] = false
	// The built-in validation already ran over every stack in the shared app; once is enough.
	s, err := Build(awscdk.NewApp(&awscdk.AppProps{Context: &ctx, BuiltinCloudFormationValidation: jsii.Bool(false)}), cfg)
	require.NoError(t, err)
	var tmpl map[string]any
	require.NoError(t, cdkErr(func() { tmpl = *assertions.Template_FromStack(s.Pipeline.Stack, nil).ToJSON() }))
	return tmpl
}

func TestPipelineVariants(t *testing.T) {
	cfg := testConfig
	cfg.SkipProdApproval = true
	cfg.ConnectionArn = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0123abcd-0123-abcd-0123-0123456789ab"
	cfg.GitHubRepository = "my-org/my-app"
	tmpl := variantPipeline(t, cfg)

	var stages []any
	for _, r := range tmpl["Resources"].(map[string]any) {
		if get(r, "Type") == "AWS::CodePipeline::Pipeline" {
			stages = list(get(r, "Properties", "Stages"))
		}
	}
	require.NotEmpty(t, stages)
	assert.Equal(t, []string{"2:Deploy", "3:Smoke_Test"}, actionOrder(stages, "Deploy_Prod"),
		"prod-approval=false deploys prod right after dev's smoke test")

	src := get(stages[0], "Actions", 0)
	assert.Equal(t, "GitHub_Source", get(src, "Name"))
	assert.Equal(t, "CodeStarSourceConnection", get(src, "ActionTypeId", "Provider"))
	assert.Equal(t, map[string]any{
		"ConnectionArn":    cfg.ConnectionArn,
		"FullRepositoryId": cfg.GitHubRepository,
		"BranchName":       cfg.Branch,
		"DetectChanges":    true,
	}, withoutKeys(get(src, "Configuration"), "OutputArtifactFormat"), "pushes to the branch on GitHub start the pipeline")
	assert.Equal(t, []string{"1:Application_Build", "1:CDK_Synth"}, actionOrder(stages, "Build"), "the same stages follow the GitHub source")
	assert.Equal(t, []string{"1:Deploy", "2:Smoke_Test"}, actionOrder(stages, "Deploy_Dev"))
}

func withoutKeys(v any, drop ...string) map[string]any {
	out := map[string]any{}
	for k, e := range v.(map[string]any) {
		out[k] = e
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}
