package stacks

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validValues() map[string]any {
	return map[string]any{
		DevAccountKey:  "123456789012",
		ProdAccountKey: "210987654321",
		RegionKey:      "eu-west-1",
		BranchKey:      "main",
	}
}

func TestNewConfigAcceptsValidInput(t *testing.T) {
	cfg, err := NewConfig(validValues())
	require.NoError(t, err)
	assert.Equal(t, Config{
		Environments: []Environment{
			{Name: "dev", Account: "123456789012", Traffic: TrafficAllAtOnce},
			{Name: "prod", Account: "210987654321", Approval: true, Traffic: TrafficCanary},
		},
		Region:         "eu-west-1",
		RepositoryName: "repo-123456789012",
		Branch:         "main",
		ExecutionMode:  ExecutionModeQueued,
		shorthand:      true,
	}, cfg, "the repository name defaults to repo-<dev-account>, as in the workshop; prod needs approval by default")
	assert.False(t, cfg.UsesGitHub())

	for _, off := range []any{false, "false", "FALSE"} {
		v := validValues()
		v[ProdApprovalKey] = off
		cfg, err = NewConfig(v)
		require.NoError(t, err)
		assert.False(t, cfg.Environments[1].Approval, "prod-approval=%v (from cdk.json or -c) turns the approval off", off)
	}

	v := validValues()
	v[ConnectionArnKey] = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0123abcd-0123-abcd-0123-0123456789ab"
	v[GitHubRepoKey] = "my-org/my.app"
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.True(t, cfg.UsesGitHub())

	v = validValues()
	v[RepositoryNameKey] = "platform.team_repo-1"
	v[BranchKey] = "release/2026.11"
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, "platform.team_repo-1", cfg.RepositoryName)
	assert.Equal(t, "release/2026.11", cfg.Branch, "branches with slashes and dots are fine for git")
}

func TestNewConfigRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]any // overrides of validValues; nil deletes the key
		// wants are substrings the error must contain: the key, the bad value and the fix.
		wants []string
	}{
		{"dev account missing", map[string]any{DevAccountKey: nil}, []string{"dev-account: is not set", "12-digit"}},
		{"prod account missing", map[string]any{ProdAccountKey: nil}, []string{"prod-account: is not set"}},
		{"account too short", map[string]any{ProdAccountKey: "12345678901"}, []string{`prod-account: "12345678901" is not an AWS account ID`}},
		{"account with letters", map[string]any{DevAccountKey: "12345678901a"}, []string{`dev-account: "12345678901a"`}},
		{"account with dashes", map[string]any{DevAccountKey: "1234-5678-9012"}, []string{`dev-account: "1234-5678-9012"`}},
		{"account as a JSON number", map[string]any{DevAccountKey: float64(123456789012)}, []string{`dev-account: got the number 123456789012; write it as a quoted string ("dev-account": "123456789012")`}},
		{"branch as a JSON bool", map[string]any{BranchKey: true}, []string{"branch: got true (bool)"}},
		{"same account twice", map[string]any{ProdAccountKey: "123456789012"}, []string{"prod-account", "same account as dev-account"}},
		{"region missing", map[string]any{RegionKey: nil}, []string{"region: is not set"}},
		{"region that does not exist", map[string]any{RegionKey: "us-east-9"}, []string{`region: "us-east-9" is not an AWS region`}},
		{"region in capitals", map[string]any{RegionKey: "EU-WEST-1"}, []string{`region: "EU-WEST-1"`}},
		{"repository name with a space", map[string]any{RepositoryNameKey: "my repo"}, []string{`repository-name: "my repo" is not a valid CodeCommit repository name`}},
		{"repository name ending in .git", map[string]any{RepositoryNameKey: "app.git"}, []string{`repository-name: "app.git"`}},
		{"repository name too long", map[string]any{RepositoryNameKey: strings.Repeat("r", 101)}, []string{"repository-name"}},
		{"branch missing", map[string]any{BranchKey: nil}, []string{"branch: is not set"}},
		{"branch with a space", map[string]any{BranchKey: "my branch"}, []string{`branch: "my branch" contains a character git does not allow`}},
		{"branch with ..", map[string]any{BranchKey: "a..b"}, []string{`branch: "a..b" is not a valid git branch name`}},
		{"branch starting with a dash", map[string]any{BranchKey: "-main"}, []string{`branch: "-main"`}},
		{"branch ending in .lock", map[string]any{BranchKey: "main.lock"}, []string{`branch: "main.lock"`}},
		{"branch with a colon", map[string]any{BranchKey: "a:b"}, []string{`branch: "a:b"`}},
		{"approval that is not a boolean", map[string]any{ProdApprovalKey: "yes"}, []string{"prod-approval: got yes; use true or false"}},
		{"GitHub repository without a connection", map[string]any{GitHubRepoKey: "org/app"}, []string{"github-connection-arn: is not set"}},
		{"connection without a repository", map[string]any{ConnectionArnKey: "arn:aws:codeconnections:eu-west-1:123456789012:connection/0123abcd-0123-abcd-0123-0123456789ab"},
			[]string{"github-repository: is not set"}},
		{"connection that is not an ARN", map[string]any{ConnectionArnKey: "my-connection", GitHubRepoKey: "org/app"},
			[]string{`github-connection-arn: "my-connection" is not a CodeConnections connection ARN`}},
		{"repository without owner", map[string]any{ConnectionArnKey: "arn:aws:codestar-connections:eu-west-1:123456789012:connection/0123abcd-0123-abcd-0123-0123456789ab", GitHubRepoKey: "app"},
			[]string{`github-repository: "app" is not a GitHub repository`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := validValues()
			for k, val := range c.set {
				if val == nil {
					delete(v, k)
				} else {
					v[k] = val
				}
			}
			cfg, err := NewConfig(v)
			require.Error(t, err)
			assert.Equal(t, Config{}, cfg, "a bad config must not be half-usable")
			for _, want := range c.wants {
				assert.Contains(t, err.Error(), want)
			}
			assert.Contains(t, err.Error(), "cdk.json", "the error must say where values are set")
		})
	}
}

func TestNewConfigReportsEveryProblemAtOnce(t *testing.T) {
	_, err := NewConfig(map[string]any{RegionKey: "mars-1", BranchKey: "a b"})
	require.Error(t, err)
	for _, key := range []string{"dev-account:", "prod-account:", "region:", "branch:"} {
		assert.Contains(t, err.Error(), key, "one run must name every bad key, not just the first")
	}
	assert.NotContains(t, err.Error(), "repository-name:",
		"the default repository name follows the dev account, whose error is already reported")
}

func TestLoadConfigReadsContext(t *testing.T) {
	ctx := map[string]any{}
	for k, v := range validValues() {
		ctx[k] = v
	}
	ctx[RepositoryNameKey] = "from-context"
	cfg, err := LoadConfig(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}))
	require.NoError(t, err)
	assert.Equal(t, "from-context", cfg.RepositoryName)
	assert.Equal(t, "210987654321", cfg.Environments[1].Account)
}

func TestShippedCdkJSONIsAValidOfflineConfig(t *testing.T) {
	data, err := jsonFile("../cdk.json")
	require.NoError(t, err)
	ctx := data["context"].(map[string]any)
	values := map[string]any{}
	for _, k := range ContextKeys {
		if v, ok := ctx[k]; ok {
			values[k] = v
		}
	}
	cfg, err := NewConfig(values)
	require.NoError(t, err, "`make synth` on a fresh clone must work with cdk.json alone")
	for _, e := range cfg.Environments {
		account := e.Account
		assert.Equal(t, strings.Repeat(account[:1], 12), account, "shipped accounts must be obvious placeholders (one digit repeated)")
	}
}

func TestBuildRejectsInvalidConfigBeforeCreatingStacks(t *testing.T) {
	fresh := awscdk.NewApp(nil)
	bad := testConfig
	bad.Environments = shorthandEnvironments(devAccount, "not-an-account", true)
	s, err := Build(fresh, bad)
	require.Error(t, err)
	assert.Nil(t, s)
	assert.Empty(t, *fresh.Node().Children(), "nothing may be synthesized from a bad config")
}
