package stacks

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"gopkg.in/yaml.v3"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pipelineStages returns the Stages property of the pipeline.
func pipelineStages(t *testing.T) []any {
	t.Helper()
	_, p := onlyResource(t, PipelineStackID, "AWS::CodePipeline::Pipeline")
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
	assert.Equal(t, []any{"Source", "Build", "Deploy_Dev", "Deploy_Prod"}, names, "prod is deployed only after dev")

	src := action(t, "Source", "CodeCommit_Source")
	assert.Equal(t, testConfig.RepositoryName, get(src, "Configuration", "RepositoryName"))
	assert.Equal(t, testConfig.Branch, get(src, "Configuration", "BranchName"), "the configured branch, not the CDK default master")
	assert.Equal(t, false, get(src, "Configuration", "PollForSourceChanges"), "pushes start the pipeline through an event rule, not polling")
	expect(t, "every push to the branch starts the pipeline", func() {
		templates[PipelineStackID].HasResourceProperties(jsii.String("AWS::Events::Rule"), props{
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
	devRoleID := logicalID(t, built.Pipeline.Stack, built.Pipeline.DevDeploymentRole)
	cases := []struct {
		stage, stackName, template string
		deploymentRole, actionRole any
	}{
		{"Deploy_Dev", DevDeploymentStackName, "CdkBuildOutput::" + TemplateFile(DevApplicationStackID),
			props{"Fn::GetAtt": []any{devRoleID, "Arn"}}, nil},
		{"Deploy_Prod", ProdDeploymentStackName, "CdkBuildOutput::" + TemplateFile(ProdApplicationStackID),
			"arn:aws:iam::" + testConfig.ProdAccountID + ":role/" + DeploymentRoleName,
			"arn:aws:iam::" + testConfig.ProdAccountID + ":role/" + CrossAccountRoleName},
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
			assert.Equal(t, "REPLACE_ON_FAILURE", get(cfg, "ActionMode"), "a failed first deploy must not block the next push")
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

func TestArtifactStore(t *testing.T) {
	tmpl := templates[PipelineStackID]
	keyID, _ := onlyResource(t, PipelineStackID, "AWS::KMS::Key")
	bucketID, _ := onlyResource(t, PipelineStackID, "AWS::S3::Bucket")
	expect(t, "the artifact key rotates", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), props{"EnableKeyRotation": true})
	})
	expect(t, "artifacts are encrypted with the shared key and never public", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), props{
			"BucketName": "artifact-bucket-" + testConfig.DevAccountID,
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
	for _, out := range []string{ArtifactKeyArnOutput, ArtifactBucketNameOutput} {
		expect(t, "the prod roles stack needs the key ARN; users need the bucket", func() {
			tmpl.HasOutput(jsii.String(out), assertions.Match_AnyValue())
		})
	}
}

func TestBuildProjects(t *testing.T) {
	keyID, _ := onlyResource(t, PipelineStackID, "AWS::KMS::Key")
	projects := resourcesOf(PipelineStackID, "AWS::CodeBuild::Project")
	require.Len(t, projects, 2)
	for id, p := range projects {
		assert.Equal(t, props{"Fn::GetAtt": []any{keyID, "Arn"}}, get(p, "Properties", "EncryptionKey"),
			"%s must encrypt its output with the artifact key, or prod cannot read it", id)
		assert.Equal(t, "ARM_CONTAINER", get(p, "Properties", "Environment", "Type"), "%s builds on the Lambda's architecture", id)
	}

	synth := projectOfAction(t, "CDK_Synth")
	env := map[string]any{}
	for _, v := range list(get(synth, "Properties", "Environment", "EnvironmentVariables")) {
		env[get(v, "Name").(string)] = get(v, "Value")
	}
	assert.Equal(t, map[string]any{
		"DEV_ACCOUNT":     testConfig.DevAccountID,
		"PROD_ACCOUNT":    testConfig.ProdAccountID,
		"REGION":          testConfig.Region,
		"REPOSITORY_NAME": testConfig.RepositoryName,
		"BRANCH":          testConfig.Branch,
	}, env, "CodeBuild must synthesize for the accounts the pipeline was deployed with, not cdk.json's placeholders")
}

// projectOfAction returns the CodeBuild project a Build stage action runs.
func projectOfAction(t *testing.T, name string) map[string]any {
	t.Helper()
	ref, _ := get(action(t, "Build", name), "Configuration", "ProjectName", "Ref").(string)
	p, ok := resourcesOf(PipelineStackID, "AWS::CodeBuild::Project")[ref]
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
