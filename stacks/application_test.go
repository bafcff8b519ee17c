package stacks

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

var applicationStages = []struct {
	stackID, stage, account string
}{
	{DevApplicationStackID, config.DevStage, devAccount},
	{ProdApplicationStackID, config.ProdStage, prodAccount},
}

func TestApplicationStack(t *testing.T) {
	for _, c := range applicationStages {
		t.Run(c.stage, func(t *testing.T) {
			tmpl := templates[c.stackID]
			expect(t, "the function runs the Go bootstrap on provided.al2023/arm64 (go1.x is gone)", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), props{
					"FunctionName":  envNamed(c.stage).AppName(),
					"Runtime":       "provided.al2023",
					"Architectures": []any{"arm64"},
					"Handler":       "bootstrap",
					"Environment":   props{"Variables": props{"STAGE_NAME": c.stage}},
					"Code": props{
						"S3Bucket": props{"Ref": config.LambdaCodeBucketParameter},
						"S3Key":    props{"Ref": config.LambdaCodeKeyParameter},
					},
				})
			})
			expect(t, "a new build (a new object key) must publish a new version, or the alias keeps serving old code", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Version"), props{
					"Description": props{"Fn::Join": []any{"", []any{"Code from ", props{"Ref": config.LambdaCodeKeyParameter}}}},
				})
			})
			versionID, _ := onlyResource(t, c.stackID, "AWS::Lambda::Version")
			expect(t, "the live alias points at the current version", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Alias"), props{
					"Name":            config.LiveAliasName,
					"FunctionVersion": props{"Fn::GetAtt": []any{versionID, "Version"}},
				})
			})
			aliasID, _ := onlyResource(t, c.stackID, "AWS::Lambda::Alias")
			expect(t, "CodeDeploy shifts the alias on every update", func() {
				tmpl.HasResource(jsii.String("AWS::Lambda::Alias"), props{
					"UpdatePolicy": props{"CodeDeployLambdaAliasUpdate": like(props{
						"ApplicationName":     assertions.Match_AnyValue(),
						"DeploymentGroupName": assertions.Match_AnyValue(),
					})},
				})
				tmpl.ResourceCountIs(jsii.String("AWS::CodeDeploy::DeploymentGroup"), jsii.Number(1))
			})
			expect(t, "the API's stage is named after the application stage", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), props{"StageName": c.stage})
			})
			expect(t, "the API invokes the alias, so traffic follows CodeDeploy's shifts", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Method"), props{
					"Integration": like(props{"Uri": props{"Fn::Join": assertions.Match_ArrayWith(&[]any{
						assertions.Match_ArrayWith(&[]any{props{"Ref": aliasID}}),
					})}}),
				})
			})
			expect(t, "the endpoint is exported under a per-stage name", func() {
				tmpl.HasOutput(jsii.String(ApiEndpointOutput), props{
					"Export": props{"Name": envNamed(c.stage).AppName() + "-Endpoint"},
				})
			})
			expect(t, "no account-wide CloudWatch role side effect from the API", func() {
				tmpl.ResourceCountIs(jsii.String("AWS::ApiGateway::Account"), jsii.Number(0))
			})
		})
	}
}

func TestApplicationStacksNeedNoBootstrap(t *testing.T) {
	for _, c := range applicationStages {
		t.Run(c.stage, func(t *testing.T) {
			params := keys(raw[c.stackID]["Parameters"])
			assert.Equal(t, []string{config.LambdaCodeBucketParameter, config.LambdaCodeKeyParameter}, params,
				"only the code parameters: no BootstrapVersion, no asset parameters")
			assert.Nil(t, raw[c.stackID]["Rules"], "no CheckBootstrapVersion rule: the prod account is never bootstrapped")
			assertNoBootstrapRoles(t, c.stackID)
		})
	}
}

func TestApplicationStacksTargetTheirAccounts(t *testing.T) {
	for _, c := range applicationStages {
		s := built.Applications[0]
		if c.stage == config.ProdStage {
			s = built.Applications[1]
		}
		assert.Equal(t, c.account, *s.Account(), "%s deploys to the %s account", c.stackID, c.stage)
		assert.Equal(t, testConfig.Region, *s.Region())
	}
}

// assertNoBootstrapRoles checks that the CLI would deploy a stack with the caller's credentials
// instead of assuming the cdk-hnb659fds roles, which do not exist in an unbootstrapped account.
func assertNoBootstrapRoles(t *testing.T, stackID string) {
	t.Helper()
	art := assembly.GetStackByName(jsii.String(stackID))
	assert.Nil(t, art.AssumeRoleArn(), "%s must deploy with the caller's credentials", stackID)
	assert.Nil(t, art.CloudFormationExecutionRoleArn(), "%s must not name the bootstrap execution role", stackID)
	assert.Empty(t, *art.Assets(), "%s must not use assets: there is no bootstrap bucket to upload them to", stackID)
}

// keys returns the sorted keys of a JSON object.
func keys(v any) []string {
	m, _ := v.(map[string]any)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The deployment roles may only touch resources named after AppName (policies/); a resource the
// template names otherwise would fail to deploy with AccessDenied in the middle of a release.
func TestApplicationNamesMatchDeploymentRoleScope(t *testing.T) {
	for _, c := range applicationStages {
		t.Run(c.stage, func(t *testing.T) {
			for id, r := range resourcesOf(c.stackID, "AWS::IAM::Role") {
				assert.Equal(t, envNamed(c.stage).RolePath(), get(r, "Properties", "Path"), "role %s must live under the app's IAM path", id)
			}
			_, app := onlyResource(t, c.stackID, "AWS::CodeDeploy::Application")
			assert.Equal(t, envNamed(c.stage).AppName(), get(app, "Properties", "ApplicationName"))
			_, fn := onlyResource(t, c.stackID, "AWS::Lambda::Function")
			assert.Equal(t, envNamed(c.stage).AppName(), get(fn, "Properties", "FunctionName"))
			logID, lg := onlyResource(t, c.stackID, "AWS::Logs::LogGroup")
			assert.Equal(t, "/aws/lambda/"+envNamed(c.stage).AppName(), get(lg, "Properties", "LogGroupName"))
			assert.Equal(t, props{"Ref": logID}, get(fn, "Properties", "LoggingConfig", "LogGroup"), "the function logs to that group")
		})
	}
}

func TestProgressiveDeployment(t *testing.T) {
	for _, c := range []struct {
		stackID, stage, config string
	}{
		{DevApplicationStackID, config.DevStage, "CodeDeployDefault.LambdaAllAtOnce"},
		{ProdApplicationStackID, config.ProdStage, "CodeDeployDefault.LambdaCanary10Percent5Minutes"},
	} {
		t.Run(c.stage, func(t *testing.T) {
			alarmID, alarm := onlyResource(t, c.stackID, "AWS::CloudWatch::Alarm")
			fnID, _ := onlyResource(t, c.stackID, "AWS::Lambda::Function")
			assert.Equal(t, "AWS/Lambda", get(alarm, "Properties", "Namespace"))
			assert.Equal(t, "Errors", get(alarm, "Properties", "MetricName"))
			assert.Contains(t, list(get(alarm, "Properties", "Dimensions")), any(map[string]any{
				"Name": "Resource", "Value": props{"Fn::Join": []any{"", []any{props{"Ref": fnID}, ":" + config.LiveAliasName}}},
			}), "the alarm watches the live alias, which carries both versions during a canary")
			assert.Equal(t, float64(1), get(alarm, "Properties", "Threshold"), "one error is enough to stop a release")
			assert.Equal(t, "notBreaching", get(alarm, "Properties", "TreatMissingData"), "no traffic is no reason to roll back")

			_, group := onlyResource(t, c.stackID, "AWS::CodeDeploy::DeploymentGroup")
			assert.Equal(t, c.config, get(group, "Properties", "DeploymentConfigName"),
				"prod shifts 10% for 5 minutes first; dev may deploy all at once")
			assert.Equal(t, map[string]any{"Alarms": []any{props{"Name": props{"Ref": alarmID}}}, "Enabled": true},
				get(group, "Properties", "AlarmConfiguration"), "CodeDeploy watches the error alarm during the shift")
			assert.Equal(t, true, get(group, "Properties", "AutoRollbackConfiguration", "Enabled"))
			assert.ElementsMatch(t, []any{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_STOP_ON_ALARM"},
				get(group, "Properties", "AutoRollbackConfiguration", "Events"), "an alarm during the shift rolls back by itself")
		})
	}
}

// Bring your own application: app-name renames every application resource, and the roles and
// policies that reach them follow, in every account; the sample's name is left nowhere. The
// largest configuration carries the longest app-name, so this costs no synth of its own.
func TestAppNameNamesTheApplicationEverywhere(t *testing.T) {
	cfg, largest := synthesizedVariant(t, "largest")
	tmpls := largest.Templates
	for id, tmpl := range tmpls {
		text, _ := json.Marshal(tmpl)
		assert.NotContains(t, string(text), config.DefaultAppName, "%s still names the sample application", id)
	}
	for _, env := range cfg.Environments {
		name := longestAppName + "-" + env.Name
		require.Equal(t, name, env.AppName())
		tmpl := tmpls[env.StackID()]
		fn := onlyIn(t, tmpl, "AWS::Lambda::Function")
		assert.Equal(t, name, get(fn, "Properties", "FunctionName"))
		lg := onlyIn(t, tmpl, "AWS::Logs::LogGroup")
		assert.Equal(t, env.LogGroupName(), get(lg, "Properties", "LogGroupName"))
		assert.Equal(t, name+"-Endpoint", get(tmpl, "Outputs", ApiEndpointOutput, "Export", "Name"), "exports are global per account: one per application and stage")
		alarm := onlyIn(t, tmpl, "AWS::CloudWatch::Alarm")
		assert.Equal(t, name+"-live-errors", get(alarm, "Properties", "AlarmName"))
		for id, r := range tmpl["Resources"].(map[string]any) {
			if get(r, "Type") == "AWS::IAM::Role" {
				assert.Equal(t, "/"+name+"/", get(r, "Properties", "Path"), "role %s of %s", id, name)
			}
		}
	}
	var rolesStacks []string
	for _, account := range config.RemoteAccounts(cfg) {
		envs := config.EnvironmentsIn(cfg, account)
		id := config.RolesStackID(envs)
		rolesStacks = append(rolesStacks, id)
		text, _ := json.Marshal(tmpls[id])
		for _, env := range envs {
			assert.Contains(t, string(text), `"ManagedPolicyName":"`+config.BoundaryPolicyName(env)+`"`, "%s bounds %s's roles", id, env.Name)
			assert.Contains(t, string(text), ":function:"+env.AppName()+`"`, "%s's deployment role reaches %s's function", id, env.Name)
			assert.Contains(t, string(text), ":role/"+env.AppName()+`/*"`, "%s's deployment role manages %s's roles", id, env.Name)
		}
	}
	assert.Equal(t, rolesStacks, largest.Roles, "one roles stack per other account")
}
