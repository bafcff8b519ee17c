package stacks

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// AWS service limits the synthesized output touches, each with where it is documented.
const (
	// CloudFormation quotas: a template sent inline (TemplateBody: the roles stacks, which
	// `make deploy-roles` deploys without a bootstrap, and the application templates a
	// CodePipeline deploy action reads from its artifact), one sent through S3 (the pipeline
	// stack, which `cdk deploy` uploads through the bootstrap bucket), resources, parameters and
	// outputs per template.
	inlineTemplateBytes = 51200
	s3TemplateBytes     = 1000000
	templateResources   = 500
	templateParameters  = 200
	templateOutputs     = 200
	// CodePipeline quotas: stages per pipeline, actions per stage, and characters per action
	// configuration value, counted after variables are filled in.
	// IAM quotas (default): a role's inline policies together, a managed policy, a role's trust
	// policy, each counted without whitespace; KMS: a key policy; S3: a bucket policy.
	roleInlinePolicies = 10240
	managedPolicy      = 6144
	trustPolicy        = 2048
	keyPolicy          = 32768
	bucketPolicy       = 20480
	maxStages          = 50
	maxStageActions    = 50
	configurationValue = 1000
)

// limitsEnvironments builds an environments list of n (at least 4): dev in the pipeline's
// account, the last three in prod's account (prod last), the others up to three to an account,
// with deployment windows on dev, prod and every third.
func limitsEnvironments(n int) string {
	var entries []string
	for i := 0; i < n; i++ {
		name, account := fmt.Sprintf("env%d", i), fmt.Sprintf("%012d", 300000000000+i/3)
		switch {
		case i == 0:
			name, account = "dev", devAccount
		case i == n-1:
			name, account = "prod", prodAccount
		case i >= n-3:
			account = prodAccount
		}
		entry := fmt.Sprintf(`{"name":%q,"account":%q`, name, account)
		switch {
		case i == 0:
			entry += `,"deployment-window":{"cron":"* * 9-16 ? * MON-FRI"}`
		case i%3 == 2 || i == n-1:
			entry += `,"deployment-window":{"cron":"* * 9-16 ? * MON-FRI","timezone":"Europe/Berlin"}`
		}
		entries = append(entries, entry+"}")
	}
	return "[" + strings.Join(entries, ",") + "]"
}

// longestAppName is an app-name as long as the config allows (40 characters): every name and
// policy that repeats it is then at its largest.
var longestAppName = "Orders" + strings.Repeat("x", 34)

// largestConfig is the largest configuration the README claims: ten environments, three to an
// account, with deployment windows, notifications by e-mail, the SUPERSEDED execution mode and
// the longest app-name. Every size grows with the environments, the accounts and the name, so
// what fits here fits below. The tests of notifications, windows and shared accounts read it too.
func largestConfig() (config.Config, error) {
	return listConfig(limitsEnvironments(10), map[string]any{config.NotificationsKey: `["ops@example.com","lead@example.com"]`,
		config.AppNameKey: longestAppName, config.ExecutionModeKey: config.ExecutionModeSuperseded})
}

// TestLimitsHoldUpToTenEnvironments checks every limit above on every template of the largest
// configuration, of the default pair and of three environments.
func TestLimitsHoldUpToTenEnvironments(t *testing.T) {
	t.Run("10 environments", func(t *testing.T) {
		cfg, largest := synthesizedVariant(t, "largest")
		require.Len(t, cfg.Environments, 10)
		for _, e := range cfg.Environments {
			require.Contains(t, largest.Templates, e.StackID())
		}
		checkLimits(t, largest.Templates)
	})
	t.Run("the default pair", func(t *testing.T) { checkLimits(t, raw) })
	t.Run("three environments", func(t *testing.T) {
		_, three := synthesizedVariant(t, "three")
		checkLimits(t, three.Templates)
	})
}

func checkLimits(t *testing.T, tmpls map[string]map[string]any) {
	for id, tmpl := range tmpls {
		text, err := json.MarshalIndent(tmpl, "", " ")
		require.NoError(t, err)
		limit, how := inlineTemplateBytes, "inline"
		if id == config.PipelineStackID || id == config.RepositoryStackID || id == config.LambdaStackID {
			limit, how = s3TemplateBytes, "through S3"
		}
		assert.LessOrEqual(t, len(text), limit, "%s is %d bytes, over CloudFormation's %d for a template sent %s", id, len(text), limit, how)
		for section, max := range map[string]int{"Resources": templateResources, "Parameters": templateParameters, "Outputs": templateOutputs} {
			n := len(asMap(tmpl[section]))
			assert.LessOrEqual(t, n, max, "%s has %d %s, over CloudFormation's %d", id, n, section, max)
		}
	}
	checkPolicySizes(t, tmpls)
	stages := list(get(onlyIn(t, tmpls[config.PipelineStackID], "AWS::CodePipeline::Pipeline"), "Properties", "Stages"))
	assert.LessOrEqual(t, len(stages), maxStages, "stages per pipeline")
	variable := regexp.MustCompile(`#\{[A-Za-z0-9_@-]+\.([A-Z_]+)\}`)
	for _, st := range stages {
		actions := list(get(st, "Actions"))
		assert.LessOrEqual(t, len(actions), maxStageActions, "actions in stage %v", get(st, "Name"))
		for _, a := range actions {
			for key, value := range asMap(get(a, "Configuration")) {
				text, ok := value.(string)
				if !ok {
					continue // a reference CloudFormation fills in: an ARN or a name, well under the limit
				}
				filled := variable.ReplaceAllStringFunc(text, func(v string) string {
					if n, known := longestVariable[variable.FindStringSubmatch(v)[1]]; known {
						return strings.Repeat("x", n)
					}
					return strings.Repeat("x", 100) // a CodePipeline or source variable: an ID, a URL
				})
				assert.LessOrEqual(t, len(filled), configurationValue, "%v.%v's %s is %d characters with its variables filled in, over CodePipeline's %d",
					get(st, "Name"), get(a, "Name"), key, len(filled), configurationValue)
			}
		}
	}
}

// policySize is a policy's length as IAM counts it (no whitespace), with each value
// CloudFormation fills in (an ARN, a name) counted as 80 characters, longer than any here.
func policySize(v any) int {
	switch x := v.(type) {
	case map[string]any:
		for k := range x {
			if k == "Ref" || strings.HasPrefix(k, "Fn::") {
				return 80
			}
		}
		n := 2
		for k, e := range x {
			n += len(k) + 4 + policySize(e)
		}
		return n
	case []any:
		n := 2
		for _, e := range x {
			n += policySize(e) + 1
		}
		return n
	}
	data, _ := json.Marshal(v)
	return len(data)
}

func checkPolicySizes(t *testing.T, tmpls map[string]map[string]any) {
	for id, tmpl := range tmpls {
		inline := map[string]int{}
		for _, r := range resourcesIn(tmpl, "AWS::IAM::Policy") {
			for _, role := range list(get(r, "Properties", "Roles")) {
				name := fmt.Sprint(get(role, "Ref"))
				inline[name] += policySize(get(r, "Properties", "PolicyDocument"))
			}
		}
		for rid, r := range resourcesIn(tmpl, "AWS::IAM::Role") {
			for _, p := range list(get(r, "Properties", "Policies")) {
				inline[rid] += policySize(get(p, "PolicyDocument"))
			}
			n := policySize(get(r, "Properties", "AssumeRolePolicyDocument"))
			assert.LessOrEqual(t, n, trustPolicy, "%s/%s's trust policy is about %d characters, over IAM's %d", id, rid, n, trustPolicy)
		}
		for role, n := range inline {
			assert.LessOrEqual(t, n, roleInlinePolicies, "%s/%s's inline policies are about %d characters together, over IAM's %d", id, role, n, roleInlinePolicies)
		}
		for rid, r := range resourcesIn(tmpl, "AWS::IAM::ManagedPolicy") {
			n := policySize(get(r, "Properties", "PolicyDocument"))
			assert.LessOrEqual(t, n, managedPolicy, "%s/%s is about %d characters, over IAM's %d for a managed policy", id, rid, n, managedPolicy)
		}
		for rid, r := range resourcesIn(tmpl, "AWS::KMS::Key") {
			n := policySize(get(r, "Properties", "KeyPolicy"))
			assert.LessOrEqual(t, n, keyPolicy, "%s/%s's key policy is about %d bytes, over KMS's %d", id, rid, n, keyPolicy)
		}
		for rid, r := range resourcesIn(tmpl, "AWS::S3::BucketPolicy") {
			n := policySize(get(r, "Properties", "PolicyDocument"))
			assert.LessOrEqual(t, n, bucketPolicy, "%s/%s is about %d bytes, over S3's %d for a bucket policy", id, rid, n, bucketPolicy)
		}
	}
}
