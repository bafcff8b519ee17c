package stacks

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodebuild"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipelineactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/assets"
	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// selfUpdate is how the pipeline keeps itself up to date: Pipeline_Changes (in the Build stage)
// compares the synthesized pipeline stack with the deployed one, Approve_UpdatePipeline waits
// for a person only when the change widens IAM or touches the pipeline's gates, and
// UpdatePipeline deploys the change and restarts the run on the new definition. Both projects
// are trusted (assets.TrustedBuildspecs): the repository's code never runs with their roles.
type selfUpdate struct {
	Review, Update awscodebuild.PipelineProject
}

func newSelfUpdate(stack awscdk.Stack, bucket awss3.Bucket, account string) (selfUpdate, error) {
	env := map[string]string{"PIPELINE_STACK": config.PipelineStackID, "PIPELINE_NAME": config.PipelineName, "PIPELINE_ACCOUNT": account,
		"WAIT_MINUTES": strconv.Itoa(config.UpdateWaitMinutes)}
	readDeployed := statement("ReadDeployedPipelineStack", []string{"cloudformation:GetTemplate"}, *stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("cloudformation"), Resource: jsii.String("stack"), ResourceName: jsii.String(config.PipelineStackID + "/*")}))
	// The pipeline's ARN from its fixed name: a reference to the pipeline would make the
	// projects depend on the pipeline that depends on them.
	pipelineArn := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("codepipeline"), Resource: jsii.String(config.PipelineName)})
	review, err := buildProject(stack, "PipelineChanges", assets.PipelineChangesBuildspec, bucket, projectOptions{Env: env,
		Reads: []string{CdkArtifact}, Statements: []awsiam.PolicyStatement{readDeployed,
			statement("ReadPipelineState", []string{"codepipeline:GetPipelineState"}, *pipelineArn)}})
	if err != nil {
		return selfUpdate{}, err
	}
	// cdk deploy publishes the template through the file-publishing role and deploys through
	// the deploy role, which passes CloudFormation the bootstrap execution role. These roles are
	// what a pipeline update can do, so they are the limit of what a push can reach (README,
	// Security model).
	qualifier := *awscdk.DefaultStackSynthesizer_DEFAULT_QUALIFIER()
	var bootstrapRoles []string
	for _, kind := range []string{"deploy", "file-publishing"} {
		bootstrapRoles = append(bootstrapRoles, *roleArn(stack, *stack.Account(), "cdk-"+qualifier+"-"+kind+"-role-"+*stack.Account()+"-"+*stack.Region()))
	}
	update, err := buildProject(stack, "UpdatePipeline", assets.UpdatePipelineBuildspec, bucket, projectOptions{Env: env,
		Reads: []string{CdkArtifact}, Statements: []awsiam.PolicyStatement{readDeployed,
			statement("DeployThroughBootstrapRoles", []string{"sts:AssumeRole"}, bootstrapRoles...),
			statement("RestartPipeline", []string{"codepipeline:GetPipelineState", "codepipeline:StartPipelineExecution", "codepipeline:StopPipelineExecution"}, *pipelineArn),
		}})
	if err != nil {
		return selfUpdate{}, err
	}
	for _, p := range []awscodebuild.PipelineProject{review, update} {
		allow(p, nagException{Rule: "AwsSolutions-IAM5", Findings: []string{`Resource::arn:.*:cloudformation:.*:stack/` + config.PipelineStackID + `/\*`},
			Reason: "The pipeline stack's own ARN, which ends in an ID CloudFormation generates."})
	}
	return selfUpdate{Review: review, Update: update}, nil
}

// restartedFor is the pipeline-level variable that UpdatePipeline sets on the execution it
// starts: the commit that already updated the pipeline once. A run of that commit that finds the
// pipeline stack changed again stops instead of updating it again, so a synth that differs every
// time (a timestamp) cannot restart the pipeline for ever. Only a person with AWS credentials or
// UpdatePipeline can set it; a push cannot.
func restartedFor() awscodepipeline.Variable {
	return awscodepipeline.NewVariable(&awscodepipeline.VariableProps{
		VariableName: jsii.String(config.RestartedForVariable),
		DefaultValue: jsii.String("none"),
		Description:  jsii.String("Set by UpdatePipeline on the run it restarts: the commit that already updated the pipeline"),
	})
}

// loopGuard are the variables that let Pipeline_Changes and UpdatePipeline see a second update
// for the same commit.
func loopGuard() map[string]*awscodebuild.BuildEnvironmentVariable {
	return map[string]*awscodebuild.BuildEnvironmentVariable{
		"RESTARTED_FOR": {Value: jsii.String("#{variables." + config.RestartedForVariable + "}")},
		"COMMIT_ID":     {Value: jsii.String("#{" + config.SourceNamespace + ".CommitId}")},
	}
}

// reviewAction is Pipeline_Changes, run in the Build stage once CDK_Synth is done.
func (u selfUpdate) reviewAction(cdkOut awscodepipeline.Artifact) awscodepipeline.IAction {
	env := loopGuard()
	return awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
		ActionName:           jsii.String(config.PipelineChangesAction),
		RunOrder:             jsii.Number(2),
		Project:              u.Review,
		Input:                cdkOut,
		VariablesNamespace:   jsii.String(config.PipelineChangesNamespace),
		EnvironmentVariables: &env,
	})
}

// stages are Approve_UpdatePipeline and UpdatePipeline. Each is skipped by a stage condition
// on Pipeline_Changes' variables, so a push that leaves the pipeline alone costs nothing and
// one that widens nothing waits for nobody.
func (u selfUpdate) stages(cdkOut awscodepipeline.Artifact, topic awssns.ITopic, sourceAction string) []*awscodepipeline.StageProps {
	env := loopGuard()
	env["REVIEWED_WIDENS"] = &awscodebuild.BuildEnvironmentVariable{Value: jsii.String("#{" + config.PipelineChangesNamespace + ".WIDENS}")}
	env["REVIEWED_DIGEST"] = &awscodebuild.BuildEnvironmentVariable{Value: jsii.String("#{" + config.PipelineChangesNamespace + ".DIGEST}")}
	env["EXECUTION_ID"] = &awscodebuild.BuildEnvironmentVariable{Value: jsii.String("#{codepipeline.PipelineExecutionId}")}
	// The restart takes this commit, not whatever the branch holds by then.
	env["SOURCE_ACTION"] = &awscodebuild.BuildEnvironmentVariable{Value: jsii.String(sourceAction)}
	return []*awscodepipeline.StageProps{
		{
			StageName:   jsii.String(config.ApproveUpdateStage),
			BeforeEntry: skipUnless("WidensPermissions", "WIDENS"),
			Actions: &[]awscodepipeline.IAction{awscodepipelineactions.NewManualApprovalAction(&awscodepipelineactions.ManualApprovalActionProps{
				ActionName: jsii.String("Approve"),
				AdditionalInformation: jsii.String("This push changes the pipeline stack in a way that needs a person: #{" +
					config.PipelineChangesNamespace + ".REASON}. The diff is in the log of the " + config.PipelineChangesAction +
					" action. Approving deploys exactly the reviewed files (sha256 #{" + config.PipelineChangesNamespace + ".DIGEST}); rejecting stops " +
					"this run and leaves the pipeline as it is."),
				NotificationTopic: topic,
			})},
		},
		{
			StageName:   jsii.String(config.UpdatePipelineStage),
			BeforeEntry: skipUnless("PipelineChanged", "CHANGED"),
			Actions: &[]awscodepipeline.IAction{awscodepipelineactions.NewCodeBuildAction(&awscodepipelineactions.CodeBuildActionProps{
				ActionName:           jsii.String("SelfMutate"),
				Project:              u.Update,
				Input:                cdkOut,
				EnvironmentVariables: &env,
			})},
		},
	}
}

// skipUnless is a stage condition that skips the stage unless Pipeline_Changes set variable
// to true. CodePipeline allows the SKIP result only with VariableCheck and LambdaInvoke rules.
func skipUnless(rule, variable string) *awscodepipeline.Conditions {
	return &awscodepipeline.Conditions{Conditions: &[]*awscodepipeline.Condition{{
		Result: awscodepipeline.Result_SKIP,
		Rules: &[]awscodepipeline.Rule{awscodepipeline.NewRule(&awscodepipeline.RuleProps{
			Name:     jsii.String(rule),
			Provider: jsii.String("VariableCheck"),
			Version:  jsii.String("1"),
			Configuration: &map[string]any{
				"Variable": "#{" + config.PipelineChangesNamespace + "." + variable + "}",
				"Operator": "EQ",
				"Value":    "true",
			},
		})},
	}}}
}
