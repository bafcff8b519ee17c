package policies

import (
	"fmt"
	"path"
	"strings"
)

// Request is one call as IAM authorizes it: an action on a resource, with the condition keys
// the request carries (iam:PermissionsBoundary, iam:PolicyARN, aws:userid, ...).
type Request struct {
	Action   string
	Resource string
	Context  map[string]string
}

// Decision is the outcome of evaluating a request, with the statement that decided it.
type Decision struct {
	Allowed bool
	Why     string
}

// Evaluate decides a request against identity policy statements and, when boundary is not nil,
// a permissions boundary, the way IAM does within one account: an explicit Deny in either wins,
// then the request needs an Allow in the identity policies and, with a boundary, in the boundary
// too. The statements must be plain JSON (intrinsics resolved). It covers what this project's
// policies use (Action, NotAction, Resource, NotResource and the String, Arn, Null and Bool
// condition operators, with IfExists); anything else is an error, never a guess.
func Evaluate(identity, boundary []Statement, r Request) (Decision, error) {
	id, err := evaluate(identity, r)
	if err != nil || !id.Allowed || boundary == nil {
		return id, err
	}
	b, err := evaluate(boundary, r)
	if err != nil {
		return b, err
	}
	if !b.Allowed {
		return Decision{Why: "the permissions boundary does not allow it (" + b.Why + ")"}, nil
	}
	return id, nil
}

func evaluate(statements []Statement, r Request) (Decision, error) {
	var allow string
	for i, s := range statements {
		applies, err := appliesTo(s, r)
		if err != nil {
			return Decision{}, fmt.Errorf("statement %d (%v): %w", i, s["Sid"], err)
		}
		if !applies {
			continue
		}
		name := fmt.Sprintf("statement %d %v", i, s["Sid"])
		switch s["Effect"] {
		case "Deny":
			return Decision{Why: "denied by " + name}, nil
		case "Allow":
			if allow == "" {
				allow = name
			}
		default:
			return Decision{}, fmt.Errorf("%s: Effect %v is neither Allow nor Deny", name, s["Effect"])
		}
	}
	if allow == "" {
		return Decision{Why: "no statement allows it"}, nil
	}
	return Decision{Allowed: true, Why: "allowed by " + allow}, nil
}

func appliesTo(s Statement, r Request) (bool, error) {
	action, err := matchesField(s, "Action", r.Action, strings.ToLower)
	if err != nil || !action {
		return false, err
	}
	resource, err := matchesField(s, "Resource", r.Resource, func(v string) string { return v })
	if err != nil || !resource {
		return false, err
	}
	return conditionsHold(s["Condition"], r.Context)
}

// matchesField applies Action/NotAction or Resource/NotResource, whichever the statement has.
func matchesField(s Statement, field, value string, norm func(string) string) (bool, error) {
	positive, hasPositive := s[field]
	negative, hasNegative := s["Not"+field]
	if hasPositive == hasNegative {
		return false, fmt.Errorf("needs exactly one of %s and Not%s", field, field)
	}
	patterns, err := stringList(positive)
	if hasNegative {
		patterns, err = stringList(negative)
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", field, err)
	}
	matched := false
	for _, p := range patterns {
		if glob(norm(p), norm(value)) {
			matched = true
		}
	}
	return matched != hasNegative, nil
}

// glob matches IAM's wildcards: * any run of characters, ? one character.
func glob(pattern, value string) bool {
	ok, err := path.Match(strings.NewReplacer("[", "\\[", "]", "\\]", "/", "\x00").Replace(pattern),
		strings.ReplaceAll(value, "/", "\x00"))
	return err == nil && ok
}

func conditionsHold(block any, context map[string]string) (bool, error) {
	if block == nil {
		return true, nil
	}
	operators, ok := block.(map[string]any)
	if !ok {
		return false, fmt.Errorf("Condition is a %T", block)
	}
	for operator, keys := range operators {
		entries, ok := keys.(map[string]any)
		if !ok {
			return false, fmt.Errorf("condition %s is a %T", operator, keys)
		}
		for key, want := range entries {
			values, err := stringList(want)
			if err != nil {
				return false, fmt.Errorf("condition %s %s: %w", operator, key, err)
			}
			holds, err := conditionHolds(operator, values, lookup(context, key))
			if err != nil || !holds {
				return false, err
			}
		}
	}
	return true, nil
}

func lookup(context map[string]string, key string) *string {
	for k, v := range context {
		if strings.EqualFold(k, key) {
			return &v
		}
	}
	return nil
}

// conditionHolds applies one operator to a single-valued key (nil when the request lacks it).
func conditionHolds(operator string, values []string, got *string) (bool, error) {
	op, ifExists := strings.CutSuffix(operator, "IfExists")
	negated := strings.Contains(op, "Not")
	var match func(want, got string) bool
	switch strings.Replace(op, "Not", "", 1) {
	case "StringEquals", "ArnEquals", "Bool":
		match = func(want, got string) bool { return want == got }
	case "StringEqualsIgnoreCase":
		match = strings.EqualFold
	case "StringLike", "ArnLike":
		match = glob
	case "Null":
		return len(values) == 1 && (values[0] == "true") == (got == nil), nil
	default:
		return false, fmt.Errorf("condition operator %s is not supported here", operator)
	}
	if got == nil {
		return ifExists || negated, nil
	}
	for _, want := range values {
		if match(want, *got) {
			return !negated, nil
		}
	}
	return negated, nil
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out[i] = s
		}
		return out, nil
	case []string:
		return x, nil
	}
	return nil, fmt.Errorf("%v is not a string or a list of strings", v)
}
