package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodebuild"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipelineactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// artifactDigests pins what a run deploys to what it built: Record_Digests (in the Build stage)
// records the digests of the cloud assembly and of the Lambda build output once per run, and
// Verify_Artifacts, first in every deploy stage, refuses artifacts with other digests. The
// project is trusted (assets.TrustedBuildspecs) and reads the two artifacts, nothing else.
type artifactDigests struct {
	project           awscodebuild.PipelineProject
	cdkOut, lambdaOut awscodepipeline.Artifact
}

// templates are the application templates the deploy stages read, whose roles it checks.
func newArtifactDigests(stack awscdk.Stack, bucket awss3.Bucket, cdkOut, lambdaOut awscodepipeline.Artifact, templates []string) (artifactDigests, error) {
	project, err := buildProject(stack, "ArtifactDigests", assets.ArtifactDigestsBuildspec, bucket, projectOptions{
		Env: map[string]string{"APP_TEMPLATES": strings.Join(templates, " ")}, Reads: []string{CdkArtifact, LambdaArtifact}})
	return artifactDigests{project: project, cdkOut: cdkOut, lambdaOut: lambdaOut}, err
}

func (d artifactDigests) action(name string, runOrder int, env map[string]string) awscodepipeline.IAction {
	vars := map[string]*awscodebuild.BuildEnvironmentVariable{}
	for k, v := range env {
		vars[k] = &awscodebuild.BuildEnvironmentVariable{Value: jsii.String(v)}
	}
	props := &awscodepipelineactions.CodeBuildActionProps{
		ActionName:           jsii.String(name),
		RunOrder:             jsii.Number(runOrder),
		Project:              d.project,
		Input:                d.cdkOut,
		ExtraInputs:          &[]awscodepipeline.Artifact{d.lambdaOut},
		EnvironmentVariables: &vars,
	}
	if name == config.RecordDigestsAction {
		props.VariablesNamespace = jsii.String(config.DigestsNamespace)
	}
	return awscodepipelineactions.NewCodeBuildAction(props)
}

// record is Record_Digests, after the builds in the Build stage.
func (d artifactDigests) record() awscodepipeline.IAction {
	return d.action(config.RecordDigestsAction, 2, map[string]string{"CHECK": "record"})
}

// verify is Verify_Artifacts, before a deploy stage's deploy action.
func (d artifactDigests) verify() awscodepipeline.IAction {
	return d.action(config.VerifyArtifactsAction, 1, map[string]string{"CHECK": "verify",
		"EXPECTED_TEMPLATES": digestVariable("TEMPLATES"), "EXPECTED_CODE": digestVariable("CODE")})
}

// digestVariable refers to one of Record_Digests' variables.
func digestVariable(name string) string { return "#{" + config.DigestsNamespace + "." + name + "}" }
