package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodestarnotifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

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
func notificationTopic(stack awscdk.Stack, n config.Notifications) awssns.ITopic {
	if n.TopicArn != "" {
		return awssns.Topic_FromTopicArn(stack, jsii.String("NotificationTopic"), jsii.String(n.TopicArn))
	}
	key := awskms.NewKey(stack, jsii.String("NotificationKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the notifications of " + config.PipelineName),
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
		DisplayName: jsii.String(config.PipelineName),
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
		NotificationRuleName: jsii.String(config.PipelineName + "-notifications"),
		Events:               &notificationEvents,
		DetailType:           awscodestarnotifications.DetailType_FULL,
	})
}
