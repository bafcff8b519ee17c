package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// LambdaStackProps configures the stand-alone test function.
type LambdaStackProps struct {
	Target Target
	// CodeDir is the folder whose files become the function's code asset.
	CodeDir string
}

// LambdaStack is the workshop's small Python function, deployed straight from a local asset with
// `cdk deploy`. It shows the asset path that the pipeline's application stacks avoid.
type LambdaStack struct {
	awscdk.Stack
	Function awslambda.Function
}

// NewLambdaStack creates the function from the local code folder.
func NewLambdaStack(scope constructs.Construct, id string, props LambdaStackProps) *LambdaStack {
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps(props.Target,
		"Small Python test function deployed from a local asset", false))

	logging := newFunctionLogging(stack, "", "", "Execution role of the LambdaStack test function")
	fn := awslambda.NewFunction(stack, jsii.String("Function"), &awslambda.FunctionProps{
		Role:         logging.Role,
		LogGroup:     logging.LogGroup,
		Runtime:      awslambda.Runtime_PYTHON_3_13(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("index.handler"),
		Code: awslambda.Code_FromAsset(jsii.String(props.CodeDir), &awss3assets.AssetOptions{
			// Tests stay out of the deployed code; excluding them also keeps the asset hash
			// (and so the template) unchanged when only a test changes.
			Exclude: jsii.Strings("test_*.py", "__pycache__"),
		}),
		MemorySize:  jsii.Number(128),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(5)),
		Description: jsii.String("Answers with a greeting; used to check a dev account deployment"),
	})

	allow(fn, nagException{Rule: "AwsSolutions-L1",
		Reason: "Pinned to python3.13 on purpose (supported into 2029): runtime upgrades are deliberate changes, tested with the handler, not drift."})

	awscdk.NewCfnOutput(stack, jsii.String("FunctionName"), &awscdk.CfnOutputProps{Value: fn.FunctionName()})
	awscdk.NewCfnOutput(stack, jsii.String("FunctionArn"), &awscdk.CfnOutputProps{Value: fn.FunctionArn()})

	return &LambdaStack{Stack: stack, Function: fn}
}
