package stacks

import (
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

func TestLoadConfigReadsContext(t *testing.T) {
	ctx := map[string]any{}
	for k, v := range testValues() {
		ctx[k] = v
	}
	ctx[config.RepositoryNameKey] = "from-context"
	cfg, err := LoadConfig(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}))
	require.NoError(t, err)
	assert.Equal(t, "from-context", cfg.RepositoryName)
	assert.Equal(t, "210987654321", cfg.Environments[1].Account)
}

func TestBuildRejectsInvalidConfigBeforeCreatingStacks(t *testing.T) {
	fresh := awscdk.NewApp(nil)
	bad := testConfig
	bad.Environments = config.ShorthandEnvironments(devAccount, "not-an-account", true)
	s, err := Build(fresh, bad)
	require.Error(t, err)
	assert.Nil(t, s)
	assert.Empty(t, *fresh.Node().Children(), "nothing may be synthesized from a bad config")
}

// The README's Configuration section is where users read the settings: it must name every key
// LoadConfig reads, and say what each traffic style does in the words the approver sees.
func TestReadmeDocumentsEverySettingAndTrafficStyle(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	configuration := section(string(readme), "## Configuration")
	require.NotEmpty(t, configuration, "the README needs a Configuration section")
	for _, key := range config.ContextKeys {
		assert.Contains(t, configuration, "`"+key+"`", "the README's Configuration section must document %s", key)
	}
	for _, s := range config.TrafficStyles {
		assert.Contains(t, configuration, "`"+string(s.Traffic)+"`", "the README must name the traffic style %s", s.Traffic)
		assert.Contains(t, configuration, s.Text, "the README must say what %s does as the approver reads it: %q", s.Traffic, s.Text)
	}
}
