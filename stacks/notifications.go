package stacks

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodestarnotifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"
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

// notificationEvents are what the rule reports: a failed run, an approval waiting for a
// person, and a run that succeeded, which, the last stage being the last environment's deploy,
// means the last environment is deployed.
var notificationEvents = []awscodepipeline.PipelineNotificationEvents{
	awscodepipeline.PipelineNotificationEvents_PIPELINE_EXECUTION_FAILED,
	awscodepipeline.PipelineNotificationEvents_MANUAL_APPROVAL_NEEDED,
	awscodepipeline.PipelineNotificationEvents_PIPELINE_EXECUTION_SUCCEEDED,
}

// notificationTopic is the topic the approvals and the rule send to: the configured one, or a
// new one encrypted with a key of its own that CodeStar Notifications may use.
func notificationTopic(stack awscdk.Stack, n Notifications) awssns.ITopic {
	if n.TopicArn != "" {
		return awssns.Topic_FromTopicArn(stack, jsii.String("NotificationTopic"), jsii.String(n.TopicArn))
	}
	key := awskms.NewKey(stack, jsii.String("NotificationKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the notifications of " + PipelineName),
		EnableKeyRotation: jsii.Bool(true),
		// Nothing outlives the topic: a deleted key only makes old messages unreadable.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// CodeStar Notifications publishes to the encrypted topic, so it needs the key, through SNS
	// only.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CodeStarNotificationsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("codestar-notifications.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:GenerateDataKey*", "kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": "sns." + *stack.Region() + ".amazonaws.com"}},
	}), nil)
	topic := awssns.NewTopic(stack, jsii.String("NotificationTopic"), &awssns.TopicProps{
		DisplayName: jsii.String(PipelineName),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	for _, email := range n.Emails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	return topic
}

// notifyOn creates the CodeStar Notifications rule on the pipeline.
func notifyOn(pipeline awscodepipeline.Pipeline, topic awssns.ITopic) awscodestarnotifications.INotificationRule {
	return pipeline.NotifyOn(jsii.String("Notifications"), topic, &awscodepipeline.PipelineNotifyOnOptions{
		NotificationRuleName: jsii.String(PipelineName + "-notifications"),
		Events:               &notificationEvents,
		DetailType:           awscodestarnotifications.DetailType_FULL,
	})
}
