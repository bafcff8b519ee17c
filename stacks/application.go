package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodedeploy"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// ApplicationStackProps configures one stage of the application.
type ApplicationStackProps struct {
	Target Target
	// Environment names the stage (API stage, STAGE_NAME and physical names) and sets how
	// CodeDeploy shifts traffic. Whatever the style, an alarm on the alias' errors rolls back.
	Environment config.Environment
	// Replaceable marks the environment whose failed stack the pipeline deletes and recreates
	// (REPLACE_ON_FAILURE). Such a stack must retain nothing under a fixed name, or every
	// recreate would fail on it: its log group is deleted with the stack.
	Replaceable bool
}

// ApplicationStack is the application the pipeline deploys: a Go Lambda behind an alias that
// CodeDeploy shifts, fronted by an API Gateway REST API. Its code comes from CloudFormation
// parameters that the pipeline fills with the build output, so the template can be synthesized
// once and deployed to any account without assets or a CDK bootstrap there.
type ApplicationStack struct {
	awscdk.Stack
	Stage string
	// Environment is the environment the stack is for.
	Environment config.Environment
	// Replaceable: see ApplicationStackProps.
	Replaceable bool
	// LambdaCode lets the pipeline point the function at the build artifact (Assign).
	LambdaCode awslambda.CfnParametersCode
	Function   awslambda.Function
	Alias      awslambda.Alias
	Api        awsapigateway.LambdaRestApi
	// ErrorAlarm watches the live alias; CodeDeploy rolls back while it is in alarm.
	ErrorAlarm awscloudwatch.Alarm
}

// ApiEndpointOutput is the logical ID of the stack output that holds the API's URL.
const ApiEndpointOutput = "ApiEndpoint"

// NewApplicationStack creates one stage of the application.
func NewApplicationStack(scope constructs.Construct, id string, props ApplicationStackProps) *ApplicationStack {
	stage := props.Environment.Name
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps(props.Target,
		fmt.Sprintf("Application %s, %s stage; deployed by CrossAccountPipeline", props.Environment.AppName(), stage), true))
	a := &ApplicationStack{Stack: stack, Stage: stage, Environment: props.Environment, Replaceable: props.Replaceable}
	key := a.addCodeParameters()
	// Every role of the application carries the boundary that the account's roles stack (or,
	// in the pipeline's account, the pipeline stack) defines: the deployment role may create
	// roles only with it, so no template can make a role that does more.
	awsiam.PermissionsBoundary_Of(stack).Apply(awsiam.ManagedPolicy_FromManagedPolicyName(stack, jsii.String("Boundary"),
		jsii.String(config.BoundaryPolicyName(props.Environment))))
	a.addFunction(key)
	a.addLiveDeployment()
	a.addApi()
	return a
}

// addCodeParameters declares where the built Lambda code is, as parameters the pipeline fills:
// named ones keep the logical IDs stable, so the pipeline's parameter overrides and the template
// cannot drift apart. It returns the object key's parameter, which names each version.
func (a *ApplicationStack) addCodeParameters() awscdk.CfnParameter {
	bucket := awscdk.NewCfnParameter(a.Stack, jsii.String(config.LambdaCodeBucketParameter), &awscdk.CfnParameterProps{
		Type:        jsii.String("String"),
		Description: jsii.String("S3 bucket holding the built Lambda code (set by the pipeline)"),
	})
	key := awscdk.NewCfnParameter(a.Stack, jsii.String(config.LambdaCodeKeyParameter), &awscdk.CfnParameterProps{
		Type:        jsii.String("String"),
		Description: jsii.String("S3 key of the zip with the bootstrap binary (set by the pipeline)"),
	})
	a.LambdaCode = awslambda.Code_FromCfnParameters(&awslambda.CfnParametersCodeProps{
		BucketNameParam: bucket,
		ObjectKeyParam:  key,
	})
	return key
}

// addFunction creates the function, its role and its log group, all named after the app. The
// application's roles live under one IAM path, the handle the deployment role's iam:*
// permissions are scoped to.
func (a *ApplicationStack) addFunction(key awscdk.CfnParameter) {
	stack, stage, name, code := a.Stack, a.Stage, a.Environment.AppName(), a.LambdaCode
	logging := newFunctionLogging(stack, a.Environment.LogGroupName(), a.Environment.RolePath(), "Execution role of "+name)
	if a.Replaceable {
		logging.LogGroup.ApplyRemovalPolicy(awscdk.RemovalPolicy_DESTROY)
	}

	a.Function = awslambda.NewFunction(stack, jsii.String("Function"), &awslambda.FunctionProps{
		FunctionName: jsii.String(name),
		Role:         logging.Role,
		LogGroup:     logging.LogGroup,
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         code,
		MemorySize:   jsii.Number(128),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(10)),
		Environment:  &map[string]*string{"STAGE_NAME": jsii.String(stage)},
		Description:  jsii.String(fmt.Sprintf("Handler of %s, %s stage", name, stage)),
		// The version's logical ID is a hash of the function's template, which names the code
		// parameters but not their values: without this, a new build would update $LATEST yet
		// publish no version, and the alias (and so the API) would keep serving the old code.
		// Version properties force replacement, so a new object key publishes a new version.
		CurrentVersionOptions: &awslambda.VersionOptions{
			Description: awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("Code from "), key.ValueAsString()}),
		},
	})
}

// addLiveDeployment creates the live alias, and the CodeDeploy deployment group that shifts it
// in the environment's traffic style, rolled back while the alias' error alarm fires.
func (a *ApplicationStack) addLiveDeployment() {
	stack, fn, name := a.Stack, a.Function, a.Environment.AppName()
	alias := awslambda.NewAlias(stack, jsii.String("LiveAlias"), &awslambda.AliasProps{
		AliasName: jsii.String(config.LiveAliasName),
		Version:   fn.CurrentVersion(),
	})

	deploymentGroupRole := awsiam.NewRole(stack, jsii.String("DeploymentGroupRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("codedeploy.amazonaws.com"), nil),
		Path:        jsii.String(a.Environment.RolePath()),
		Description: jsii.String("Lets CodeDeploy shift the " + config.LiveAliasName + " alias of " + name),
	})
	errorAlarm := awscloudwatch.NewAlarm(stack, jsii.String("LiveErrors"), &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(name + "-" + config.LiveAliasName + "-errors"),
		AlarmDescription: jsii.String("Errors of " + name + ":" + config.LiveAliasName + "; CodeDeploy rolls a deployment back while this is in alarm"),
		Metric: alias.MetricErrors(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(1)),
			Statistic: jsii.String("Sum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		// No invocations is no evidence of a bad release.
		TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	style, _ := a.Environment.Traffic.Style()
	deploymentConfig := awscodedeploy.LambdaDeploymentConfig_FromLambdaDeploymentConfigName(stack, jsii.String("DeploymentConfig"),
		jsii.String(style.DeploymentConfig))
	awscodedeploy.NewLambdaDeploymentGroup(stack, jsii.String("DeploymentGroup"), &awscodedeploy.LambdaDeploymentGroupProps{
		Application: awscodedeploy.NewLambdaApplication(stack, jsii.String("DeployApplication"), &awscodedeploy.LambdaApplicationProps{
			ApplicationName: jsii.String(name),
		}),
		DeploymentGroupName: jsii.String(config.LiveAliasName),
		Role:                deploymentGroupRole,
		Alias:               alias,
		DeploymentConfig:    deploymentConfig,
		Alarms:              &[]interfacesawscloudwatch.IAlarmRef{errorAlarm},
		AutoRollback: &awscodedeploy.AutoRollbackConfig{
			FailedDeployment:  jsii.Bool(true),
			StoppedDeployment: jsii.Bool(true),
			DeploymentInAlarm: jsii.Bool(true),
		},
	})

	allow(deploymentGroupRole, nagException{Rule: "AwsSolutions-IAM4",
		Findings: []string{`Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited`},
		Reason:   "AWS's own policy for CodeDeploy's Lambda deployments, kept current by AWS as the service changes; it only lets CodeDeploy update aliases and invoke hooks."})
	a.Alias, a.ErrorAlarm = alias, errorAlarm
}

// addApi fronts the live alias with a REST API.
func (a *ApplicationStack) addApi() {
	stack, stage, name, alias := a.Stack, a.Stage, a.Environment.AppName(), a.Alias
	api := awsapigateway.NewLambdaRestApi(stack, jsii.String("Api"), &awsapigateway.LambdaRestApiProps{
		Handler:        alias,
		RestApiName:    jsii.String(name),
		Description:    jsii.String(fmt.Sprintf("API of %s, %s stage", name, stage)),
		CloudWatchRole: jsii.Bool(false),
		DeployOptions:  &awsapigateway.StageOptions{StageName: jsii.String(stage)},
		// Export names are global per account and region: one per application and stage, so two
		// applications (or environments) in one account never collide.
		EndpointExportName: jsii.String(name + "-Endpoint"),
	})
	allow(api,
		nagException{Rule: "AwsSolutions-APIG4", Reason: "A public demo endpoint that returns a greeting and its stage; a real application adds an authorizer here."},
		nagException{Rule: "AwsSolutions-COG4", Reason: "A public demo endpoint that returns a greeting and its stage; a real application adds an authorizer here."},
		nagException{Rule: "AwsSolutions-APIG2", Reason: "A Lambda proxy integration without a request body model; the handler reads only the path."},
		nagException{Rule: "AwsSolutions-APIG1", Reason: "Stage logging needs the account-wide API Gateway CloudWatch role, which this app deliberately does not set (it would replace one the account already has); Lambda logs every request."},
		nagException{Rule: "AwsSolutions-APIG6", Reason: "Stage logging needs the account-wide API Gateway CloudWatch role, which this app deliberately does not set (it would replace one the account already has); Lambda logs every request."},
		nagException{Rule: "AwsSolutions-APIG3", Reason: "A WAF web ACL costs money per month and per rule; add one when the API serves real traffic."},
	)

	// The API's own URL output has a hashed logical ID; a stable key lets the pipeline and
	// users read it as outputs.ApiEndpoint.
	if out, ok := api.Node().FindChild(jsii.String("Endpoint")).(awscdk.CfnOutput); ok {
		out.OverrideLogicalId(jsii.String(ApiEndpointOutput))
	}

	a.Api = api
}
