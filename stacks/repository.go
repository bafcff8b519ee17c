package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodecommit"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// RepositoryStackProps configures the repository stack.
type RepositoryStackProps struct {
	Target Target
	// Name is the CodeCommit repository name; the pipeline imports the repository by it.
	Name string
}

// RepositoryStack holds the CodeCommit repository the pipeline builds from. It lives in its own
// stack so the pipeline can be torn down and recreated without touching the code.
type RepositoryStack struct {
	awscdk.Stack
	Repository awscodecommit.Repository
}

// NewRepositoryStack creates the repository. It is retained when the stack is deleted: losing
// the only copy of a team's history to a `cdk destroy` is never what anyone wants. A create
// that rolls back deletes it, though: it holds nothing yet, and a retained empty repository
// would block every retry with its fixed name.
func NewRepositoryStack(scope constructs.Construct, id string, props RepositoryStackProps) *RepositoryStack {
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps(props.Target,
		"CodeCommit repository that the cross-account pipeline builds from", false))

	repo := awscodecommit.NewRepository(stack, jsii.String("Repository"), &awscodecommit.RepositoryProps{
		RepositoryName: jsii.String(props.Name),
		Description:    jsii.String("Source of the cross-account CI/CD pipeline"),
	})
	repo.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE)

	awscdk.NewCfnOutput(stack, jsii.String("RepositoryName"), &awscdk.CfnOutputProps{Value: repo.RepositoryName()})
	awscdk.NewCfnOutput(stack, jsii.String("CloneUrlGrc"), &awscdk.CfnOutputProps{
		Description: jsii.String("Clone URL for git-remote-codecommit"),
		Value:       repo.RepositoryCloneUrlGrc(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("CloneUrlHttp"), &awscdk.CfnOutputProps{Value: repo.RepositoryCloneUrlHttp()})

	return &RepositoryStack{Stack: stack, Repository: repo}
}
