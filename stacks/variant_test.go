package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// githubConfig is the default pair without prod's approval, building from GitHub and notifying
// an existing topic.
func githubConfig() (config.Config, error) {
	cfg := testConfig
	cfg.Environments = config.ShorthandEnvironments(devAccount, prodAccount, false)
	cfg.ConnectionArn = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0123abcd-0123-abcd-0123-0123456789ab"
	cfg.GitHubRepository = "my-org/my-app"
	// The notifications' second form rides on this variant: an existing topic, by ARN.
	cfg.Notifications = config.Notifications{TopicArn: githubTopicArn}
	return cfg, nil
}

// githubTopicArn is the existing topic githubConfig notifies.
var githubTopicArn = "arn:aws:sns:" + testConfig.Region + ":" + devAccount + ":team-alerts"

func TestPipelineVariants(t *testing.T) {
	cfg, github := synthesizedVariant(t, "github")
	tmpl := github.Templates[config.PipelineStackID]

	assert.Empty(t, resourcesIn(tmpl, "AWS::SNS::Topic"), "the given topic is used, not a new one")
	assert.Len(t, resourcesIn(tmpl, "AWS::KMS::Key"), 1, "only the artifact key: the given topic brings its own encryption")
	rules := resourcesIn(tmpl, "AWS::CodeStarNotifications::NotificationRule")
	require.Len(t, rules, 1)
	for _, rule := range rules {
		assert.Equal(t, githubTopicArn, get(rule, "Properties", "Targets", 0, "TargetAddress"))
	}
	assert.Equal(t, githubTopicArn, get(stageOf(t, tmpl, config.ApproveUpdateStage), "Actions", 0, "Configuration", "NotificationArn"))

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
