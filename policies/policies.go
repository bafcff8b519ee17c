// Package policies holds the IAM policy documents of the deployment roles as plain JSON, the
// form a security reviewer reads and an administrator can paste into the console, and fills
// their {{Placeholder}}s for a given account. The stacks embed these documents instead of
// retyping them in Go, so the JSON here is the single source of what the roles may do.
package policies

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// File names of the documents.
const (
	// CrossAccountRole is the policy of CodePipelineCrossAccountRole, the role the pipeline
	// assumes in the target account to drive CloudFormation there.
	CrossAccountRole = "codepipeline-cross-account-role.json"
	// DeploymentRole is the policy of the role CloudFormation uses to create the application.
	DeploymentRole = "cloudformation-deployment-role.json"
	// ApplicationBoundary is the permissions boundary every role of the application carries:
	// the most any role a template creates may ever do, whatever policies it is given. The
	// deployment role may create roles only with it (BoundaryArn).
	ApplicationBoundary = "application-boundary.json"
	// RolesCheck is the part of CodePipelineCrossAccountRole that serves the pipeline's
	// read-only Check_Roles: it may read its own roles stack, and a session of the check may do
	// nothing else.
	RolesCheck = "roles-check.json"
)

// Placeholders the documents use. Every value a document names must be supplied to Fill.
const (
	Partition          = "Partition"
	Region             = "Region"
	Account            = "Account"
	ArtifactBucket     = "ArtifactBucket"
	ArtifactKeyArn     = "ArtifactKeyArn"
	StackName          = "StackName"
	AppName            = "AppName"
	DeploymentRoleName = "DeploymentRoleName"
	RolesStackName     = "RolesStackName"
	RolesCheckSession  = "RolesCheckSession"
	BoundaryArn        = "BoundaryArn"
)

//go:embed *.json
var files embed.FS

var placeholderPattern = regexp.MustCompile(`\{\{([A-Za-z]+)\}\}`)

// Statement is one IAM policy statement as decoded JSON.
type Statement = map[string]any

// Document is an IAM policy document whose strings may still hold placeholders.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Values maps placeholder names to what replaces them: literals, or CDK token strings such as
// the stack's partition, which CloudFormation resolves at deploy time.
type Values map[string]string

// Load reads and decodes one embedded document.
func Load(name string) (Document, error) {
	raw, err := files.ReadFile(name)
	if err != nil {
		return Document{}, fmt.Errorf("policy %s: %w", name, err)
	}
	var doc Document
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return Document{}, fmt.Errorf("policy %s is not a valid policy document: %w", name, err)
	}
	if doc.Version != "2012-10-17" || len(doc.Statement) == 0 {
		return Document{}, fmt.Errorf("policy %s: want Version 2012-10-17 and at least one statement", name)
	}
	return doc, nil
}

// Names lists the embedded documents.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Placeholders lists the placeholder names the document uses, sorted.
func (d Document) Placeholders() []string {
	raw, _ := json.Marshal(d.Statement)
	var names []string
	for _, m := range placeholderPattern.FindAllStringSubmatch(string(raw), -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

// Split separates the statements that use placeholder from those that do not. The prod roles
// use it to attach the artifact key statements only once the key's ARN is known.
func (d Document) Split(placeholder string) (without, with Document) {
	without, with = Document{Version: d.Version}, Document{Version: d.Version}
	for _, s := range d.Statement {
		one := Document{Statement: []Statement{s}}
		if slices.Contains(one.Placeholders(), placeholder) {
			with.Statement = append(with.Statement, s)
		} else {
			without.Statement = append(without.Statement, s)
		}
	}
	return without, with
}

// Fill returns the document as a JSON-shaped map with every placeholder replaced. A placeholder
// without a value is an error, so no {{Name}} can reach a deployed policy.
func (d Document) Fill(values Values) (map[string]any, error) {
	var missing []string
	for _, name := range d.Placeholders() {
		if _, ok := values[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("policy placeholders without a value: %s", strings.Join(missing, ", "))
	}
	statements := make([]any, len(d.Statement))
	for i, s := range d.Statement {
		statements[i] = fill(s, values)
	}
	return map[string]any{"Version": d.Version, "Statement": statements}, nil
}

func fill(v any, values Values) any {
	switch t := v.(type) {
	case string:
		return placeholderPattern.ReplaceAllStringFunc(t, func(m string) string {
			return values[m[2:len(m)-2]]
		})
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = fill(e, values)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = fill(e, values)
		}
		return out
	default:
		return v
	}
}
