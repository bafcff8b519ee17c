// Package stacks defines the CDK stacks of the cross-account pipeline and the one Build function
// that wires them together. main and the tests both call Build, so the wiring that ships is the
// wiring that is tested.
package stacks

import (
	"fmt"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// Stacks holds a handle to every stack of the app.
type Stacks struct {
	Repository *RepositoryStack
	Lambda     *LambdaStack
	// Applications are the application templates, one per environment, in deployment order.
	Applications []*ApplicationStack
	Pipeline     *PipelineStack
	// Roles are the roles stacks, one per account other than the pipeline's.
	Roles []*AccountRolesStack
}

// All returns the stacks in deployment order.
func (s *Stacks) All() []awscdk.Stack {
	all := []awscdk.Stack{s.Repository.Stack, s.Lambda.Stack}
	for _, a := range s.Applications {
		all = append(all, a.Stack)
	}
	all = append(all, s.Pipeline.Stack)
	for _, r := range s.Roles {
		all = append(all, r.Stack)
	}
	return all
}

// Build creates every stack of the app from a validated config.
func Build(app awscdk.App, cfg config.Config) (*Stacks, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if err := checkRegion(cfg); err != nil {
		return nil, err
	}
	root, err := config.ModuleRoot()
	if err != nil {
		return nil, err
	}
	home := Target{Account: cfg.PipelineAccount(), Region: cfg.Region}

	addSecurityChecks(app)

	s := &Stacks{}
	s.Repository = NewRepositoryStack(app, config.RepositoryStackID, RepositoryStackProps{
		Target: home,
		Name:   cfg.RepositoryName,
	})
	s.Lambda = NewLambdaStack(app, config.LambdaStackID, LambdaStackProps{
		Target:  home,
		CodeDir: filepath.Join(root, "lambda", "python"),
	})
	for i, env := range cfg.Environments {
		s.Applications = append(s.Applications, NewApplicationStack(app, env.StackID(), ApplicationStackProps{
			Target:      Target{Account: env.Account, Region: cfg.Region},
			Environment: env,
			// Only the first environment holds nothing worth keeping; see deployStage.
			Replaceable: i == 0,
		}))
	}
	if s.Pipeline, err = NewPipelineStack(app, config.PipelineStackID, PipelineStackProps{
		Config:       cfg,
		Applications: s.Applications,
	}); err != nil {
		return nil, err
	}
	for _, account := range config.RemoteAccounts(cfg) {
		envs := config.EnvironmentsIn(cfg, account)
		roles, err := NewAccountRolesStack(app, config.RolesStackID(envs), AccountRolesStackProps{
			Target:              Target{Account: account, Region: cfg.Region},
			PipelineAccount:     cfg.PipelineAccount(),
			PipelineEnvironment: cfg.Environments[0].Name,
			ArtifactBucket:      config.ArtifactBucketName(cfg.PipelineAccount()),
			Environments:        envs,
		})
		if err != nil {
			return nil, err
		}
		s.Roles = append(s.Roles, roles)
	}
	for _, a := range s.Applications {
		keepInlineTemplatesSmall(a.Stack)
	}
	for _, r := range s.Roles {
		keepInlineTemplatesSmall(r.Stack)
	}
	return s, nil
}

// keepInlineTemplatesSmall drops cdk-nag's suppression metadata from a stack's template once the
// checks have read it. A roles stack is deployed inline (no bootstrap in that account), where
// CloudFormation takes at most 51,200 bytes, and the suppressions, repeated on every role and
// policy, were more than half of it: three environments in one account did not fit. The reasons
// stay next to the resources in stacks/, and in the pipeline stack's template.
func keepInlineTemplatesSmall(stack awscdk.Stack) {
	awscdk.Aspects_Of(stack).Add(&dropNagMetadata{}, nil)
}

// dropNagMetadata runs after the AWS Solutions checks (an aspect of the app, so earlier on each
// construct than one of the stack).
type dropNagMetadata struct{}

func (*dropNagMetadata) Visit(node constructs.IConstruct) {
	res, ok := node.(awscdk.CfnResource)
	if !ok {
		return
	}
	meta := res.CfnOptions().Metadata()
	if meta == nil {
		return
	}
	if _, ok := (*meta)[nagMetadataKey]; !ok {
		return
	}
	kept := map[string]any{}
	for k, v := range *meta {
		if k != nagMetadataKey {
			kept[k] = v
		}
	}
	res.CfnOptions().SetMetadata(&kept)
}

// nagMetadataKey is where cdk-nag keeps a resource's suppressions.
const nagMetadataKey = "cdk_nag"

// addSecurityChecks runs cdk-nag's AWS Solutions rules over every stack at every synth, so
// `make synth` and the tests both fail on an unsuppressed finding. Suppressions sit next to the
// resource they excuse (see allow), each with its reason.
func addSecurityChecks(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// Target is the account and region a stack deploys to.
type Target struct {
	Account string
	Region  string
}

// stackProps turns our plain props into the CDK's. Stacks that must deploy into an account that
// was never `cdk bootstrap`ped set bootstrapless. They get the synthesizer that deploys with the
// caller's own credentials: no BootstrapVersion parameter or rule in the template and no
// bootstrap roles in the manifest (the BootstraplessSynthesizer still names the bootstrap deploy
// role and only works through the CLI's fallback). They must not use assets, which the tests check.
func stackProps(t Target, description string, bootstrapless bool) *awscdk.StackProps {
	props := &awscdk.StackProps{
		Env:         &awscdk.Environment{Account: jsii.String(t.Account), Region: jsii.String(t.Region)},
		Description: jsii.String(description),
	}
	if bootstrapless {
		props.Synthesizer = awscdk.NewLegacyStackSynthesizer()
	}
	return props
}
