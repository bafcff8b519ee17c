package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/regioninfo"
	"github.com/aws/jsii-runtime-go"
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
)

// Execution modes the pipeline may run in. QUEUED (the default) takes commits to the last
// environment one after the other, so an approval always approves the commit it shows.
const (
	ExecutionModeQueued     = "QUEUED"
	ExecutionModeSuperseded = "SUPERSEDED"
)

// ContextKeys lists every key LoadConfig reads, in the order the README documents them.
var ContextKeys = []string{EnvironmentsKey, DevAccountKey, ProdAccountKey, RegionKey, RepositoryNameKey, BranchKey,
	ProdApprovalKey, ConnectionArnKey, GitHubRepoKey, NotificationsKey, ExecutionModeKey}

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
	// shorthand records that Environments came from dev-account/prod-account, so errors name
	// those keys.
	shorthand bool
}

// PipelineAccount is the account of the first environment, which hosts the pipeline.
func (c Config) PipelineAccount() string {
	if len(c.Environments) == 0 {
		return ""
	}
	return c.Environments[0].Account
}

// executionMode is the configured execution mode, QUEUED when none is.
func (c Config) executionMode() string {
	if c.ExecutionMode == "" {
		return ExecutionModeQueued
	}
	return c.ExecutionMode
}

// UsesGitHub reports whether the pipeline's source is GitHub rather than CodeCommit.
func (c Config) UsesGitHub() bool { return c.ConnectionArn != "" }

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// CodeCommit repository names: letters, digits, '.', '_' and '-', at most 100 characters.
	repositoryPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	// CodeConnections (formerly CodeStar Connections) connection ARNs.
	connectionPattern = regexp.MustCompile(`^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$`)
	// GitHub owner/name: owners are alphanumeric with single dashes, names allow . _ -.
	gitHubRepoPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}/[A-Za-z0-9._-]{1,100}$`)
)

// LoadConfig reads the context keys from the app and validates them. Every problem is reported
// in one error, each naming its key and how to fix it, so a user fixes them all in one go.
func LoadConfig(app awscdk.App) (Config, error) {
	values := make(map[string]any, len(ContextKeys))
	for _, key := range ContextKeys {
		if v := app.Node().TryGetContext(jsii.String(key)); v != nil {
			values[key] = v
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return Config{}, err
	}
	file, _ := cdkJSONContextRaw(filepath.Join(root, "cdk.json"))
	return newConfig(values, file)
}

// NewConfig builds a Config from raw context values (strings from `-c`, or JSON values from
// cdk.json) and validates it. It fills only the defaults that cannot point at a wrong account:
// the repository name follows the dev account. Accounts and the region are never guessed.
func NewConfig(values map[string]any) (Config, error) { return newConfig(values, nil) }

// newConfig is NewConfig knowing the context of cdk.json, so that a form given on the command
// line can replace the other form held in the file (chooseForm).
func newConfig(values, file map[string]any) (Config, error) {
	var errs []error
	str := func(key string) string {
		switch v := values[key].(type) {
		case nil:
			return ""
		case string:
			return strings.TrimSpace(v)
		case float64:
			n := strconv.FormatFloat(v, 'f', -1, 64)
			errs = append(errs, fmt.Errorf("%s: got the number %s; write it as a quoted string (\"%s\": \"%s\"), since JSON numbers lose leading zeros",
				key, n, key, n))
			return ""
		default:
			errs = append(errs, fmt.Errorf("%s: got %v (%T); write it as a quoted string", key, v, v))
			return ""
		}
	}
	boolean := func(key string, def bool) bool {
		switch v := values[key].(type) {
		case nil:
			return def
		case bool:
			return v
		case string:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				return true
			case "false":
				return false
			}
		}
		errs = append(errs, fmt.Errorf("%s: got %v; use true or false", key, values[key]))
		return def
	}
	cfg := Config{
		Region:           str(RegionKey),
		RepositoryName:   str(RepositoryNameKey),
		Branch:           str(BranchKey),
		ConnectionArn:    str(ConnectionArnKey),
		GitHubRepository: str(GitHubRepoKey),
		ExecutionMode:    strings.ToUpper(str(ExecutionModeKey)),
	}
	if cfg.ExecutionMode == "" {
		cfg.ExecutionMode = ExecutionModeQueued
	}
	var notificationErrs []error
	cfg.Notifications, notificationErrs = parseNotifications(values[NotificationsKey])
	errs = append(errs, notificationErrs...)
	useList, err := chooseForm(values, file)
	switch {
	case err != nil:
		errs = append(errs, err)
	case useList:
		envs, envErrs := parseEnvironments(values[EnvironmentsKey])
		cfg.Environments = envs
		errs = append(errs, envErrs...)
	default:
		cfg.shorthand = true
		dev, prod := str(DevAccountKey), str(ProdAccountKey)
		cfg.Environments = shorthandEnvironments(dev, prod, boolean(ProdApprovalKey, true))
		if dev != "" && dev == prod {
			errs = append(errs, fmt.Errorf("%s: %q is the same account as %s; a cross-account pipeline needs two accounts: set %s to the production account's ID",
				ProdAccountKey, prod, DevAccountKey, ProdAccountKey))
		}
	}
	if cfg.RepositoryName == "" && accountPattern.MatchString(cfg.PipelineAccount()) {
		cfg.RepositoryName = DefaultRepositoryName(cfg.PipelineAccount())
	}
	// Validate sees only values; a key parseEnvironments already reported is not repeated.
	reported := map[string]bool{}
	for _, e := range errs {
		if key, _, ok := strings.Cut(e.Error(), ":"); ok {
			reported[key] = true
		}
	}
	if err := cfg.Validate(); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			if key, _, _ := strings.Cut(e.Error(), ":"); !reported[key] {
				errs = append(errs, e)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration; set these in the \"context\" of cdk.json or pass -c key=value:\n%w", err)
	}
	return cfg, nil
}

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
	if !slices.Contains(knownRegions(), c.Region) {
		add(RegionKey, c.Region, "is not an AWS region this CDK version knows", "use a region code such as us-east-1 or eu-west-1")
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
	return errors.Join(errs...)
}

// validateEnvironments checks the values of the environments: names, accounts, traffic, and
// that names are unique. Errors name the shorthand keys when the list came from them.
func (c Config) validateEnvironments() []error {
	if len(c.Environments) == 0 {
		return []error{fmt.Errorf("%s: is not set; list the environments in deployment order, or set %s and %s", EnvironmentsKey, DevAccountKey, ProdAccountKey)}
	}
	var errs []error
	seen := map[string]bool{}
	for i, e := range c.Environments {
		label := func(key string) string { return fmt.Sprintf("%s[%d].%s", EnvironmentsKey, i, key) }
		if c.shorthand {
			label = func(string) string { return []string{DevAccountKey, ProdAccountKey}[min(i, 1)] }
		}
		if !accountPattern.MatchString(e.Account) {
			if e.Account == "" {
				errs = append(errs, fmt.Errorf("%s: is not set; use the 12-digit ID, e.g. from `aws sts get-caller-identity --query Account`", label(envAccountKey)))
			} else {
				errs = append(errs, fmt.Errorf("%s: %q is not an AWS account ID; use the 12-digit ID, e.g. from `aws sts get-caller-identity --query Account`", label(envAccountKey), e.Account))
			}
		}
		if c.shorthand {
			continue
		}
		if !envNamePattern.MatchString(e.Name) {
			errs = append(errs, fmt.Errorf("%s: %q is not a valid name; use lowercase letters and digits, starting with a letter (e.g. staging)", label(envNameKey), e.Name))
		}
		if seen[e.Name] {
			errs = append(errs, fmt.Errorf("%s: %q is used twice; names must be unique", label(envNameKey), e.Name))
		}
		seen[e.Name] = true
		if !slices.Contains([]Traffic{TrafficAllAtOnce, TrafficCanary, TrafficLinear}, e.Traffic) {
			errs = append(errs, fmt.Errorf("%s: %q is not a traffic style; use all-at-once, canary or linear", label(envTrafficKey), e.Traffic))
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

// knownRegions lists the regions of the pinned aws-cdk-lib's region database, so the list
// grows when the CDK is upgraded rather than when someone edits this file.
var knownRegions = sync.OnceValue(func() []string {
	var names []string
	for _, r := range *regioninfo.RegionInfo_Regions() {
		names = append(names, *r.Name())
	}
	return names
})

// CDKJSONContext returns the "context" of a cdk.json file minus the keys Config reads: the
// feature flags that `cdk synth` passes to the app. Tests and the benchmark build their apps
// with it, so they run with exactly the flags a user's synth runs with.
func CDKJSONContext(path string) (map[string]any, error) {
	ctx, err := cdkJSONContextRaw(path)
	if err != nil {
		return nil, err
	}
	if ctx == nil {
		return nil, fmt.Errorf("%s has no context", path)
	}
	for _, k := range ContextKeys {
		delete(ctx, k)
	}
	return ctx, nil
}

// cdkJSONContextRaw returns the whole "context" of a cdk.json file.
func cdkJSONContextRaw(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return file.Context, nil
}

// LoadConfigFromArgs reads the config as `cdk synth` would, without the CDK CLI: cdk.json's
// context, replaced by the -c key=value pairs of args. The Makefile's operational targets
// (destroy, purge, deploy-roles) use it through the app binary to iterate the environments.
func LoadConfigFromArgs(args []string) (Config, error) {
	root, err := moduleRoot()
	if err != nil {
		return Config{}, err
	}
	return loadConfigFrom(filepath.Join(root, "cdk.json"), args)
}

// loadConfigFrom is LoadConfigFromArgs with the cdk.json to read.
func loadConfigFrom(cdkJSON string, args []string) (Config, error) {
	file, err := cdkJSONContextRaw(cdkJSON)
	if err != nil {
		return Config{}, err
	}
	values := map[string]any{}
	for _, key := range ContextKeys {
		if v, ok := file[key]; ok {
			values[key] = v
		}
	}
	for i := 0; i < len(args); i++ {
		if args[i] != "-c" && args[i] != "--context" || i+1 == len(args) {
			return Config{}, fmt.Errorf("unexpected argument %q; pass context as -c key=value", args[i])
		}
		i++
		key, value, ok := strings.Cut(args[i], "=")
		if !ok {
			return Config{}, fmt.Errorf("-c %s: write it as key=value", args[i])
		}
		values[key] = value
	}
	return newConfig(values, file)
}
