package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// DefaultAppName is the app-name of the sample application, and so of the default templates.
const DefaultAppName = "HelloLambda"

// SmokeTest is the contract the smoke test checks after each deploy: a GET of Path must answer
// Status, with a body that contains Body (when Body is not empty). In Path and Body, {env} stands
// for the environment's name; in Body, {path} for Path.
type SmokeTest struct {
	Path   string
	Status int
	Body   string
}

// DefaultSmokeTest is the sample application's contract: its handler answers with JSON naming
// the stage (STAGE_NAME), which proves the request reached this environment's function.
var DefaultSmokeTest = SmokeTest{Path: "/smoke-test", Status: 200, Body: `"stage":"{env}"`}

// For fills the placeholders for one environment.
func (s SmokeTest) For(env string) SmokeTest {
	path := strings.ReplaceAll(s.Path, "{env}", env)
	body := strings.NewReplacer("{env}", env, "{path}", path).Replace(s.Body)
	return SmokeTest{Path: path, Status: s.Status, Body: body}
}

// Limits of the application's names. Lambda allows 64 characters in a function name, which is
// <app-name>-<environment>; the others (log group, alarm, boundary policy, IAM path) allow more.
const (
	maxAppName      = 40
	maxFunctionName = 64
	maxSmokeText    = 256
)

var appNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$`)

// applicationProblems checks app-name and the smoke test's contract.
func (c Config) applicationProblems() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch {
	case c.AppName == "":
		bad(AppNameKey, "is not set; name the application, e.g. %s", DefaultAppName)
	case len(c.AppName) > maxAppName || !appNamePattern.MatchString(c.AppName):
		bad(AppNameKey, "%q is not a valid name; use at most %d letters, digits and single dashes, starting with a letter (e.g. orders-api)", c.AppName, maxAppName)
	default:
		for _, e := range c.Environments {
			if name := e.AppName(); len(name) > maxFunctionName {
				bad(AppNameKey, "%q with environment %q names the function %q, %d characters, and Lambda allows %d; shorten app-name or the environment's name",
					c.AppName, e.Name, name, len(name), maxFunctionName)
			}
		}
	}
	return append(errs, c.SmokeTest.problems()...)
}

// problems checks the contract's values.
func (s SmokeTest) problems() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if !strings.HasPrefix(s.Path, "/") || len(s.Path) > maxSmokeText || strings.ContainsFunc(s.Path, func(r rune) bool { return r <= ' ' || r == '#' }) {
		bad(SmokeTestPathKey, "%q is not a path; write the path the smoke test requests, starting with / (e.g. /health), without spaces", s.Path)
	}
	if s.Status < 100 || s.Status > 599 {
		bad(SmokeTestStatusKey, "%s is not an HTTP status; use the status a healthy answer has, e.g. 200", strconv.Itoa(s.Status))
	}
	if len(s.Body) > maxSmokeText {
		bad(SmokeTestBodyKey, "is %d characters; keep it to %d: a piece of text the answer must contain", len(s.Body), maxSmokeText)
	}
	return errs
}
