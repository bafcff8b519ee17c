package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Environment is one place the pipeline deploys the application to, in deployment order. The
// first environment is the pipeline's own account.
type Environment struct {
	// Name is lowercase letters and digits, starting with a letter; every name of the
	// environment's stacks, stages and resources is derived from it (see the methods below).
	Name    string
	Account string
	// Approval puts a manual approval stage in front of the environment's deploy.
	Approval bool
	// Traffic is how CodeDeploy shifts the live alias to a new version.
	Traffic Traffic
	// Window, when set, is when the environment's deploy stage may start.
	Window *DeploymentWindow
	// App is the app-name setting, which Config copies into every environment; empty means
	// DefaultAppName.
	App string
}

// Traffic is a CodeDeploy traffic-shifting style for the live alias.
type Traffic string

// Traffic styles: all at once, 10% for 5 minutes then the rest, or 10% more every minute.
const (
	TrafficAllAtOnce Traffic = "all-at-once"
	TrafficCanary    Traffic = "canary"
	TrafficLinear    Traffic = "linear"
)

// TrafficStyle is what a traffic setting means, in one place: the CodeDeploy configuration the
// application's deployment group uses, and the words the approver and the README use for it.
type TrafficStyle struct {
	Traffic Traffic
	// DeploymentConfig is one of CodeDeploy's predefined Lambda deployment configurations.
	DeploymentConfig string
	// Text says how the live alias moves to the new version.
	Text string
}

// TrafficStyles are the styles an environment may choose from.
var TrafficStyles = []TrafficStyle{
	{TrafficAllAtOnce, "CodeDeployDefault.LambdaAllAtOnce", "all traffic at once"},
	{TrafficCanary, "CodeDeployDefault.LambdaCanary10Percent5Minutes", "10% canary for 5 minutes"},
	{TrafficLinear, "CodeDeployDefault.LambdaLinear10PercentEvery1Minute", "10% more every minute"},
}

// Style returns the traffic style of t, and whether there is one.
func (t Traffic) Style() (TrafficStyle, bool) {
	for _, s := range TrafficStyles {
		if s.Traffic == t {
			return s, true
		}
	}
	return TrafficStyle{}, false
}

// defaultTraffic is the style of the i-th environment when it names none: the first one, where
// every push lands, all at once; the later ones, which serve users, canary.
func defaultTraffic(i int) Traffic {
	if i == 0 {
		return TrafficAllAtOnce
	}
	return TrafficCanary
}

// Title is the name with its first letter upper-cased: "staging" -> "Staging".
func (e Environment) Title() string {
	if e.Name == "" {
		return ""
	}
	return strings.ToUpper(e.Name[:1]) + e.Name[1:]
}

// StackID is the CDK stack ID of the environment's application template ("DevApplicationStack").
func (e Environment) StackID() string { return e.Title() + "ApplicationStack" }

// DeploymentStackName is the CloudFormation stack the pipeline creates from the template. It
// differs from StackID so a developer's `cdk deploy` of the template can never collide with it.
func (e Environment) DeploymentStackName() string { return e.Title() + "ApplicationDeploymentStack" }

// DeployStage is the pipeline stage that deploys the environment; the deploy action's output
// variables live in a namespace of the same name.
func (e Environment) DeployStage() string { return "Deploy_" + e.Title() }

// ApproveStage is the manual approval stage before DeployStage, when Approval is set.
func (e Environment) ApproveStage() string { return "Approve_" + e.Title() }

// AppName names the environment's application resources: the function, its log group and
// alarm, the CodeDeploy application and the IAM path of its roles ("<app-name>-dev"). The
// deployment roles are scoped to this name, which is why it is fixed instead of generated:
// CloudFormation truncates generated names, so a stack-name prefix would not reliably match.
func (e Environment) AppName() string {
	if e.App == "" {
		return DefaultAppName + "-" + e.Name
	}
	return e.App + "-" + e.Name
}

// RolePath is the IAM path of the application's roles in the environment.
func (e Environment) RolePath() string { return "/" + e.AppName() + "/" }

// LogGroupName is the function's log group, which outlives the stack (Retained).
func (e Environment) LogGroupName() string { return "/aws/lambda/" + e.AppName() }

// Keys of an environment entry in the environments list.
const (
	envNameKey     = "name"
	envAccountKey  = "account"
	envApprovalKey = "approval"
	envTrafficKey  = "traffic"
	envRegionKey   = "region"
	envWindowKey   = "deployment-window"
)

var envNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// parseEnvironments reads the environments list: a JSON array from cdk.json, or the same array
// as a JSON string from `-c environments='[...]'`. Defaults: approval only for the last
// environment, all-at-once traffic for the first and canary for the others. It reports what
// the values cannot show (wrong JSON types, unknown or missing keys), each problem naming the
// index and key; Config.Validate checks the values themselves.
func parseEnvironments(v any) ([]Environment, []error) {
	if s, ok := v.(string); ok {
		var decoded any
		if err := json.Unmarshal([]byte(s), &decoded); err != nil {
			return nil, []error{fmt.Errorf("%s: is not a JSON list (%v); write it as '[{\"name\":\"dev\",\"account\":\"111111111111\"}, ...]'", EnvironmentsKey, err)}
		}
		v = decoded
	}
	entries, ok := v.([]any)
	if !ok || len(entries) == 0 {
		return nil, []error{fmt.Errorf("%s: must be a non-empty list of {\"name\": ..., \"account\": ...}, in deployment order; got %v", EnvironmentsKey, v)}
	}
	var errs []error
	bad := func(i int, key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s[%d].%s: %s", EnvironmentsKey, i, key, fmt.Sprintf(format, args...)))
	}
	envs := make([]Environment, 0, len(entries))
	for i, raw := range entries {
		entry, ok := raw.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("%s[%d]: must be an object such as {\"name\": \"staging\", \"account\": \"333333333333\"}; got %v", EnvironmentsKey, i, raw))
			continue
		}
		e := Environment{Approval: i == len(entries)-1, Traffic: defaultTraffic(i)}
		for _, key := range sortedKeys(entry) {
			value := entry[key]
			switch key {
			case envNameKey:
				name, isString := value.(string)
				if !isString {
					bad(i, key, "got %v; use lowercase letters and digits, starting with a letter (e.g. \"staging\")", jsonText(value))
				}
				e.Name = name
			case envAccountKey:
				account, isString := value.(string)
				if !isString {
					bad(i, key, "got %v; write the account ID as a quoted string, since JSON numbers lose leading zeros", jsonText(value))
				}
				e.Account = account
			case envApprovalKey:
				approval, isBool := value.(bool)
				if !isBool {
					bad(i, key, "got %v; use true or false", jsonText(value))
				}
				e.Approval = approval
			case envTrafficKey:
				traffic, _ := value.(string)
				e.Traffic = Traffic(traffic)
			case envWindowKey:
				w, isObject := value.(map[string]any)
				cron, _ := w["cron"].(string)
				tz, tzOK := w["timezone"].(string)
				_, hasTZ := w["timezone"]
				unknown := slices.ContainsFunc(sortedKeys(w), func(k string) bool { return k != "cron" && k != "timezone" })
				if !isObject || cron == "" || (hasTZ && !tzOK) || unknown {
					bad(i, key, "got %v; write {\"cron\": \"* * 9-16 ? * MON-FRI\", \"timezone\": \"Europe/Berlin\"} (timezone optional, default UTC)", jsonText(value))
					continue
				}
				e.Window = &DeploymentWindow{Cron: cron, TimeZone: tz}
			case envRegionKey:
				bad(i, key, "per-environment regions are not supported: every environment deploys to the region of the %q key; remove it", RegionKey)
			default:
				bad(i, key, "unknown key; an entry has name, account, approval, traffic and deployment-window")
			}
		}
		if _, ok := entry[envNameKey]; !ok {
			bad(i, envNameKey, "is not set; give every environment a name, e.g. \"staging\"")
		}
		if _, ok := entry[envAccountKey]; !ok {
			bad(i, envAccountKey, "is not set; give every environment its 12-digit account ID as a string")
		}
		envs = append(envs, e)
	}
	return envs, errs
}

// shorthandEnvironments is what the two-environment keys dev-account and prod-account mean.
func ShorthandEnvironments(dev, prod string, prodApproval bool) []Environment {
	return []Environment{
		{Name: DevStage, Account: dev, Traffic: defaultTraffic(0)},
		{Name: ProdStage, Account: prod, Approval: prodApproval, Traffic: defaultTraffic(1)},
	}
}

// chooseForm decides between the environments list and the dev-account/prod-account Shorthand
// when both are present. A value given on the command line replaces what cdk.json holds, so
// the form that differs from the file wins; when both come from the same place the user must
// remove one. file is the context of cdk.json (nil when unknown).
func chooseForm(values, file map[string]any) (useList bool, err error) {
	hasList := values[EnvironmentsKey] != nil
	hasPair := values[DevAccountKey] != nil || values[ProdAccountKey] != nil
	if !hasList || !hasPair {
		return hasList, nil
	}
	fromFile := func(keys ...string) bool {
		if file == nil {
			return false
		}
		for _, k := range keys {
			if jsonText(values[k]) != jsonText(file[k]) {
				return false
			}
		}
		return true
	}
	listFromFile, pairFromFile := fromFile(EnvironmentsKey), fromFile(DevAccountKey, ProdAccountKey)
	switch {
	case pairFromFile && !listFromFile:
		return true, nil
	case listFromFile && !pairFromFile:
		return false, nil
	}
	return false, errors.New(EnvironmentsKey + ": is set together with " + DevAccountKey + "/" + ProdAccountKey +
		"; use one form: remove " + DevAccountKey + ", " + ProdAccountKey + " and " + ProdApprovalKey +
		" to deploy the environments list, or remove " + EnvironmentsKey + " to use the two-account Shorthand")
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Roster describes every environment on one line, tab-separated, for the Makefile's shell
// loops: name, account, application stack ID, deployed stack name, app name, and the roles
// stack of its account ("-" in the pipeline's own account).
func Roster(cfg Config) string {
	var b strings.Builder
	for _, e := range cfg.Environments {
		roles := "-"
		if e.Account != cfg.PipelineAccount() {
			roles = RolesStackID(EnvironmentsIn(cfg, e.Account))
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Account, e.StackID(), e.DeploymentStackName(), e.AppName(), roles)
	}
	return b.String()
}
