package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
			{Name: "dev", Account: "123456789012", Traffic: TrafficAllAtOnce, App: DefaultAppName},
			{Name: "prod", Account: "210987654321", Approval: true, Traffic: TrafficCanary, App: DefaultAppName},
		},
		Region:         "eu-west-1",
		RepositoryName: "repo-123456789012",
		Branch:         "main",
		ExecutionMode:  ExecutionModeQueued,
		AppName:        DefaultAppName,
		SmokeTest:      DefaultSmokeTest,
		Shorthand:      true,
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
		{"region that is no region code", map[string]any{RegionKey: "Ireland"}, []string{`region: "Ireland" is not an AWS region code`}},
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

func TestShippedCdkJSONIsAValidOfflineConfig(t *testing.T) {
	cfg, err := loadConfigFrom("../../cdk.json", nil)
	require.NoError(t, err, "`make synth` on a fresh clone must work with cdk.json alone")
	for _, e := range cfg.Environments {
		account := e.Account
		assert.Equal(t, strings.Repeat(account[:1], 12), account, "shipped accounts must be obvious placeholders (one digit repeated)")
	}
}

const devAccount, stagingAccount, prodAccount = "123456789012", "333333333333", "210987654321"

func threeEnvironments() string {
	return fmt.Sprintf(`[{"name":"dev","account":%q},{"name":"staging","account":%q},{"name":"prod","account":%q}]`,
		devAccount, stagingAccount, prodAccount)
}

func TestEnvironmentsListAndDefaults(t *testing.T) {
	v := validValues()
	delete(v, DevAccountKey)
	delete(v, ProdAccountKey)
	v[EnvironmentsKey] = threeEnvironments() // as -c environments='[...]' passes it
	cfg, err := NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, []Environment{
		{Name: "dev", Account: devAccount, Traffic: TrafficAllAtOnce, App: DefaultAppName},
		{Name: "staging", Account: stagingAccount, Traffic: TrafficCanary, App: DefaultAppName},
		{Name: "prod", Account: prodAccount, Approval: true, Traffic: TrafficCanary, App: DefaultAppName},
	}, cfg.Environments, "approval only before the last, all at once for the first, canary after")

	// The same list as JSON in cdk.json, with explicit settings.
	v[EnvironmentsKey] = []any{
		map[string]any{"name": "dev", "account": devAccount, "approval": true},
		map[string]any{"name": "prod", "account": prodAccount, "approval": false, "traffic": "linear"},
	}
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.True(t, cfg.Environments[0].Approval)
	assert.Equal(t, Environment{Name: "prod", Account: prodAccount, Traffic: TrafficLinear, App: DefaultAppName}, cfg.Environments[1])

	e := cfg.Environments[1]
	assert.Equal(t, []string{"ProdApplicationStack", "ProdApplicationDeploymentStack", "Deploy_Prod", "Approve_Prod", "HelloLambda-prod"},
		[]string{e.StackID(), e.DeploymentStackName(), e.DeployStage(), e.ApproveStage(), e.AppName()},
		"one naming function gives today's names for the default environments")
}

func TestEnvironmentsReportEveryBadEntry(t *testing.T) {
	v := validValues()
	delete(v, DevAccountKey)
	delete(v, ProdAccountKey)
	v[EnvironmentsKey] = `[{"name":"dev","account":"123456789012"},` +
		`{"name":"Staging","account":333333333333,"region":"us-west-2"},` +
		`{"name":"dev","account":"12345","traffic":"blue-green","approval":"yes"},` +
		`{"account":"444444444444","colour":"red"}]`
	_, err := NewConfig(v)
	require.Error(t, err)
	for _, want := range []string{
		`environments[1].name: "Staging" is not a valid name`,
		"environments[1].account: got 333333333333; write the account ID as a quoted string",
		"environments[1].region: per-environment regions are not supported",
		`environments[2].name: "dev" is used twice`,
		`environments[2].account: "12345" is not an AWS account ID`,
		`environments[2].traffic: "blue-green" is not a traffic style`,
		`environments[2].approval: got "yes"; use true or false`,
		"environments[3].name: is not set",
		"environments[3].colour: unknown key",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Equal(t, 1, strings.Count(err.Error(), "environments[1].account"), "each problem once")

	v[EnvironmentsKey] = "dev,prod"
	_, err = NewConfig(v)
	assert.ErrorContains(t, err, "environments: is not a JSON list")
}

// The command line replaces what cdk.json holds: `make synth ENVIRONMENTS='[...]'` works with
// cdk.json's placeholder pair left in place, and -c dev-account=... works with a list there.
func TestEnvironmentsFormGivenOnTheCommandLineWins(t *testing.T) {
	file := validValues() // cdk.json holds the Shorthand
	values := validValues()
	values[EnvironmentsKey] = threeEnvironments()
	cfg, err := FromContext(values, file)
	require.NoError(t, err)
	assert.Len(t, cfg.Environments, 3, "the list from -c replaces the pair from cdk.json")

	file = map[string]any{EnvironmentsKey: threeEnvironments()} // cdk.json holds a list
	values[DevAccountKey], values[ProdAccountKey] = "444444444444", "555555555555"
	cfg, err = FromContext(values, file)
	require.NoError(t, err)
	assert.Equal(t, "555555555555", cfg.Environments[1].Account, "the pair from -c replaces the list from cdk.json")

	_, err = FromContext(values, values) // both in cdk.json
	require.Error(t, err)
	assert.Contains(t, err.Error(), "use one form: remove dev-account, prod-account and prod-approval")
}

// The Makefile's operational targets read the environments through `cdk-app environments`.
func TestRosterFollowsTheCommandLine(t *testing.T) {
	cdkJSON := filepath.Join(t.TempDir(), "cdk.json")
	require.NoError(t, os.WriteFile(cdkJSON, []byte(`{"context": {"dev-account": "111111111111", "prod-account": "222222222222", "region": "us-east-1", "branch": "main"}}`), 0o644))
	cfg, err := loadConfigFrom(cdkJSON, nil)
	require.NoError(t, err, "cdk.json alone configures the app")
	assert.Equal(t, "dev\t111111111111\tDevApplicationStack\tDevApplicationDeploymentStack\tHelloLambda-dev\t-\n"+
		"prod\t222222222222\tProdApplicationStack\tProdApplicationDeploymentStack\tHelloLambda-prod\tProdAccountRolesStack\n", Roster(cfg),
		"a pair in cdk.json")

	cfg, err = loadConfigFrom(cdkJSON, []string{"-c", EnvironmentsKey + "=" + threeEnvironments(), "-c", RegionKey + "=eu-west-1"})
	require.NoError(t, err)
	var names, roles []string
	for _, line := range strings.Split(strings.TrimSpace(Roster(cfg)), "\n") {
		f := strings.Split(line, "\t")
		names, roles = append(names, f[0]), append(roles, f[5])
	}
	assert.Equal(t, []string{"dev", "staging", "prod"}, names, "a list on the command line replaces cdk.json's pair")
	assert.Equal(t, []string{"-", "StagingAccountRolesStack", "ProdAccountRolesStack"}, roles)

	_, err = loadConfigFrom(cdkJSON, []string{"-c", "region"})
	assert.ErrorContains(t, err, "key=value")
	_, err = LoadConfigFromArgs(nil)
	assert.NoError(t, err, "the repository's own cdk.json configures the app")
}

func TestDeploymentWindowChecksCronAndTimeZone(t *testing.T) {
	for _, ok := range []DeploymentWindow{
		{Cron: "* * 9-16 ? * MON-FRI"},
		{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Europe/Berlin"},
		{Cron: "* 0/15 22-23 ? * 2-6 2026-2030", TimeZone: "America/New_York"},
		{Cron: "* * * L-3 JAN,JUL ?"},
		{Cron: "* * 10 15W * ?"},
		{Cron: "* * * ? * 6#3"},
		{Cron: "* * * ? * 6L", TimeZone: "UTC"},
	} {
		assert.Empty(t, ok.Problem(), "%+v", ok)
	}
	for _, c := range []struct {
		window DeploymentWindow
		want   string
	}{
		{DeploymentWindow{Cron: "9-16 * * MON-FRI"}, "has 4 fields"},
		{DeploymentWindow{Cron: "0 * 9-16 ? * MON-FRI"}, "seconds field must be *"},
		{DeploymentWindow{Cron: "* * 9-25 ? * MON-FRI"}, `hours field "9-25" is out of range 0-23`},
		{DeploymentWindow{Cron: "* 60 * ? * *"}, `minutes field "60" is out of range 0-59`},
		{DeploymentWindow{Cron: "* * * ? * MON-FRY"}, `day-of-week field "MON-FRY" is out of range`},
		{DeploymentWindow{Cron: "* * * * * MON"}, "exactly one of day-of-month"},
		{DeploymentWindow{Cron: "* * * ? * ?"}, "exactly one of day-of-month"},
		{DeploymentWindow{Cron: "* * ? ? * MON"}, `hours field "?" may not be ?`},
		{DeploymentWindow{Cron: "* * * ? * 1W"}, "uses L, W or #"},
		{DeploymentWindow{Cron: "* * * ? 2#1 *"}, "uses L, W or #"},
		{DeploymentWindow{Cron: "* * 9/0 ? * *"}, "step that is not a positive number"},
		{DeploymentWindow{Cron: "* * * ? * * 1969"}, "out of range 1970-2199"},
		{DeploymentWindow{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Mars/Olympus"}, `timezone "Mars/Olympus" is not an IANA time zone`},
		{DeploymentWindow{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Local"}, "is not an IANA time zone"},
	} {
		assert.Contains(t, c.window.Problem(), c.want, "%+v", c.window)
	}
}

func TestOperationsConfig(t *testing.T) {
	list := `[{"name":"dev","account":"123456789012"},` +
		`{"name":"prod","account":"210987654321","deployment-window":{"cron":"* * 9-16 ? * MON-FRI","timezone":"Europe/Berlin"}}]`
	v := map[string]any{EnvironmentsKey: list, RegionKey: "eu-west-1", BranchKey: "main",
		NotificationsKey: `["ops@example.com", "lead@example.com"]`, ExecutionModeKey: "superseded"}
	cfg, err := NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, &DeploymentWindow{Cron: "* * 9-16 ? * MON-FRI", TimeZone: "Europe/Berlin"}, cfg.Environments[1].Window)
	assert.Nil(t, cfg.Environments[0].Window)
	assert.Equal(t, Notifications{Emails: []string{"ops@example.com", "lead@example.com"}}, cfg.Notifications)
	assert.Equal(t, ExecutionModeSuperseded, cfg.ExecutionMode)

	v[NotificationsKey] = []any{"ops@example.com"} // the form cdk.json holds
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, []string{"ops@example.com"}, cfg.Notifications.Emails)

	v[NotificationsKey] = "arn:aws:sns:eu-west-1:123456789012:team-alerts"
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, Notifications{TopicArn: "arn:aws:sns:eu-west-1:123456789012:team-alerts"}, cfg.Notifications)

	delete(v, NotificationsKey)
	delete(v, ExecutionModeKey)
	cfg, err = NewConfig(v)
	require.NoError(t, err)
	assert.False(t, cfg.Notifications.Enabled(), "no notifications unless configured")
	assert.Equal(t, ExecutionModeQueued, cfg.ExecutionMode, "commits reach prod in order unless told otherwise")

	// Every mistake at once, each naming its key and the fix.
	bad := map[string]any{RegionKey: "eu-west-1", BranchKey: "main", ExecutionModeKey: "PARALLEL",
		NotificationsKey: `["ops@example.com", "not-an-address", 7]`,
		EnvironmentsKey: `[{"name":"dev","account":"123456789012","deployment-window":{"cron":"0 * * * * ?"}},` +
			`{"name":"prod","account":"210987654321","deployment-window":"weekdays"}]`}
	_, err = NewConfig(bad)
	require.Error(t, err)
	for _, want := range []string{
		`execution-mode: "PARALLEL" is not an execution mode this pipeline supports; use QUEUED`,
		`notifications[1]: "not-an-address" is not an e-mail address`,
		"notifications[2]: got 7",
		`environments[0].deployment-window: cron "0 * * * * ?": the seconds field must be *`,
		`environments[1].deployment-window: got "weekdays"; write {"cron"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	bad = map[string]any{RegionKey: "eu-west-1", BranchKey: "main", DevAccountKey: "123456789012", ProdAccountKey: "210987654321",
		NotificationsKey: "arn:aws:sns:us-east-1:123456789012:team-alerts"}
	_, err = NewConfig(bad)
	assert.ErrorContains(t, err, "is in us-east-1, but the pipeline is in eu-west-1")
	bad[NotificationsKey] = "ops@example.com"
	_, err = NewConfig(bad)
	assert.ErrorContains(t, err, `"ops@example.com" is neither a list nor a topic ARN`)
}

// The pipeline's layout is a function of the config alone: checked here without a synth, and
// against the synthesized pipeline in the stacks package.
func TestStagesFollowTheEnvironments(t *testing.T) {
	names := func(cfg Config) []string {
		var out []string
		for _, s := range Stages(cfg) {
			out = append(out, s.Name)
		}
		return out
	}
	pair, err := NewConfig(validValues())
	require.NoError(t, err)
	assert.Equal(t, []string{"Source", "Build", ApproveUpdateStage, UpdatePipelineStage, "Deploy_Dev", CheckRolesStage, "Approve_Prod", "Deploy_Prod"},
		names(pair), "the roles check comes before prod's approval, so a stale roles stack stops the run before anyone approves")

	v := validValues()
	delete(v, DevAccountKey)
	delete(v, ProdAccountKey)
	v[EnvironmentsKey] = fmt.Sprintf(`[{"name":"dev","account":%q,"approval":true},{"name":"qa","account":%q},{"name":"prod","account":%q,"approval":false}]`,
		devAccount, devAccount, prodAccount)
	cfg, err := NewConfig(v)
	require.NoError(t, err)
	assert.Equal(t, []string{"Source", "Build", ApproveUpdateStage, UpdatePipelineStage, "Approve_Dev", "Deploy_Dev", "Deploy_Qa", CheckRolesStage, "Deploy_Prod"},
		names(cfg), "qa shares the pipeline's account, so the check waits for prod; approvals only where asked for")
	for _, s := range Stages(cfg) {
		if s.Kind == StageDeploy || s.Kind == StageApprove {
			assert.Equal(t, cfg.Environments[s.Index], s.Env, "%s knows its environment and its place", s.Name)
		}
	}
}
