package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Context keys a user sets in cdk.json or with `cdk synth -c key=value`.
const (
	DevAccountKey     = "dev-account"
	ProdAccountKey    = "prod-account"
	RegionKey         = "region"
	RepositoryNameKey = "repository-name"
	BranchKey         = "branch"
	ProdApprovalKey   = "prod-approval"
	ConnectionArnKey  = "github-connection-arn"
	GitHubRepoKey     = "github-repository"
	EnvironmentsKey   = "environments"
	NotificationsKey  = "notifications"
	ExecutionModeKey  = "execution-mode"
	// The application: its name, and what its smoke test asks of it (app.go).
	AppNameKey         = "app-name"
	SmokeTestPathKey   = "smoke-test-path"
	SmokeTestStatusKey = "smoke-test-status"
	SmokeTestBodyKey   = "smoke-test-body"
)

// Execution modes the pipeline may run in. QUEUED (the default) takes commits to the last
// environment one after the other, so an approval always approves the commit it shows.
const (
	ExecutionModeQueued     = "QUEUED"
	ExecutionModeSuperseded = "SUPERSEDED"
)

// ContextKeys lists every key LoadConfig reads, in the order the README documents them.
var ContextKeys = []string{EnvironmentsKey, DevAccountKey, ProdAccountKey, RegionKey, RepositoryNameKey, BranchKey,
	ProdApprovalKey, ConnectionArnKey, GitHubRepoKey, NotificationsKey, ExecutionModeKey,
	AppNameKey, SmokeTestPathKey, SmokeTestStatusKey, SmokeTestBodyKey}

// Config is everything the stacks need to know about the accounts. It is read once from the
// CDK context, validated, and then passed by value: no stack reads context or the environment.
type Config struct {
	// Environments are the places the pipeline deploys to, in order. The first one's account
	// hosts the repository, the pipeline and its artifacts; every other account gets a roles
	// stack that the pipeline assumes into.
	Environments []Environment
	// Region is where every stack of every account lives. CodePipeline needs an artifact
	// bucket per region it deploys to, so one region keeps the artifact path simple.
	Region string
	// RepositoryName is the CodeCommit repository the pipeline watches.
	RepositoryName string
	// Branch is the branch whose pushes start the pipeline.
	Branch string
	// ConnectionArn and GitHubRepository ("owner/name"), set together, make the pipeline build
	// from GitHub through an AWS CodeConnections connection instead of CodeCommit.
	ConnectionArn    string
	GitHubRepository string
	// Notifications is who hears of failed runs, waiting approvals and finished deploys.
	Notifications Notifications
	// ExecutionMode is QUEUED or SUPERSEDED: how the pipeline treats a run that arrives while
	// another is under way.
	ExecutionMode string
	// AppName names every resource of the application, per environment (Environment.AppName).
	AppName string
	// SmokeTest is what the smoke test asks of each deployed environment.
	SmokeTest SmokeTest
	// Shorthand records that Environments came from dev-account/prod-account, so errors name
	// those keys.
	Shorthand bool
}

// PipelineAccount is the account of the first environment, which hosts the pipeline.
func (c Config) PipelineAccount() string {
	if len(c.Environments) == 0 {
		return ""
	}
	return c.Environments[0].Account
}

// executionMode is the configured execution mode, QUEUED when none is.
func (c Config) ExecutionModeOrDefault() string {
	if c.ExecutionMode == "" {
		return ExecutionModeQueued
	}
	return c.ExecutionMode
}

// UsesGitHub reports whether the pipeline's source is GitHub rather than CodeCommit.
func (c Config) UsesGitHub() bool { return c.ConnectionArn != "" }

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// Region codes (us-east-1, ap-southeast-2, us-gov-west-1). Whether the region exists is
	// the CDK's region database's to say, which the stacks package checks at synth.
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	// CodeCommit repository names: letters, digits, '.', '_' and '-', at most 100 characters.
	repositoryPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	// CodeConnections (formerly CodeStar Connections) connection ARNs.
	connectionPattern = regexp.MustCompile(`^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$`)
	// GitHub owner/name: owners are alphanumeric with single dashes, names allow . _ -.
	gitHubRepoPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}/[A-Za-z0-9._-]{1,100}$`)
)

// Validate reports every problem of the config, or nil.
func (c Config) Validate() error {
	var errs []error
	add := func(key, value, why, fix string) {
		if value == "" {
			errs = append(errs, fmt.Errorf("%s: is not set; %s", key, fix))
			return
		}
		errs = append(errs, fmt.Errorf("%s: %q %s; %s", key, value, why, fix))
	}
	errs = append(errs, c.validateEnvironments()...)
	if !regionPattern.MatchString(c.Region) {
		add(RegionKey, c.Region, "is not an AWS region code", "use a region code such as us-east-1 or eu-west-1")
	}
	// An empty name follows from a bad dev account, which is already reported.
	if c.RepositoryName != "" && (!repositoryPattern.MatchString(c.RepositoryName) || strings.HasSuffix(c.RepositoryName, ".git")) {
		add(RepositoryNameKey, c.RepositoryName, "is not a valid CodeCommit repository name",
			"use 1-100 letters, digits, '.', '_' or '-', not ending in .git (or leave it unset for repo-<pipeline account>)")
	}
	if why := branchProblem(c.Branch); c.Branch == "" || why != "" {
		add(BranchKey, c.Branch, why, "use the name of the branch whose pushes should deploy, e.g. main")
	}
	switch {
	case c.ConnectionArn == "" && c.GitHubRepository != "":
		add(ConnectionArnKey, "", "", "set it to the ARN of an AWS CodeConnections connection to GitHub, or unset "+GitHubRepoKey+" to build from CodeCommit")
	case c.ConnectionArn != "" && !connectionPattern.MatchString(c.ConnectionArn):
		add(ConnectionArnKey, c.ConnectionArn, "is not a CodeConnections connection ARN",
			"copy it from the console (Developer Tools > Settings > Connections): arn:aws:codeconnections:<region>:<account>:connection/<id>")
	}
	switch {
	case c.ConnectionArn != "" && c.GitHubRepository == "":
		add(GitHubRepoKey, "", "", "set it to the GitHub repository as owner/name, e.g. my-org/my-app")
	case c.GitHubRepository != "" && !gitHubRepoPattern.MatchString(c.GitHubRepository):
		add(GitHubRepoKey, c.GitHubRepository, "is not a GitHub repository", "write it as owner/name, e.g. my-org/my-app")
	}
	if c.ExecutionMode != "" && c.ExecutionMode != ExecutionModeQueued && c.ExecutionMode != ExecutionModeSuperseded {
		add(ExecutionModeKey, c.ExecutionMode, "is not an execution mode this pipeline supports",
			"use QUEUED (commits reach the last environment in order) or SUPERSEDED (a newer run replaces a waiting one)")
	}
	errs = append(errs, c.Notifications.problems(c.Region)...)
	errs = append(errs, c.applicationProblems()...)
	return errors.Join(errs...)
}

// validateEnvironments checks the values of the environments: names, accounts, traffic, and
// that names are unique. Errors name the Shorthand keys when the list came from them.
func (c Config) validateEnvironments() []error {
	if len(c.Environments) == 0 {
		return []error{fmt.Errorf("%s: is not set; list the environments in deployment order, or set %s and %s", EnvironmentsKey, DevAccountKey, ProdAccountKey)}
	}
	var errs []error
	seen := map[string]bool{}
	for i, e := range c.Environments {
		label := func(key string) string { return fmt.Sprintf("%s[%d].%s", EnvironmentsKey, i, key) }
		if c.Shorthand {
			label = func(string) string { return []string{DevAccountKey, ProdAccountKey}[min(i, 1)] }
		}
		if !accountPattern.MatchString(e.Account) {
			if e.Account == "" {
				errs = append(errs, fmt.Errorf("%s: is not set; use the 12-digit ID, e.g. from `aws sts get-caller-identity --query Account`", label(envAccountKey)))
			} else {
				errs = append(errs, fmt.Errorf("%s: %q is not an AWS account ID; use the 12-digit ID, e.g. from `aws sts get-caller-identity --query Account`", label(envAccountKey), e.Account))
			}
		}
		if c.Shorthand {
			continue
		}
		if !envNamePattern.MatchString(e.Name) {
			errs = append(errs, fmt.Errorf("%s: %q is not a valid name; use lowercase letters and digits, starting with a letter (e.g. staging)", label(envNameKey), e.Name))
		}
		if seen[e.Name] {
			errs = append(errs, fmt.Errorf("%s: %q is used twice; names must be unique", label(envNameKey), e.Name))
		}
		seen[e.Name] = true
		if _, ok := e.Traffic.Style(); !ok {
			var names []string
			for _, s := range TrafficStyles {
				names = append(names, string(s.Traffic))
			}
			errs = append(errs, fmt.Errorf("%s: %q is not a traffic style; use one of %s", label(envTrafficKey), e.Traffic, strings.Join(names, ", ")))
		}
		if e.Window != nil {
			if why := e.Window.Problem(); why != "" {
				errs = append(errs, fmt.Errorf("%s: %s", label(envWindowKey), why))
			}
		}
	}
	return errs
}

// branchProblem applies the git rules for branch names that a user is likely to break, so a bad
// branch fails at synth instead of as a pipeline that never starts.
func branchProblem(b string) string {
	switch {
	case len(b) > 255:
		return "is longer than 255 characters"
	case strings.HasPrefix(b, "-"), strings.HasPrefix(b, "/"), strings.HasSuffix(b, "/"),
		strings.HasSuffix(b, "."), strings.HasSuffix(b, ".lock"),
		strings.Contains(b, ".."), strings.Contains(b, "//"), strings.Contains(b, "@{"), b == "@":
		return "is not a valid git branch name"
	case strings.ContainsFunc(b, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune("~^:?*[\\", r) }):
		return "contains a character git does not allow in branch names"
	}
	return ""
}
