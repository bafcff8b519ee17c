package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Notifications is who hears about the pipeline: e-mail addresses that a topic of the
// pipeline's own sends to, or an existing SNS topic. Neither set means no topic and no rule.
type Notifications struct {
	Emails   []string
	TopicArn string
}

// Enabled reports whether anyone is to be notified.
func (n Notifications) Enabled() bool { return len(n.Emails) > 0 || n.TopicArn != "" }

var (
	emailPattern    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	snsTopicPattern = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)
)

// parseNotifications reads the notifications key: a list of e-mail addresses (a JSON array in
// cdk.json, or the same array as a JSON string from -c), or a topic ARN as a string.
func parseNotifications(v any) (Notifications, []error) {
	fix := `write a list of e-mail addresses ('["ops@example.com"]') or an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)`
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return Notifications{}, nil
		case strings.HasPrefix(s, "arn:"):
			return Notifications{TopicArn: s}, nil
		case strings.HasPrefix(s, "["):
			var decoded any
			if err := json.Unmarshal([]byte(s), &decoded); err != nil {
				return Notifications{}, []error{fmt.Errorf("%s: is not a JSON list (%v); %s", NotificationsKey, err, fix)}
			}
			v = decoded
		default:
			return Notifications{}, []error{fmt.Errorf("%s: %q is neither a list nor a topic ARN; %s", NotificationsKey, s, fix)}
		}
	}
	if v == nil {
		return Notifications{}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return Notifications{}, []error{fmt.Errorf("%s: got %v; %s", NotificationsKey, jsonText(v), fix)}
	}
	var n Notifications
	var errs []error
	for i, item := range list {
		email, _ := item.(string)
		n.Emails = append(n.Emails, email)
		if email == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: got %v; each entry is an e-mail address as a string", NotificationsKey, i, jsonText(item)))
		}
	}
	return n, errs
}

// problems checks the values: addresses that look like addresses, a topic ARN in the region.
func (n Notifications) problems(region string) []error {
	var errs []error
	for i, e := range n.Emails {
		if e != "" && !emailPattern.MatchString(e) {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not an e-mail address; write it as name@example.com", NotificationsKey, i, e))
		}
	}
	if n.TopicArn != "" {
		m := snsTopicPattern.FindStringSubmatch(n.TopicArn)
		switch {
		case m == nil:
			errs = append(errs, fmt.Errorf("%s: %q is not an SNS topic ARN; copy it from the topic's page, arn:aws:sns:<region>:<account>:<name>", NotificationsKey, n.TopicArn))
		case m[1] != region:
			errs = append(errs, fmt.Errorf("%s: topic %q is in %s, but the pipeline is in %s; CodeStar Notifications sends only to a topic in the pipeline's region",
				NotificationsKey, n.TopicArn, m[1], region))
		}
	}
	return errs
}
