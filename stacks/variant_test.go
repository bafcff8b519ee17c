package stacks

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// variantPipeline builds the app for another config in its own App and returns the pipeline
// stack's template. Only the configs whose pipeline differs in shape are built this way; all
// other tests share the one synthesized app. The variant passes the same gates as the shared
// app: no unsuppressed cdk-nag finding and no finding of the built-in validation.
func variantPipeline(t *testing.T, cfg config.Config) map[string]any {
	t.Helper()
	ctx, err := config.CDKJSONContext("../cdk.json")
	require.NoError(t, err)
	variant := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir()), BuiltinCloudFormationValidation: jsii.Bool(false)})
	s, err := Build(variant, cfg)
	require.NoError(t, err)
	var asm cxapi.CloudAssembly
	require.NoError(t, cdkErr(func() { asm = variant.Synth(nil) }))
	tmpls := map[string]map[string]any{}
	for _, stack := range s.All() {
		assert.Empty(t, nagFindingsIn(asm, *stack.StackName()), "%s of the variant has cdk-nag findings", *stack.StackName())
		tmpls[*stack.StackName()], _ = asm.GetStackByName(stack.StackName()).Template().(map[string]any)
	}
	report, err := validationReport(ctx, cfg, tmpls)
	require.NoError(t, err, "the built-in validation must run over the variant")
	assert.Empty(t, report["pluginReports"], "the variant's templates have validation findings")
	tmpl, ok := asm.GetStackByName(s.Pipeline.StackName()).Template().(map[string]any)
	require.True(t, ok)
	return tmpl
}

func TestPipelineVariants(t *testing.T) {
	cfg := testConfig
	cfg.Environments = config.ShorthandEnvironments(devAccount, prodAccount, false)
	cfg.ConnectionArn = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0123abcd-0123-abcd-0123-0123456789ab"
	cfg.GitHubRepository = "my-org/my-app"
	// The notifications' second form rides on this variant: an existing topic, by ARN.
	topicArn := "arn:aws:sns:" + testConfig.Region + ":" + devAccount + ":team-alerts"
	cfg.Notifications = config.Notifications{TopicArn: topicArn}
	tmpl := variantPipeline(t, cfg)

	assert.Empty(t, resourcesIn(tmpl, "AWS::SNS::Topic"), "the given topic is used, not a new one")
	assert.Len(t, resourcesIn(tmpl, "AWS::KMS::Key"), 1, "only the artifact key: the given topic brings its own encryption")
	rules := resourcesIn(tmpl, "AWS::CodeStarNotifications::NotificationRule")
	require.Len(t, rules, 1)
	for _, rule := range rules {
		assert.Equal(t, topicArn, get(rule, "Properties", "Targets", 0, "TargetAddress"))
	}
	assert.Equal(t, topicArn, get(stageOf(t, tmpl, config.ApproveUpdateStage), "Actions", 0, "Configuration", "NotificationArn"))

	var stages []any
	for _, r := range tmpl["Resources"].(map[string]any) {
		if get(r, "Type") == "AWS::CodePipeline::Pipeline" {
			stages = list(get(r, "Properties", "Stages"))
		}
	}
	require.NotEmpty(t, stages)
	var names []any
	for _, s := range stages {
		names = append(names, get(s, "Name"))
	}
	assert.Equal(t, []any{"Source", "Build", config.ApproveUpdateStage, config.UpdatePipelineStage, "Deploy_Dev", config.CheckRolesStage, "Deploy_Prod"}, names,
		"prod-approval=false deploys prod right after dev's smoke test and the roles check")
	assert.Equal(t, deployStageActions, actionOrder(stages, "Deploy_Prod"))

	src := get(stages[0], "Actions", 0)
	assert.Equal(t, "GitHub_Source", get(src, "Name"))
	assert.Equal(t, "CodeStarSourceConnection", get(src, "ActionTypeId", "Provider"))
	assert.Equal(t, map[string]any{
		"ConnectionArn":    cfg.ConnectionArn,
		"FullRepositoryId": cfg.GitHubRepository,
		"BranchName":       cfg.Branch,
		"DetectChanges":    true,
	}, withoutKeys(get(src, "Configuration"), "OutputArtifactFormat"), "pushes to the branch on GitHub start the pipeline")
	assert.Equal(t, []string{"1:Application_Build", "1:CDK_Synth", "2:" + config.PipelineChangesAction, "2:" + config.RecordDigestsAction}, actionOrder(stages, "Build"),
		"the same stages follow the GitHub source")
	assert.Equal(t, deployStageActions, actionOrder(stages, "Deploy_Dev"))
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
