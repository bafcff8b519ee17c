package stacks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// The largest configuration has notifications by e-mail, deployment windows on dev and prod
// (prod's with a time zone) and the SUPERSEDED execution mode.
func TestNotificationsWindowsAndExecutionMode(t *testing.T) {
	cfg, largest := synthesizedVariant(t, "largest")
	tmpl := largest.Templates[config.PipelineStackID]

	pipelines := resourcesIn(tmpl, "AWS::CodePipeline::Pipeline")
	require.Len(t, pipelines, 1)
	for _, p := range pipelines {
		assert.Equal(t, "SUPERSEDED", get(p, "Properties", "ExecutionMode"))
	}
	assert.Equal(t, map[string]any{"Conditions": []any{map[string]any{
		"Result": "FAIL",
		"Rules": []any{map[string]any{
			"Name":          "Deploy_Prod_Window",
			"RuleTypeId":    map[string]any{"Category": "Rule", "Owner": "AWS", "Provider": "DeploymentWindow", "Version": "1"},
			"Configuration": map[string]any{"Cron": "* * 9-16 ? * MON-FRI", "TimeZone": "Europe/Berlin"},
		}},
	}}}, stageOf(t, tmpl, "Deploy_Prod")["BeforeEntry"], "prod's deploy starts only inside its window")
	assert.Equal(t, "Deploy_Dev_Window", get(stageOf(t, tmpl, "Deploy_Dev"), "BeforeEntry", "Conditions", 0, "Rules", 0, "Name"))
	seen := map[any]string{}
	for _, s := range list(get(onlyIn(t, tmpl, "AWS::CodePipeline::Pipeline"), "Properties", "Stages")) {
		for _, c := range list(get(s, "BeforeEntry", "Conditions")) {
			for _, r := range list(get(c, "Rules")) {
				name := get(r, "Name")
				assert.Empty(t, seen[name], "rule %v of %v is also a rule of %s: CodePipeline wants rule names unique within the pipeline", name, get(s, "Name"), seen[name])
				seen[name] = get(s, "Name").(string)
			}
		}
	}

	topics := resourcesIn(tmpl, "AWS::SNS::Topic")
	require.Len(t, topics, 1)
	var topicID string
	for id, topic := range topics {
		topicID = id
		keyID, _ := get(topic, "Properties", "KmsMasterKeyId", "Fn::GetAtt", 0).(string)
		require.NotEmpty(t, keyID, "the topic is encrypted with a customer managed key")
		keyPolicy := fmt.Sprint(get(tmpl["Resources"].(map[string]any)[keyID], "Properties", "KeyPolicy"))
		assert.Contains(t, keyPolicy, "codestar-notifications.amazonaws.com", "CodeStar Notifications may use the key to publish")
		assert.Contains(t, keyPolicy, "kms:ViaService", "only through SNS")
	}
	var emails []any
	for _, sub := range resourcesIn(tmpl, "AWS::SNS::Subscription") {
		assert.Equal(t, "email", get(sub, "Properties", "Protocol"))
		assert.Equal(t, map[string]any{"Ref": topicID}, get(sub, "Properties", "TopicArn"))
		emails = append(emails, get(sub, "Properties", "Endpoint"))
	}
	assert.ElementsMatch(t, []any{"ops@example.com", "lead@example.com"}, emails)

	rules := resourcesIn(tmpl, "AWS::CodeStarNotifications::NotificationRule")
	require.Len(t, rules, 1)
	for _, rule := range rules {
		assert.ElementsMatch(t, []any{
			"codepipeline-pipeline-pipeline-execution-failed",
			"codepipeline-pipeline-manual-approval-needed",
			"codepipeline-pipeline-pipeline-execution-succeeded",
		}, get(rule, "Properties", "EventTypeIds"))
		assert.Equal(t, map[string]any{"Ref": topicID}, get(rule, "Properties", "Targets", 0, "TargetAddress"))
	}
	for _, stage := range []string{"Approve_Prod", config.ApproveUpdateStage} {
		var approve any
		for _, a := range list(get(stageOf(t, tmpl, stage), "Actions")) {
			if get(a, "Name") == "Approve" {
				approve = a
			}
		}
		assert.Equal(t, map[string]any{"Ref": topicID}, get(approve, "Configuration", "NotificationArn"),
			"%s names the topic, so the approver is told", stage)
	}

	// CodeBuild's synth reproduces the same pipeline, or the self-update would undo these.
	env := map[string]any{}
	for _, project := range resourcesIn(tmpl, "AWS::CodeBuild::Project") {
		if strings.Contains(fmt.Sprint(get(project, "Properties", "Source", "BuildSpec")), "make synth") {
			for _, v := range list(get(project, "Properties", "Environment", "EnvironmentVariables")) {
				env[get(v, "Name").(string)] = get(v, "Value")
			}
		}
	}
	assert.Equal(t, "SUPERSEDED", env["EXECUTION_MODE"])
	var synthEmails []string
	require.NoError(t, json.Unmarshal([]byte(env["NOTIFICATIONS"].(string)), &synthEmails))
	assert.Equal(t, cfg.Notifications.Emails, synthEmails)
}

// The default configuration notifies nobody, and so creates no topic, key or rule.
func TestNoNotificationsByDefault(t *testing.T) {
	for _, typ := range []string{"AWS::SNS::Topic", "AWS::CodeStarNotifications::NotificationRule"} {
		assert.Empty(t, resourcesOf(config.PipelineStackID, typ), typ)
	}
	assert.Len(t, resourcesOf(config.PipelineStackID, "AWS::KMS::Key"), 1, "only the artifact key")
	_, p := onlyResource(t, config.PipelineStackID, "AWS::CodePipeline::Pipeline")
	assert.Equal(t, "QUEUED", get(p, "Properties", "ExecutionMode"), "commits reach prod in order, one approval per commit")
}
