package stacks

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

func TestLambdaStack(t *testing.T) {
	tmpl := templates[config.LambdaStackID]
	expect(t, "the test function runs on a supported Python (3.8 can no longer be deployed)", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), props{
			"Runtime":       "python3.13",
			"Handler":       "index.handler",
			"Architectures": []any{"arm64"},
		})
	})
	_, fn := onlyResource(t, config.LambdaStackID, "AWS::Lambda::Function")
	code := get(fn, "Properties", "Code")
	assert.NotNil(t, get(code, "S3Bucket"), "code comes from an uploaded asset, not inline")
	assert.Regexp(t, `^[0-9a-f]{64}\.zip$`, get(code, "S3Key"), "the asset key is the content hash of lambda/python")

	for _, out := range []string{"FunctionName", "FunctionArn"} {
		expect(t, "the stack outputs the function's name and ARN", func() {
			tmpl.HasOutput(jsii.String(out), assertions.Match_AnyValue())
		})
	}
}

func TestLambdaAssetShipsOnlyTheHandler(t *testing.T) {
	_, fn := onlyResource(t, config.LambdaStackID, "AWS::Lambda::Function")
	key, _ := get(fn, "Properties", "Code", "S3Key").(string)
	files, err := readDirNames(filepath.Join(*assembly.Directory(), "asset."+strings.TrimSuffix(key, ".zip")))
	if assert.NoError(t, err, "the staged asset folder is named after the S3 key's hash") {
		assert.Equal(t, []string{"index.py"}, files, "tests and caches stay out of the deployed code")
	}
}
