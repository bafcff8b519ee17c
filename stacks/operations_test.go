package stacks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeploymentWindowChecksCronAndTimeZone(t *testing.T) {
	for _, ok := range []DeploymentWindow{
		{Cron: "* * 9-16 ? * MON-FRI"},
		{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Europe/Berlin"},
		{Cron: "* 0/15 22-23 ? * 2-6 2026-2030", TimeZone: "America/New_York"},
		{Cron: "* * * L-3 JAN,JUL ?"},
		{Cron: "* * 10 15W * ?"},
		{Cron: "* * * ? * 6#3"},
		{Cron: "* * * ? * 6L", TimeZone: "UTC"},
	} {
		assert.Empty(t, ok.Problem(), "%+v", ok)
	}
	for _, c := range []struct {
		window DeploymentWindow
		want   string
	}{
		{DeploymentWindow{Cron: "9-16 * * MON-FRI"}, "has 4 fields"},
		{DeploymentWindow{Cron: "0 * 9-16 ? * MON-FRI"}, "seconds field must be *"},
		{DeploymentWindow{Cron: "* * 9-25 ? * MON-FRI"}, `hours field "9-25" is out of range 0-23`},
		{DeploymentWindow{Cron: "* 60 * ? * *"}, `minutes field "60" is out of range 0-59`},
		{DeploymentWindow{Cron: "* * * ? * MON-FRY"}, `day-of-week field "MON-FRY" is out of range`},
		{DeploymentWindow{Cron: "* * * * * MON"}, "exactly one of day-of-month"},
		{DeploymentWindow{Cron: "* * * ? * ?"}, "exactly one of day-of-month"},
		{DeploymentWindow{Cron: "* * ? ? * MON"}, `hours field "?" may not be ?`},
		{DeploymentWindow{Cron: "* * * ? * 1W"}, "uses L, W or #"},
		{DeploymentWindow{Cron: "* * * ? 2#1 *"}, "uses L, W or #"},
		{DeploymentWindow{Cron: "* * 9/0 ? * *"}, "step that is not a positive number"},
		{DeploymentWindow{Cron: "* * * ? * * 1969"}, "out of range 1970-2199"},
		{DeploymentWindow{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Mars/Olympus"}, `timezone "Mars/Olympus" is not an IANA time zone`},
		{DeploymentWindow{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Local"}, "is not an IANA time zone"},
	} {
		assert.Contains(t, c.window.Problem(), c.want, "%+v", c.window)
	}
}

func TestOperationsConfig(t *testing.T) {
	list := `[{"name":"dev","account":"123456789012"},` +
		`{"name":"prod","account":"210987654321","deployment-window":{"cron":"* * 9-16 ? * MON-FRI","timezone":"Europe/Berlin"}}]`
	v := map[string]any{EnvironmentsKey: list, RegionKey: "eu-west-1", BranchKey: "main",
		NotificationsKey: `["ops@example.com", "lead@example.com"]`, ExecutionModeKey: "superseded"}
	cfg, err := NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, &DeploymentWindow{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Europe/Berlin"}, cfg.Environments[1].Window)
	assert.Nil(t, cfg.Environments[0].Window)
	assert.Equal(t, Notifications{Emails: []string{"ops@example.com", "lead@example.com"}}, cfg.Notifications)
	assert.Equal(t, ExecutionModeSuperseded, cfg.ExecutionMode)

	v[NotificationsKey] = []any{"ops@example.com"} // the form cdk.json holds
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, []string{"ops@example.com"}, cfg.Notifications.Emails)

	v[NotificationsKey] = "arn:aws:sns:eu-west-1:123456789012:team-alerts"
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, Notifications{TopicArn: "arn:aws:sns:eu-west-1:123456789012:team-alerts"}, cfg.Notifications)

	delete(v, NotificationsKey)
	delete(v, ExecutionModeKey)
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.False(t, cfg.Notifications.Enabled(), "no notifications unless configured")
	assert.Equal(t, ExecutionModeQueued, cfg.ExecutionMode, "commits reach prod in order unless told otherwise")

	// Every mistake at once, each naming its key and the fix.
	bad := map[string]any{RegionKey: "eu-west-1", BranchKey: "main", ExecutionModeKey: "PARALLEL",
		NotificationsKey: `["ops@example.com", "not-an-address", 7]`,
		EnvironmentsKey: `[{"name":"dev","account":"123456789012","deployment-window":{"cron":"0 * * * * ?"}},` +
			`{"name":"prod","account":"210987654321","deployment-window":"weekdays"}]`}
	_, err = NewConfig(bad)
	require.Error(t, err)
	for _, want := range []string{
		`execution-mode: "PARALLEL" is not an execution mode this pipeline supports; use QUEUED`,
		`notifications[1]: "not-an-address" is not an e-mail address`,
		"notifications[2]: got 7",
		`environments[0].deployment-window: cron "0 * * * * ?": the seconds field must be *`,
		`environments[1].deployment-window: got "weekdays"; write {"cron"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	bad = map[string]any{RegionKey: "eu-west-1", BranchKey: "main", DevAccountKey: "123456789012", ProdAccountKey: "210987654321",
		NotificationsKey: "arn:aws:sns:us-east-1:123456789012:team-alerts"}
	_, err = NewConfig(bad)
	assert.ErrorContains(t, err, "is in us-east-1, but the pipeline is in eu-west-1")
	bad[NotificationsKey] = "ops@example.com"
	_, err = NewConfig(bad)
	assert.ErrorContains(t, err, `"ops@example.com" is neither a list nor a topic ARN`)
}

func TestNotificationsWindowsAndExecutionMode(t *testing.T) {
	cfg := testConfig
	cfg.Environments = shorthandEnvironments(devAccount, prodAccount, true)
	cfg.Environments[0].Window = &DeploymentWindow{Cron: "* * 9-16 ? * MON-FRI"}
	cfg.Environments[1].Window = &DeploymentWindow{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Europe/Berlin"}
	cfg.Notifications = Notifications{Emails: []string{"ops@example.com", "lead@example.com"}}
	cfg.ExecutionMode = ExecutionModeSuperseded
	tmpl := variantPipeline(t, cfg)

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
	for _, stage := range []string{"Approve_Prod", ApproveUpdateStage} {
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
		assert.Empty(t, resourcesOf(PipelineStackID, typ), typ)
	}
	assert.Len(t, resourcesOf(PipelineStackID, "AWS::KMS::Key"), 1, "only the artifact key")
	_, p := onlyResource(t, PipelineStackID, "AWS::CodePipeline::Pipeline")
	assert.Equal(t, "QUEUED", get(p, "Properties", "ExecutionMode"), "commits reach prod in order, one approval per commit")
}
