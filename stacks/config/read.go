package config

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// NewConfig builds a Config from raw context values (strings from `-c`, or JSON values from
// cdk.json) and validates it. It fills only the defaults that cannot point at a wrong account:
// the repository name follows the dev account. Accounts and the region are never guessed.
func NewConfig(values map[string]any) (Config, error) { return FromContext(values, nil) }

// FromContext is NewConfig for the whole context of a synth: values holds every key the app
// was given, and file the context of cdk.json (nil when unknown), so that a form given on the
// command line can replace the other form held in the file (chooseForm). A key that is neither
// a setting nor one the CDK itself writes is an error naming the setting it is closest to: a
// misspelled "prod-aproval" must not silently leave the approval in place.
func FromContext(values, file map[string]any) (Config, error) {
	r := &reader{values: values}
	r.errs = append(r.errs, unknownKeys(values)...)
	cfg := r.config(file)
	// Validate sees only values; a key the reader already reported is not repeated.
	reported := map[string]bool{}
	for _, e := range r.errs {
		if key, _, ok := strings.Cut(e.Error(), ":"); ok {
			reported[key] = true
		}
	}
	if err := cfg.Validate(); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			if key, _, _ := strings.Cut(e.Error(), ":"); !reported[key] {
				r.errs = append(r.errs, e)
			}
		}
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration; set these in the \"context\" of cdk.json or pass -c key=value:\n%w", err)
	}
	return cfg, nil
}

// reader turns raw context values into typed ones, collecting a problem per bad value.
type reader struct {
	values map[string]any
	errs   []error
}

// config reads every setting; file is the context of cdk.json, for chooseForm.
func (r *reader) config(file map[string]any) Config {
	cfg := Config{
		Region:           r.str(RegionKey),
		RepositoryName:   r.str(RepositoryNameKey),
		Branch:           r.str(BranchKey),
		ConnectionArn:    r.str(ConnectionArnKey),
		GitHubRepository: r.str(GitHubRepoKey),
		ExecutionMode:    strings.ToUpper(r.str(ExecutionModeKey)),
		AppName:          r.str(AppNameKey),
		SmokeTest:        r.smokeTest(),
	}
	cfg.ExecutionMode = cmp.Or(cfg.ExecutionMode, ExecutionModeQueued)
	if _, set := r.values[AppNameKey]; !set {
		cfg.AppName = DefaultAppName
	}
	var notificationErrs []error
	cfg.Notifications, notificationErrs = parseNotifications(r.values[NotificationsKey])
	r.errs = append(r.errs, notificationErrs...)
	r.environments(&cfg, file)
	for i := range cfg.Environments {
		cfg.Environments[i].App = cfg.AppName
	}
	if cfg.RepositoryName == "" && accountPattern.MatchString(cfg.PipelineAccount()) {
		cfg.RepositoryName = DefaultRepositoryName(cfg.PipelineAccount())
	}
	return cfg
}

// environments reads the environments list, or the dev-account/prod-account shorthand.
func (r *reader) environments(cfg *Config, file map[string]any) {
	useList, err := chooseForm(r.values, file)
	switch {
	case err != nil:
		r.errs = append(r.errs, err)
	case useList:
		envs, envErrs := parseEnvironments(r.values[EnvironmentsKey])
		cfg.Environments = envs
		r.errs = append(r.errs, envErrs...)
	default:
		cfg.Shorthand = true
		dev, prod := r.str(DevAccountKey), r.str(ProdAccountKey)
		cfg.Environments = ShorthandEnvironments(dev, prod, r.boolean(ProdApprovalKey, true))
		if dev != "" && dev == prod {
			r.errs = append(r.errs, fmt.Errorf("%s: %q is the same account as %s; a cross-account pipeline needs two accounts: set %s to the production account's ID",
				ProdAccountKey, prod, DevAccountKey, ProdAccountKey))
		}
	}
}

// smokeTest reads the smoke test's contract; what is not set keeps DefaultSmokeTest's value. An
// empty body is a setting of its own: check the status alone.
func (r *reader) smokeTest() SmokeTest {
	s := SmokeTest{
		Path:   cmp.Or(r.str(SmokeTestPathKey), DefaultSmokeTest.Path),
		Status: r.integer(SmokeTestStatusKey, DefaultSmokeTest.Status),
		Body:   r.str(SmokeTestBodyKey),
	}
	if _, set := r.values[SmokeTestBodyKey]; !set {
		s.Body = DefaultSmokeTest.Body
	}
	return s
}

// str reads a string setting; numbers are refused rather than converted, since an account ID
// written as a JSON number has lost its leading zeros.
func (r *reader) str(key string) string {
	switch v := r.values[key].(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case float64:
		n := strconv.FormatFloat(v, 'f', -1, 64)
		r.errs = append(r.errs, fmt.Errorf("%s: got the number %s; write it as a quoted string (\"%s\": \"%s\"), since JSON numbers lose leading zeros",
			key, n, key, n))
	default:
		r.errs = append(r.errs, fmt.Errorf("%s: got %v (%T); write it as a quoted string", key, v, v))
	}
	return ""
}

// boolean reads true or false, from JSON or from a -c string.
func (r *reader) boolean(key string, def bool) bool {
	switch v := r.values[key].(type) {
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
	r.errs = append(r.errs, fmt.Errorf("%s: got %v; use true or false", key, r.values[key]))
	return def
}

// integer reads a whole number, from JSON or from a -c string.
func (r *reader) integer(key string, def int) int {
	switch v := r.values[key].(type) {
	case nil:
		return def
	case float64:
		if v == float64(int(v)) {
			return int(v)
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n
		}
	}
	r.errs = append(r.errs, fmt.Errorf("%s: got %v; use a whole number such as %d", key, jsonText(r.values[key]), def))
	return def
}

// unknownKeys reports every key that is neither a setting of this app nor one the CDK itself
// writes or reads, each with the setting it most likely misspells.
func unknownKeys(values map[string]any) []error {
	var errs []error
	for _, key := range sortedKeys(values) {
		if slices.Contains(ContextKeys, key) || setByCDK(key) {
			continue
		}
		hint := "the settings are " + strings.Join(ContextKeys, ", ")
		if near := nearest(key, ContextKeys); near != "" {
			hint = "did you mean " + near + "?"
		}
		errs = append(errs, fmt.Errorf("%s: is not a setting of this app; %s", key, hint))
	}
	return errs
}

// setByCDK tells the CDK's own context keys: feature flags (@aws-cdk/..., @aws-cdk-containers/...),
// what the CLI passes to every app and caches from lookups (all with a colon, such as
// aws:cdk:enable-path-metadata or availability-zones:account=...), and the keys its commands
// write into cdk.json and cdk.context.json.
func setByCDK(key string) bool {
	return strings.HasPrefix(key, "@aws-cdk") || strings.Contains(key, ":") ||
		key == "cli-telemetry" || key == "acknowledged-issue-numbers"
}

// nearest returns the candidate closest to key by edit distance, if it is close enough to be a
// typo of it (a third of its length at most), else "".
func nearest(key string, candidates []string) string {
	best, bestDistance := "", len(key)/3+1
	for _, c := range candidates {
		if d := editDistance(key, c); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// CDKJSONContext returns the "context" of a cdk.json file minus the keys Config reads: the
// feature flags that `cdk synth` passes to the app. Tests and the benchmark build their apps
// with it, so they run with exactly the flags a user's synth runs with.
func CDKJSONContext(path string) (map[string]any, error) {
	ctx, err := CDKJSONContextRaw(path)
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

// CDKJSONContextRaw returns the whole "context" of a cdk.json file.
func CDKJSONContextRaw(path string) (map[string]any, error) {
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
// (destroy, purge, deploy-roles) and the ops tool use it to iterate the environments.
func LoadConfigFromArgs(args []string) (Config, error) {
	root, err := ModuleRoot()
	if err != nil {
		return Config{}, err
	}
	return loadConfigFrom(filepath.Join(root, "cdk.json"), args)
}

// loadConfigFrom is LoadConfigFromArgs with the cdk.json to read.
func loadConfigFrom(cdkJSON string, args []string) (Config, error) {
	values, file, err := contextFrom(cdkJSON, args)
	if err != nil {
		return Config{}, err
	}
	return FromContext(values, file)
}

// LoadSmokeTest reads only the smoke test's contract, from the same context as
// LoadConfigFromArgs. The smoke test runs in a CodeBuild project that knows none of the
// accounts, so the rest of the config is neither needed nor checked.
func LoadSmokeTest(args []string) (SmokeTest, error) {
	root, err := ModuleRoot()
	if err != nil {
		return SmokeTest{}, err
	}
	values, _, err := contextFrom(filepath.Join(root, "cdk.json"), args)
	if err != nil {
		return SmokeTest{}, err
	}
	r := &reader{values: values}
	s := r.smokeTest()
	r.errs = append(r.errs, s.problems()...)
	if err := errors.Join(r.errs...); err != nil {
		return SmokeTest{}, fmt.Errorf("invalid smoke test; set these in the \"context\" of cdk.json or pass -c key=value:\n%w", err)
	}
	return s, nil
}

// contextFrom is the context a synth would get: cdk.json's, with the -c key=value pairs of args
// in place of the values they name. file is cdk.json's own context.
func contextFrom(cdkJSON string, args []string) (values, file map[string]any, err error) {
	file, err = CDKJSONContextRaw(cdkJSON)
	if err != nil {
		return nil, nil, err
	}
	values = make(map[string]any, len(file))
	for key, v := range file {
		values[key] = v
	}
	for i := 0; i < len(args); i++ {
		if args[i] != "-c" && args[i] != "--context" || i+1 == len(args) {
			return nil, nil, fmt.Errorf("unexpected argument %q; pass context as -c key=value", args[i])
		}
		i++
		key, value, ok := strings.Cut(args[i], "=")
		if !ok {
			return nil, nil, fmt.Errorf("-c %s: write it as key=value", args[i])
		}
		values[key] = value
	}
	return values, file, nil
}
