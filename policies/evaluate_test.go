package policies

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The evaluator the stack tests lean on, checked against IAM's documented rules.
func TestEvaluate(t *testing.T) {
	allowS3 := Statement{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/in/*"}
	bounded := Statement{"Effect": "Allow", "Action": []any{"iam:CreateRole", "iam:AttachRolePolicy"}, "Resource": "arn:aws:iam::1:role/app/*",
		"Condition": map[string]any{"StringEquals": map[string]any{"iam:PermissionsBoundary": "arn:aws:iam::1:policy/boundary"},
			"ArnEqualsIfExists": map[string]any{"iam:PolicyARN": []any{"arn:aws:iam::aws:policy/Allowed"}}}}
	denyOthers := Statement{"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*",
		"Condition": map[string]any{"StringLike": map[string]any{"aws:userid": "*:check"}}}
	boundary := []Statement{{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}}
	for _, c := range []struct {
		name       string
		identity   []Statement
		boundary   []Statement
		request    Request
		allowed    bool
		why        string
		shouldFail bool
	}{
		{"a matching Allow", []Statement{allowS3}, nil, Request{Action: "S3:GetObject", Resource: "arn:aws:s3:::b/in/x/y"}, true, "allowed by statement 0", false},
		{"another prefix", []Statement{allowS3}, nil, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/out/x"}, false, "no statement", false},
		{"another action", []Statement{allowS3}, nil, Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/in/x"}, false, "no statement", false},
		{"with the boundary", []Statement{bounded}, nil, Request{Action: "iam:CreateRole", Resource: "arn:aws:iam::1:role/app/r",
			Context: map[string]string{"iam:PermissionsBoundary": "arn:aws:iam::1:policy/boundary"}}, true, "allowed", false},
		{"without the boundary", []Statement{bounded}, nil, Request{Action: "iam:CreateRole", Resource: "arn:aws:iam::1:role/app/r"}, false, "no statement", false},
		{"an attachment off the list", []Statement{bounded}, nil, Request{Action: "iam:AttachRolePolicy", Resource: "arn:aws:iam::1:role/app/r",
			Context: map[string]string{"iam:PermissionsBoundary": "arn:aws:iam::1:policy/boundary", "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}}, false, "no statement", false},
		{"a deny wins", []Statement{allowS3, denyOthers}, nil, Request{Action: "s3:GetObjectAcl", Resource: "arn:aws:s3:::b/in/x",
			Context: map[string]string{"aws:userid": "AROA:check"}}, false, "denied by statement 1", false},
		{"a deny whose condition does not hold", []Statement{allowS3, denyOthers}, nil, Request{Action: "s3:GetObjectAcl", Resource: "arn:aws:s3:::b/in/x",
			Context: map[string]string{"aws:userid": "AROA:other"}}, true, "allowed", false},
		{"outside the boundary", []Statement{allowS3}, boundary, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/in/x"}, false, "permissions boundary", false},
		{"a non-literal Effect", []Statement{{"Effect": map[string]any{"Fn::Sub": "Allow"}, "Action": "*", "Resource": "*"}}, nil,
			Request{Action: "s3:GetObject", Resource: "x"}, false, "", true},
		{"an operator it does not know", []Statement{{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": map[string]any{
			"ForAnyValue:StringEquals": map[string]any{"k": "v"}}}}, nil, Request{Action: "s3:GetObject", Resource: "x"}, false, "", true},
	} {
		d, err := Evaluate(c.identity, c.boundary, c.request)
		if c.shouldFail {
			assert.Error(t, err, c.name)
			continue
		}
		require.NoError(t, err, c.name)
		assert.Equal(t, c.allowed, d.Allowed, "%s: %s", c.name, d.Why)
		assert.Contains(t, d.Why, c.why, c.name)
	}
}
