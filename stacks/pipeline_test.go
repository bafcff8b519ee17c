package stacks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"gopkg.in/yaml.v3"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// pipelineStages returns the Stages property of the pipeline.
func pipelineStages(t *testing.T) []any {
	t.Helper()
	_, p := onlyResource(t, config.PipelineStackID, "AWS::CodePipeline::Pipeline")
	return list(get(p, "Properties", "Stages"))
}

// action returns the named action of the named stage.
func action(t *testing.T, stage, name string) map[string]any {
	t.Helper()
	for _, s := range pipelineStages(t) {
		if get(s, "Name") != stage {
			continue
		}
		for _, a := range list(get(s, "Actions")) {
			if get(a, "Name") == name {
				return a.(map[string]any)
			}
		}
	}
	t.Fatalf("pipeline has no action %s in stage %s", name, stage)
	return nil
}

func TestPipelineStages(t *testing.T) {
	var names []any
	for _, s := range pipelineStages(t) {
		names = append(names, get(s, "Name"))
	}
	assert.Equal(t, []any{"Source", "Build", config.ApproveUpdateStage, config.UpdatePipelineStage, "Deploy_Dev", config.CheckRolesStage, "Approve_Prod", "Deploy_Prod"}, names,
		"the pipeline updates itself before any deploy; prod is deployed only after dev, a current roles stack, and a person's approval")
	var planned []any
	for _, s := range config.Stages(testConfig) {
		planned = append(planned, s.Name)
	}
	assert.Equal(t, planned, names, "the pipeline builds exactly the stages config.Stages lays out")

	src := action(t, "Source", "CodeCommit_Source")
	assert.Equal(t, testConfig.RepositoryName, get(src, "Configuration", "RepositoryName"))
	assert.Equal(t, testConfig.Branch, get(src, "Configuration", "BranchName"), "the configured branch, not the CDK default master")
	assert.Equal(t, false, get(src, "Configuration", "PollForSourceChanges"), "pushes start the pipeline through an event rule, not polling")
	expect(t, "every push to the branch starts the pipeline", func() {
		templates[config.PipelineStackID].HasResourceProperties(jsii.String("AWS::Events::Rule"), props{
			"EventPattern": like(props{
				"source": []any{"aws.codecommit"},
				"detail": like(props{"referenceName": []any{testConfig.Branch}}),
			}),
		})
	})

	appBuild, synth := action(t, "Build", "Application_Build"), action(t, "Build", "CDK_Synth")
	assert.Equal(t, get(appBuild, "RunOrder"), get(synth, "RunOrder"), "the two builds run in parallel")
	assert.Equal(t, "LambdaBuildOutput", get(appBuild, "OutputArtifacts", 0, "Name"))
	assert.Equal(t, "CdkBuildOutput", get(synth, "OutputArtifacts", 0, "Name"))
}

func TestPipelineDeployActions(t *testing.T) {
	devRoleID := logicalID(t, built.Pipeline.Stack, built.Pipeline.LocalDeploymentRoles[config.DevStage])
	cases := []struct {
		stage, stackName, template string
		// Only dev may replace a failed stack: REPLACE_ON_FAILURE deletes a stack in any failed
		// state, UPDATE_ROLLBACK_FAILED included, which for prod means a new API URL and downtime.
		actionMode                 string
		deploymentRole, actionRole any
	}{
		{"Deploy_Dev", DevDeploymentStackName, "CdkBuildOutput::" + config.TemplateFile(DevApplicationStackID), "REPLACE_ON_FAILURE",
			props{"Fn::GetAtt": []any{devRoleID, "Arn"}}, nil},
		{"Deploy_Prod", ProdDeploymentStackName, "CdkBuildOutput::" + config.TemplateFile(ProdApplicationStackID), "CREATE_UPDATE",
			"arn:aws:iam::" + prodAccount + ":role/" + config.DeploymentRoleName,
			"arn:aws:iam::" + prodAccount + ":role/" + config.CrossAccountRoleName},
	}
	for _, c := range cases {
		t.Run(c.stage, func(t *testing.T) {
			a := action(t, c.stage, "Deploy")
			cfg := get(a, "Configuration")
			assert.Equal(t, "CloudFormation", get(a, "ActionTypeId", "Provider"))
			assert.Equal(t, c.stackName, get(cfg, "StackName"))
			assert.Equal(t, c.template, get(cfg, "TemplatePath"), "the template comes from the synth output")
			assert.Equal(t, c.deploymentRole, get(cfg, "RoleArn"), "CloudFormation runs as the scoped deployment role")
			assert.Equal(t, "CAPABILITY_IAM", get(cfg, "Capabilities"), "the application creates unnamed roles")
			assert.Equal(t, c.actionMode, get(cfg, "ActionMode"), "%s must never delete and recreate a stack that holds a live API", c.stage)
			assert.Equal(t, c.stage, get(a, "Namespace"), "the stack's outputs become variables of the stage's namespace")
			if c.actionRole != nil {
				assert.Equal(t, c.actionRole, get(a, "RoleArn"), "prod deploy must assume CodePipelineCrossAccountRole")
			}
			var inputs []any
			for _, in := range list(get(a, "InputArtifacts")) {
				inputs = append(inputs, get(in, "Name"))
			}
			assert.ElementsMatch(t, []any{"LambdaBuildOutput", "CdkBuildOutput"}, inputs)
		})
	}
}

// actionOrder lists a stage's actions as "RunOrder:Name".
func actionOrder(stages []any, stage string) []string {
	var out []string
	for _, s := range stages {
		if get(s, "Name") == stage {
			for _, a := range list(get(s, "Actions")) {
				out = append(out, fmt.Sprintf("%v:%v", get(a, "RunOrder"), get(a, "Name")))
			}
		}
	}
	return out
}

func TestDeployStagesOrder(t *testing.T) {
	stages := pipelineStages(t)
	assert.Equal(t, deployStageActions, actionOrder(stages, "Deploy_Dev"),
		"dev is smoke-tested after it is deployed and before prod is considered")
	assert.Equal(t, []string{"1:" + config.PreviewAction, "2:Approve"}, actionOrder(stages, "Approve_Prod"),
		"a person approves before prod is deployed, in a stage of its own")
	assert.Equal(t, deployStageActions, actionOrder(stages, "Deploy_Prod"),
		"prod is smoke-tested after it is deployed, in the same stage, so a failed smoke test rolls the stage back")

	approve := action(t, "Approve_Prod", "Approve")
	assert.Equal(t, "Approval", get(approve, "ActionTypeId", "Category"))
	assert.Equal(t, "#{Deploy_Dev."+ApiEndpointOutput+"}", get(approve, "Configuration", "ExternalEntityLink"),
		"the approver gets a link to the dev API to look at")
}

func TestSmokeTestsCallTheDeployedEndpoint(t *testing.T) {
	for _, c := range []struct{ stage, appStage, appStack string }{
		{"Deploy_Dev", config.DevStage, DevApplicationStackID},
		{"Deploy_Prod", config.ProdStage, ProdApplicationStackID},
	} {
		t.Run(c.stage, func(t *testing.T) {
			smoke := action(t, c.stage, "Smoke_Test")
			namespace := get(action(t, c.stage, "Deploy"), "Namespace")
			var env []map[string]any
			raw, _ := get(smoke, "Configuration", "EnvironmentVariables").(string)
			require.NoError(t, json.Unmarshal([]byte(raw), &env))
			vars := map[string]any{}
			for _, v := range env {
				vars[v["name"].(string)] = v["value"]
			}
			assert.Equal(t, fmt.Sprintf("#{%v.%s}", namespace, ApiEndpointOutput), vars["API_URL"],
				"the smoke test must call the API this stage's deploy action just created")
			assert.Equal(t, c.appStage, vars["STAGE"])
			expect(t, "the application template must output the endpoint the smoke test reads", func() {
				templates[c.appStack].HasOutput(jsii.String(ApiEndpointOutput), assertions.Match_AnyValue())
			})
		})
	}
	spec := buildspecOf(t, projectOfAction(t, "Deploy_Dev", "Smoke_Test"))
	assert.Contains(t, get(spec, "phases", "build", "commands"), any("make smoke-test"),
		"the smoke project fails the pipeline through make smoke-test's exit code")
}

func TestArtifactStore(t *testing.T) {
	tmpl := templates[config.PipelineStackID]
	keyID, _ := onlyResource(t, config.PipelineStackID, "AWS::KMS::Key")
	bucketID, _ := onlyResource(t, config.PipelineStackID, "AWS::S3::Bucket")
	expect(t, "the artifact key rotates", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), props{"EnableKeyRotation": true})
	})
	expect(t, "artifacts are encrypted with the shared key and never public", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), props{
			"BucketName": "artifact-bucket-" + devAccount,
			"BucketEncryption": props{"ServerSideEncryptionConfiguration": []any{like(props{
				"ServerSideEncryptionByDefault": props{
					"SSEAlgorithm":   "aws:kms",
					"KMSMasterKeyID": props{"Fn::GetAtt": []any{keyID, "Arn"}},
				},
			})}},
			"PublicAccessBlockConfiguration": props{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
		})
	})
	expect(t, "requests without TLS are refused", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), props{
			"Bucket": props{"Ref": bucketID},
			"PolicyDocument": like(props{"Statement": assertions.Match_ArrayWith(&[]any{like(props{
				"Effect":    "Deny",
				"Condition": props{"Bool": props{"aws:SecureTransport": "false"}},
			})})}),
		})
	})
	expect(t, "the pipeline stores its artifacts in this bucket", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::CodePipeline::Pipeline"), props{
			"ArtifactStore": props{
				"Type":          "S3",
				"Location":      props{"Ref": bucketID},
				"EncryptionKey": props{"Type": "KMS", "Id": props{"Fn::GetAtt": []any{keyID, "Arn"}}},
			},
		})
	})
	for _, out := range []string{config.ArtifactKeyArnOutput, config.ArtifactBucketNameOutput} {
		expect(t, "the prod roles stack needs the key ARN; users need the bucket", func() {
			tmpl.HasOutput(jsii.String(out), assertions.Match_AnyValue())
		})
	}
}

func TestBuildProjects(t *testing.T) {
	keyID, _ := onlyResource(t, config.PipelineStackID, "AWS::KMS::Key")
	projects := resourcesOf(config.PipelineStackID, "AWS::CodeBuild::Project")
	require.Len(t, projects, 7, "application build, synth, smoke test; and the trusted pipeline changes, update, roles check and artifact digests")
	for id, p := range projects {
		assert.Equal(t, props{"Fn::GetAtt": []any{keyID, "Arn"}}, get(p, "Properties", "EncryptionKey"),
			"%s must encrypt its output with the artifact key, or prod cannot read it", id)
		assert.Equal(t, "ARM_CONTAINER", get(p, "Properties", "Environment", "Type"), "%s builds on the Lambda's architecture", id)
		if get(p, "Properties", "Cache", "Type") == "NO_CACHE" {
			continue
		}
		// Only CDK_Synth keeps a cache, on the build host: an S3 cache would need a write to
		// the bucket beyond the build's own output (TestBuildsWriteOnlyTheirOwnOutput).
		assert.Equal(t, map[string]any{"Type": "LOCAL", "Modes": []any{"LOCAL_CUSTOM_CACHE"}}, get(p, "Properties", "Cache"), id)
		assert.NotEmpty(t, get(buildspecOf(t, p), "cache", "paths"), "%s's buildspec names what to cache", id)
	}
	assert.Equal(t, "LOCAL", get(projectOfAction(t, "Build", "CDK_Synth"), "Properties", "Cache", "Type"),
		"CDK_Synth keeps the compiled CDK bindings (minutes to build) on the build host")
	synthSpec := buildspecOf(t, projectOfAction(t, "Build", "CDK_Synth"))
	commands := list(get(synthSpec, "phases", "build", "commands"))
	require.GreaterOrEqual(t, len(commands), 2)
	assert.Equal(t, []any{"make test", "make synth"}, commands[len(commands)-2:],
		"every test runs before the templates are produced, so a failing test stops the pipeline before any deploy")

	synth := projectOfAction(t, "Build", "CDK_Synth")
	env := map[string]any{}
	for _, v := range list(get(synth, "Properties", "Environment", "EnvironmentVariables")) {
		env[get(v, "Name").(string)] = get(v, "Value")
	}
	assert.Equal(t, map[string]any{
		"DEV_ACCOUNT":     devAccount,
		"PROD_ACCOUNT":    prodAccount,
		"REGION":          testConfig.Region,
		"REPOSITORY_NAME": testConfig.RepositoryName,
		"BRANCH":          testConfig.Branch,
		"APP_NAME":        testConfig.AppName,
	}, env, "CodeBuild must synthesize for the accounts (and the app name) the pipeline was deployed with, not cdk.json's")
}

// projectOfAction returns the CodeBuild project a pipeline action runs.
func projectOfAction(t *testing.T, stage, name string) map[string]any {
	t.Helper()
	ref, _ := get(action(t, stage, name), "Configuration", "ProjectName", "Ref").(string)
	p, ok := resourcesOf(config.PipelineStackID, "AWS::CodeBuild::Project")[ref]
	require.True(t, ok, "action %s names no project of this stack", name)
	return p
}

// buildspecOf decodes the buildspec a project carries in the template.
func buildspecOf(t *testing.T, project map[string]any) map[string]any {
	t.Helper()
	text, _ := get(project, "Properties", "Source", "BuildSpec").(string)
	var spec map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &spec), "buildspec must be inline YAML in the template")
	return spec
}

// logicalID returns the logical ID of a construct's CloudFormation resource.
func logicalID(t *testing.T, stack awscdk.Stack, c constructs.IConstruct) string {
	t.Helper()
	el, ok := c.Node().DefaultChild().(awscdk.CfnElement)
	require.True(t, ok, "%s has no CloudFormation resource", *c.Node().Path())
	return *stack.GetLogicalId(el)
}

// A deploy stage that fails, in its deploy or its smoke test, rolls back to the artifacts of its
// last successful execution. The approval is a stage of its own without rollback: a rollback
// re-runs every action of its stage and must not wait for a person.
func TestDeployStagesRollBackOnFailure(t *testing.T) {
	for _, s := range pipelineStages(t) {
		name, _ := get(s, "Name").(string)
		switch {
		case strings.HasPrefix(name, "Deploy_"):
			assert.Equal(t, "ROLLBACK", get(s, "OnFailure", "Result"), "%s must roll back on failure", name)
			assert.Equal(t, deployStageActions, actionOrder([]any{s}, name),
				"%s: the smoke test runs after the deploy inside the stage that rolls back", name)
		default:
			assert.Nil(t, get(s, "OnFailure"), "%s has nothing to roll back", name)
		}
	}
}

// CodeBuild takes at most 25,600 characters of inline buildspec. The trusted buildspecs carry
// review.js (gzipped and base64-encoded); a fifth of the limit stays free so that review.js
// can grow without the pipeline stack failing to deploy.
func TestInlineBuildspecsFitCodeBuild(t *testing.T) {
	const limit, margin = 25600, 25600 / 5
	for id, p := range resourcesOf(config.PipelineStackID, "AWS::CodeBuild::Project") {
		spec, _ := get(p, "Properties", "Source", "BuildSpec").(string)
		require.NotEmpty(t, spec, id)
		assert.LessOrEqual(t, len(spec), limit-margin, "%s's buildspec is %d characters; CodeBuild's limit is %d", id, len(spec), limit)
	}
}
