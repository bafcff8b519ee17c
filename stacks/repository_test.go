package stacks

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

func TestRepositoryStack(t *testing.T) {
	tmpl := templates[config.RepositoryStackID]
	expect(t, "the repository has the configured name, which the pipeline imports", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::CodeCommit::Repository"), props{
			"RepositoryName": testConfig.RepositoryName,
		})
	})
	expect(t, "deleting the stack must not delete the team's only copy of its history, and a failed create must not leave it behind", func() {
		tmpl.HasResource(jsii.String("AWS::CodeCommit::Repository"), props{
			"DeletionPolicy":      "RetainExceptOnCreate",
			"UpdateReplacePolicy": "Retain",
		})
	})
	for _, out := range []string{"RepositoryName", "CloneUrlGrc", "CloneUrlHttp"} {
		expect(t, "users clone from the stack's outputs", func() {
			tmpl.HasOutput(jsii.String(out), assertions.Match_AnyValue())
		})
	}
}
