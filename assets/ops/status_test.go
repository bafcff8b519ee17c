package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// The emulator has no CodePipeline execution history, so the status view is tested on
// responses built from the SDK's own types: prod failed its last deploy (its last good one is
// older) and waits for the approval of a newer commit.
func statusSources() Sources {
	at := func(min int) *time.Time { t := time.Date(2026, 11, 26, 9, min, 0, 0, time.UTC); return &t }
	action := func(name string, status cptypes.ActionExecutionStatus, min int) cptypes.ActionState {
		return cptypes.ActionState{ActionName: aws.String(name), LatestExecution: &cptypes.ActionExecution{Status: status, LastStatusChange: at(min)}}
	}
	stage := func(name, exec string, status cptypes.StageExecutionStatus, actions ...cptypes.ActionState) cptypes.StageState {
		return cptypes.StageState{StageName: aws.String(name), LatestExecution: &cptypes.StageExecution{PipelineExecutionId: aws.String(exec), Status: status},
			ActionStates: actions}
	}
	failed := action("Deploy", cptypes.ActionExecutionStatusFailed, 20)
	failed.LatestExecution.ErrorDetails = &cptypes.ErrorDetails{Message: aws.String("Stack is in UPDATE_ROLLBACK_COMPLETE")}
	return Sources{
		State: &codepipeline.GetPipelineStateOutput{StageStates: []cptypes.StageState{
			stage("Source", "e3", cptypes.StageExecutionStatusSucceeded, action("CodeCommit_Source", cptypes.ActionExecutionStatusSucceeded, 30)),
			stage("Deploy_Dev", "e3", cptypes.StageExecutionStatusSucceeded, action("Deploy", cptypes.ActionExecutionStatusSucceeded, 35)),
			stage("Approve_Prod", "e3", cptypes.StageExecutionStatusInProgress, action("Approve", cptypes.ActionExecutionStatusInProgress, 36)),
			stage("Deploy_Prod", "e2", cptypes.StageExecutionStatusFailed, failed),
			{StageName: aws.String("Check_Roles")},
		}},
		Executions: []cptypes.PipelineExecutionSummary{
			{PipelineExecutionId: aws.String("e3"), SourceRevisions: []cptypes.SourceRevision{{RevisionId: aws.String("3333333333333333aaaa")}}},
			{PipelineExecutionId: aws.String("e2"), SourceRevisions: []cptypes.SourceRevision{{RevisionId: aws.String("2222222222222222bbbb")}}},
			{PipelineExecutionId: aws.String("e1"), SourceRevisions: []cptypes.SourceRevision{{RevisionId: aws.String("1111111111111111cccc")}}},
		},
		Actions: []cptypes.ActionExecutionDetail{ // newest first, as the API returns them
			{StageName: aws.String("Deploy_Dev"), ActionName: aws.String("Deploy"), Status: cptypes.ActionExecutionStatusSucceeded, PipelineExecutionId: aws.String("e3"), LastUpdateTime: at(35)},
			{StageName: aws.String("Deploy_Dev"), ActionName: aws.String("Smoke_Test"), Status: cptypes.ActionExecutionStatusSucceeded, PipelineExecutionId: aws.String("e3"), LastUpdateTime: at(35)},
			{StageName: aws.String("Deploy_Prod"), ActionName: aws.String("Deploy"), Status: cptypes.ActionExecutionStatusFailed, PipelineExecutionId: aws.String("e2"), LastUpdateTime: at(20)},
			{StageName: aws.String("Deploy_Prod"), ActionName: aws.String("Deploy"), Status: cptypes.ActionExecutionStatusSucceeded, PipelineExecutionId: aws.String("e1"), LastUpdateTime: at(5)},
		},
		Stacks: map[string]*cfntypes.Stack{
			"dev":  {StackStatus: cfntypes.StackStatusUpdateComplete},
			"prod": {StackStatus: cfntypes.StackStatusUpdateRollbackComplete},
		},
		Aliases: map[string]*lambda.GetAliasOutput{"dev": {FunctionVersion: aws.String("7")}, "prod": {FunctionVersion: aws.String("5")}},
		Errors:  map[string]string{},
	}
}

func TestStatusView(t *testing.T) {
	cfg := configOf(t, nil)
	v := BuildView(cfg, statusSources())
	require.Len(t, v.Environments, 2)
	dev, prod := v.Environments[0], v.Environments[1]
	assert.Equal(t, "UPDATE_COMPLETE", dev.StackStatus)
	assert.Equal(t, "7", dev.LiveVersion)
	assert.Equal(t, "333333333333", dev.Commit, "dev runs the commit of its last successful deploy")
	assert.False(t, dev.ApprovalWaiting)
	assert.Equal(t, "UPDATE_ROLLBACK_COMPLETE", prod.StackStatus)
	assert.Equal(t, "111111111111", prod.Commit, "prod's last deploy failed and rolled back: it runs the commit of the one before")
	assert.Equal(t, time.Date(2026, 11, 26, 9, 5, 0, 0, time.UTC), *prod.DeployedAt)
	assert.True(t, prod.ApprovalWaiting)
	assert.Contains(t, prod.ApprovalLink, "console.aws.amazon.com/codesuite/codepipeline/pipelines/CrossAccountPipeline/view?region=us-east-1")

	var text bytes.Buffer
	require.NoError(t, v.Write(&text, false))
	lines := strings.Split(text.String(), "\n")
	assert.Regexp(t, `^ENVIRONMENT\s+ACCOUNT\s+STACK\s+LIVE VERSION\s+COMMIT\s+DEPLOYED\s+APPROVAL`, lines[0])
	assert.Regexp(t, `^dev\s+111111111111\s+UPDATE_COMPLETE\s+7\s+333333333333\s+2026-11-26 09:35 UTC\s+-$`, lines[1])
	assert.Regexp(t, `^prod\s+222222222222\s+UPDATE_ROLLBACK_COMPLETE\s+5\s+111111111111\s+2026-11-26 09:05 UTC\s+waiting: https://`, lines[2])
	assert.Regexp(t, `(?m)^Deploy_Prod\s+Failed\s+222222222222\s+2026-11-26 09:20 UTC\s+Deploy: Stack is in UPDATE_ROLLBACK_COMPLETE$`, text.String())
	assert.Regexp(t, `(?m)^Check_Roles\s+never run\s+-\s+-\s+-$`, text.String())

	var out bytes.Buffer
	require.NoError(t, v.Write(&out, true))
	var decoded View
	require.NoError(t, json.Unmarshal(out.Bytes(), &decoded))
	assert.Equal(t, v.Environments[1].Commit, decoded.Environments[1].Commit)
	assert.Len(t, decoded.Stages, 5)
}

// An environment whose profile cannot read it says so instead of looking undeployed.
func TestStatusShowsWhatCouldNotBeRead(t *testing.T) {
	src := statusSources()
	delete(src.Stacks, "prod")
	src.Errors["prod"] = "operation error STS: GetCallerIdentity, expired token"
	var text bytes.Buffer
	require.NoError(t, BuildView(configOf(t, nil), src).Write(&text, false))
	assert.Contains(t, text.String(), "unreadable: operation error STS: GetCallerIdentity, expired token")
}

// Status finds an environment's live version under the app-name's function: a renamed
// application's alias is read, and the sample's name is not what it looks up.
func TestStatusReadsTheRenamedApplication(t *testing.T) {
	reset(t, map[string]string{"dev": devAccount, "prod": prodAccount})
	ctx := context.Background()
	prod := clientCfg(t, "prod")
	renamed := configOf(t, map[string]any{config.AppNameKey: "orders-api"}).Environments[1]
	createStack(t, prod, renamed.DeploymentStackName(), nil, nil)

	role, err := iam.NewFromConfig(prod).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("orders-api-prod-function"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	require.NoError(t, err)
	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, err := zw.Create("bootstrap")
	require.NoError(t, err)
	_, _ = w.Write([]byte("#!/bin/sh\n"))
	require.NoError(t, zw.Close())
	functions := lambda.NewFromConfig(prod)
	_, err = functions.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(renamed.AppName()), Role: role.Role.Arn,
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: code.Bytes()}})
	require.NoError(t, err)
	version, err := functions.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(renamed.AppName())})
	require.NoError(t, err)
	_, err = functions.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(renamed.AppName()), Name: aws.String(config.LiveAliasName),
		FunctionVersion: version.Version})
	require.NoError(t, err)

	stack, alias, err := readEnvironment(ctx, prod, renamed)
	require.NoError(t, err)
	require.NotNil(t, stack)
	require.NotNil(t, alias, "the live alias of %s", renamed.AppName())
	assert.Equal(t, aws.ToString(version.Version), aws.ToString(alias.FunctionVersion))

	sample := configOf(t, nil).Environments[1]
	require.Equal(t, renamed.DeploymentStackName(), sample.DeploymentStackName(), "the stack's name does not follow app-name")
	_, alias, err = readEnvironment(ctx, prod, sample)
	require.NoError(t, err)
	assert.Nil(t, alias, "no function is named %s here", sample.AppName())
}
